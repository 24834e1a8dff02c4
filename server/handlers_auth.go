package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// loginQueueWait is how long a login waits in the short queue for a
// password-check worker before it is told to retry.
const loginQueueWait = 2 * time.Second

// registerLoginMetrics exports the password-check pool, so that an operator
// sees a login flood meet its bound (queue length, workers in use, checks,
// refusals; refusals also count in patrol_overload_rejections_total).
func (s *Server) registerLoginMetrics() {
	m := s.metrics
	m.GaugeFunc("patrol_login_check_workers", "Password checks (argon2id, 19 MiB each) that may run at once.",
		func() float64 { return float64(s.checks.Workers()) })
	m.GaugeFunc("patrol_login_checks_in_use", "Password checks running now.", func() float64 { return float64(s.checks.InUse()) })
	m.GaugeFunc("patrol_login_checks_queued", "Logins waiting for a password-check worker now.", func() float64 { return float64(s.checks.Queued()) })
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "patrol_login_checks_total", Help: "Password checks run (one argon2id hash each, real or dummy).",
	}, func() float64 { return float64(s.checks.Checks()) }))
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "patrol_login_checks_rejected_total", Help: "Logins refused with 503 because every password-check worker and queue place was taken.",
	}, func() float64 { return float64(s.checks.Rejected()) }))
}

// checkPassword runs a password check on the bounded pool; hash "" stands
// for an unknown user (checked against a dummy hash of the same cost).
func (s *Server) checkPassword(c echo.Context, hash, pw string) (bool, error) {
	ok, err := s.checks.Verify(c.Request().Context(), hash, pw)
	if errors.Is(err, auth.ErrBusy) {
		s.metrics.Rejections.WithLabelValues(c.Path()).Inc()
		secs := max(int(s.cfg.RetryAfter.Round(time.Second)/time.Second), 1)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return false, schema.Errorf(schema.CodeUnavailable, "the server is checking as many passwords as it can at once; retry in %d s", secs)
	}
	return ok, err
}

// hashPassword hashes a password being set on the bounded pool that login
// checks run on; every worker and queue place taken answers 503 with
// Retry-After (set on c's response when c is not nil) before any hashing.
func (s *Server) hashPassword(ctx context.Context, c echo.Context, pw string) (string, error) {
	h, err := s.checks.Hash(ctx, pw)
	if errors.Is(err, auth.ErrBusy) {
		path := "workbench"
		secs := max(int(s.cfg.RetryAfter.Round(time.Second)/time.Second), 1)
		if c != nil {
			path = c.Path()
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		}
		s.metrics.Rejections.WithLabelValues(path).Inc()
		return "", schema.Errorf(schema.CodeUnavailable, "the server is hashing as many passwords as it can at once; retry in %d s", secs)
	}
	return h, err
}

// loginDelay is the first delay of an account after its free failures; it
// doubles with each further failure up to Config.LoginMaxDelay.
const loginDelay = time.Second

// attemptLimits are the rules failed logins and enrollments are counted by.
type attemptLimits struct {
	account       rule // per account, and per account at an address it logged in from before
	address       rule // per client address, every account
	enrollAddress rule // enrollment codes per client address
	enrollAll     rule // enrollment codes across all addresses
}

func newAttemptLimits(cfg Config) attemptLimits {
	return attemptLimits{
		account:       rule{free: cfg.LoginAttempts, window: cfg.LoginWindow, delay: loginDelay, maxDelay: cfg.LoginMaxDelay},
		address:       rule{free: cfg.LoginAddressAttempts, window: cfg.LoginWindow},
		enrollAddress: rule{free: cfg.EnrollAttempts, window: cfg.LoginWindow},
		enrollAll:     rule{free: cfg.EnrollAttemptsPerHour, window: time.Hour},
	}
}

