package loadtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// recorder is an http.RoundTripper that times every request by endpoint
// (until its body is fully read) and counts failures by kind, so the load
// report shows where time and errors go.
type recorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	lat   map[string][]time.Duration
	errs  map[string]int
	hosts map[string]int // requests by scheme://host
}

func newRecorder(base http.RoundTripper) *recorder {
	return &recorder{base: base, lat: map[string][]time.Duration{}, errs: map[string]int{}, hosts: map[string]int{}}
}

// endpoint names a request for the report.
func endpoint(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == schema.PathPull:
		return "pull"
	case p == schema.PathPush:
		return "push"
	case strings.HasPrefix(p, schema.PathUploads+"/"):
		return "upload_" + strings.ToLower(r.Method)
	case strings.HasPrefix(p, schema.PathPhotos+"/"):
		return "photo_" + strings.ToLower(r.Method)
	case p == schema.PathEnroll:
		return "enroll"
	case strings.HasPrefix(p, schema.PathInspections+"/"):
		return "verify"
	default:
		return strings.TrimPrefix(p, schema.APIPrefix+"/")
	}
}

func (rc *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ep := endpoint(req)
	rc.mu.Lock()
	rc.hosts[req.URL.Scheme+"://"+req.URL.Host]++
	rc.mu.Unlock()
	start := time.Now()
	resp, err := rc.base.RoundTrip(req)
	if err != nil {
		rc.fail(ep + ": " + classify(err))
		return nil, err
	}
	if resp.StatusCode >= 400 && !(ep == "photo_head" && resp.StatusCode == 404) && !(ep == "upload_patch" && resp.StatusCode == 409) {
		rc.fail(fmt.Sprintf("%s: HTTP %d", ep, resp.StatusCode))
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { rc.observe(ep, time.Since(start)) }}
	return resp, nil
}

func (rc *recorder) fail(kind string) {
	rc.mu.Lock()
	rc.errs[kind]++
	rc.mu.Unlock()
}

func (rc *recorder) observe(ep string, d time.Duration) {
	rc.mu.Lock()
	rc.lat[ep] = append(rc.lat[ep], d)
	rc.mu.Unlock()
}

// classify turns a transport error into a short, stable kind.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return "transport error"
	}
}

type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *timedBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

// Latency summarises one endpoint's request times in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 {
		i := int(p*float64(len(s))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(s) {
			i = len(s) - 1
		}
		return float64(s[i].Microseconds()) / 1000
	}
	return Latency{Count: len(s), P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: float64(s[len(s)-1].Microseconds()) / 1000}
}

// snapshot returns latencies by endpoint, all sync requests together
// (pull, push, uploads), the error counts and the requests by server.
func (rc *recorder) snapshot() (map[string]Latency, Latency, map[string]int, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]Latency{}
	var all []time.Duration
	for ep, ds := range rc.lat {
		out[ep] = summarise(ds)
		if ep == "pull" || ep == "push" || strings.HasPrefix(ep, "upload_") {
			all = append(all, ds...)
		}
	}
	errs := map[string]int{}
	for k, v := range rc.errs {
		errs[k] = v
	}
	hosts := map[string]int{}
	for k, v := range rc.hosts {
		hosts[k] = v
	}
	return out, summarise(all), errs, hosts
}

// reset forgets what the setup phase recorded.
func (rc *recorder) reset() {
	rc.mu.Lock()
	rc.lat = map[string][]time.Duration{}
	rc.errs = map[string]int{}
	rc.hosts = map[string]int{}
	rc.mu.Unlock()
}
