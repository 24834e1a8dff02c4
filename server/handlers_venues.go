package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

func requireAdmin(p *auth.Principal) error {
	if !p.IsAdmin() {
		return schema.Errorf(schema.CodeForbidden, "only admins may do this")
	}
	return nil
}

func serverActor(p *auth.Principal) (store.Actor, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return store.Actor{}, err
	}
	return store.Actor{MutationID: id.String(), DeviceID: "server:" + p.Username}, nil
}

func (s *Server) listVenues(c echo.Context) error {
	sq, limit, err := listScope(c)
	if err != nil {
		return err
	}
	f := store.VenueFilter{SquadID: sq, Kind: c.QueryParam("kind"), Limit: limit}
	list, err := s.store.ListVenues(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, list)
}

func (s *Server) getVenue(c echo.Context) error {
	p := principal(c)
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	v, err := s.store.Venue(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !p.CanSupervise(v.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "venue %s not found", id)
	}
	return writeJSON(c, http.StatusOK, v)
}

func (s *Server) createVenue(c echo.Context) error {
	p := principal(c)
	if err := requireAdmin(p); err != nil {
		return err
	}
	var v schema.Venue
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &v); err != nil {
		return err
	}
	actor, err := serverActor(p)
	if err != nil {
		return err
	}
	out, err := s.store.CreateVenue(c.Request().Context(), v, actor)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, out)
}

// VenueEditRequest is the body of PATCH /api/v1/venues/{id}. Each field is
// either the new value as a string (based on the server's current clock of
// that field) or an object {"value", "base"} naming the clock the edit was
// based on, exactly like a device's edit.
type VenueEditRequest struct {
	Fields map[string]json.RawMessage `json:"fields"`
}

// VenueEditResponse answers a venue edit with the merged venue and the ids
// of conflicts the edit recorded.
type VenueEditResponse struct {
	Venue     schema.Venue `json:"venue"`
	Conflicts []string     `json:"conflicts"`
}

func (s *Server) editVenue(c echo.Context) error {
	p := principal(c)
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	var req VenueEditRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if len(req.Fields) == 0 {
		return schema.Errorf(schema.CodeInvalid, "fields is empty; send {\"fields\": {\"name\": \"…\"}}")
	}
	fields := make(map[string]schema.FieldEdit, len(req.Fields))
	explicit := map[string]bool{}
	for f, raw := range req.Fields {
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '{' {
			var e schema.FieldEdit
			if err := json.Unmarshal(raw, &e); err != nil {
				return schema.Errorf(schema.CodeInvalid, "field %s: expected a string or {\"value\", \"base\"}: %v", truncate(f, 40), err)
			}
			fields[f], explicit[f] = e, true
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return schema.Errorf(schema.CodeInvalid, "field %s: expected a string or {\"value\", \"base\"}", truncate(f, 40))
		}
		fields[f] = schema.FieldEdit{Value: v}
	}
	actor, err := serverActor(p)
	if err != nil {
		return err
	}
	v, conflicts, err := s.store.EditVenue(c.Request().Context(), id, fields, explicit, actor, p.Scope())
	if err != nil {
		return err
	}
	if conflicts == nil {
		conflicts = []string{}
	}
	return writeJSON(c, http.StatusOK, VenueEditResponse{Venue: v, Conflicts: conflicts})
}

// MoveRequest is the body of POST /api/v1/venues/{id}/move.
type MoveRequest struct {
	SquadID int64 `json:"squad_id"`
}

func (s *Server) moveVenue(c echo.Context) error {
	p := principal(c)
	if err := requireAdmin(p); err != nil {
		return err
	}
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	var req MoveRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	v, err := s.store.MoveVenue(c.Request().Context(), id, req.SquadID)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, v)
}

func (s *Server) deleteVenue(c echo.Context) error {
	p := principal(c)
	if err := requireAdmin(p); err != nil {
		return err
	}
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	if err := s.store.DeleteVenue(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