// loginKeys are what a login of account from addr counts against: the
// address, and the account — or, from an address the account logged in from
// before, the account at that address, so that a guesser elsewhere who
// keeps the account's delay running never delays its owner there.
func (s *Server) loginKeys(ctx context.Context, account, addr string) []limitKey {
	acct := limitKey{"login-account:" + account, &s.limits.account}
	known, err := s.failures.knownAt(ctx, account, addr)
	if err != nil { // counted against the account, as from a new address
		s.log.Warn("known login addresses unreadable", "user", account, "err", err)
	}
	if known {
		acct = limitKey{"login-account-at:" + account + "\x00" + addr, &s.limits.account}
	}
	return []limitKey{{"login-address:" + addr, &s.limits.address}, acct}
}

// reserveAttempt counts an attempt as failed before it is checked, or
// answers 429 with Retry-After while a key is held back. The caller
// releases the reservation unless the attempt was checked and failed.
func (s *Server) reserveAttempt(c echo.Context, why string, keys ...limitKey) (*reservation, error) {
	r, wait, err := s.failures.reserve(c.Request().Context(), keys...)
	if err != nil {
		return nil, err
	}
	if r == nil {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return nil, schema.Errorf(schema.CodeRateLimited, "%s; try again in %d s", why, secs)
	}
	return r, nil
}

// releaseAttempt hands a reservation back, even when the client has gone.
func (s *Server) releaseAttempt(ctx context.Context, r *reservation) {
	if err := s.failures.release(context.WithoutCancel(ctx), r); err != nil {
		s.log.Warn("attempt not released: it counts as a failure until it ages out", "err", err)
	}
}

// loginBody is the JSON body of POST /login; Cookie asks for the session in
// the patrol_session cookie instead of the answer.
type loginBody struct {
	schema.LoginRequest
	Cookie bool `json:"cookie"`
}

// readLogin reads a login as JSON or as a form posted from a page (which
// always gets its session in the cookie).
func readLogin(c echo.Context) (req schema.LoginRequest, cookie bool, err error) {
	r := c.Request()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt != echo.MIMEApplicationForm {
		var b loginBody
		err := bindJSON(c, schema.MaxSmallBodyBytes, &b)
		return b.LoginRequest, b.Cookie, err
	}
	if enc := r.Header.Get(echo.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return req, false, schema.Errorf(schema.CodeUnsupportedMedia, "a login form is sent plain, not with Content-Encoding %q", truncate(enc, 40))
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, schema.MaxSmallBodyBytes))
	if err != nil {
		return req, false, err
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return req, false, schema.Errorf(schema.CodeInvalid, "login form is not url-encoded: %v", err)
	}
	return schema.LoginRequest{Username: form.Get("username"), Password: form.Get("password")}, true, nil
}

// newSessionCookie carries a session token to a browser (see sessionCookie);
// an empty token with maxAge < 0 clears it.
func newSessionCookie(c echo.Context, tok string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.Request().TLS != nil}
}

func (s *Server) login(c echo.Context) error {
	req, wantCookie, err := readLogin(c)
	if err != nil {
		return err
	}
	if wantCookie {
		// A cookie login from another site's page would sign the browser in
		// to someone else's account.
		if err := sameOrigin(c.Request()); err != nil {
			return err
		}
	}
	u, err := s.CheckLogin(c, req.Username, req.Password)
	if err != nil {
		return err
	}
	tok, exp, err := s.StartSession(store.WithAuditor(c.Request().Context(), u.Username, c.RealIP()), u)
	if err != nil {
		return err
	}
	answer := schema.LoginResponse{Token: tok, Role: u.Role, SquadID: u.SquadID, Username: u.Username, ExpiresAt: exp}
	if wantCookie {
		c.SetCookie(newSessionCookie(c, tok, int(s.cfg.TokenTTL/time.Second)))
		answer.Token = "" // the session lives in the HttpOnly cookie only
	}
	return writeJSON(c, http.StatusOK, answer)
}

