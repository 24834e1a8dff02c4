// Package faultnet is a test double of the network, not of the server: an
// http.RoundTripper that wraps a real transport and, on a seeded random
// schedule, breaks requests the way mobile links and middleboxes break
// them. The server behind it is the real one; only the wire misbehaves.
// Tests put it in a device's http.Client to prove that the sync protocol
// converges — nothing lost, nothing doubled — whatever the network does.
//
// The faults, by Kind:
//
//   - DropRequest: the request never reaches the server; the caller gets a
//     network error (a dead radio, a captive portal that swallows it).
//   - DropResponse: the request is forwarded and fully answered — the
//     server has committed whatever it does — but the answer is read,
//     discarded and replaced by a network error. This is the case that
//     makes client-made mutation ids necessary: a retry must be answered
//     from the server's records, not applied twice.
//   - CutRequestBody: the connection breaks after the first N bytes of the
//     request body; the server sees a truncated body (or nothing, when the
//     cut comes before the transport flushed the headers). A server that
//     answers before reading the cut part (an early refusal) is answered
//     normally.
//   - CutResponseBody: the server answers, and the connection breaks after
//     the first N bytes of the response body (the headers did arrive); an
//     answer without a body breaks before its headers complete, which the
//     caller sees as a network error.
//   - Unavailable: a 503 Service Unavailable with Retry-After, answered
//     without forwarding, as a proxy or load balancer in front of the
//     server would; the body is plain text, not the server's JSON.
//   - Slow: the server's answer arrives only after Config.Delay, waited
//     out through Config.Sleep so that tests stay fast and never depend
//     on wall time.
//   - Duplicate: the request is sent twice, one after the other, and the
//     caller gets the second answer (a retransmitting middlebox, a client
//     that retried behind the application's back).
//
// Each request draws at most one fault: with probability
// Config.Probability a fault is chosen uniformly from the kinds enabled
// and applicable to the request (a body cut needs a body; a HEAD has no
// response body to cut). The random source is seeded, so one transport
// used by one goroutine replays the same schedule. Counts reports how many
// faults of each kind were injected, for the test log and the README.
package faultnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind names one way the network breaks a request.
type Kind string

// The kinds of fault a Transport injects; see the package documentation
// for what each does on the wire.
const (
	DropRequest     Kind = "drop_request"
	DropResponse    Kind = "drop_response"
	CutRequestBody  Kind = "cut_request_body"
	CutResponseBody Kind = "cut_response_body"
	Unavailable     Kind = "unavailable_503"
	Slow            Kind = "slow_response"
	Duplicate       Kind = "duplicate_request"
)

// AllKinds lists every Kind, in a stable order for reports.
var AllKinds = []Kind{DropRequest, DropResponse, CutRequestBody, CutResponseBody, Unavailable, Slow, Duplicate}

// ErrInjected is matched (errors.Is) by every error a Transport makes up,
// so that a test can tell an injected failure from a real one.
var ErrInjected = errors.New("faultnet: injected network fault")

// FaultError is the error a Transport returns (or a cut body yields) for
// an injected fault.
type FaultError struct {
	Kind Kind
	Path string // the request path, for the log
}

// Error reads like the network error it stands for, with the fault named.
func (e *FaultError) Error() string {
	switch e.Kind {
	case DropRequest:
		return "connection reset before the request was sent (faultnet " + string(e.Kind) + " " + e.Path + ")"
	case DropResponse:
		return "connection reset before the response arrived (faultnet " + string(e.Kind) + " " + e.Path + ")"
	default:
		return "connection cut mid-body: unexpected EOF (faultnet " + string(e.Kind) + " " + e.Path + ")"
	}
}

// Is makes errors.Is(err, ErrInjected) true.
func (e *FaultError) Is(target error) bool { return target == ErrInjected }

