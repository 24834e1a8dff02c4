package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// fakeClock is the injected wall clock of a test server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running server with the demo district.
type env struct {
	t     *testing.T
	srv   *server.Server
	http  *httptest.Server
	clock *fakeClock
	logs  *lockedBuffer // the server's log lines
}

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with a configuration changed by tweak.
func newEnvWith(t *testing.T, tweak func(*server.Config)) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	logs := &lockedBuffer{}
	cfg := server.Config{DataDir: t.TempDir(), Now: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, srv.Store(), demo.Options{Now: clock.Now, HashPassword: cheapHash, Venues: 60, Schools: 12, MonthsHistory: 1}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &env{t: t, srv: srv, http: hs, clock: clock, logs: logs}
}

// cheapHash hashes the demo users' passwords with argon2id at a test cost,
// each with its own salt: every test server seeds 19 users, and what the
// tests check does not depend on the cost. Logins of unknown users still
// pay the full cost (the dummy hash).
func cheapHash(pw string) (string, error) {
	return auth.HashPasswordParams(pw, auth.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
}

// client talks to the test server with one bearer token.
type client struct {
	e     *env
	token string
	http  *http.Client // nil: http.DefaultClient
}

func (e *env) anon() *client { return &client{e: e} }

// from returns an anonymous client whose connections leave from the
// loopback address ip (any of 127.0.0.0/8), so that a test can play many
// client addresses against the one server.
func (e *env) from(ip string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &client{e: e, http: &http.Client{Transport: tr}}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
	err    schema.Error
}

func (c *client) raw(method, path string, body io.Reader, hdr map[string]string) response {
	t := c.e.t
	t.Helper()
	r, err := c.do(method, path, body, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// do is raw for goroutines other than the test's: it returns what went wrong
// instead of failing the test.
func (c *client) do(method, path string, body io.Reader, hdr map[string]string) (response, error) {
	req, err := http.NewRequest(method, c.e.http.URL+path, body)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := c.http
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	r := response{status: res.StatusCode, header: res.Header, body: b}
	if res.StatusCode >= 400 && method != http.MethodHead {
		var eb schema.ErrorBody
		if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			return r, fmt.Errorf("%s %s: status %d with a body that is not an error body: %q", method, path, res.StatusCode, b)
		}
		if schema.HTTPStatus(eb.Error.Code) != res.StatusCode && res.StatusCode != http.StatusMethodNotAllowed {
			return r, fmt.Errorf("%s %s: status %d but code %s", method, path, res.StatusCode, eb.Error.Code)
		}
		r.err = eb.Error
	}
	return r, nil
}

// call sends v as JSON and decodes a 2xx answer into out.
func (c *client) call(method, path string, v, out any) response {
	c.e.t.Helper()
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			c.e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	r := c.raw(method, path, body, nil)
	if r.status < 300 && out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.e.t.Fatalf("%s %s: decode %q: %v", method, path, truncate(r.body), err)
		}
	}
	return r
}

// must is call that fails the test unless the status is want.
func (c *client) must(want int, method, path string, v, out any) response {
	c.e.t.Helper()
	r := c.call(method, path, v, out)
	if r.status != want {
		c.e.t.Fatalf("%s %s: status %d (%s: %s); want %d", method, path, r.status, r.err.Code, r.err.Message, want)
	}
	return r
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func (e *env) login(username string) *client {
	e.t.Helper()
	var lr schema.LoginResponse
	e.anon().must(200, "POST", schema.PathLogin, schema.LoginRequest{Username: username, Password: demo.Password}, &lr)
	return &client{e: e, token: lr.Token}
}

// device is an enrolled device with its own HLC and cursor.
type device struct {
	*client
	id       string
	username string
	squad    int64
	clock    *schema.Clock
	skew     time.Duration
	cursor   string
}

func (e *env) enroll(username string) *device {
	e.t.Helper()
	var code schema.EnrollmentCodeResponse
	e.login("admin").must(201, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: username}, &code)
	var er schema.EnrollResponse
	e.anon().must(201, "POST", schema.PathEnroll, schema.EnrollRequest{Code: code.Code, DeviceName: username + " phone"}, &er)
	d := &device{client: &client{e: e, token: er.Token}, id: er.DeviceID, username: username, squad: er.SquadID}
	d.clock = schema.NewClock(er.DeviceID, func() time.Time { return e.clock.Now().Add(d.skew) })
	return d
}

