package mobilesync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// maxResponseBytes bounds what the device reads from one response, after
// decompression, so that a broken server cannot exhaust a phone's memory.
const maxResponseBytes = 256 << 20

// exchange is one logical API call, retried as a whole. The body is
// encoded once so that every attempt sends the same bytes (and the same
// mutation ids).
type exchange struct {
	serverURL string
	path      string
	token     string // "" for unauthenticated calls (enroll)
	body      []byte // JSON, uncompressed
	gzip      bool   // send the body gzip-compressed
}

// timing is when a successful attempt was sent and answered, on the raw
// device clock, for the clock-offset estimate.
type timing struct {
	sent, recv time.Time
}

// attemptError is a failed attempt and whether trying again may help.
type attemptError struct {
	err        error
	network    bool          // no HTTP answer at all (or a cut one)
	retry      bool          // worth another attempt
	retryAfter time.Duration // the server's Retry-After, if any
}

// post runs x with retries, exponential backoff with full jitter and
// Retry-After, and decodes a 2xx body into out.
func (d *Device) post(ctx context.Context, x exchange, out any) (timing, error) {
	payload := x.body
	if x.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(x.body); err != nil {
			return timing{}, fmt.Errorf("compress %s: %w", x.path, err)
		}
		if err := zw.Close(); err != nil {
			return timing{}, fmt.Errorf("compress %s: %w", x.path, err)
		}
		payload = buf.Bytes()
	}
	var last *attemptError
	for attempt := 0; attempt < d.opts.MaxAttempts; attempt++ {
		if attempt > 0 {
			wait := d.backoff(attempt-1, last.retryAfter)
			d.log.Info("sync: retrying", "path", x.path, "attempt", attempt+1, "wait", wait, "err", last.err)
			if err := d.opts.Sleep(ctx, wait); err != nil {
				return timing{}, fmt.Errorf("%s: %w", x.path, err)
			}
		}
		tm, aerr := d.attempt(ctx, x, payload, out)
		if aerr == nil {
			return tm, nil
		}
		if ctx.Err() != nil {
			return timing{}, fmt.Errorf("%s: %w", x.path, ctx.Err())
		}
		last = aerr
		if !aerr.retry {
			return timing{}, aerr.err
		}
	}
	if last.network {
		return timing{}, &UnreachableError{URL: x.serverURL, Err: last.err}
	}
	return timing{}, fmt.Errorf("%s: gave up after %d attempts — your work is kept; run sync again later: %w", x.path, d.opts.MaxAttempts, last.err)
}

// backoff returns the wait before retry n (0-based): the server's
// Retry-After when given, else a uniformly random duration up to
// min(cap, base·2ⁿ) ("full jitter"), so that a squad's devices coming back
// online together do not retry in lockstep.
func (d *Device) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, maxRetryAfter)
	}
	ceil := BackoffCap
	if n < 30 {
		ceil = min(BackoffCap, BackoffBase<<n)
	}
	return time.Duration(d.opts.Rand() * float64(ceil))
}

func (d *Device) attempt(ctx context.Context, x exchange, payload []byte, out any) (timing, *attemptError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.serverURL+x.path, bytes.NewReader(payload))
	if err != nil {
		return timing{}, &attemptError{err: fmt.Errorf("%s: %w", x.path, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if x.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	sent := d.opts.Now()
	d.setHeaders(req, x.token, sent)
	resp, err := d.opts.HTTPClient.Do(req)
	if err != nil {
		return timing{}, &attemptError{err: err, network: true, retry: true}
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	recv := d.opts.Now()
	if err != nil {
		// The connection was cut mid-body: the server may have committed;
		// a retry is answered from its records.
		return timing{}, &attemptError{err: fmt.Errorf("%s: reading the response: %w", x.path, err), network: true, retry: true}
	}
	if resp.StatusCode/100 == 2 {
		if out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				return timing{}, &attemptError{err: fmt.Errorf("%s: undecodable response: %w", x.path, err), network: true, retry: true}
			}
		}
		return timing{sent: sent, recv: recv}, nil
	}
	serr := schema.ResponseError(resp.StatusCode, body)
	ae := &attemptError{err: serr}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && x.token != "":
		ae.err = fmt.Errorf("%s: %w (%w)", x.path, ErrEnrollAgain, serr)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		ae.retry = true
		ae.retryAfter = d.retryAfter(resp)
		ae.err = fmt.Errorf("%s: server answered %d: %w", x.path, resp.StatusCode, serr)
	default:
		ae.err = fmt.Errorf("%s: %w", x.path, serr)
	}
	return timing{}, ae
}

// setHeaders adds authentication, compression and the device's wall time
// to an API request.
func (d *Device) setHeaders(req *http.Request, token string, now time.Time) {
	req.Header.Set("Accept", "application/json")
	// Set explicitly, so Go's transport does not decode for us: responses
	// are decoded in readBody whatever the transport.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set(schema.HeaderClientTime, now.Format(time.RFC3339Nano))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
}

// readBody reads a whole response body, gunzipping it when the server
// compressed it.
func readBody(resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	if strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	b, err := io.ReadAll(io.LimitReader(r, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	return b, nil
}

// retryAfter reads Retry-After as seconds or as an HTTP date.
func (d *Device) retryAfter(resp *http.Response) time.Duration {
	return d.parseRetryAfter(resp.Header.Get("Retry-After"))
}

// parseRetryAfter reads a Retry-After value; 0 when absent or past.
func (d *Device) parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	// The device clock corrected by the measured offset estimates the
	// server's clock, which the date was computed against.
	if wait := t.Sub(d.Clock().Physical()); wait > 0 {
		return wait
	}
	return 0
}

// observe folds a response's server time and HLC into the device clock and
// returns the new offset (device − server, ms) for the caller to persist
// in its transaction.
func (d *Device) observe(tm timing, serverTime time.Time, serverHLC string) int64 {
	if h, err := schema.ParseHLC(serverHLC); err == nil {
		d.Clock().Observe(h)
	}
	if serverTime.IsZero() || tm.sent.IsZero() {
		return -d.Clock().Offset().Milliseconds()
	}
	mid := tm.sent.Add(tm.recv.Sub(tm.sent) / 2)
	off := mid.Sub(serverTime)
	d.Clock().SetOffset(-off)
	return off.Milliseconds()
}

// NewRequest builds an authenticated request to the enrolled server for
// companion packages (photo upload) that speak their own protocol but must
// authenticate and stamp requests like every other call.
func (d *Device) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	m, err := readMeta(ctx, d.db.R)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: request %s: %w", path, err)
	}
	if _, err := identityOf(m); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, m[metaServerURL]+path, body)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: request %s: %w", path, err)
	}
	d.setHeaders(req, m[metaToken], d.opts.Now())
	return req, nil
}

// HTTPClient is the client every request of this device goes through
// (tests inject fault-injecting transports here).
func (d *Device) HTTPClient() *http.Client { return d.opts.HTTPClient }

// Backoff returns the wait before retry n of a request, as Sync uses it,
// and Sleep waits it out; companion uploaders share the policy.
func (d *Device) Backoff(n int, retryAfter time.Duration) time.Duration {
	return d.backoff(n, retryAfter)
}

// Sleep waits for dur or until ctx ends, through the injected sleeper.
func (d *Device) Sleep(ctx context.Context, dur time.Duration) error { return d.opts.Sleep(ctx, dur) }

var errNoAnswers = errors.New("the server answered none of the mutations sent")