// CheckLogin checks a username and password as POST /login does, with
// its limits: failed attempts are counted per account and address, and
// refused with rate_limited (Retry-After set on the response) while held
// back; the password check runs on the bounded pool. It returns the user
// of a right password for an enabled account, or a *schema.Error: invalid,
// unauthorized ("wrong username or password", whatever was wrong),
// rate_limited or unavailable. The workbench's login form calls it too,
// so that a browser gets no more guesses than an API client.
func (s *Server) CheckLogin(c echo.Context, username, password string) (store.User, error) {
	username = auth.CanonicalUsername(username)
	if username == "" || password == "" {
		return store.User{}, schema.Errorf(schema.CodeInvalid, "username and password are required")
	}
	if len(username) > schema.MaxTextLen || len(password) > auth.MaxPasswordLen {
		return store.User{}, schema.Errorf(schema.CodeInvalid, "username or password is too long")
	}
	addr := c.RealIP()
	ctx := c.Request().Context()
	res, err := s.reserveAttempt(c, "too many failed logins for this account or from this address", s.loginKeys(ctx, username, addr)...)
	if err != nil {
		return store.User{}, err
	}
	failed := false
	defer func() {
		if !failed {
			s.releaseAttempt(ctx, res)
		}
	}()
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil && schema.ErrorCode(err) != schema.CodeNotFound {
		return store.User{}, err
	}
	ok, verr := s.checkPassword(c, u.PasswordHash, password)
	switch {
	case errors.Is(verr, auth.ErrMalformedHash):
		s.log.Error("stored password hash is unusable", "user", username, "err", verr)
	case verr != nil:
		return store.User{}, verr // busy or cancelled: nothing was checked
	}
	if err != nil || !ok || u.Disabled {
		failed = true
		return store.User{}, schema.Errorf(schema.CodeUnauthorized, "wrong username or password")
	}
	if err := s.failures.remember(ctx, username, addr); err != nil {
		s.log.Warn("login address not remembered", "user", username, "err", err)
	}
	return u, nil
}

// StartSession opens a user session of TokenTTL for u: a fresh token,
// stored hashed, and when it expires.
func (s *Server) StartSession(ctx context.Context, u store.User) (string, time.Time, error) {
	tok, err := auth.NewToken(auth.PrefixUser)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.cfg.Now().Add(s.cfg.TokenTTL).UTC()
	if err := s.store.CreateSession(ctx, u.ID, auth.HashToken(tok), exp); err != nil {
		return "", time.Time{}, err
	}
	s.auditSession(ctx, u.ID, u.Username, u.SquadID, "login")
	return tok, exp, nil
}

// EndSession revokes the session a principal signed in with (API logout
// and the workbench's alike) and records the sign-out.
func (s *Server) EndSession(ctx context.Context, p *auth.Principal) error {
	if err := s.store.RevokeToken(ctx, p.TokenHash); err != nil {
		return err
	}
	s.auditSession(ctx, p.UserID, p.Username, p.SquadID, "logout")
	return nil
}

// auditSession records a sign-in or sign-out. The session itself is
// committed already, so a failure to record it is logged, not answered.
func (s *Server) auditSession(ctx context.Context, userID, username string, squad *int64, action string) {
	if actor, addr := store.Auditor(ctx); actor == schema.AuditSystem {
		ctx = store.WithAuditor(ctx, username, addr)
	}
	if _, err := s.store.AppendAudit(ctx, schema.AuditEntry{EntityKind: schema.AuditUser, EntityID: userID, SquadID: squad,
		Action: action}); err != nil {
		s.log.Warn("session not audited", "user", username, "action", action, "err", err)
	}
}

