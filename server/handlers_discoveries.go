package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// listDiscoveries answers GET /api/v1/discoveries?squad=&state=: the
// venues devices recorded in the field that wait for (or got) their
// leader's decision, with finder, photos, zone status and the venues
// nearby they may be merged into.
func (s *Server) listDiscoveries(c echo.Context) error {
	p := principal(c)
	sq, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.DiscoveryFilter{SquadID: sq, State: c.QueryParam("state")}
	switch f.State {
	case "", schema.DiscoveryPending, schema.DiscoveryConfirmed, schema.DiscoveryMerged:
	default:
		return schema.Errorf(schema.CodeInvalid, "state %q is not pending, confirmed or merged", truncate(f.State, 20))
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	list, err := s.store.Discoveries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, list)
}

// requireDecider lets squad leaders and admins decide discoveries.
func requireDecider(p *auth.Principal) error {
	if !p.IsAdmin() && p.Role != schema.RoleLeader {
		return schema.Errorf(schema.CodeForbidden, "only squad leaders and admins decide field discoveries")
	}
	return nil
}

// confirmVenue answers POST /api/v1/venues/{id}/confirm: the leader takes
// a field discovery into the ledger as it is (a black café for the case).
func (s *Server) confirmVenue(c echo.Context) error {
	p := principal(c)
	if err := requireDecider(p); err != nil {
		return err
	}
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	d, err := s.store.ConfirmVenue(c.Request().Context(), id, p.Username, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, d)
}

// mergeVenue answers POST /api/v1/venues/{id}/merge {into}: the venue is
// a duplicate of into, which takes over its records.
func (s *Server) mergeVenue(c echo.Context) error {
	p := principal(c)
	if err := requireDecider(p); err != nil {
		return err
	}
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	var req schema.MergeRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	req.Into = strings.TrimSpace(req.Into)
	if req.Into == "" {
		return schema.Errorf(schema.CodeInvalid, "name the venue to merge into: {\"into\": \"<venue id>\"}")
	}
	if len(req.Into) > 64 {
		return schema.Errorf(schema.CodeInvalid, "into %q is not a venue id", truncate(req.Into, 64))
	}
	out, err := s.store.MergeVenue(c.Request().Context(), id, req.Into, p.Username, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}
