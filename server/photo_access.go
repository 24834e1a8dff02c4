package server

import (
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
	"github.com/patrolhq/patrol/server/store"
)

// PhotoAccess decides who may upload and read photo bytes, authenticating
// the request's bearer token itself. It has the method
// set the photo routes expect (CanUpload, CanRead).
type PhotoAccess struct{ s *Server }

// PhotoAccess returns the authorization the photo routes use.
func (s *Server) PhotoAccess() PhotoAccess { return PhotoAccess{s: s} }

// CanUpload allows a device to send the bytes of a photo that one of its
// user's pushed inspections names, so nobody can fill the store with
// arbitrary files. A device whose claim is pending may send them to prove
// it; it is told nothing of a photo stored already (photos.Upload).
func (a PhotoAccess) CanUpload(c echo.Context, sha string) (photos.Upload, error) {
	p, err := a.s.Authenticate(c)
	if err != nil {
		return photos.Upload{}, err
	}
	if !p.IsDevice() {
		return photos.Upload{}, schema.Errorf(schema.CodeForbidden, "photos are uploaded by devices")
	}
	claim, err := a.s.store.DevicePhotoClaim(c.Request().Context(), p.DeviceID, p.UserID, sha)
	if err != nil {
		return photos.Upload{}, err
	}
	if claim == "" {
		return photos.Upload{}, schema.Errorf(schema.CodeNotFound, "no inspection of yours names photo %s; push the inspection first", truncate(sha, 64))
	}
	by := store.Uploader{DeviceID: p.DeviceID, UserID: p.UserID}
	if p.SquadID != nil {
		by.SquadID = *p.SquadID
	}
	return photos.Upload{By: by, Proven: claim == schema.ClaimProven}, nil
}

// CanRead allows admins, leaders of a squad whose inspections name the
// photo with a proven claim, and devices whose own claim to it is proven:
// naming a hash gives nobody its bytes.
func (a PhotoAccess) CanRead(c echo.Context, sha string) error {
	p, err := a.s.Authenticate(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if p.IsDevice() {
		ok, err := a.s.store.DeviceReferencesPhoto(ctx, p.DeviceID, p.UserID, sha)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	} else if p.IsAdmin() {
		return nil
	} else {
		squads, err := a.s.store.SquadsReferencingPhoto(ctx, sha)
		if err != nil {
			return err
		}
		for _, sq := range squads {
			if p.CanSupervise(sq) {
				return nil
			}
		}
	}
	return schema.Errorf(schema.CodeNotFound, "photo %s not found", truncate(sha, 64))
}
