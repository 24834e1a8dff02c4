package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// handleError is the one place an error becomes a response: every failure
// answers with schema.ErrorBody and the status of its code, or, for a
// browser that asks for HTML, with a small page saying the same. Errors that are
// not *schema.Error are server faults: logged with the request id and
// answered as "internal" without their text.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := s.toWireError(err, c)
	status := schema.HTTPStatus(e.Code)
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 500 {
		// A client error of the HTTP layer keeps its own status (405, 416
		// from a photo's Range) and answers with the body of every error.
		status = he.Code
	}
	c.Response().Header().Add(echo.HeaderVary, "Accept")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	var werr error
	if wantsHTML(c.Request()) {
		werr = writeErrorPage(c, status, e)
	} else {
		werr = writeJSON(c, status, schema.ErrorBody{Error: *e})
	}
	if werr != nil {
		s.log.Warn("write error response", "err", werr, "request_id", requestID(c))
	}
}

// wantsHTML reports whether the client prefers a page to JSON: a browser
// navigating sends Accept: text/html,…,*/*;q=0.8; API clients send
// application/json, */* or nothing, and get the JSON body.
func wantsHTML(r *http.Request) bool {
	html, json, wild := -1.0, -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			json = max(json, q)
		case "*/*", "application/*":
			wild = max(wild, q)
		}
	}
	if json < 0 {
		json = wild
	}
	return html > 0 && html > json
}

// errorPage is the error as a small page for people using a browser. The
// users read Chinese: the page leads with a Chinese headline and hint, and
// keeps the English message of the JSON body below. html/template escapes
// everything, the message included (it may quote a path or a name).
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Patrol</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Hint}}</p>
<p lang="en">{{.Message}}</p>
<p><small>HTTP {{.Status}} · {{.Code}}{{with .RequestID}} · 请求编号 (request id) {{.}}{{end}}</small></p>
</main>
</body>
</html>
`))

// pageText is the Chinese headline and hint of each error code.
var pageText = map[schema.Code][2]string{
	schema.CodeInvalid:          {"请求有误", "请检查填写的内容后重试。"},
	schema.CodeUnauthorized:     {"需要登录", "请先登录，或重新登录后再试。"},
	schema.CodeForbidden:        {"没有权限", "您的账号无权进行此操作。"},
	schema.CodeNotFound:         {"未找到", "您要找的内容不存在，或不在您的权限范围内。"},
	schema.CodeConflict:         {"内容已变更", "数据已被他人修改，请刷新后重试。"},
	schema.CodeOffsetMismatch:   {"上传位置不一致", "请重新开始上传。"},
	schema.CodeGone:             {"已删除", "该内容已在服务器上删除。"},
	schema.CodeTooLarge:         {"内容过大", "提交的内容超过服务器允许的大小。"},
	schema.CodeUnsupportedMedia: {"格式不支持", "请使用服务器接受的格式。"},
	schema.CodeChecksumMismatch: {"校验失败", "上传的数据已损坏，请重新上传。"},
	schema.CodeRateLimited:      {"尝试次数过多", "请稍后再试。"},
	schema.CodeUnavailable:      {"服务器繁忙", "请稍后再试，您的数据不会丢失。"},
	schema.CodeTimeout:          {"处理超时", "请稍后再试，您的数据不会丢失。"},
	schema.CodeInternal:         {"服务器内部错误", "请稍后再试；如问题持续，请把请求编号告诉管理员。"},
}

func writeErrorPage(c echo.Context, status int, e *schema.Error) error {
	text, ok := pageText[e.Code]
	if !ok {
		text = pageText[schema.CodeInternal]
	}
	hint := text[1]
	if secs := c.Response().Header().Get("Retry-After"); secs != "" {
		hint = "请在 " + secs + " 秒后重试。"
	}
	var buf bytes.Buffer
	if err := errorPage.Execute(&buf, map[string]any{"Title": text[0], "Hint": hint, "Message": e.Message,
		"Status": status, "Code": e.Code, "RequestID": requestID(c)}); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set("X-Content-Type-Options", "nosniff")
	return c.HTMLBlob(status, buf.Bytes())
}

func (s *Server) toWireError(err error, c echo.Context) *schema.Error {
	var se *schema.Error
	if errors.As(err, &se) {
		return se
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return schema.Errorf(schema.CodeTooLarge, "request body is larger than the %d bytes this endpoint accepts", mbe.Limit)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		req := c.Request()
		switch he.Code {
		case http.StatusNotFound:
			return schema.Errorf(schema.CodeNotFound, "no route %s %s; see %s", req.Method, truncate(req.URL.Path, 120), schema.PathOpenAPI)
		case http.StatusMethodNotAllowed:
			return schema.Errorf(schema.CodeInvalid, "method %s is not allowed on %s", req.Method, truncate(req.URL.Path, 120))
		case http.StatusRequestEntityTooLarge:
			return schema.Errorf(schema.CodeTooLarge, "request body is too large for %s", truncate(req.URL.Path, 120))
		}
		if he.Code >= 400 && he.Code < 500 {
			return schema.Errorf(schema.CodeForStatus(he.Code), "%v", he.Message)
		}
	}
	id := requestID(c)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("request timed out", "err", err, "request_id", id, "path", c.Request().URL.Path, "limit", s.cfg.RequestTimeout)
		return schema.Errorf(schema.CodeTimeout, "the server could not finish within %s (busy); your work is kept, retry shortly", s.cfg.RequestTimeout)
	case errors.Is(err, context.Canceled):
		return schema.Errorf(schema.CodeUnavailable, "request cancelled before it finished; nothing was acknowledged, retry")
	case schema.IsStorageFault(err):
		s.log.Error("database cannot be written: free disk space or make the data directory writable, then retry",
			"err", err, "request_id", id, "data_dir", s.cfg.DataDir)
		return schema.Errorf(schema.CodeUnavailable, "the server cannot write its database (disk full or read-only); nothing was acknowledged, your work is kept — retry later (request id %s)", id)
	case schema.IsBusy(err):
		s.log.Warn("database busy", "err", err, "request_id", id)
		return schema.Errorf(schema.CodeUnavailable, "the server's database is busy; retry shortly")
	}
	s.log.Error("request failed", "err", err, "request_id", id, "method", c.Request().Method, "path", c.Request().URL.Path)
	return schema.Errorf(schema.CodeInternal, "internal error; quote request id %s when reporting it", id)
}

// requestID returns the id of the request (set by the request-id middleware).
func requestID(c echo.Context) string {
	return c.Response().Header().Get(schema.HeaderRequestID)
}

// recoverPanics turns a panic in a handler into a logged 500 answer, so a
// bug never drops the connection without a response.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				stack := make([]byte, 8<<10)
				stack = stack[:runtime.Stack(stack, false)]
				s.log.Error("panic in handler", "panic", fmt.Sprint(r), "request_id", requestID(c), slog.String("stack", string(stack)))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}
