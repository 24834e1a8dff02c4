package server

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/observe"
	"github.com/patrolhq/patrol/server/web"
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
	api.GET(rel(schema.PathDevices), s.listDevices, u)
	api.POST(rel(schema.PathDevices)+"/:id/revoke", s.revokeDevice, u)
	api.GET(rel(schema.PathUsers), s.listUsers, u)
	api.POST(rel(schema.PathUsers), s.createUser, u)
	api.PATCH(rel(schema.PathUsers)+"/:id", s.setUserDisabled, u)
	api.POST(rel(schema.PathUsers)+"/:id/password", s.resetPassword, u)
	api.POST(rel(schema.PathMePassword), s.changePassword, u)
	api.GET(rel(schema.PathInspections), s.listInspections, u)
	api.GET(rel(schema.PathInspections)+"/:id", s.getInspection, u)
	api.POST(rel(schema.PathInspections)+"/:id/review", s.reviewInspection, u)
	api.GET(rel(schema.PathInspections)+"/:id/versions", s.inspectionVersions, u)
	api.GET(rel(schema.PathInspections)+"/:id/record.pdf", s.recordPDF, u)
	api.GET(rel(schema.PathFindings), s.listFindings, u)
	api.GET(rel(schema.PathLedgerXLSX), s.ledgerXLSX, u)
	api.GET(rel(schema.PathLedgerCSV), s.ledgerCSV, u)
	api.GET(rel(schema.PathFindings)+"/:id", s.getFinding, u)
	api.GET(rel(schema.PathFindings)+"/:id/order.pdf", s.orderPDF, u)
	api.GET(rel(schema.PathFindings)+"/:id/recheck.pdf", s.recheckPDF, u)
	api.POST(rel(schema.PathFindings)+"/:id/order", s.orderFinding, u)
	api.POST(rel(schema.PathFindings)+"/:id/close", s.closeFinding, u)
	api.POST(rel(schema.PathFindings)+"/:id/escalate", s.escalateFinding, u)
	api.GET(rel(schema.PathConflicts), s.listConflicts, u)
	api.POST(rel(schema.PathConflicts)+"/:id/resolve", s.resolveConflict, u)
	api.GET(rel(schema.PathVenues), s.listVenues, u)
	api.POST(rel(schema.PathVenues), s.createVenue, u)
	api.GET(rel(schema.PathVenues)+"/:id", s.getVenue, u)
	api.GET(rel(schema.PathVenues)+"/:id/ledger", s.venueLedger, u)
	api.PATCH(rel(schema.PathVenues)+"/:id", s.editVenue, u)
	api.POST(rel(schema.PathVenues)+"/:id/move", s.moveVenue, u)
	api.DELETE(rel(schema.PathVenues)+"/:id", s.deleteVenue, u)
	api.POST(rel(schema.PathSquads)+"/:id/co-inspectors", s.addCoInspector, u)
	api.DELETE(rel(schema.PathSquads)+"/:id/co-inspectors/:username", s.removeCoInspector, u)
	api.GET(rel(schema.PathAudit), s.listAudit, u)
	api.PUT(rel(schema.PathVenues)+"/:id/position", s.relocateVenue, u)
	api.GET(rel(schema.PathZoneViolations), s.listZoneViolations, u)
	api.GET(rel(schema.PathZoneRules), s.listZoneRules, u)
	api.PUT(rel(schema.PathZoneRules)+"/:id", s.putZoneRule, u)
	api.POST(rel(schema.PathImport)+"/:what", s.importFile, u)
	api.GET(rel(schema.PathDiscoveries), s.listDiscoveries, u)
	api.POST(rel(schema.PathVenues)+"/:id/confirm", s.confirmVenue, u)
	api.POST(rel(schema.PathVenues)+"/:id/merge", s.mergeVenue, u)
	api.GET(rel(schema.PathPlan), s.getPlan, u)
	api.PUT(rel(schema.PathPlan), s.putPlan, u)
	api.GET(rel(schema.PathRollups)+"/daily", s.rollupDaily, u)
	api.GET(rel(schema.PathRollups)+"/monthly", s.rollupMonthly, u)
	api.POST(rel(schema.PathRollups)+"/run", s.rollupRun, u)
	api.GET(rel(schema.PathComplaints), s.listComplaints, u)
	api.POST(rel(schema.PathComplaints), s.createComplaint, u)
	api.GET(rel(schema.PathComplaints)+"/:id", s.getComplaint, u)
	for _, a := range schema.ComplaintActions {
		api.POST(rel(schema.PathComplaints)+"/:id/"+a, s.actOnComplaint(a), u)
	}
	api.GET(rel(schema.PathCases), s.listCases, u)
	api.POST(rel(schema.PathCases), s.openCase, u)
	api.GET(rel(schema.PathCases)+"/:id", s.getCase, u)
	for _, act := range []string{schema.CaseActInvestigate, schema.CaseActAttach, schema.CaseActHandlers, schema.CaseActDecide, schema.CaseActClose} {
		api.POST(rel(schema.PathCases)+"/:id/"+act, s.caseAction(act), u)
	}

	api.POST(rel(schema.PathPull), s.pull, s.syncChain(schema.MaxSmallBodyBytes)...)
	api.POST(rel(schema.PathPush), s.push, s.syncChain(s.cfg.MaxBodyBytes)...)

	s.api = api
	s.mountWeb(e)
}

