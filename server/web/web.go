// Package web is the squad leaders' workbench: server-rendered pages in
// Chinese for the leaders and admins who review what the field sent. It
// works without JavaScript and loads nothing from outside the server: the
// templates and the stylesheet are embedded.
//
// Every page goes one way, so that later pages are easy to add:
//   - a route is added in Mount with w.page (GET) or w.action (POST) around
//     a handler of the form func(c echo.Context, p *auth.Principal) error;
//   - a handler shows a page with w.render(c, status, name, title, data),
//     where templates/<name>.html defines "content" inside the one layout;
//   - a form carries {{template "csrf" .}}; every POST is checked for it
//     before the handler runs (403 page otherwise);
//   - a handler fails by returning an error: a *schema.Error becomes the
//     error page with a Chinese headline for its code (Fail adds a Chinese
//     message of its own), anything else is logged and shown as internal.
//
// Everything shown was typed by someone, mostly on a device: templates
// escape it all (html/template), nothing from data is ever template.HTML,
// and the stylesheet wraps long words so that no text breaks the layout.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
	_ "time/tzdata" // the bureau's zone is named in configuration; a host without tzdata still knows it

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/importer"
	"github.com/patrolhq/patrol/server/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionCookie holds a browser's user session token: HttpOnly (page
// scripts never see it), SameSite=Lax (other sites' pages may link to the
// workbench, but never post to it with the session), Secure when the
// server is reached over https. The API accepts it too.
const SessionCookie = "patrol_session"

// loginCookie holds a random value that keys the login form's CSRF token
// before there is a session to key it.
const loginCookie = "patrol_login"

// DefaultZone is the bureau's zone: pages show every time in it.
const DefaultZone = "Asia/Shanghai"

// maxFormBytes bounds a form body; the largest form is a user's details.
const maxFormBytes = 64 << 10

// maxIntakeBytes bounds the complaint intake form, which carries a letter's
// words: room for one far longer than intake keeps (escaped in the form
// body, a Chinese character takes nine bytes), so that an overlong one is
// refused with the form and its text shown again, not lost.
const maxIntakeBytes = 512 << 10

// Store is what the workbench reads and changes: accounts, the leaders'
// supervision, venues, the lifecycle and findings ledger, the audit log,
// and the clocks of devices.
type Store interface {
	store.Accounts
	store.Supervision
	store.Venues
	store.Ledger
	store.Audit
	store.Zones
	store.Imports
	store.Discoveries
	store.Complaints
	store.Rollups
	store.Plans
	store.Cases
	// DeviceClock is how far a device's clock was off when it last synced
	// (store.Sync): the inspection page shows it beside the device's times.
	DeviceClock(ctx context.Context, deviceID string) (offsetMS int64, lastSync time.Time, err error)
}

// Config wires the workbench to the server. Store, CheckLogin,
// StartSession and EndSession are required.
type Config struct {
	Store Store
	// CheckLogin checks a username and password with the API login's
	// limits (server.CheckLogin); StartSession opens a session for a user.
	CheckLogin   func(c echo.Context, username, password string) (store.User, error)
	StartSession func(ctx context.Context, u store.User) (token string, expires time.Time, err error)
	// EndSession revokes a principal's session and records the sign-out.
	EndSession func(ctx context.Context, p *auth.Principal) error
	// EnrollmentCode issues a device enrollment code for username; nil
	// leaves the enrollment form out.
	EnrollmentCode func(ctx context.Context, username, createdBy string) (code string, expires time.Time, err error)
	// HashPassword hashes a password an admin sets (the server's bounded
	// pool of argon2 workers); default auth.HashPassword.
	HashPassword func(ctx context.Context, pw string) (string, error)
	Now          func() time.Time
	// Zone is the bureau's zone, in which every time is shown; default
	// Asia/Shanghai.
	Zone *time.Location
	// Location is the zone of the plan's days (the rollups' zone);
	// default Zone.
	Location *time.Location
	// SessionTTL is how long a session cookie lives (the session token's
	// own expiry is StartSession's).
	SessionTTL time.Duration
	// Secure marks cookies Secure on every request (the server's public
	// address is https behind a proxy); without it, only requests that
	// came over TLS get Secure cookies.
	Secure bool
	Logger *slog.Logger
	// ComplaintLimits are the time limits the complaint pages apply;
	// zero is schema.DefaultComplaintLimits.
	ComplaintLimits schema.ComplaintLimits
}

// Web is the mounted workbench.
type Web struct {
	cfg   Config
	st    Store
	pages map[string]*pageTemplate
}

