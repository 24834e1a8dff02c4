package observe

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// Limiter bounds how many requests of a kind run at once. Past the bound a
// request waits up to Wait for a slot and is then turned away with 503 and
// a Retry-After, so that a morning rush of devices queues politely instead
// of piling up goroutines, memory and writer contention. A slot is for work
// that can proceed: install the Limiter behind a Share (no device takes
// more than its part) and behind ReadBodyFirst or MinRate (no request
// holds a slot while its body trickles in).
type Limiter struct {
	slots      chan struct{}
	Wait       time.Duration
	RetryAfter time.Duration
	// What names the requests in the refusal; default "syncs".
	What    string
	metrics *Metrics
}

// NewLimiter allows n concurrent requests.
func NewLimiter(n int, wait, retryAfter time.Duration, m *Metrics) *Limiter {
	if n < 1 {
		n = 1
	}
	return &Limiter{slots: make(chan struct{}, n), Wait: wait, RetryAfter: retryAfter, metrics: m}
}

// Middleware applies the limit to the routes it wraps.
func (l *Limiter) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			select {
			case l.slots <- struct{}{}:
			default:
				t := time.NewTimer(l.Wait)
				select {
				case l.slots <- struct{}{}:
					t.Stop()
				case <-t.C:
					return l.reject(c)
				case <-c.Request().Context().Done():
					t.Stop()
					return schema.Errorf(schema.CodeUnavailable, "request cancelled while waiting for a slot among the %s", l.what())
				}
			}
			defer func() { <-l.slots }()
			return next(c)
		}
	}
}

func (l *Limiter) reject(c echo.Context) error {
	if l.metrics != nil {
		l.metrics.Rejections.WithLabelValues(c.Path()).Inc()
	}
	secs := retrySeconds(l.RetryAfter)
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return schema.Errorf(schema.CodeUnavailable, "server is at its limit of %d concurrent %s; retry in %d s (your work is kept on the device)", cap(l.slots), l.what(), secs)
}

func (l *Limiter) what() string {
	if l.What != "" {
		return l.What
	}
	return "syncs"
}

// InUse reports how many slots are taken.
func (l *Limiter) InUse() int { return len(l.slots) }