// mountWeb serves the leaders' workbench beside the API. Its login goes
// through CheckLogin, so a browser meets the same limits as an API client.
func (s *Server) mountWeb(e *echo.Echo) {
	w, err := web.New(web.Config{
		Store:        s.store,
		CheckLogin:   s.CheckLogin,
		StartSession: s.StartSession,
		EndSession:   s.EndSession,
		EnrollmentCode: func(ctx context.Context, username, by string) (string, time.Time, error) {
			return s.enrollmentCode(ctx, username, by)
		},
		HashPassword: func(ctx context.Context, pw string) (string, error) {
			return s.hashPassword(ctx, nil, pw)
		},
		Now:        s.cfg.Now,
		Zone:       s.cfg.Zone,
		Location:   s.cfg.Location,
		SessionTTL: s.cfg.TokenTTL,
		Secure:     strings.HasPrefix(strings.ToLower(s.cfg.PublicURL), "https://"),
		Logger:     s.log,
		// The complaint pages apply the server's limits.
		ComplaintLimits: s.cfg.ComplaintLimits,
	})
	if err != nil {
		panic("server: workbench: " + err.Error()) // the embedded templates do not parse: a build fault
	}
	w.Mount(e)
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

// sessionCookie carries a user session for a browser: HttpOnly (page
// scripts never see it), SameSite=Strict (other sites' pages never send
// it), Secure over TLS, Path=/.
const sessionCookie = web.SessionCookie

// resolveToken authenticates the request by its bearer token or, without an
// Authorization header, by the session cookie, and stores the principal in
// the context. A cookie is only ever a user session (a device token in a
// cookie is refused), and a state-changing request that authenticates by
// cookie must come from a page of this server (sameOrigin); bearer requests
// carry their credential explicitly and need no such check.
func (s *Server) resolveToken(c echo.Context) (*auth.Principal, error) {
	req := c.Request()
	h := req.Header.Get(echo.HeaderAuthorization)
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	fromCookie := false
	if h == "" {
		if ck, err := req.Cookie(sessionCookie); err == nil && ck.Value != "" {
			tok, ok, scheme, fromCookie = ck.Value, true, "Bearer", true
		}
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, schema.Errorf(schema.CodeUnauthorized, "missing Authorization: Bearer <token>; log in at %s or enroll a device at %s", schema.PathLogin, schema.PathEnroll)
	}
	if fromCookie {
		if strings.HasPrefix(tok, auth.PrefixDevice) {
			return nil, schema.Errorf(schema.CodeUnauthorized, "a device token is never accepted from a cookie; send it as Authorization: Bearer")
		}
		if changesState(req.Method) {
			if err := sameOrigin(req); err != nil {
				return nil, err
			}
		}
	}
	p, err := s.store.Authenticate(req.Context(), auth.HashToken(tok))
	if err != nil {
		return nil, err
	}
	if fromCookie && p.IsDevice() {
		return nil, schema.Errorf(schema.CodeUnauthorized, "a device token is never accepted from a cookie; send it as Authorization: Bearer")
	}
	c.Set(auth.ContextKey, p)
	auditor(c, p)
	// Every request's log line names who made it.
	attrs := []slog.Attr{slog.String("user", p.Username)}
	if p.DeviceID != "" {
		attrs = append(attrs, slog.String("device", p.DeviceID))
	}
	observe.AddLogAttrs(c, attrs...)
	return p, nil
}

// changesState reports whether a method may change something (and so
// needs the cross-site check when a cookie authenticates it).
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// sameOrigin refuses a browser request that another site's page made: the
// Origin header (or, without it, the Referer) must name this server's host,
// with https when the request came over TLS, and Sec-Fetch-Site, when sent,
// must not say another site. Browsers send Origin with every POST, PATCH
// and DELETE, so a request with neither header is refused too. It stands
// beside SameSite=Strict, which keeps the cookie off cross-site requests in
// browsers that honour it.
func sameOrigin(r *http.Request) error {
	refuse := func(why string) error {
		return schema.Errorf(schema.CodeForbidden, "cross-site request refused (%s): a request that uses the session cookie must come from a page of this server; API clients send Authorization: Bearer", why)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return refuse("Sec-Fetch-Site: " + truncate(site, 20))
	}
	src, name := r.Header.Get("Origin"), "Origin"
	if src == "" {
		src, name = r.Header.Get("Referer"), "Referer"
	}
	if src == "" {
		return refuse("no Origin or Referer")
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return refuse(name + " " + strconv.Quote(truncate(src, 80)) + " is not " + r.Host)
	}
	if r.TLS != nil && u.Scheme != "https" {
		return refuse(name + " is not https")
	}
	return nil
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
