package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
)

// TestCaseRoutes_OfficeForbidden: bureau office staff take complaints in
// and nothing else; every case route refuses them before reading a thing
// (the store is never called: s has none).
func TestCaseRoutes_OfficeForbidden(t *testing.T) {
	s := &Server{}
	sq := int64(1)
	office := &auth.Principal{Username: "clerk", Role: schema.RoleOffice, SquadID: &sq}
	handlers := map[string]echo.HandlerFunc{"list": s.listCases, "open": s.openCase, "get": s.getCase}
	for _, act := range []string{schema.CaseActInvestigate, schema.CaseActAttach, schema.CaseActHandlers, schema.CaseActDecide, schema.CaseActClose} {
		handlers[act] = s.caseAction(act)
	}
	for name, h := range handlers {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
		c := echo.New().NewContext(req, httptest.NewRecorder())
		c.SetParamNames("id")
		c.SetParamValues("0192f5c2-7a3b-7c1d-8e2f-3a4b5c6d7e8f")
		c.Set(auth.ContextKey, office)
		if err := h(c); schema.ErrorCode(err) != schema.CodeForbidden {
			t.Errorf("%s by the office: %v; want forbidden", name, err)
		}
	}
}