// New checks the configuration and parses the templates.
func New(cfg Config) (*Web, error) {
	if cfg.Store == nil || cfg.CheckLogin == nil || cfg.StartSession == nil || cfg.EndSession == nil {
		return nil, errors.New("web: Store, CheckLogin, StartSession and EndSession are required")
	}
	if cfg.HashPassword == nil {
		cfg.HashPassword = func(_ context.Context, pw string) (string, error) { return auth.HashPassword(pw) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Zone == nil {
		z, err := time.LoadLocation(DefaultZone)
		if err != nil {
			return nil, fmt.Errorf("web: zone: %w", err)
		}
		cfg.Zone = z
	}
	if cfg.Location == nil {
		cfg.Location = cfg.Zone
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ComplaintLimits == (schema.ComplaintLimits{}) {
		cfg.ComplaintLimits = schema.DefaultComplaintLimits()
	}
	w := &Web{cfg: cfg, st: cfg.Store}
	if err := w.parse(); err != nil {
		return nil, err
	}
	return w, nil
}

// Mount adds the workbench's routes to e, outside the API prefix.
func (w *Web) Mount(e *echo.Echo) {
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static)))))
	e.GET("/login", w.loginPage)
	e.POST("/login", w.loginSubmit)
	e.POST("/logout", w.action(w.logout, complaintDesk))

	e.GET("/", w.page(w.queue, anyLeader))
	e.GET("/conflicts/:id", w.page(w.conflictPage, anyLeader))
	e.POST("/conflicts/:id/decide", w.action(w.decideConflict, anyLeader))

	e.GET("/inspections/:id", w.page(w.inspectionPage, anyLeader))
	e.POST("/inspections/:id/review", w.action(w.reviewInspection, anyLeader))
	e.GET("/findings", w.page(w.ledgerPage, anyLeader))
	e.GET("/findings/:id", w.page(w.findingPage, anyLeader))
	e.POST("/findings/:id/:act", w.action(w.actOnFinding, anyLeader))
	e.GET("/venues/:id", w.page(w.venuePage, anyLeader))
	e.GET("/audit", w.page(w.auditPage, anyLeader))
	e.GET("/zones", w.page(w.zonesPage, anyLeader))
	e.GET("/dashboard", w.page(w.dashboardPage, anyLeader))
	e.GET("/bulletin", w.page(w.bulletinPage, anyLeader))
	e.GET("/discoveries", w.page(w.discoveriesPage, anyLeader))
	e.POST("/discoveries/:id/:act", w.action(w.decideDiscovery, anyLeader))
	e.GET("/cases", w.page(w.casesPage, anyLeader))
	e.POST("/cases", w.action(w.openCase, anyLeader))
	e.GET("/cases/:id", w.page(w.casePage, anyLeader))
	e.POST("/cases/:id/:act", w.action(w.actOnCase, anyLeader))
	e.GET("/plan", w.page(w.planPage, anyLeader))
	e.POST("/plan", w.action(w.savePlan, anyLeader))

	e.GET("/complaints", w.page(w.complaintsPage, complaintDesk))
	e.GET("/complaints/new", w.page(w.intakePage, complaintDesk))
	e.POST("/complaints/new", w.actionOf(w.takeIn, complaintDesk, maxIntakeBytes))
	e.GET("/complaints/:id", w.page(w.complaintPage, complaintDesk))
	e.POST("/complaints/:id/:act", w.action(w.actOnComplaint, complaintDesk))

	e.GET("/admin/users", w.page(w.usersPage, adminOnly))
	e.POST("/admin/users", w.action(w.createUser, adminOnly))
	e.POST("/admin/users/:id/disable", w.action(w.disableUser(true), adminOnly))
	e.POST("/admin/users/:id/enable", w.action(w.disableUser(false), adminOnly))
	e.POST("/admin/users/:id/password", w.action(w.resetPassword, adminOnly))
	e.GET("/admin/import", w.page(w.importPage, adminOnly))
	e.POST("/admin/import", w.upload(w.importSubmit))
	e.GET("/admin/devices", w.page(w.devicesPage, anyLeader))
	e.POST("/admin/devices/:id/revoke", w.action(w.revokeDevice, anyLeader))
	e.POST("/admin/enrollment-codes", w.action(w.issueCode, anyLeader))
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(rw, r)
	})
}

// handler is a page or action of a signed-in leader or admin.
type handler func(c echo.Context, p *auth.Principal) error

// access says who may open a route.
type access int

const (
	anyLeader access = iota // squad leaders and admins
	adminOnly
	// complaintDesk adds the office's intake staff to leaders and admins:
	// the complaint pages (and signing out) are all the office uses.
	complaintDesk
)

// page serves a GET route to a signed-in user; without a session the
// browser is sent to the login form.
func (w *Web) page(h handler, who access) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := w.session(c)
		if err != nil {
			if schema.ErrorCode(err) == schema.CodeUnauthorized {
				return c.Redirect(http.StatusSeeOther, "/login")
			}
			return w.fail(c, err)
		}
		return w.run(c, p, h, who)
	}
}

// action serves a POST route: the session first, then the form's CSRF
// token, then the handler.
func (w *Web) action(h handler, who access) echo.HandlerFunc {
	return w.actionOf(h, who, maxFormBytes)
}

