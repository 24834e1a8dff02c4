package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// loginData is what the login form shows again after a failure.
type loginData struct {
	Username string
	Error    string
}

// loginPage shows the form, with a fresh login cookie keying its CSRF
// token when the browser has none. A signed-in user goes to their first page (home).
func (w *Web) loginPage(c echo.Context) error {
	if p, err := w.session(c); err == nil {
		return c.Redirect(http.StatusSeeOther, home(p.Role))
	}
	return w.showLogin(c, http.StatusOK, loginData{})
}

func (w *Web) showLogin(c echo.Context, status int, d loginData) error {
	key := ""
	if ck, err := c.Cookie(loginCookie); err == nil && len(ck.Value) == 64 {
		key = ck.Value
	} else {
		k, err := randomKey()
		if err != nil {
			return w.fail(c, err)
		}
		key = k
		w.setCookie(c, loginCookie, key, 3600)
	}
	c.Set(loginCSRFKey, csrfToken(key))
	return w.render(c, status, "login", "登录", d)
}

// loginSubmit checks the form's CSRF token (keyed by the login cookie),
// then the password through the API login's check and limits, and opens a
// session in the cookie for a leader, an admin or the office.
func (w *Web) loginSubmit(c echo.Context) error {
	key := ""
	if ck, err := c.Cookie(loginCookie); err == nil {
		key = ck.Value
	}
	if err := w.checkForm(c, key, maxFormBytes); err != nil {
		return w.fail(c, err)
	}
	form := c.Request().PostForm
	d := loginData{Username: form.Get("username")}
	u, err := w.cfg.CheckLogin(c, d.Username, form.Get("password"))
	if err != nil {
		switch schema.ErrorCode(err) {
		case schema.CodeInvalid:
			d.Error = "请填写用户名和密码。"
		case schema.CodeUnauthorized:
			d.Error = "用户名或密码错误。"
		case schema.CodeRateLimited:
			d.Error = "登录失败次数过多，请在 " + c.Response().Header().Get("Retry-After") + " 秒后再试。"
		case schema.CodeUnavailable:
			d.Error = "服务器繁忙，请稍后再试。"
		default:
			return w.fail(c, err)
		}
		return w.showLogin(c, schema.HTTPStatus(schema.ErrorCode(err)), d)
	}
	if !mayUseWorkbench(u.Role) {
		d.Error = inspectorRefusal
		return w.showLogin(c, http.StatusForbidden, d)
	}
	tok, _, err := w.cfg.StartSession(store.WithAuditor(c.Request().Context(), u.Username, c.RealIP()), u)
	if err != nil {
		return w.fail(c, err)
	}
	w.setCookie(c, SessionCookie, tok, int(w.cfg.SessionTTL.Seconds()))
	w.setCookie(c, loginCookie, "", -1)
	return c.Redirect(http.StatusSeeOther, home(u.Role))
}

// logout revokes the session on the server, so that a copy of the cookie
// is useless too, and clears it.
func (w *Web) logout(c echo.Context, p *auth.Principal) error {
	if err := w.cfg.EndSession(c.Request().Context(), p); err != nil {
		return err
	}
	w.setCookie(c, SessionCookie, "", -1)
	return c.Redirect(http.StatusSeeOther, "/login")
}
