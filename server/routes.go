package server

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/observe"
)

//go:embed openapi.json
var openAPI []byte

// tokenKind says which tokens a route takes.
type tokenKind int

const (
	anyToken tokenKind = iota
	userToken
	deviceToken
)

func rel(path string) string { return strings.TrimPrefix(path, schema.APIPrefix) }

func (s *Server) routes() {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.metrics.Middleware(s.log))
	e.Use(s.cfg.Middleware...)
	e.Use(s.recoverPanics, s.timeout)
	s.echo = e

	e.GET(schema.PathHealthz, func(c echo.Context) error {
		return writeJSON(c, http.StatusOK, map[string]any{"ok": true, "server_time": s.cfg.Now().UTC()})
	})
	e.GET(schema.PathReadyz, s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()), observe.ScrapeAccess(s.cfg.MetricsToken))
	api := e.Group(schema.APIPrefix)
	api.GET(rel(schema.PathOpenAPI), func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
	})
	api.POST(rel(schema.PathLogin), s.login)
	api.POST(rel(schema.PathEnroll), s.enrollDevice)

	// Middleware is attached per route, not per group: an echo group with
	// middleware catches every unknown path under it, which would answer
	// 401 instead of 404 for a mistyped route.
	u := s.authenticate(userToken)
	api.POST(rel(schema.PathLogout), s.logout, u)
	api.POST(rel(schema.PathEnrollCodes), s.createEnrollmentCode, u)
	api.POST("/devices/:id/revoke", s.revokeDevice, u)
	api.GET(rel(schema.PathInspections), s.listInspections, u)
	api.GET(rel(schema.PathInspections)+"/:id", s.getInspection, u)
	api.POST(rel(schema.PathInspections)+"/:id/review", s.reviewInspection, u)
	api.GET(rel(schema.PathConflicts), s.listConflicts, u)
	api.POST(rel(schema.PathConflicts)+"/:id/resolve", s.resolveConflict, u)
	api.GET(rel(schema.PathVenues), s.listVenues, u)
	api.POST(rel(schema.PathVenues), s.createVenue, u)
	api.GET(rel(schema.PathVenues)+"/:id", s.getVenue, u)
	api.PATCH(rel(schema.PathVenues)+"/:id", s.editVenue, u)
	api.POST(rel(schema.PathVenues)+"/:id/move", s.moveVenue, u)
	api.DELETE(rel(schema.PathVenues)+"/:id", s.deleteVenue, u)

	api.POST(rel(schema.PathPull), s.pull, s.syncChain(schema.MaxSmallBodyBytes)...)
	api.POST(rel(schema.PathPush), s.push, s.syncChain(s.cfg.MaxBodyBytes)...)

	s.api = api
}

// authenticate resolves the bearer token to a principal and checks that it
// is of the kind the route takes.
func (s *Server) authenticate(kind tokenKind) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := s.resolveToken(c)
			if err != nil {
				return err
			}
			switch {
			case kind == deviceToken && !p.IsDevice():
				return schema.Errorf(schema.CodeForbidden, "sync takes a device token; enroll a device with a code from your squad leader")
			case kind == userToken && p.IsDevice():
				return schema.Errorf(schema.CodeForbidden, "this endpoint takes a user session token from %s; device tokens are for sync only", schema.PathLogin)
			}
			return next(c)
		}
	}
}

// resolveToken authenticates the bearer token of the request and stores the
// principal in the context.
func (s *Server) resolveToken(c echo.Context) (*auth.Principal, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, schema.Errorf(schema.CodeUnauthorized, "missing Authorization: Bearer <token>; log in at %s or enroll a device at %s", schema.PathLogin, schema.PathEnroll)
	}
	p, err := s.store.Authenticate(c.Request().Context(), auth.HashToken(strings.TrimSpace(tok)))
	if err != nil {
		return nil, err
	}
	c.Set(auth.ContextKey, p)
	// Every request's log line names who made it.
	attrs := []slog.Attr{slog.String("user", p.Username)}
	if p.DeviceID != "" {
		attrs = append(attrs, slog.String("device", p.DeviceID))
	}
	observe.AddLogAttrs(c, attrs...)
	return p, nil
}

// principal returns the authenticated caller of a route behind authenticate.
func principal(c echo.Context) *auth.Principal {
	p, _ := c.Get(auth.ContextKey).(*auth.Principal)
	if p == nil {
		// Routes without authenticate never call this; a nil here is a bug.
		panic("server: principal requested on an unauthenticated route")
	}
	return p
}