// Config sets up a Transport. The zero value of every field but
// Probability is usable; with Probability 0 the Transport only forwards.
type Config struct {
	// Base carries the requests that are forwarded; nil: http.DefaultTransport.
	Base http.RoundTripper
	// Seed makes the fault schedule reproducible.
	Seed uint64
	// Probability that a request draws a fault, in [0, 1].
	Probability float64
	// Kinds are the faults to choose from; empty: AllKinds.
	Kinds []Kind
	// Match limits faults to the requests it accepts (the others are
	// forwarded untouched); nil: every request may draw a fault.
	Match func(*http.Request) bool
	// RetryAfter is the Retry-After of an injected 503, rounded up to
	// whole seconds; 0: one second.
	RetryAfter time.Duration
	// Delay is how long a Slow answer is held back; 0: two seconds.
	Delay time.Duration
	// Sleep waits for Slow answers; nil: a real timer that ends with the
	// request's context. Tests inject a recorder so they never wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnFault, when set, is told of every fault as it is drawn (before it
	// happens), for tests that tally faults by endpoint. It must be safe
	// for concurrent use and must not call back into the Transport.
	OnFault func(k Kind, req *http.Request)
	// MaxCut bounds N, the bytes let through before a body is cut, when
	// the body's length is unknown; 0: 4096.
	MaxCut int64
}

// Transport injects faults into the requests it carries. It is safe for
// concurrent use; counts are exact under concurrency, the schedule is
// reproducible only when one goroutine uses it.
type Transport struct {
	cfg Config

	mu       sync.Mutex
	rnd      *rand.Rand
	prob     float64
	requests int
	counts   map[Kind]int
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport for cfg.
func New(cfg Config) *Transport {
	if cfg.Base == nil {
		cfg.Base = http.DefaultTransport
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = AllKinds
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Delay <= 0 {
		cfg.Delay = 2 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.MaxCut <= 0 {
		cfg.MaxCut = 4096
	}
	return &Transport{
		cfg:    cfg,
		rnd:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		prob:   cfg.Probability,
		counts: map[Kind]int{},
	}
}

// SetProbability changes the fault probability from now on; 0 turns the
// network healthy, for instance to let devices finish after a faulty phase.
func (t *Transport) SetProbability(p float64) {
	t.mu.Lock()
	t.prob = p
	t.mu.Unlock()
}

// Counts returns how many faults of each kind were injected so far.
func (t *Transport) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := make(Counts, len(t.counts))
	for k, n := range t.counts {
		c[k] = n
	}
	return c
}

// Requests returns how many requests the Transport carried (faulted or not).
func (t *Transport) Requests() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests
}

// Counts is a number of injected faults by kind.
type Counts map[Kind]int

// Total is the number of faults of all kinds.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Add adds o's counts to c (c must not be nil).
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// String lists the counts in a stable order, "drop_request=3 …", every
// kind included so that a zero is visible too.
func (c Counts) String() string {
	var b strings.Builder
	kinds := append([]Kind(nil), AllKinds...)
	for k := range c {
		known := false
		for _, a := range AllKinds {
			known = known || a == k
		}
		if !known {
			kinds = append(kinds, k)
		}
	}
	sort.SliceStable(kinds[len(AllKinds):], func(i, j int) bool { return kinds[len(AllKinds)+i] < kinds[len(AllKinds)+j] })
	for i, k := range kinds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, c[k])
	}
	return b.String()
}

