package observe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// Request bodies are cut by read deadlines on the connection (set through
// http.ResponseController), not by the server's whole-connection
// ReadTimeout, so that a body trickling a few bytes at a time ends within
// its own bound. Deadlines are wall-clock by nature: they use time.Now.

// ReadBodyFirst reads the whole request body, up to limit bytes, into
// memory before the rest of the chain runs, and cuts it when it has not
// arrived within timeout. Install it before a Limiter: a request takes a
// slot only once its body is in hand, so devices on slow or hostile
// connections wait for their own bytes without holding anyone's slot.
// The handler reads the buffered bytes as its body and applies its own
// bounds to them: a body over limit is passed on as its first limit+1
// bytes, so the handler refuses it as too large exactly as before, and a
// body that broke off is passed on with its read error. Memory grows only
// as bytes actually arrive.
func ReadBodyFirst(limit int64, timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			if req.ContentLength > limit {
				// Refused unread; the handler words the refusal.
				req.Body = io.NopCloser(errReader{&http.MaxBytesError{Limit: limit}})
				return next(c)
			}
			rc := http.NewResponseController(c.Response())
			if timeout > 0 {
				_ = rc.SetReadDeadline(time.Now().Add(timeout)) // unsupported only off a real connection
			}
			var buf bytes.Buffer
			if req.ContentLength > 0 {
				buf.Grow(int(req.ContentLength))
			}
			_, err := buf.ReadFrom(io.LimitReader(req.Body, limit+1))
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				return schema.Errorf(schema.CodeTimeout, "the request body did not arrive within %s (the connection is too slow or stalled); nothing was applied — retry, your work is kept on the device", timeout)
			case err != nil:
				req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf.Bytes()), errReader{err}))
			default:
				if int64(buf.Len()) <= limit {
					// All of it arrived: the deadline has done its work, and
					// must not cut the connection while the handler runs.
					_ = rc.SetReadDeadline(time.Time{})
				}
				req.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
			}
			return next(c)
		}
	}
}

// MinRate cuts a request body that arrives slower than rate bytes per
// second on average after a grace period: by the time n bytes have arrived
// the read deadline is start + grace + n/rate. It suits photo uploads,
// which legitimately take long on a bad network but must keep moving; a
// cut upload is resumable, so the device loses nothing but the wait. The
// handler sees a *SlowBodyError from its body read.
func MinRate(grace time.Duration, rate int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = &rateBody{body: req.Body, rc: http.NewResponseController(c.Response()),
					start: time.Now(), grace: grace, rate: max(rate, 1)}
			}
			return next(c)
		}
	}
}

// SlowBodyError is the read error of a body cut by MinRate.
type SlowBodyError struct {
	Rate  int64         // bytes per second required
	Grace time.Duration // before the rate applied
	Read  int64         // bytes that had arrived
	Err   error         // the connection's deadline error
}

// Error says what rate was required, so the answer built from it tells
// the device why its upload was cut.
func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("the body arrived slower than the minimum of %d bytes/s (after a %s start; %d bytes in)", e.Rate, e.Grace, e.Read)
}

// Unwrap lets errors.Is find os.ErrDeadlineExceeded.
func (e *SlowBodyError) Unwrap() error { return e.Err }

// rateBody moves the connection's read deadline forward as bytes arrive.
type rateBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
	done  bool
}

func (b *rateBody) Read(p []byte) (int, error) {
	if !b.done {
		due := b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
		_ = b.rc.SetReadDeadline(due)
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF && !b.done:
		// The whole body is in; nothing more to bound.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, &SlowBodyError{Rate: b.rate, Grace: b.grace, Read: b.n, Err: err}
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
