package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/mobile-sync/faultnet"
	"github.com/patrolhq/patrol/mobile-sync/loadtest"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"
)

// --- helpers of the fault tests ---

// fltSleeps records the waits a device asked for instead of waiting, so
// that backoff is asserted on the durations, never on wall time.
type fltSleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *fltSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

// take returns the recorded waits and forgets them.
func (s *fltSleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.d
	s.d = nil
	return out
}

// fltClient routes a device through rt and records its sleeps in sl.
func fltClient(rt http.RoundTripper, sl *fltSleeps) deviceOpts {
	return func(o *mobilesync.Options) {
		o.HTTPClient = &http.Client{Transport: rt, Timeout: 60 * time.Second}
		if sl != nil {
			o.Sleep = sl.sleep
		}
	}
}

// fltBase is a real transport of its own per device, closed with the test.
func fltBase(t *testing.T) *http.Transport {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// fltLog collects the server's log lines for assertions on what an
// operator would read.
type fltLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *fltLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *fltLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *fltLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// fltPhoto writes a small valid JPEG, distinct per n.
func fltPhoto(t *testing.T, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("evidence-%d.jpg", n))
	if err := os.WriteFile(p, loadtest.JPEG(12_000+(n%5)*3_000, uint64(n)+1), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fltRecord records a submitted inspection of venue on d, all items
// answered, with the photo (when not "") on the third item.
func fltRecord(ctx context.Context, d *mobilesync.Device, venue, photo string) (string, error) {
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	in := mobilesync.InspectionInput{VenueID: venue}
	for k, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if k == 2 {
			item.Result, item.Note = schema.ResultFail, "minors present after 22:00"
			if photo != "" {
				item.Photos = []string{photo}
			}
		}
		in.Items = append(in.Items, item)
	}
	return d.RecordInspection(ctx, in)
}

// fltStatus reads a device's pending work.
func fltStatus(t *testing.T, d *mobilesync.Device) mobilesync.Status {
	t.Helper()
	st, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fltSyncUntilDone syncs until nothing is pending (or rounds run out) and
// returns how many syncs it took and how many of them failed.
func fltSyncUntilDone(ctx context.Context, d *mobilesync.Device, rounds int) (syncs, failed int, err error) {
	var last error
	for syncs < rounds {
		syncs++
		_, serr := d.Sync(ctx)
		if serr != nil {
			failed++
			last = serr
		}
		st, err := d.Status(ctx)
		if err != nil {
			return syncs, failed, err
		}
		if serr == nil && st.PendingMutations == 0 && st.PendingPhotos == 0 {
			return syncs, failed, nil
		}
	}
	return syncs, failed, fmt.Errorf("still pending after %d syncs; last error: %v", syncs, last)
}

// fltVenues returns n licensed venues the device sees.
func fltVenues(t *testing.T, d *mobilesync.Device, n int) []string {
	t.Helper()
	var out []string
	for _, v := range venuesOf(t, d) {
		if v.Licensed && len(out) < n {
			out = append(out, v.ID)
		}
	}
	if len(out) < n {
		t.Fatalf("device sees %d licensed venues, need %d", len(out), n)
	}
	return out
}

// fltCheckServer asserts that the server holds every inspection in ids
// exactly once, with all 16 items as the device recorded them, and every
// photo they name, in its table and in the blob store.
func fltCheckServer(t *testing.T, e *env, d *mobilesync.Device, ids []string) (photos int) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
			t.Errorf("inspection %s is on the server %d times, want exactly once", id, n)
			continue
		}
		var raw string
		if err := e.srv.Store().(*sqlite.Store).DB().R.QueryRow(`SELECT json_group_array(json_object('item_id', item_id, 'result', result))
			FROM (SELECT item_id, result FROM inspection_items WHERE inspection_id = ? ORDER BY position)`, id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var items []schema.ItemResult
		if err := json.Unmarshal([]byte(raw), &items); err != nil {
			t.Fatal(err)
		}
		local, err := d.Inspection(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != len(local.Items) || len(items) != 16 {
			t.Errorf("inspection %s: server has %d items, device %d, want 16", id, len(items), len(local.Items))
			continue
		}
		for i := range items {
			if items[i].ItemID != local.Items[i].ItemID || items[i].Result != local.Items[i].Result {
				t.Errorf("inspection %s item %d: server %s=%s, device %s=%s", id, i, items[i].ItemID, items[i].Result, local.Items[i].ItemID, local.Items[i].Result)
			}
			for _, p := range local.Items[i].Photos {
				photos++
				if n := e.countRows(`SELECT count(*) FROM inspection_photos WHERE inspection_id = ? AND sha256 = ?`, id, p.SHA256); n != 1 {
					t.Errorf("inspection %s names photo %s %d times on the server, want once", id, p.SHA256[:12], n)
				}
				if n := e.countRows(`SELECT count(*) FROM photos WHERE sha256 = ? AND size = ?`, p.SHA256, p.Size); n != 1 {
					t.Errorf("photo %s of inspection %s: %d rows on the server, want 1", p.SHA256[:12], id, n)
				}
				if info, err := e.srv.Config().Blobs.Stat(ctx, p.SHA256); err != nil || info.Size != p.Size {
					t.Errorf("photo %s in the blob store: %+v, %v", p.SHA256[:12], info, err)
				}
			}
		}
	}
	return photos
}

// --- the network misbehaves ---

// TestFaults_DevicesConvergeThroughFaultyNetwork has four devices of two
// squads record inspections (a photo on every other one) and sync through
// a network that breaks 30 % of requests in every way faultnet knows.
// Every inspection arrives exactly once, every photo arrives, nothing stays
// pending, and no mutation was set aside as a conflict or rejection.
func TestFaults_DevicesConvergeThroughFaultyNetwork(t *testing.T) {
	const (
		faultRate = 0.3
		rounds    = 3 // record, then sync until done
		perRound  = 6 // inspections per device per round
	)
	e := newEnv(t)
	admin := e.login("admin")
	users := []string{"inspector1", "inspector2", "inspector3", "inspector4", "inspector5", "inspector6"}
	var (
		epMu       sync.Mutex
		byEndpoint = map[string]faultnet.Counts{}
	)
	onFault := func(k faultnet.Kind, r *http.Request) {
		ep := fltEndpoint(r)
		epMu.Lock()
		if byEndpoint[ep] == nil {
			byEndpoint[ep] = faultnet.Counts{}
		}
		byEndpoint[ep][k]++
		epMu.Unlock()
	}
	type dev struct {
		user   string
		d      *mobilesync.Device
		net    *faultnet.Transport
		sleeps *fltSleeps
		venues []string
		ids    []string
		syncs  int
		failed int
	}
	devs := make([]*dev, len(users))
	for i, u := range users {
		sl := &fltSleeps{}
		tr := faultnet.New(faultnet.Config{Base: fltBase(t), Seed: uint64(1000 + i), RetryAfter: 2 * time.Second,
			Delay: 5 * time.Second, Sleep: func(context.Context, time.Duration) error { return nil }, OnFault: onFault})
		// Small push batches make more requests for the faults to hit;
		// three attempts per request make some syncs fail as a whole, so
		// that the next sync must pick up after a broken one.
		d := e.newDevice(admin, u, fltClient(tr, sl), func(o *mobilesync.Options) { o.PushBatch, o.MaxAttempts = 2, 3 })
		mustSync(t, d) // enrolment and the first pull on a healthy network
		devs[i] = &dev{user: u, d: d, net: tr, sleeps: sl, venues: fltVenues(t, d, 3)}
		tr.SetProbability(faultRate)
	}
	photoDir := t.TempDir()
	ctx := context.Background()
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, len(devs))
		for i, dv := range devs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < perRound; k++ {
					n := (i*rounds+round)*perRound + k
					photo := ""
					if k%2 == 0 {
						photo = filepath.Join(photoDir, fmt.Sprintf("evidence-%d.jpg", n))
						if err := os.WriteFile(photo, loadtest.JPEG(12_000+(n%5)*3_000, uint64(n)+1), 0o644); err != nil {
							errs <- err
							return
						}
					}
					id, err := fltRecord(ctx, dv.d, dv.venues[(round*perRound+k)%len(dv.venues)], photo)
					if err != nil {
						errs <- fmt.Errorf("%s: %w", dv.user, err)
						return
					}
					dv.ids = append(dv.ids, id)
				}
				s, f, err := fltSyncUntilDone(ctx, dv.d, 40)
				dv.syncs, dv.failed = dv.syncs+s, dv.failed+f
				if err != nil {
					errs <- fmt.Errorf("%s round %d: %w", dv.user, round+1, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}

	faults := faultnet.Counts{}
	var requests, inspections, photos, syncs, failed int
	for _, dv := range devs {
		st := fltStatus(t, dv.d)
		if st.PendingMutations != 0 || st.PendingPhotos != 0 || st.Answers != 0 {
			t.Errorf("%s: %d mutations and %d photos pending, %d set aside; want none", dv.user, st.PendingMutations, st.PendingPhotos, st.Answers)
		}
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE device_id = ?`, st.DeviceID); n != len(dv.ids) {
			t.Errorf("%s: server holds %d inspections from device %s, the device recorded %d", dv.user, n, st.DeviceID, len(dv.ids))
		}
		if n := e.countRows(`SELECT count(*) FROM applied_mutations WHERE device_id = ? AND outcome <> ?`, st.DeviceID, schema.OutcomeApplied); n != 0 {
			t.Errorf("%s: %d mutations were not simply applied (conflict or rejected)", dv.user, n)
		}
		ack, err := dv.d.Acknowledged(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		for _, in := range ack { // the squad partner's pulled inspections are there too
			acked[in.ID] = true
		}
		for _, id := range dv.ids {
			if !acked[id] {
				t.Errorf("%s: inspection %s is on the server but not acknowledged on the device", dv.user, id)
			}
		}
		photos += fltCheckServer(t, e, dv.d, dv.ids)
		for _, w := range dv.sleeps.take() {
			if w < 0 || w > mobilesync.BackoffCap {
				t.Errorf("%s: backoff wait %v outside [0, %v]", dv.user, w, mobilesync.BackoffCap)
			}
		}
		faults.Add(dv.net.Counts())
		requests += dv.net.Requests()
		inspections += len(dv.ids)
		syncs += dv.syncs
		failed += dv.failed
	}
	for _, k := range faultnet.AllKinds {
		if faults[k] == 0 {
			t.Errorf("no %s fault was injected (%v); the schedule no longer covers every kind", k, faults)
		}
	}
	wantPhotos := len(devs) * rounds * perRound / 2
	if photos != wantPhotos {
		t.Errorf("%d photos checked on the server, want %d", photos, wantPhotos)
	}
	t.Logf("faulty network: %d devices, %d inspections (%d with a photo) each on the server exactly once; %d requests, %d faults injected (%.0f %%): %v; %d syncs, %d failed as a whole and were retried",
		len(devs), inspections, photos, requests, faults.Total(), 100*float64(faults.Total())/float64(max(requests, 1)), faults, syncs, failed)
	for _, ep := range []string{"enroll", "push", "pull", "upload_head", "upload_patch"} {
		if c := byEndpoint[ep]; c != nil {
			t.Logf("  %-12s %v", ep, c)
		}
	}
}

// fltEndpoint names a request for the fault tally.
func fltEndpoint(r *http.Request) string {
	switch p := r.URL.Path; {
	case p == schema.PathPush:
		return "push"
	case p == schema.PathPull:
		return "pull"
	case p == schema.PathEnroll:
		return "enroll"
	case strings.HasPrefix(p, schema.PathUploads+"/"):
		return "upload_" + strings.ToLower(r.Method)
	default:
		return p
	}
}

// TestFaults_BackoffJitterAndRetryAfter checks the waits a device asks
// for: exactly the server's Retry-After when one is given (records and
// photos alike), otherwise full jitter below an exponential ceiling.
func TestFaults_BackoffJitterAndRetryAfter(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	sl := &fltSleeps{}
	kinds := []faultnet.Kind{faultnet.Unavailable}
	var onlyUploads bool
	tr := faultnet.New(faultnet.Config{Base: fltBase(t), Seed: 1, RetryAfter: 7 * time.Second, Kinds: kinds,
		Match: func(r *http.Request) bool {
			return !onlyUploads || strings.HasPrefix(r.URL.Path, schema.PathUploads+"/")
		}})
	rnd := rand.New(rand.NewPCG(7, 7))
	d := e.newDevice(admin, "inspector1", fltClient(tr, sl), func(o *mobilesync.Options) { o.Rand = rnd.Float64 })
	mustSync(t, d)
	ctx := context.Background()
	venue := fltVenues(t, d, 1)[0]
	id, err := fltRecord(ctx, d, venue, fltPhoto(t, t.TempDir(), 1))
	if err != nil {
		t.Fatal(err)
	}
	attempts := mobilesync.DefaultMaxAttempts

	// A proxy answers 503 with Retry-After: 7 to every request.
	tr.SetProbability(1)
	_, err = d.Sync(ctx)
	if schema.ErrorCode(err) != schema.CodeUnavailable || !strings.Contains(err.Error(), "your work is kept") {
		t.Fatalf("sync through 503s: %v", err)
	}
	waits := sl.take()
	if len(waits) != attempts-1 {
		t.Fatalf("waits %v, want %d retries", waits, attempts-1)
	}
	for _, w := range waits {
		if w != 7*time.Second {
			t.Fatalf("waits %v, want each to be the Retry-After of 7s", waits)
		}
	}
	if st := fltStatus(t, d); st.PendingMutations != 1 {
		t.Fatalf("pending %d after a refused sync, want 1", st.PendingMutations)
	}

	// Requests vanish: no Retry-After, so full jitter under base·2ⁿ.
	tr2 := faultnet.New(faultnet.Config{Base: fltBase(t), Seed: 2, Probability: 1, Kinds: []faultnet.Kind{faultnet.DropRequest}})
	d.HTTPClient().Transport = tr2
	var byAttempt [][]time.Duration
	for range 3 {
		_, err := d.Sync(ctx)
		if !errors.Is(err, mobilesync.ErrUnreachable) {
			t.Fatalf("sync with every request dropped: %v", err)
		}
		byAttempt = append(byAttempt, sl.take())
	}
	for s, waits := range byAttempt {
		if len(waits) != attempts-1 {
			t.Fatalf("sync %d: waits %v, want %d", s, waits, attempts-1)
		}
		for n, w := range waits {
			if ceil := mobilesync.BackoffBase << n; w < 0 || w >= ceil {
				t.Errorf("sync %d retry %d waited %v, want within [0, %v)", s, n, w, ceil)
			}
		}
	}
	for n := range attempts - 1 {
		if byAttempt[0][n] == byAttempt[1][n] && byAttempt[1][n] == byAttempt[2][n] {
			t.Errorf("retry %d waited %v in all three syncs: no jitter", n, byAttempt[0][n])
		}
	}
	t.Logf("jittered waits by sync: %v", byAttempt)

	// Records go through; the photo upload meets 503 + Retry-After.
	d.HTTPClient().Transport = tr
	onlyUploads = true
	_, err = d.Sync(ctx)
	if schema.ErrorCode(err) != schema.CodeUnavailable || !strings.Contains(err.Error(), "stay on the device") {
		t.Fatalf("sync with photo uploads refused: %v", err)
	}
	waits = sl.take()
	if len(waits) != attempts-1 {
		t.Fatalf("photo waits %v, want %d retries", waits, attempts-1)
	}
	for _, w := range waits {
		if w != 7*time.Second {
			t.Fatalf("photo waits %v, want each to be the Retry-After of 7s", waits)
		}
	}
	if st := fltStatus(t, d); st.PendingMutations != 0 || st.PendingPhotos != 1 {
		t.Fatalf("after the photo was refused: %+v", st)
	}

	tr.SetProbability(0)
	mustSync(t, d)
	if st := fltStatus(t, d); st.PendingMutations != 0 || st.PendingPhotos != 0 {
		t.Fatalf("after the network healed: %+v", st)
	}
	fltCheckServer(t, e, d, []string{id})
	t.Logf("injected: %v, then %v", tr.Counts(), tr2.Counts())
}

// --- the server's side fails ---

// TestFaults_TokenRevokedMidSync revokes a device while it pushes (one
// mutation per request): the first push is answered, the second is
// applied but its answer lost, the third meets 401. The device says to
// enrol again and keeps its work; enrolled again with a new code, the
// same store sends what is left, and everything is on the server once.
func TestFaults_TokenRevokedMidSync(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	base := fltBase(t)
	var (
		mu       sync.Mutex
		pushes   int
		deviceID string
	)
	rt := fltRoundTripper(func(req *http.Request) (*http.Response, error) {
		if req.URL.Path != schema.PathPush {
			return base.RoundTrip(req)
		}
		mu.Lock()
		pushes++
		n, id := pushes, deviceID
		mu.Unlock()
		resp, err := base.RoundTrip(req)
		if err != nil || n != 2 {
			return resp, err
		}
		// The server committed the second push; the admin revokes the
		// device before its answer arrives, and the answer is lost.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if st := admin.call("POST", "/api/v1/devices/"+id+"/revoke", nil, nil); st != http.StatusNoContent {
			return nil, fmt.Errorf("revoke: HTTP %d", st)
		}
		return nil, errors.New("connection reset by peer")
	})
	d := e.newDevice(admin, "inspector1", fltClient(rt, nil), func(o *mobilesync.Options) { o.PushBatch = 1 })
	mustSync(t, d)
	ctx := context.Background()
	first := fltStatus(t, d).DeviceID
	mu.Lock()
	deviceID = first
	mu.Unlock()
	var ids []string
	for _, v := range fltVenues(t, d, 3) {
		id, err := fltRecord(ctx, d, v, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}

	_, err := d.Sync(ctx)
	if !errors.Is(err, mobilesync.ErrEnrollAgain) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("sync after revocation: %v, want ErrEnrollAgain saying the token was revoked", err)
	}
	if st := fltStatus(t, d); st.PendingMutations != 2 || !st.Enrolled {
		t.Fatalf("after the 401: %+v; want the two unanswered inspections still queued", st)
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE device_id = ?`, first); n != 2 {
		t.Fatalf("server holds %d inspections of the revoked device, want 2 (one answered, one committed unanswered)", n)
	}
	if _, err := d.Sync(ctx); !errors.Is(err, mobilesync.ErrEnrollAgain) {
		t.Fatalf("second sync with a revoked token: %v", err)
	}

	if err := d.Enroll(ctx, e.URL, admin.enrollmentCode("inspector1"), "test-inspector1-again"); err != nil {
		t.Fatalf("enrol again: %v", err)
	}
	rep := mustSync(t, d)
	st := fltStatus(t, d)
	if st.PendingMutations != 0 || st.Answers != 0 {
		answers, _ := d.Answers(ctx)
		t.Fatalf("after enrolling again: %+v (report %+v); answers %+v — want everything sent and nothing set aside", st, rep, answers)
	}
	if st.DeviceID == first {
		t.Fatalf("enrolling again kept the revoked device id %s", first)
	}
	fltCheckServer(t, e, d, ids)
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE device_id IN (?, ?)`, first, st.DeviceID); n != len(ids) {
		t.Fatalf("server holds %d inspections of this store, want %d", n, len(ids))
	}
	t.Logf("revoked mid-sync after 1 answered and 1 unanswered push; re-enrolled as %s; %d inspections on the server exactly once", st.DeviceID, len(ids))
}

// fltRoundTripper adapts a function to http.RoundTripper.
type fltRoundTripper func(*http.Request) (*http.Response, error)

func (f fltRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fltProxy forwards TCP to a target and can be taken down and brought
// back on the same address: an S3 endpoint that becomes unreachable.
type fltProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newFltProxy(t *testing.T, target string) *fltProxy {
	t.Helper()
	p := &fltProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *fltProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

// down closes the listener and every open connection: connection refused.
func (p *fltProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// up listens on the same address again.
func (p *fltProxy) up() {
	p.t.Helper()
	var err error
	for try := 0; try < 50; try++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("listen again on %s: %v", p.addr, err)
}

// TestFaults_S3Unreachable keeps photos in a real S3 server (versitygw)
// reached through a proxy that goes down mid-test: photo uploads are
// answered 503 with a message saying the photo store is unavailable, the
// inspections still sync, /readyz fails, the server logs what failed; when
// S3 is back on the same address the photos complete, nothing lost.
func TestFaults_S3Unreachable(t *testing.T) {
	ctx := context.Background()
	ep := storagetest.StartVersityGW(t)
	proxy := newFltProxy(t, ep.Endpoint)
	blobs, err := s3store.New(ctx, s3store.Config{Endpoint: proxy.addr, Bucket: ep.Bucket, AccessKey: ep.AccessKey, SecretKey: ep.SecretKey, Region: ep.Region})
	if err != nil {
		t.Fatal(err)
	}
	logs := &fltLog{}
	e := newEnvWith(t, func(c *server.Config) { c.Blobs = blobs; c.Logger = logs.logger() })
	admin := e.login("admin")
	// One attempt per request: each one waits out the S3 client's own
	// retries against the dead endpoint.
	d := e.newDevice(admin, "inspector1", func(o *mobilesync.Options) { o.MaxAttempts = 1 })
	mustSync(t, d)
	venues := fltVenues(t, d, 3)
	dir := t.TempDir()
	var ids []string
	record := func(k int) {
		t.Helper()
		id, err := fltRecord(ctx, d, venues[k], fltPhoto(t, dir, 100+k))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	record(0)
	mustSync(t, d)

	proxy.down()
	record(1)
	record(2)
	start := time.Now()
	_, err = d.Sync(ctx)
	took := time.Since(start)
	if schema.ErrorCode(err) != schema.CodeUnavailable || !strings.Contains(err.Error(), "photo store is unavailable") {
		t.Fatalf("sync with S3 down: %v; want 503 unavailable saying the photo store is unavailable", err)
	}
	if st := fltStatus(t, d); st.PendingMutations != 0 || st.PendingPhotos != 2 {
		t.Fatalf("with S3 down: %+v; want the inspections sent and the 2 photos kept", st)
	}
	for _, id := range ids {
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
			t.Fatalf("inspection %s on the server %d times while S3 is down", id, n)
		}
	}
	if !strings.Contains(logs.String(), "blob store put failed") {
		t.Fatalf("server log says nothing about the failing blob store:\n%s", logs.String())
	}
	if st := fltReadyz(t, e); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz with S3 down: HTTP %d, want 503", st)
	}

	proxy.up()
	mustSync(t, d)
	if st := fltStatus(t, d); st.PendingMutations != 0 || st.PendingPhotos != 0 {
		t.Fatalf("after S3 came back: %+v", st)
	}
	if photos := fltCheckServer(t, e, d, ids); photos != 3 {
		t.Fatalf("%d photos checked, want 3", photos)
	}
	if st := fltReadyz(t, e); st != http.StatusOK {
		t.Errorf("/readyz with S3 back: HTTP %d, want 200", st)
	}
	t.Logf("S3 down: sync answered in %v (1 attempt) with %q; 3 inspections and 3 photos on the server after it came back", took.Round(time.Millisecond), err)
}

func fltReadyz(t *testing.T, e *env) int {
	t.Helper()
	resp, err := http.Get(e.URL + schema.PathReadyz)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFaults_DiskFull fills the server's database (SQLITE_FULL through
// max_page_count on its writer connection) and then its photo staging
// (the part file is /dev/full: ENOSPC): each time the device gets a 503
// that says what is wrong, the server logs what to fix, nothing
// acknowledged is lost, and work resumes when the fault clears.
func TestFaults_DiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full to fill the photo staging: %v", err)
	}
	logs := &fltLog{}
	e := newEnvWith(t, func(c *server.Config) { c.Logger = logs.logger() })
	admin := e.login("admin")
	d := e.newDevice(admin, "inspector1", func(o *mobilesync.Options) { o.MaxAttempts = 2 })
	mustSync(t, d)
	ctx := context.Background()
	venues := fltVenues(t, d, 3)
	venues = append(venues, venues...)
	var ids []string
	for _, v := range venues[:2] {
		id, err := fltRecord(ctx, d, v, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	mustSync(t, d)

	// The database may not grow by a single page.
	w := e.srv.Store().(*sqlite.Store).DB().W
	if _, err := w.Exec(`VACUUM`); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := w.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	photo := fltPhoto(t, t.TempDir(), 7)
	for k, v := range venues[2:] {
		p := ""
		if k == 0 {
			p = photo
		}
		id, err := fltRecord(ctx, d, v, p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_, err := d.Sync(ctx)
	if schema.ErrorCode(err) != schema.CodeUnavailable || !strings.Contains(err.Error(), "disk full or read-only") {
		t.Fatalf("sync into a full database: %v; want 503 unavailable saying disk full or read-only", err)
	}
	if st := fltStatus(t, d); st.PendingMutations != 4 {
		t.Fatalf("after the refused push: %d pending, want all 4 kept", st.PendingMutations)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "free disk space") {
		t.Fatalf("server log has no actionable line for the full database:\n%s", logs.String())
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id IN (?, ?)`, ids[0], ids[1]); n != 2 {
		t.Fatalf("acknowledged inspections on the server: %d, want 2", n)
	}

	// The disk is freed; the photo staging is full instead.
	if _, err := w.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	refs, err := d.Inspection(ctx, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	sha := refs.Items[2].Photos[0].SHA256
	id, err := d.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(e.srv.Photos().StagingDir, sha+"."+id.DeviceID+".part") // uploads are staged per device
	if err := os.Symlink("/dev/full", part); err != nil {
		t.Fatal(err)
	}
	_, err = d.Sync(ctx)
	if schema.ErrorCode(err) != schema.CodeUnavailable || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("sync with the staging full: %v; want 503 saying no space left on device", err)
	}
	if st := fltStatus(t, d); st.PendingMutations != 0 || st.PendingPhotos != 1 {
		t.Fatalf("with the staging full: %+v; want records sent and the photo kept", st)
	}
	if !strings.Contains(logs.String(), "staging write failed; free disk space") {
		t.Fatalf("server log has no actionable line for the full staging:\n%s", logs.String())
	}

	if err := os.Remove(part); err != nil {
		t.Fatal(err)
	}
	mustSync(t, d)
	if st := fltStatus(t, d); st.PendingMutations != 0 || st.PendingPhotos != 0 || st.Answers != 0 {
		t.Fatalf("after the disk was freed: %+v", st)
	}
	if photos := fltCheckServer(t, e, d, ids); photos != 1 {
		t.Fatalf("%d photos checked, want 1", photos)
	}
	var check string
	if err := w.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	t.Logf("database full (max_page_count %d): push answered 503, 4 inspections kept; staging full: photo answered 503; all %d inspections and the photo on the server exactly once afterwards", pages, len(ids))
}