// RoundTrip forwards req, or breaks it as the schedule says.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind, n := t.draw(req)
	if kind != "" && t.cfg.OnFault != nil {
		t.cfg.OnFault(kind, req)
	}
	switch kind {
	case "":
		return t.cfg.Base.RoundTrip(req)
	case DropRequest:
		closeBody(req)
		return nil, &FaultError{Kind: kind, Path: req.URL.Path}
	case Unavailable:
		closeBody(req)
		return t.unavailable(req), nil
	case DropResponse:
		resp, err := t.cfg.Base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &FaultError{Kind: kind, Path: req.URL.Path}
	case CutRequestBody:
		r := req.Clone(req.Context())
		r.GetBody = nil // the base transport must not rewind past the cut
		r.Body = &cutReader{r: req.Body, left: n, err: &FaultError{Kind: kind, Path: req.URL.Path}}
		resp, err := t.cfg.Base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		return resp, nil // the server answered before reading the cut part
	case CutResponseBody:
		resp, err := t.cfg.Base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if resp.ContentLength == 0 {
			// Nothing to cut into: the connection breaks right after the
			// headers, and the caller never sees them complete.
			resp.Body.Close()
			return nil, &FaultError{Kind: kind, Path: req.URL.Path}
		}
		if resp.ContentLength > 0 {
			n = t.cutPoint(resp.ContentLength)
		}
		resp.Body = &cutReader{r: resp.Body, left: n, err: &FaultError{Kind: kind, Path: req.URL.Path}, closer: resp.Body}
		return resp, nil
	case Slow:
		resp, err := t.cfg.Base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if serr := t.cfg.Sleep(req.Context(), t.cfg.Delay); serr != nil {
			resp.Body.Close()
			return nil, serr
		}
		return resp, nil
	case Duplicate:
		return t.duplicate(req)
	}
	return nil, fmt.Errorf("faultnet: unknown fault kind %q", kind)
}

// draw decides the fault of one request and, for a request body cut, how
// many bytes pass.
func (t *Transport) draw(req *http.Request) (Kind, int64) {
	eligible := t.cfg.Match == nil || t.cfg.Match(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	if !eligible || t.prob <= 0 || t.rnd.Float64() >= t.prob {
		return "", 0
	}
	hasBody := req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0
	hasRespBody := req.Method != http.MethodHead
	var kinds []Kind
	for _, k := range t.cfg.Kinds {
		switch {
		case k == CutRequestBody && !hasBody:
		case k == CutResponseBody && !hasRespBody:
		default:
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return "", 0
	}
	k := kinds[t.rnd.IntN(len(kinds))]
	t.counts[k]++
	var n int64
	switch k {
	case CutRequestBody:
		n = t.cutPointLocked(req.ContentLength)
	case CutResponseBody:
		n = t.rnd.Int64N(t.cfg.MaxCut) // refined once the length is known
	}
	return k, n
}

// cutPoint picks how many of length bytes pass before the cut: at least
// none, at most all but one.
func (t *Transport) cutPoint(length int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cutPointLocked(length)
}

func (t *Transport) cutPointLocked(length int64) int64 {
	if length <= 0 {
		return t.rnd.Int64N(t.cfg.MaxCut)
	}
	return t.rnd.Int64N(length)
}

// unavailable makes the 503 a proxy answers when the upstream is away.
func (t *Transport) unavailable(req *http.Request) *http.Response {
	secs := int64((t.cfg.RetryAfter + time.Second - 1) / time.Second)
	body := "503 Service Unavailable: upstream temporarily unavailable (faultnet)\n"
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	return &http.Response{
		Status: "503 Service Unavailable", StatusCode: http.StatusServiceUnavailable,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req,
	}
}

// duplicate sends req twice, one after the other, and returns the second
// answer; the first is read and discarded.
func (t *Transport) duplicate(req *http.Request) (*http.Response, error) {
	var payload []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("faultnet: duplicate %s: read body: %w", req.URL.Path, err)
		}
		payload = b
	}
	clone := func() *http.Request {
		r := req.Clone(req.Context())
		if payload != nil {
			r.Body = io.NopCloser(bytes.NewReader(payload))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
		}
		return r
	}
	if first, err := t.cfg.Base.RoundTrip(clone()); err == nil {
		_, _ = io.Copy(io.Discard, first.Body)
		first.Body.Close()
	}
	return t.cfg.Base.RoundTrip(clone())
}

// cutReader passes left bytes, then fails with err as a broken connection
// does; for a response body it closes the real body at the cut.
type cutReader struct {
	r      io.Reader
	left   int64
	err    error
	closer io.Closer // the response body, closed at the cut; nil for requests
	mu     sync.Mutex
	closed bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		if c.closer != nil && !c.closed {
			c.closed = true
			c.closer.Close()
		}
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutReader) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if rc, ok := c.r.(io.Closer); ok {
		return rc.Close()
	}
	return nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
