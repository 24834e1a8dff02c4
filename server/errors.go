package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// handleError is the one place an error becomes a response: every failure
// answers with schema.ErrorBody and the status of its code. Errors that are
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
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if werr := writeJSON(c, status, schema.ErrorBody{Error: *e}); werr != nil {
		s.log.Warn("write error response", "err", werr, "request_id", requestID(c))
	}
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