// TestFaults_EnrolAnswerLost loses the answer to an enrolment the server
// committed: the retry finds the one-time code used. The device must say
// so (a new code is needed), not claim a token was revoked, stay
// unenrolled, and enrol with the next code.
func TestFaults_EnrolAnswerLost(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	lose := faultnet.New(faultnet.Config{Base: fltBase(t), Seed: 3, Probability: 1, Kinds: []faultnet.Kind{faultnet.DropResponse}})
	base := fltBase(t)
	var mu sync.Mutex
	enrols := 0
	rt := fltRoundTripper(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		first := r.URL.Path == schema.PathEnroll && enrols == 0
		if r.URL.Path == schema.PathEnroll {
			enrols++
		}
		mu.Unlock()
		if first {
			return lose.RoundTrip(r)
		}
		return base.RoundTrip(r)
	})
	o := mobilesync.Options{Path: filepath.Join(t.TempDir(), "lost-answer.db")}
	fltClient(rt, &fltSleeps{})(&o)
	ctx := context.Background()
	d, err := mobilesync.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.Enroll(ctx, e.URL, admin.enrollmentCode("inspector1"), "lost-answer")
	if err == nil || errors.Is(err, mobilesync.ErrEnrollAgain) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("enrol whose answer was lost: %v; want the server's word that the code is used, not a revoked-token message", err)
	}
	if st := fltStatus(t, d); st.Enrolled {
		t.Fatalf("device enrolled without ever receiving a token: %+v", st)
	}
	if err := d.Enroll(ctx, e.URL, admin.enrollmentCode("inspector1"), "lost-answer"); err != nil {
		t.Fatalf("enrol with a new code: %v", err)
	}
	mustSync(t, d)
	t.Logf("enrolment answer lost (%v): %v", lose.Counts(), err)
}