func (d *device) now() time.Time { return d.e.clock.Now().Add(d.skew) }

func (d *device) push(muts ...schema.Mutation) []schema.MutationResult {
	d.e.t.Helper()
	var pr schema.PushResponse
	d.must(200, "POST", schema.PathPush, schema.PushRequest{ClientTime: d.now(), HLC: d.clock.Tick().String(), Mutations: muts}, &pr)
	if len(pr.Results) != len(muts) {
		d.e.t.Fatalf("push of %d mutations answered %d", len(muts), len(pr.Results))
	}
	return pr.Results
}

// pullAll pulls until no more pages and returns every change in order.
func (d *device) pullAll(limit int) (changes []schema.Change, reset bool) {
	d.e.t.Helper()
	for i := 0; ; i++ {
		var pr schema.PullResponse
		d.must(200, "POST", schema.PathPull, schema.PullRequest{Cursor: d.cursor, Limit: limit, ClientTime: d.now()}, &pr)
		if i == 0 {
			reset = pr.Reset
		} else if pr.Reset {
			d.e.t.Fatal("reset on a page after the first")
		}
		changes = append(changes, pr.Changes...)
		d.cursor = pr.Cursor
		if !pr.More {
			return changes, reset
		}
		if i > 10000 {
			d.e.t.Fatal("pull does not end")
		}
	}
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// partner is the other demo inspector of the same squad (inspector1 and
// inspector2 in squad 1, inspector3 and inspector4 in squad 2, …), "" for
// anyone else.
func partner(username string) string {
	var n int
	if _, err := fmt.Sscanf(username, "inspector%d", &n); err != nil || n <= 0 {
		return ""
	}
	if n%2 == 1 {
		return fmt.Sprintf("inspector%d", n+1)
	}
	return fmt.Sprintf("inspector%d", n-1)
}

// inspection builds a submitted inspection of venue by the device's user
// and the partner of the squad, answering all 16 items.
func (d *device) inspection(venueID string) *schema.Inspection {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		d.e.t.Fatal(err)
	}
	start := d.now().Add(-30 * time.Minute)
	end := d.now().Add(-5 * time.Minute)
	inspectors := []schema.Inspector{{Username: d.username}}
	if p := partner(d.username); p != "" {
		inspectors = append(inspectors, schema.Inspector{Username: p})
	}
	in := &schema.Inspection{ID: newID(d.e.t), VenueID: venueID, Status: schema.StatusSubmitted, ChecklistVersion: cl.Version,
		Inspectors: inspectors, StartedAt: start, FinishedAt: &end}
	for _, it := range cl.Items {
		in.Items = append(in.Items, schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass})
	}
	return in
}

func (d *device) upsert(in *schema.Inspection) schema.Mutation {
	return schema.Mutation{ID: newID(d.e.t), Kind: schema.MutInspectionUpsert, HLC: d.clock.Tick().String(), Inspection: in}
}

func (d *device) edit(venueID string, fields map[string]schema.FieldEdit) schema.Mutation {
	return schema.Mutation{ID: newID(d.e.t), Kind: schema.MutVenueUpdate, HLC: d.clock.Tick().String(),
		VenueUpdate: &schema.VenueUpdate{VenueID: venueID, Fields: fields}}
}

// venues lists a squad's venues as the admin sees them.
func (e *env) venues(squad int64) []schema.Venue {
	e.t.Helper()
	var vs []schema.Venue
	e.login("admin").must(200, "GET", schema.PathVenues+"?squad="+itoa(squad), nil, &vs)
	if len(vs) == 0 {
		e.t.Fatalf("squad %d has no venues", squad)
	}
	return vs
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// count counts rows of a table.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.srv.Store().(*sqlite.Store).DB().R.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func byID(changes []schema.Change, kind, id string) []schema.Change {
	var out []schema.Change
	for _, c := range changes {
		if c.Kind == kind && c.ID == id {
			out = append(out, c)
		}
	}
	return out
}
