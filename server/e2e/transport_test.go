package e2e_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// netTransport is a fresh loopback transport per device, so that one
// device's cut connections never touch another's pool.
func netTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return t
}

// faultNet is the device's network in a test: a real HTTP transport to the
// real server, with switches that cut it, duplicate requests, lose
// answers or break upload bodies. Every switch is safe to flip while a
// sync runs.
type faultNet struct {
	t    *testing.T
	next http.RoundTripper

	down      atomic.Bool  // every request fails as if the server were unreachable
	duplicate atomic.Bool  // each push is delivered twice; the device sees the second answer
	loseNext  atomic.Int32 // the next n pushes reach the server, then their answer is lost
	cutAt     atomic.Int64 // >0: the next upload PATCH body breaks off after this many bytes
	corrupt   atomic.Bool  // the next upload PATCH body has one byte flipped in transit
	noUploads atomic.Bool  // photo uploads fail as if unreachable; records still sync

	mu          sync.Mutex
	pushes      []recorded // every push the server received, as sent
	patchOffset []int64    // Upload-Offset of each PATCH that carried a body
	sentBytes   atomic.Int64
}

// recorded is one request as it went on the wire, for replaying it.
type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

func newFaultNet(t *testing.T) *faultNet {
	return &faultNet{t: t, next: netTransport()}
}

// opts installs the fault network on a device.
func (f *faultNet) opts() deviceOpts {
	return func(o *mobilesync.Options) { o.HTTPClient = &http.Client{Transport: f} }
}

// errUnreachable is what a phone without coverage sees.
var errUnreachable = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("network is unreachable")}

// RoundTrip implements http.RoundTripper.
func (f *faultNet) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.down.Load() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errUnreachable
	}
	upload := strings.Contains(req.URL.Path, schema.PathUploads+"/")
	switch {
	case upload && f.noUploads.Load():
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errUnreachable
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, schema.PathPush):
		return f.push(req)
	case req.Method == http.MethodPatch && upload:
		return f.patch(req)
	}
	return f.next.RoundTrip(req)
}

func (f *faultNet) push(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	rec := recorded{method: req.Method, url: req.URL.String(), header: req.Header.Clone(), body: body}
	send := func() (*http.Response, error) {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		f.mu.Lock()
		f.pushes = append(f.pushes, rec)
		f.mu.Unlock()
		return f.next.RoundTrip(r)
	}
	if f.duplicate.Load() {
		resp, err := send()
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := send()
	if err != nil {
		return nil, err
	}
	if n := f.loseNext.Load(); n > 0 && f.loseNext.CompareAndSwap(n, n-1) {
		// The server answered, so it committed; the answer never arrives.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return resp, nil
}

func (f *faultNet) patch(req *http.Request) (*http.Response, error) {
	if req.ContentLength > 0 {
		f.mu.Lock()
		f.patchOffset = append(f.patchOffset, headerInt64(req.Header.Get(schema.HeaderUploadOffset)))
		f.mu.Unlock()
	}
	cut := f.cutAt.Swap(0)
	if req.Body != nil && req.Body != http.NoBody {
		cb := &countingBody{r: req.Body, n: &f.sentBytes, limit: cut, flipAt: -1}
		if f.corrupt.Swap(false) {
			cb.flipAt = 100
		}
		req.Body = cb
	}
	return f.next.RoundTrip(req)
}

// replay sends a recorded request again, exactly as it was sent.
func (f *faultNet) replay(rec recorded) (int, schema.PushResponse) {
	f.t.Helper()
	st, out, err := replayErr(rec)
	if err != nil {
		f.t.Fatal(err)
	}
	return st, out
}

// replayErr is replay for goroutines other than the test's.
func replayErr(rec recorded) (int, schema.PushResponse, error) {
	var out schema.PushResponse
	req, err := http.NewRequest(rec.method, rec.url, bytes.NewReader(rec.body))
	if err != nil {
		return 0, out, err
	}
	req.Header = rec.header.Clone()
	resp, err := netTransport().RoundTrip(req)
	if err != nil {
		return 0, out, fmt.Errorf("replay %s: %w", rec.url, err)
	}
	defer resp.Body.Close()
	raw, err := readMaybeGzip(resp)
	if err != nil {
		return 0, out, fmt.Errorf("replay %s: %w", rec.url, err)
	}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return 0, out, fmt.Errorf("replay %s: %w: %q", rec.url, err, raw)
		}
	}
	return resp.StatusCode, out, nil
}

func (f *faultNet) recordedPushes() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.pushes...)
}

func (f *faultNet) patchOffsets() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.patchOffset...)
}

// countingBody counts the bytes the transport takes from a request body
// and, with a limit, breaks off after that many, like a dropped mobile
// connection.
type countingBody struct {
	r      io.ReadCloser
	n      *atomic.Int64
	limit  int64 // 0: no cut
	flipAt int64 // <0: no corruption; else the byte at this body position is flipped
	read   int64
}

var errCut = errors.New("mobile link dropped")

func (c *countingBody) Read(p []byte) (int, error) {
	if c.limit > 0 {
		left := c.limit - c.read
		if left <= 0 {
			return 0, errCut
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := c.r.Read(p)
	if c.flipAt >= c.read && c.flipAt < c.read+int64(n) {
		p[c.flipAt-c.read] ^= 0xFF
	}
	c.read += int64(n)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.r.Close() }

func headerInt64(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// readMaybeGzip reads a response body that the server may have compressed
// (the device asks for gzip itself, so the transport does not decode it).
func readMaybeGzip(resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	return io.ReadAll(r)
}

// attach puts the fault network in front of the device's own default
// transport (its timeouts and Expect: 100-continue handling), for a device
// opened without an HTTP client of the test's.
func (f *faultNet) attach(d *mobilesync.Device) {
	cl := d.HTTPClient()
	f.next = cl.Transport
	if f.next == nil {
		f.next = http.DefaultTransport
	}
	cl.Transport = f
}
