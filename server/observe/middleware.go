package observe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// LogAttrsKey is the echo.Context key under which handlers may store extra
// slog attributes (the device or user) for the request's log line.
const LogAttrsKey = "patrol.log_attrs"

// AddLogAttrs appends attributes to the request's log line.
func AddLogAttrs(c echo.Context, attrs ...slog.Attr) {
	cur, _ := c.Get(LogAttrsKey).([]slog.Attr)
	c.Set(LogAttrsKey, append(cur, attrs...))
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Middleware gives every request an id (kept from a sane X-Request-Id
// header, else made here), echoes it in the response, counts and times the
// request by its route pattern, and writes one structured log line.
// Every label comes from a closed set, whatever the request says: the
// route template (never the raw path; "unmatched" for none), MethodLabel,
// and the status the server chose, so anonymous junk cannot grow /metrics.
// It must run outside the error handler's reach, so install it with
// e.Use before the routes.
func (m *Metrics) Middleware(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			id := req.Header.Get(schema.HeaderRequestID)
			if !saneID(id) {
				id = newRequestID()
			}
			c.Response().Header().Set(schema.HeaderRequestID, id)
			c.SetRequest(req.WithContext(context.WithValue(req.Context(), requestIDKey, id)))
			m.InFlight.Inc()
			err := next(c)
			if err != nil {
				// Render now so the status below is the one the client sees.
				c.Error(err)
			}
			m.InFlight.Dec()
			status := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			method := MethodLabel(req.Method)
			m.Requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			m.Latency.WithLabelValues(route, Outcome(status)).Observe(elapsed.Seconds())
			attrs := []slog.Attr{
				slog.String("request_id", id), slog.String("method", method), slog.String("route", route),
				slog.Int("status", status), slog.Int64("bytes_out", c.Response().Size),
				slog.Float64("ms", float64(elapsed.Microseconds())/1000),
			}
			if extra, ok := c.Get(LogAttrsKey).([]slog.Attr); ok {
				attrs = append(attrs, extra...)
			}
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case status >= 400:
				level = slog.LevelWarn
			case route == schema.PathHealthz || route == schema.PathReadyz || route == "/metrics":
				level = slog.LevelDebug
			}
			log.LogAttrs(req.Context(), level, "http request", attrs...)
			return nil
		}
	}
}

// MethodLabel is the HTTP method as a metric and log label: the standard
// methods as they are, anything else "other". A method is whatever token
// the client sent (kilobytes of it, if it likes).
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// Outcome classes a status for the latency histogram.
func Outcome(status int) string {
	switch {
	case status == 429 || status == 503:
		return "overloaded"
	case status >= 500:
		return "server_error"
	case status >= 400:
		return "client_error"
	default:
		return "ok"
	}
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