func (s *Server) logout(c echo.Context) error {
	if err := s.EndSession(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	c.SetCookie(newSessionCookie(c, "", -1))
	return c.NoContent(http.StatusNoContent)
}

// createEnrollmentCode issues a code for a user the caller supervises. For
// a leader, a user of another squad and a user that does not exist get the
// same answer, so that the route does not tell who has an account.
func (s *Server) createEnrollmentCode(c echo.Context) error {
	p := principal(c)
	if !p.IsAdmin() && p.Role != schema.RoleLeader {
		return schema.Errorf(schema.CodeForbidden, "only squad leaders and admins issue enrollment codes")
	}
	var req schema.EnrollmentCodeRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	req.Username = auth.CanonicalUsername(req.Username)
	if req.Username == "" {
		return schema.Errorf(schema.CodeInvalid, "username is required")
	}
	ctx := c.Request().Context()
	u, err := s.store.UserByUsername(ctx, req.Username)
	if err != nil && (p.IsAdmin() || schema.ErrorCode(err) != schema.CodeNotFound) {
		return err // admins see every user; anything but "not found" is a fault
	}
	if !p.IsAdmin() && (err != nil || u.SquadID == nil || !p.InSquad(*u.SquadID)) {
		return schema.Errorf(schema.CodeNotFound, "user %s not found in your squad", req.Username)
	}
	code, exp, err := s.enrollmentCode(ctx, u.Username, p.Username)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, schema.EnrollmentCodeResponse{Code: code, Username: u.Username, ExpiresAt: exp.UTC()})
}

func (s *Server) enrollDevice(c echo.Context) error {
	var req schema.EnrollRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	req.DeviceName = strings.TrimSpace(req.DeviceName)
	if req.Code == "" {
		return schema.Errorf(schema.CodeInvalid, "code is required (the one-time code from your squad leader)")
	}
	if req.DeviceName == "" {
		return schema.Errorf(schema.CodeInvalid, "device_name is required, at most %d bytes", schema.MaxTextLen)
	}
	if err := schema.CheckText("device_name", req.DeviceName, schema.MaxTextLen); err != nil {
		return err
	}
	if !auth.WellFormedEnrollmentCode(req.Code) {
		return schema.Errorf(schema.CodeInvalid, "an enrollment code has 10 letters and digits like ACDE-FGHJ-KM (no 0, 1, 2, 5, 8, B, I, L, O, S, Z); check what you typed")
	}
	res, err := s.reserveAttempt(c, "too many wrong enrollment codes from this address, or from all addresses in the last hour",
		limitKey{"enroll-address:" + c.RealIP(), &s.limits.enrollAddress}, limitKey{"enroll-all", &s.limits.enrollAll})
	if err != nil {
		return err
	}
	failed := false
	defer func() {
		if !failed {
			s.releaseAttempt(c.Request().Context(), res)
		}
	}()
	tok, err := auth.NewToken(auth.PrefixDevice)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	exp := now.Add(s.cfg.DeviceTokenTTL).UTC()
	// No one is authenticated yet: the store names the code's owner, from this address.
	ctx := store.WithAuditor(c.Request().Context(), "", c.RealIP())
	d, err := s.store.EnrollDevice(ctx, auth.HashEnrollmentCode(req.Code), req.DeviceName, auth.HashToken(tok), exp)
	if err != nil {
		failed = schema.ErrorCode(err) == schema.CodeUnauthorized // a wrong, used or expired code
		return err
	}
	return writeJSON(c, http.StatusCreated, schema.EnrollResponse{DeviceID: d.DeviceID, Token: tok, Username: d.User.Username,
		SquadID: *d.User.SquadID, ExpiresAt: exp, ServerTime: now.UTC(), RecordCount: d.RecordCount})
}

func (s *Server) revokeDevice(c echo.Context) error {
	p := principal(c)
	id, err := idParam(c, "device")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	owner, err := s.store.DeviceOwner(ctx, id)
	if err != nil {
		return err
	}
	if owner.SquadID == nil || !p.CanSupervise(*owner.SquadID) {
		if !p.IsAdmin() {
			return schema.Errorf(schema.CodeNotFound, "device %s not found", id)
		}
	}
	if err := s.store.RevokeDevice(ctx, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
