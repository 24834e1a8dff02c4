package mobilesync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
)

var serverNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// The seeded district's squad 1 venues that the device of newEnv sees.
var (
	district = servertest.SmallDistrict()
	venue1   = district.Squads[0].Venues[0].ID
	venue2   = district.Squads[0].Venues[1].ID
	venue3   = district.Squads[0].Venues[2].ID
)

// testClock is the server's clock; tests move it to order edits by wall
// time or to let time pass on the server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleeps records the backoff waits a device asked for, instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// fault is one scripted failure on the way to the server (an overloaded
// server or a proxy in front of it): the next request to path is answered
// with status, and Retry-After when set, without reaching the server.
type fault struct {
	path       string
	status     int
	retryAfter string
}

// hookRT is the device's transport: it lets a test act on each request
// before and after the server, answers scripted faults, and records the
// mutation ids of every push that goes out.
type hookRT struct {
	mu      sync.Mutex
	before  func(r *http.Request) // runs before the request is forwarded
	after   func(r *http.Request, resp *http.Response) (*http.Response, error)
	faults  []fault
	pushes  [][]string                       // mutation ids of each push sent, in order
	gzip    int                              // pushes sent gzip-compressed
	results map[string]schema.MutationResult // the server's last answer to each mutation id
}

func (h *hookRT) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	before, after := h.before, h.after
	var f *fault
	for i := range h.faults {
		if h.faults[i].path == r.URL.Path {
			ff := h.faults[i]
			f = &ff
			h.faults = slices.Delete(h.faults, i, i+1)
			break
		}
	}
	h.mu.Unlock()
	if f != nil {
		return f.answer(r), nil
	}
	if r.URL.Path == schema.PathPush {
		var err error
		if r, err = h.recordPush(r); err != nil {
			return nil, err
		}
	}
	if before != nil {
		before(r)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Path == schema.PathPush && resp.StatusCode == http.StatusOK {
		if resp, err = h.recordResults(resp); err != nil {
			return nil, err
		}
	}
	if err != nil || after == nil {
		return resp, err
	}
	return after(r, resp)
}

// recordResults notes the server's answers to a push and returns the
// response with its body ready to be read again.
func (h *hookRT) recordResults(resp *http.Response) (*http.Response, error) {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var rd io.Reader = bytes.NewReader(body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if rd, err = gzip.NewReader(rd); err != nil {
			return nil, err
		}
	}
	var pr schema.PushResponse
	if err := json.NewDecoder(rd).Decode(&pr); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.results == nil {
		h.results = map[string]schema.MutationResult{}
	}
	for _, r := range pr.Results {
		h.results[r.ID] = r
	}
	return resp, nil
}

// result returns the server's last answer to mutation id.
func (h *hookRT) result(id string) schema.MutationResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.results[id]
}

// recordPush notes the ids of a push and returns the request with its body
// ready to be sent again.
func (h *hookRT) recordPush(r *http.Request) (*http.Request, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	var rd io.Reader = bytes.NewReader(body)
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		if rd, err = gzip.NewReader(rd); err != nil {
			return nil, err
		}
	}
	req, err := schema.DecodePushRequest(rd)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(req.Mutations))
	for i, m := range req.Mutations {
		ids[i] = m.ID
	}
	h.mu.Lock()
	h.pushes = append(h.pushes, ids)
	if gz {
		h.gzip++
	}
	h.mu.Unlock()
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	return out, nil
}

func (f *fault) answer(r *http.Request) *http.Response {
	body, _ := json.Marshal(schema.ErrorBody{Error: *schema.Errorf(schema.CodeForStatus(f.status), "scripted failure %d", f.status)})
	h := http.Header{"Content-Type": {"application/json"}}
	if f.retryAfter != "" {
		h.Set("Retry-After", f.retryAfter)
	}
	return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Header: h, Request: r,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

func (h *hookRT) set(before func(*http.Request), after func(*http.Request, *http.Response) (*http.Response, error)) {
	h.mu.Lock()
	h.before, h.after = before, after
	h.mu.Unlock()
}

// fail scripts failures for the next requests.
func (h *hookRT) fail(f ...fault) {
	h.mu.Lock()
	h.faults = append(h.faults, f...)
	h.mu.Unlock()
}

// pushLog returns the ids of every push sent so far and how many were
// gzip-compressed.
func (h *hookRT) pushLog() ([][]string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.pushes), h.gzip
}

