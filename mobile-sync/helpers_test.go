package mobilesync_test

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/mobile-sync/internal/fakeserver"
	"github.com/patrolhq/patrol/schema"
)

var serverNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

const (
	venue1 = "01900000-0000-7000-8000-000000000001"
	venue2 = "01900000-0000-7000-8000-000000000002"
)

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

// hookRT lets a test act on each request before and after the server.
type hookRT struct {
	mu     sync.Mutex
	before func(r *http.Request) // runs before the request is forwarded
	after  func(r *http.Request, resp *http.Response) (*http.Response, error)
}

func (h *hookRT) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	before, after := h.before, h.after
	h.mu.Unlock()
	if before != nil {
		before(r)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || after == nil {
		return resp, err
	}
	return after(r, resp)
}

func (h *hookRT) set(before func(*http.Request), after func(*http.Request, *http.Response) (*http.Response, error)) {
	h.mu.Lock()
	h.before, h.after = before, after
	h.mu.Unlock()
}

type env struct {
	srv    *fakeserver.Server
	dev    *mobilesync.Device
	path   string
	hooks  *hookRT
	sleeps *sleeps
	opts   mobilesync.Options
}

// newEnv starts a fake server with squad 1 (inspector1, inspector2), two
// venues and a school, and a device enrolled as inspector1.
func newEnv(t *testing.T, mutate ...func(*mobilesync.Options)) *env {
	t.Helper()
	srv := fakeserver.New(t, serverNow)
	srv.AddUser("inspector1", 1, "Li Wei", "JX-0001")
	srv.AddUser("inspector2", 1, "Wang Fang", "JX-0002")
	srv.AddUser("inspector3", 2, "Zhao Min", "JX-0003")
	srv.PutVenue(schema.Venue{ID: venue1, SquadID: 1, Kind: schema.KindNetCafe, Name: "Star Net Café", Licensed: true, Lat: 35.06, Lng: 118.34})
	srv.PutVenue(schema.Venue{ID: venue2, SquadID: 1, Kind: schema.KindArcade, Name: "Golden Arcade", Licensed: true, Lat: 35.07, Lng: 118.35})
	srv.AddSchool(schema.School{ID: "school-1", Name: "Lanshan No. 1 Primary", Kind: "primary", Polygon: [][2]float64{{118.3, 35.0}, {118.31, 35.0}, {118.31, 35.01}, {118.3, 35.0}}})
	srv.AddCode("CODE1", "inspector1")
	e := &env{srv: srv, path: filepath.Join(t.TempDir(), "device.db"), hooks: &hookRT{}, sleeps: &sleeps{}}
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
	if err := e.dev.Enroll(context.Background(), srv.URL, "CODE1", "test phone"); err != nil {
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
