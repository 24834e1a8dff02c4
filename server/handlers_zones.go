package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// listZoneViolations answers GET /api/v1/zone-violations?squad=&venue=&include_cleared=:
// the standing violations (and, on request, the cleared ones) of the
// squads the caller supervises.
func (s *Server) listZoneViolations(c echo.Context) error {
	p := principal(c)
	sq, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.ZoneViolationFilter{SquadID: sq, VenueID: c.QueryParam("venue")}
	if q := c.QueryParam("include_cleared"); q != "" {
		if f.IncludeCleared, err = strconv.ParseBool(q); err != nil {
			return schema.Errorf(schema.CodeInvalid, "include_cleared %q is not true or false", truncate(q, 20))
		}
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	list, err := s.store.ZoneViolations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, list)
}

// listZoneRules answers GET /api/v1/zone-rules: the published rules,
// which every device receives anyway.
func (s *Server) listZoneRules(c echo.Context) error {
	list, err := s.store.ZoneRules(c.Request().Context())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, list)
}

// putZoneRule answers PUT /api/v1/zone-rules/{id}: an admin publishes a
// rule (a province's 100 m for kindergartens is data, not code); the store
// re-evaluates the venues it covers before answering.
func (s *Server) putZoneRule(c echo.Context) error {
	p := principal(c)
	if err := requireAdmin(p); err != nil {
		return err
	}
	id := c.Param("id")
	var r schema.ZoneRule
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &r); err != nil {
		return err
	}
	if r.ID == "" {
		r.ID = id
	}
	if r.ID != id {
		return schema.Errorf(schema.CodeInvalid, "the body names rule %q but the path %q; they must agree", truncate(r.ID, 64), truncate(id, 64))
	}
	out, err := s.store.PutZoneRule(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// PositionRequest is the body of PUT /api/v1/venues/{id}/position: a
// surveyed WGS-84 position. Devices cannot edit a venue's position (it is
// not a mergeable field); a leader or admin corrects it here.
type PositionRequest struct {
	Lat *float64 `json:"lat"`
	Lng *float64 `json:"lng"`
}

func (s *Server) relocateVenue(c echo.Context) error {
	p := principal(c)
	if !p.IsAdmin() && p.Role != schema.RoleLeader {
		return schema.Errorf(schema.CodeForbidden, "only squad leaders and admins may correct a venue's position")
	}
	id, err := idParam(c, "venue")
	if err != nil {
		return err
	}
	var req PositionRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if req.Lat == nil || req.Lng == nil {
		return schema.Errorf(schema.CodeInvalid, "send both lat and lng (WGS-84 degrees)")
	}
	v, err := s.store.RelocateVenue(c.Request().Context(), id, *req.Lat, *req.Lng, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, v)
}
