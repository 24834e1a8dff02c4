package server

import (
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// PhotoAccess decides who may upload and read photo bytes, authenticating
// the request's bearer token itself. It has the method
// set the photo routes expect (CanUpload, CanRead).
type PhotoAccess struct{ s *Server }

// PhotoAccess returns the authorization the photo routes use.
func (s *Server) PhotoAccess() PhotoAccess { return PhotoAccess{s: s} }

// CanUpload allows a device to send the bytes of a photo that one of its
// user's pushed inspections names, so nobody can fill the store with
// arbitrary files.
func (a PhotoAccess) CanUpload(c echo.Context, sha string) error {
	p, err := a.s.Authenticate(c)
	if err != nil {
		return err
	}
	if !p.IsDevice() {
		return schema.Errorf(schema.CodeForbidden, "photos are uploaded by devices")
	}
	ok, err := a.s.store.DeviceReferencesPhoto(c.Request().Context(), p.DeviceID, p.UserID, sha)
	if err != nil {
		return err
	}
	if !ok {
		return schema.Errorf(schema.CodeNotFound, "no inspection of yours names photo %s; push the inspection first", truncate(sha, 64))
	}
	return nil
}

// CanRead allows admins, leaders of a squad whose inspections name the
// photo, and devices whose own inspections name it.
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