// actionOf is action with a form body of at most limit bytes.
func (w *Web) actionOf(h handler, who access, limit int64) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := w.session(c)
		if err != nil {
			return w.fail(c, err)
		}
		c.Set(auth.ContextKey, p) // the refusal page still shows who is signed in
		ck, _ := c.Cookie(SessionCookie)
		if err := w.checkForm(c, ck.Value, limit); err != nil {
			return w.fail(c, err)
		}
		return w.run(c, p, h, who)
	}
}

// upload serves an admin's POST of a multipart form with a file: the
// session and the role first (nobody else's upload is read), then the
// form with its CSRF token, bounded by the import's own limit.
func (w *Web) upload(h handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := w.session(c)
		if err != nil {
			return w.fail(c, err)
		}
		c.Set(auth.ContextKey, p)
		if !p.IsAdmin() {
			return w.fail(c, Fail(schema.CodeForbidden, "只有局管理员可以打开此页面。", "admins only"))
		}
		ck, _ := c.Cookie(SessionCookie)
		r := c.Request()
		r.Body = http.MaxBytesReader(c.Response(), r.Body, importer.DefaultLimits.MaxBytes+maxFormBytes)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return w.fail(c, Fail(schema.CodeTooLarge, fmt.Sprintf("文件超过 %d MiB，请拆分后分批导入。", importer.DefaultLimits.MaxBytes>>20), "upload too large"))
			}
			return w.fail(c, Fail(schema.CodeInvalid, "表单无法读取，请刷新页面后重试。", "upload unreadable"))
		}
		defer r.MultipartForm.RemoveAll()
		if err := checkCSRF(r.PostForm.Get("csrf"), ck.Value); err != nil {
			return w.fail(c, err)
		}
		return w.run(c, p, h, adminOnly)
	}
}

func (w *Web) run(c echo.Context, p *auth.Principal, h handler, who access) error {
	c.Set(auth.ContextKey, p)
	req := c.Request() // the store names who made each change in the audit log
	c.SetRequest(req.WithContext(store.WithAuditor(req.Context(), p.Username, c.RealIP())))
	if who == adminOnly && !p.IsAdmin() {
		return w.fail(c, Fail(schema.CodeForbidden, "只有局管理员可以打开此页面。", "admins only"))
	}
	if who != complaintDesk && p.Role == schema.RoleOffice {
		return w.fail(c, &PageError{Code: schema.CodeForbidden, Back: "/complaints",
			Message: "受理员账号只能使用投诉举报页面（登记、查看投诉）。", Detail: "the office uses the complaint pages only"})
	}
	if err := h(c, p); err != nil {
		return w.fail(c, err)
	}
	return nil
}

// session resolves the session cookie to a leader or admin.
func (w *Web) session(c echo.Context) (*auth.Principal, error) {
	ck, err := c.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, Fail(schema.CodeUnauthorized, "请先登录。", "no session")
	}
	p, err := w.st.Authenticate(c.Request().Context(), auth.HashToken(ck.Value))
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeUnauthorized {
			return nil, Fail(schema.CodeUnauthorized, "登录已失效，请重新登录。", err.Error())
		}
		return nil, err
	}
	if p.IsDevice() {
		return nil, Fail(schema.CodeUnauthorized, "设备凭证不能用于工作台，请用账号密码登录。", "device token in a cookie")
	}
	if !mayUseWorkbench(p.Role) {
		return nil, Fail(schema.CodeForbidden, inspectorRefusal, "inspectors use the field app")
	}
	return p, nil
}

// inspectorRefusal is what an inspector is told at the login form.
const inspectorRefusal = "检查员账号不能登录工作台。请在执法终端上使用巡查应用；如需审核权限，请联系中队长或局管理员。"

func mayUseWorkbench(role string) bool {
	return role == schema.RoleLeader || role == schema.RoleAdmin || role == schema.RoleOffice
}

// home is the first page of a user of role: the queue, or for the
// office the complaints it takes in.
func home(role string) string {
	if role == schema.RoleOffice {
		return "/complaints"
	}
	return "/"
}

// csrfToken is hex(HMAC-SHA256(key, "csrf")): keyed by the session token
// (or, before login, the login cookie), so another site cannot know it.
func csrfToken(key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// checkForm reads the posted form (bounded) and checks its CSRF token
// against key in constant time.
func (w *Web) checkForm(c echo.Context, key string, limit int64) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Fail(schema.CodeTooLarge, "提交的内容过长。", "form too large")
		}
		return Fail(schema.CodeInvalid, "表单无法读取，请刷新页面后重试。", "form unreadable")
	}
	return checkCSRF(r.PostForm.Get("csrf"), key)
}

// checkCSRF checks a form's token against the session it was made for.
func checkCSRF(got, key string) error {
	if key == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(key))) != 1 {
		return Fail(schema.CodeForbidden, "表单已过期或来源不明（安全校验失败）。请返回，刷新页面后重新提交。", "csrf token missing or wrong")
	}
	return nil
}

// secure reports whether cookies of this response get Secure.
func (w *Web) secure(c echo.Context) bool { return w.cfg.Secure || c.Request().TLS != nil }

func (w *Web) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: w.secure(c)})
}

func randomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("web: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