type env struct {
	srv    *servertest.Server
	clock  *testClock
	admin  *servertest.Client
	dev    *mobilesync.Device
	path   string
	hooks  *hookRT
	sleeps *sleeps
	opts   mobilesync.Options
}

// startServer starts the real server with the small district on a clock
// that reads serverNow until a test moves it.
func startServer(t *testing.T) (*servertest.Server, *testClock) {
	t.Helper()
	clock := &testClock{t: serverNow}
	return servertest.Start(t, servertest.Options{Now: clock.Now}), clock
}

// newEnv starts a server with the small district and enrols a device as
// inspector1 of squad 1, whose venues are venue1, venue2 and venue3.
func newEnv(t *testing.T, mutate ...func(*mobilesync.Options)) *env {
	t.Helper()
	srv, clock := startServer(t)
	return newEnvOn(t, srv, clock, mutate...)
}

// newEnvOn enrols a new device as inspector1 on a running server.
func newEnvOn(t *testing.T, srv *servertest.Server, clock *testClock, mutate ...func(*mobilesync.Options)) *env {
	t.Helper()
	return newEnvAs(t, srv, clock, "inspector1", mutate...)
}

// newEnvAs enrols a new device as username on a running server.
func newEnvAs(t *testing.T, srv *servertest.Server, clock *testClock, username string, mutate ...func(*mobilesync.Options)) *env {
	t.Helper()
	e := &env{srv: srv, clock: clock, admin: srv.Admin(), path: filepath.Join(t.TempDir(), "device.db"), hooks: &hookRT{}, sleeps: &sleeps{}}
	e.opts = mobilesync.Options{
		Path:       e.path,
		HTTPClient: &http.Client{Transport: e.hooks, Timeout: 10 * time.Second},
		Now:        func() time.Time { return serverNow },
		Sleep:      e.sleeps.sleep,
		Rand:       func() float64 { return 0.5 },
	}
	for _, m := range mutate {
		m(&e.opts)
	}
	e.dev = e.open(t)
	code, err := e.admin.EnrollmentCode(username)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Enroll(context.Background(), srv.URL, code, "test phone"); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return e
}

func (e *env) open(t *testing.T) *mobilesync.Device {
	t.Helper()
	d, err := mobilesync.Open(context.Background(), e.opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func (e *env) reopen(t *testing.T) {
	t.Helper()
	if err := e.dev.Close(); err != nil {
		t.Fatal(err)
	}
	e.dev = e.open(t)
}

// serverVenue reads a venue as the server holds it.
func (e *env) serverVenue(t *testing.T, id string) schema.Venue {
	t.Helper()
	v, err := e.admin.Venue(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// adminEdit edits one field of a venue on the server as the admin. It
// reports failure without stopping the test, so transport hooks may call
// it from the device's goroutines.
func (e *env) adminEdit(t interface{ Errorf(string, ...any) }, id, field, value string) {
	if _, err := e.admin.EditVenue(id, map[string]string{field: value}); err != nil {
		t.Errorf("admin edit of %s %s: %v", id, field, err)
	}
}

func mustSync(t *testing.T, d *mobilesync.Device) mobilesync.SyncReport {
	t.Helper()
	rep, err := d.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

// completeInspection starts an inspection of venue and answers every item.
func completeInspection(t *testing.T, d *mobilesync.Device, venue string, co ...string) string {
	t.Helper()
	ctx := context.Background()
	id, err := d.StartInspection(ctx, venue, co...)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	in, err := d.Inspection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := schema.ChecklistByVersion(in.ChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range cl.Items {
		if err := d.SetItem(ctx, id, it.ID, schema.ResultPass, ""); err != nil {
			t.Fatalf("item %s: %v", it.ID, err)
		}
	}
	return id
}

func pending(t *testing.T, d *mobilesync.Device) int {
	t.Helper()
	st, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.PendingMutations
}

func venueByID(t *testing.T, d *mobilesync.Device, id string) (schema.Venue, bool) {
	t.Helper()
	v, err := d.Venue(context.Background(), id)
	if schema.ErrorCode(err) == schema.CodeNotFound {
		return v, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}
