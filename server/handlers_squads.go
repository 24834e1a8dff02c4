package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
)

// squadParam reads the squad number of a /squads/{id} route.
func squadParam(c echo.Context) (int64, error) {
	n, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0, schema.Errorf(schema.CodeInvalid, "squad %q is not a squad number", truncate(c.Param("id"), 20))
	}
	return n, nil
}

// addCoInspector allows an inspector of another squad on the squad's
// records; the squad's leader or an admin may.
func (s *Server) addCoInspector(c echo.Context) error {
	p := principal(c)
	squad, err := squadParam(c)
	if err != nil {
		return err
	}
	var req schema.CoInspectorRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	username := auth.CanonicalUsername(req.Username)
	if username == "" || len(username) > schema.MaxTextLen {
		return schema.Errorf(schema.CodeInvalid, "username is required: the inspector of another squad to allow on squad %d's records", squad)
	}
	m, err := s.store.AddCoInspector(c.Request().Context(), squad, username, p.Username, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, m)
}

// removeCoInspector withdraws a co-inspector's permission.
func (s *Server) removeCoInspector(c echo.Context) error {
	p := principal(c)
	squad, err := squadParam(c)
	if err != nil {
		return err
	}
	username := auth.CanonicalUsername(c.Param("username"))
	if err := s.store.RemoveCoInspector(c.Request().Context(), squad, username, p.Scope()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
