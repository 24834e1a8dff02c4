package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// scope decides which squad a leader-page list covers: a leader sees only
// their own squad (asking for another is forbidden), an admin sees the
// requested squad or all of them (nil).
func scope(c echo.Context, p *auth.Principal) (*int64, error) {
	var want *int64
	if q := c.QueryParam("squad"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil {
			return nil, schema.Errorf(schema.CodeInvalid, "squad %q is not a squad number", truncate(q, 20))
		}
		want = &n
	}
	switch {
	case p.IsAdmin():
		return want, nil
	case p.Role == schema.RoleLeader && p.SquadID != nil:
		if want != nil && *want != *p.SquadID {
			return nil, schema.Errorf(schema.CodeForbidden, "you lead squad %d; squad %d is not yours", *p.SquadID, *want)
		}
		return p.SquadID, nil
	default:
		return nil, schema.Errorf(schema.CodeForbidden, "only squad leaders and admins may read this")
	}
}

// listScope is the squads (scope) and page size (queryLimit) of a list
// that takes no other parameter.
func listScope(c echo.Context) (*int64, int, error) {
	sq, err := scope(c, principal(c))
	if err != nil {
		return nil, 0, err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return nil, 0, err
	}
	return sq, limit, nil
}

func queryLimit(c echo.Context) (int, error) {
	q := c.QueryParam("limit")
	if q == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 0 {
		return 0, schema.Errorf(schema.CodeInvalid, "limit %q is not a positive number", truncate(q, 20))
	}
	return n, nil
}

func (s *Server) listInspections(c echo.Context) error {
	p := principal(c)
	sq, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.InspectionFilter{SquadID: sq, Status: c.QueryParam("status"), DeviceID: c.QueryParam("device")}
	switch f.Status {
	case "", schema.StatusSubmitted, schema.StatusApproved, schema.StatusReturned:
	default:
		return schema.Errorf(schema.CodeInvalid, "status %q is not submitted, approved or returned", truncate(f.Status, 20))
	}
	if q := c.QueryParam("since"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, q); err != nil {
				return schema.Errorf(schema.CodeInvalid, "since %q is not a date (2006-01-02) or RFC 3339 time", truncate(q, 40))
			}
		}
		f.Since = t
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	list, err := s.store.ListInspections(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, list)
}

func (s *Server) getInspection(c echo.Context) error {
	p := principal(c)
	id, err := idParam(c, "inspection")
	if err != nil {
		return err
	}
	in, err := s.store.Inspection(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !p.CanSupervise(in.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "inspection %s not found", id)
	}
	return writeJSON(c, http.StatusOK, in)
}

// ReviewRequest is the body of POST /api/v1/inspections/{id}/review: approve,
// or return with the comment the inspector amends by; version is the one
// the leader looked at (0: whatever is stored).
type ReviewRequest struct {
	Action  string `json:"action"`
	Comment string `json:"comment"`
	Version int    `json:"version"`
}

// supervisor refuses a caller who may not take a leader's decisions: only
// squad leaders and admins on a user session may.
func supervisor(p *auth.Principal) error {
	if p.IsDevice() || !(p.IsAdmin() || p.Role == schema.RoleLeader && p.SquadID != nil) {
		return schema.Errorf(schema.CodeForbidden, "only squad leaders and admins may do this")
	}
	return nil
}

// supervisedID is the caller of a supervisor's route (supervisor) and the
// id its path names (idParam), checked in that order.
func supervisedID(c echo.Context, what string) (*auth.Principal, string, error) {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return nil, "", err
	}
	id, err := idParam(c, what)
	if err != nil {
		return nil, "", err
	}
	return p, id, nil
}

func (s *Server) reviewInspection(c echo.Context) error {
	p, id, err := supervisedID(c, "inspection")
	if err != nil {
		return err
	}
	var req ReviewRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if req.Version < 0 {
		return schema.Errorf(schema.CodeInvalid, "version %d is not a version number", req.Version)
	}
	in, err := s.store.ReviewInspection(c.Request().Context(), id,
		store.ReviewInput{Action: req.Action, Comment: req.Comment, By: p.Username, Version: req.Version}, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, in)
}

func (s *Server) listConflicts(c echo.Context) error {
	p := principal(c)
	sq, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.ConflictFilter{SquadID: sq}
	if q := c.QueryParam("open"); q != "" {
		if f.OpenOnly, err = strconv.ParseBool(q); err != nil {
			return schema.Errorf(schema.CodeInvalid, "open %q is not true or false", truncate(q, 20))
		}
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	list, err := s.store.ListConflicts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, list)
}

// ResolveRequest is the optional body of POST
// /api/v1/conflicts/{id}/resolve: pick "server" or "device" decides which
// value stands, as the workbench's conflict page does; without it (or
// without a body) the conflict is only marked handled.
type ResolveRequest struct {
	Pick string `json:"pick"`
}

func (s *Server) resolveConflict(c echo.Context) error {
	p, id, err := supervisedID(c, "conflict")
	if err != nil {
		return err
	}
	var req ResolveRequest
	if err := bindOptionalJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if req.Pick == "" {
		cf, err := s.store.ResolveConflict(ctx, id, p.Username, p.Scope())
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, cf)
	}
	if req.Pick != schema.WinnerServer && req.Pick != schema.WinnerDevice {
		return schema.Errorf(schema.CodeInvalid, "pick %q is not %s or %s", truncate(req.Pick, 20), schema.WinnerServer, schema.WinnerDevice)
	}
	actor, err := serverActor(p)
	if err != nil {
		return err
	}
	cf, err := s.store.DecideConflict(ctx, id, req.Pick, actor, p.Username, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, cf)
}
