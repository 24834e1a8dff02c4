package observe

import (
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// Holder is one party a request counts against in a Share: a device, or
// the user whose devices they are. Key identifies it ("device:…"); Limit is
// how many requests it may run at once; Who names it in the refusal
// ("this device", "your account").
type Holder struct {
	Key   string
	Limit int
	Who   string
}

// Share caps how many requests of one kind each holder runs at once, so
// that one device (or one user's devices) cannot take every slot of a
// Limiter and stall the district: a device that opens many slow requests
// is refused at once with 429 and a Retry-After, while every other device
// keeps its turn. Only requests in flight are tracked, so memory stays
// proportional to them.
type Share struct {
	what       string // "syncs", "photo uploads": for the refusal
	retryAfter time.Duration
	metrics    *Metrics

	mu   sync.Mutex
	held map[string]int
}

// NewShare returns a Share for requests of the kind named by what.
func NewShare(what string, retryAfter time.Duration, m *Metrics) *Share {
	return &Share{what: what, retryAfter: retryAfter, metrics: m, held: map[string]int{}}
}

// Middleware counts each request against the holders returned for it
// (none: the request is not limited) for as long as it runs. Install it
// after authentication and before anything that waits for the request's
// body or a global slot.
func (s *Share) Middleware(holders func(c echo.Context) []Holder) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			hs := holders(c)
			if full, ok := s.acquire(hs); !ok {
				return s.reject(c, full)
			}
			defer s.release(hs)
			return next(c)
		}
	}
}

// acquire takes one place for every holder, or none when any of them is
// at its limit (which it returns).
func (s *Share) acquire(hs []Holder) (Holder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hs {
		if s.held[h.Key] >= max(h.Limit, 1) {
			return h, false
		}
	}
	for _, h := range hs {
		s.held[h.Key]++
	}
	return Holder{}, true
}

func (s *Share) release(hs []Holder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hs {
		if s.held[h.Key]--; s.held[h.Key] <= 0 {
			delete(s.held, h.Key)
		}
	}
}

// Held reports how many requests the holder with key runs now.
func (s *Share) Held(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[key]
}

func (s *Share) reject(c echo.Context, h Holder) error {
	if s.metrics != nil {
		s.metrics.Rejections.WithLabelValues(c.Path()).Inc()
	}
	secs := retrySeconds(s.retryAfter)
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return schema.Errorf(schema.CodeRateLimited, "%s already has %d %s in progress, the most it may run at once; let them finish — retry in %d s (your work is kept on the device)",
		h.Who, max(h.Limit, 1), s.what, secs)
}

// retrySeconds rounds a Retry-After to whole seconds, at least one.
func retrySeconds(d time.Duration) int {
	return max(int(d.Round(time.Second)/time.Second), 1)
}
