package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
)

// pageTemplate is the layout with one page's "content".
type pageTemplate = template.Template

// view is what every template sees: the page's own Data beside the
// layout's parts.
type view struct {
	Title string
	User  *auth.Principal // nil on the login and error pages of a visitor
	CSRF  string          // the token of every form on the page
	Nav   string          // the page's name, for the menu
	Data  any
}

// parse builds one template per page: layout.html and the parts that
// several pages share (templates/_*.html) with the page's file.
func (w *Web) parse() error {
	base, err := template.New("layout.html").Funcs(w.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return fmt.Errorf("web: layout: %w", err)
	}
	files, err := templateFS.ReadDir("templates")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	w.pages = map[string]*pageTemplate{}
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+f.Name())
		if err != nil {
			return fmt.Errorf("web: page %s: %w", name, err)
		}
		w.pages[name] = t
	}
	return nil
}

// render shows page name with data inside the layout.
func (w *Web) render(c echo.Context, status int, name, title string, data any) error {
	t, ok := w.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	v := view{Title: title, Nav: name, Data: data}
	if p, ok := c.Get(auth.ContextKey).(*auth.Principal); ok && p != nil {
		v.User = p
		if ck, err := c.Cookie(SessionCookie); err == nil {
			v.CSRF = csrfToken(ck.Value)
		}
	}
	if csrf, ok := c.Get(loginCSRFKey).(string); ok && v.CSRF == "" {
		v.CSRF = csrf
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	// Nothing runs on these pages and nothing loads from elsewhere: a
	// script that hostile text smuggled past escaping would not run either.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// loginCSRFKey is the echo context key of the login form's CSRF token.
const loginCSRFKey = "patrol.web.login_csrf"

// PageError is a failure with a message in Chinese for the page; Detail
// is the English detail for the log. Title, when set, replaces the code's
// headline, and Reason is shown as the page's small print: the domain
// rule's own words when it refused a step (Refused).
type PageError struct {
	Code    schema.Code
	Message string
	Detail  string
	Title   string
	Reason  string
	Back    string // the page to go back to; default the queue
}

func (e *PageError) Error() string { return string(e.Code) + ": " + e.Detail }

// Unwrap gives the *schema.Error of the code, so that schema.ErrorCode
// reads a PageError's code like any other.
func (e *PageError) Unwrap() error { return &schema.Error{Code: e.Code, Message: e.Detail} }

// Fail makes a PageError: the code decides the status and headline,
// message (Chinese) says what to do.
func Fail(code schema.Code, message, detail string) error {
	return &PageError{Code: code, Message: message, Detail: detail}
}

// Refused shows a step the domain rules refused (a *schema.Error of
// DecideReview or DecideFinding, through the store) under a Chinese
// heading, with the rule's reason; any other error passes unchanged.
func Refused(err error, title, message, back string) error {
	var se *schema.Error
	if !errors.As(err, &se) || (se.Code != schema.CodeConflict && se.Code != schema.CodeInvalid) {
		return err
	}
	return &PageError{Code: se.Code, Title: title, Message: message, Detail: se.Message, Reason: se.Message, Back: back}
}

// headline is the Chinese title and default hint of each error code.
var headline = map[schema.Code][2]string{
	schema.CodeInvalid:      {"填写有误", "请检查填写的内容后重试。"},
	schema.CodeUnauthorized: {"需要登录", "请先登录，或重新登录后再试。"},
	schema.CodeForbidden:    {"没有权限", "您的账号无权进行此操作。"},
	schema.CodeNotFound:     {"未找到", "您要找的内容不存在，或不在您的权限范围内。"},
	schema.CodeConflict:     {"内容已变更", "数据已被他人修改，请刷新后重试。"},
	schema.CodeGone:         {"已删除", "该内容已在服务器上删除。"},
	schema.CodeTooLarge:     {"内容过长", "提交的内容超过允许的长度。"},
	schema.CodeRateLimited:  {"尝试次数过多", "请稍后再试。"},
	schema.CodeUnavailable:  {"服务器繁忙", "请稍后再试，您的数据不会丢失。"},
	schema.CodeTimeout:      {"处理超时", "请稍后再试，您的数据不会丢失。"},
	schema.CodeInternal:     {"服务器内部错误", "请稍后再试；如问题持续，请把请求编号告诉管理员。"},
}

// errorData is what the error page shows.
type errorData struct {
	Status    int
	Code      schema.Code
	Hint      string
	Detail    string // English, from the store or the rule that refused
	RequestID string
	Back      string
}

// fail shows err as the error page, in the layout, with the status of its
// code. A *schema.Error keeps its English message as the small print; an
// error of neither kind is a fault: logged, and shown without its text.
func (w *Web) fail(c echo.Context, err error) error {
	var pe *PageError
	var se *schema.Error
	d := errorData{RequestID: c.Response().Header().Get(schema.HeaderRequestID), Back: "/"}
	switch {
	case errors.As(err, &pe):
		d.Code, d.Hint, d.Detail = pe.Code, pe.Message, pe.Reason
		if pe.Back != "" {
			d.Back = pe.Back
		}
	case errors.As(err, &se):
		d.Code, d.Detail = se.Code, se.Message
	default:
		w.cfg.Logger.Error("workbench request failed", "err", err, "request_id", d.RequestID,
			"method", c.Request().Method, "path", c.Request().URL.Path)
		d.Code = schema.CodeInternal
	}
	text, ok := headline[d.Code]
	if !ok {
		text = headline[schema.CodeInternal]
	}
	if pe != nil && pe.Title != "" {
		text[0] = pe.Title
	}
	if d.Hint == "" {
		d.Hint = text[1]
	}
	if secs := c.Response().Header().Get("Retry-After"); secs != "" && d.Code == schema.CodeRateLimited {
		d.Hint = "请在 " + secs + " 秒后重试。"
	}
	d.Status = schema.HTTPStatus(d.Code)
	if p, ok := c.Get(auth.ContextKey).(*auth.Principal); ok && p != nil && d.Back == "/" {
		d.Back = home(p.Role)
	}
	if d.Code == schema.CodeUnauthorized {
		d.Back = "/login"
	}
	if c.Response().Committed {
		return nil
	}
	if rerr := w.render(c, d.Status, "error", text[0], d); rerr != nil {
		w.cfg.Logger.Error("workbench error page failed", "err", rerr)
		return c.String(http.StatusInternalServerError, "服务器内部错误")
	}
	return nil
}
