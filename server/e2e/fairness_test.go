package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
)

// noPhotoUploads keeps a device's photos on the device: its inspections
// reach the server and name photos whose bytes have not been sent.
type noPhotoUploads struct{}

func (noPhotoUploads) UploadPending(context.Context, *mobilesync.Device) (int, int64, error) {
	return 0, 0, nil
}

// recordWithPhoto records a complete inspection of venue, with co as
// co-inspector, whose item NC03 carries the photo file at path.
func recordWithPhoto(t *testing.T, d *mobilesync.Device, venue, co, path string) string {
	t.Helper()
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	in := mobilesync.InspectionInput{VenueID: venue, CoInspectors: []string{co}}
	for _, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == "NC03" {
			item.Result, item.Note, item.Photos = schema.ResultFail, "minor at PC 12", []string{path}
		}
		in.Items = append(in.Items, item)
	}
	id, err := d.RecordInspection(context.Background(), in)
	if err != nil {
		t.Fatalf("record inspection with a photo: %v", err)
	}
	return id
}

// partnerOf names the other demo inspector of the same squad (1 ↔ 2, 3 ↔ 4).
func partnerOf(user string) string {
	var n int
	if _, err := fmt.Sscanf(user, "inspector%d", &n); err != nil || n <= 0 {
		return user
	}
	if n%2 == 1 {
		return fmt.Sprintf("inspector%d", n+1)
	}
	return fmt.Sprintf("inspector%d", n-1)
}

// pendingPhoto is a photo a device's pushed inspection names.
type pendingPhoto struct {
	sha  string
	size int64
	body []byte
}

// deviceWithPendingPhotos enrols a device for user, records n inspections
// with one photo each and syncs their records but not their photos.
func deviceWithPendingPhotos(t *testing.T, e *env, admin *client, user string, n int, seed uint64) (*mobilesync.Device, []pendingPhoto) {
	t.Helper()
	d := e.newDevice(admin, user)
	d.SetPhotoUploader(noPhotoUploads{})
	mustSync(t, d)
	dir := t.TempDir()
	vs := venuesOf(t, d)
	var photos []pendingPhoto
	for i := 0; i < n; i++ {
		path, sha := writePhoto(t, dir, 40_000, seed+uint64(i))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		recordWithPhoto(t, d, vs[i].ID, partnerOf(user), path)
		photos = append(photos, pendingPhoto{sha: sha, size: int64(len(b)), body: b})
	}
	if rep := mustSync(t, d); rep.PendingMutations != 0 {
		t.Fatalf("%s: %d mutations still pending", user, rep.PendingMutations)
	}
	return d, photos
}

// trickleBody sends first and then nothing more until release is closed,
// as a device on a dead link or an attacker holding a socket open does.
// started is closed when the server first reads the body: with
// Expect: 100-continue, only then does the client send any of it.
type trickleBody struct {
	first   []byte
	started chan struct{}
	release <-chan struct{}
	once    sync.Once
	sent    bool
}

func (b *trickleBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	if !b.sent {
		b.sent = true
		return copy(p, b.first), nil
	}
	<-b.release
	return 0, errors.New("trickle released")
}

// trickled is how one trickling request ended up once it settled.
type trickled struct {
	held       bool // the server is reading its body
	status     int
	code       schema.Code
	message    string
	retryAfter string
	offset     string // Upload-Offset of an upload's answer
	err        error  // transport error
}

// trickleClient waits for 100 Continue before sending a body, so that a
// request whose body the server never reads sends none of it.
func trickleClient() *http.Client {
	return &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Hour, MaxConnsPerHost: 0}}
}

// startTrickle sends req with a trickling body and returns when the request
// has settled: the server is reading its body, or it answered. done
// receives the final outcome once release is closed (or the server cuts it).
func startTrickle(t *testing.T, hc *http.Client, req *http.Request, first []byte, release <-chan struct{}) (settled trickled, done <-chan trickled) {
	t.Helper()
	body := &trickleBody{first: first, started: make(chan struct{}), release: release}
	req.Body = io.NopCloser(body)
	req.Header.Set("Expect", "100-continue")
	out := make(chan trickled, 1)
	go func() {
		resp, err := hc.Do(req)
		if err != nil {
			out <- trickled{err: err}
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var eb schema.ErrorBody
		_ = json.Unmarshal(raw, &eb)
		out <- trickled{status: resp.StatusCode, code: eb.Error.Code, message: eb.Error.Message,
			retryAfter: resp.Header.Get("Retry-After"), offset: resp.Header.Get(schema.HeaderUploadOffset)}
	}()
	failsafe := time.NewTimer(30 * time.Second) // only a hang trips this
	defer failsafe.Stop()
	select {
	case <-body.started:
		return trickled{held: true}, out
	case r := <-out:
		out <- r // it is also the final outcome
		return r, out
	case <-failsafe.C:
		t.Fatalf("%s %s neither read nor answered", req.Method, req.URL.Path)
		return trickled{}, nil
	}
}

// tricklePush opens a push whose body never finishes.
func tricklePush(t *testing.T, d *mobilesync.Device, hc *http.Client, release <-chan struct{}) (trickled, <-chan trickled) {
	t.Helper()
	req, err := d.NewRequest(context.Background(), http.MethodPost, schema.PathPush, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = 4096
	return startTrickle(t, hc, req, []byte(`{"mutations":[`), release)
}

// trickleUpload opens an upload of a whole photo that sends its first 100
// bytes and then stalls.
func trickleUpload(t *testing.T, d *mobilesync.Device, hc *http.Client, p pendingPhoto, release <-chan struct{}) (trickled, <-chan trickled) {
	t.Helper()
	req, err := d.NewRequest(context.Background(), http.MethodPatch, schema.PathUploads+"/"+p.sha, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", schema.ContentTypeUpload)
	req.Header.Set(schema.HeaderUploadOffset, "0")
	req.Header.Set(schema.HeaderUploadLength, strconv.FormatInt(p.size, 10))
	req.ContentLength = p.size
	return startTrickle(t, hc, req, p.body[:100], release)
}

// gauge reads one unlabelled sample from /metrics.
func gauge(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitSlotsFree waits until no sync or upload slot is held: a request that
// ended gives its slot back as its handler returns.
func waitSlotsFree(t *testing.T, e *env) {
	t.Helper()
	for i := 0; ; i++ {
		if gauge(t, e.URL, "patrol_sync_slots_in_use") == 0 && gauge(t, e.URL, "patrol_upload_slots_in_use") == 0 {
			return
		}
		if i == 600 {
			t.Fatal("slots still held after the trickling requests ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFairness_SlowDeviceCannotStallOtherSquads: a device of squad 1 opens
// more trickling pushes than the server has sync slots and more trickling
// photo uploads than it has upload slots, and holds them open. A device of
// squad 2 beside it still pushes, pulls and uploads its photo; the slow
// device gets its share (two syncs, two uploads) and 429 with Retry-After
// for the rest.
func TestFairness_SlowDeviceCannotStallOtherSquads(t *testing.T) {
	const syncSlots, uploadSlots = 4, 3
	e := newEnvWith(t, func(c *server.Config) {
		c.MaxConcurrentSyncs = syncSlots
		c.MaxConcurrentUploads = uploadSlots
		c.SyncQueueWait = 50 * time.Millisecond
		c.RetryAfter = time.Second
	})
	admin := e.login("admin")
	slow, photos := deviceWithPendingPhotos(t, e, admin, "inspector1", uploadSlots+1, 7100)
	healthy := e.newDevice(admin, "inspector3", func(o *mobilesync.Options) { o.MaxAttempts = 3 })
	mustSync(t, healthy)
	photoPath, sha := writePhoto(t, t.TempDir(), 60_000, 7200)
	id := recordWithPhoto(t, healthy, venuesOf(t, healthy)[0].ID, "inspector4", photoPath)

	release := make(chan struct{})
	hc := trickleClient()
	var pushes, uploads []trickled
	var ends []<-chan trickled
	for i := 0; i < syncSlots+2; i++ {
		r, done := tricklePush(t, slow, hc, release)
		pushes, ends = append(pushes, r), append(ends, done)
	}
	for _, p := range photos {
		r, done := trickleUpload(t, slow, hc, p, release)
		uploads, ends = append(uploads, r), append(ends, done)
	}

	// Bodies still arriving hold no sync slot; uploads stream as they
	// arrive, so the slow device holds its share of upload slots, no more.
	if n := gauge(t, e.URL, "patrol_sync_slots_in_use"); n != 0 {
		t.Errorf("trickling pushes hold %v sync slots; want none until their bodies arrive", n)
	}
	if n := gauge(t, e.URL, "patrol_upload_slots_in_use"); n > 2 {
		t.Errorf("the slow device holds %v upload slots; want at most its share of 2", n)
	}

	rep, err := healthy.Sync(context.Background())
	if err != nil {
		t.Errorf("the healthy device could not sync beside the slow one: %v", err)
	} else if rep.PendingMutations != 0 || rep.PhotosUploaded != 1 {
		t.Errorf("healthy sync: %+v; want everything pushed and its photo uploaded", rep)
	} else {
		t.Logf("healthy device of another squad beside it: pushed %d, pulled %d, uploaded %d photo", rep.Pushed, rep.Pulled, rep.PhotosUploaded)
	}

	for what, rs := range map[string][]trickled{"pushes": pushes, "uploads": uploads} {
		held, limited := 0, 0
		for _, r := range rs {
			switch {
			case r.held:
				held++
			case r.status == http.StatusTooManyRequests && r.code == schema.CodeRateLimited && r.retryAfter == "1" &&
				strings.Contains(r.message, "this device already has 2"):
				limited++
			default:
				t.Errorf("slow device's %s: %+v; want its body read or 429 naming the device", what, r)
			}
		}
		if held != 2 || limited != len(rs)-2 {
			t.Errorf("slow device's %s: %d held, %d refused with 429; want 2 held and %d refused", what, held, limited, len(rs)-2)
		}
		t.Logf("slow device opened %d trickling %s: %d held, %d answered 429 + Retry-After", len(rs), what, held, limited)
	}

	close(release)
	for _, done := range ends {
		<-done
	}
	waitSlotsFree(t, e)
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
		t.Errorf("the healthy device's inspection is on the server %d times", n)
	}
	if n := e.countRows(`SELECT count(*) FROM photos WHERE sha256 = ?`, sha); n != 1 {
		t.Errorf("the healthy device's photo is stored %d times", n)
	}
	// The slow device, on a working link again, delivers everything.
	slow.SetPhotoUploader(nil)
	if rep := mustSync(t, slow); rep.PhotosUploaded != len(photos) {
		t.Errorf("slow device afterwards: %+v; want its %d photos uploaded", rep, len(photos))
	}
}

// TestFairness_TricklingBodiesAreCut: with short body bounds injected, a
// push whose body stalls is answered 503 timeout and a photo upload that
// stalls is cut by the minimum rate, keeping the bytes that arrived; the
// device then resumes and completes it, and no slot stays held.
func TestFairness_TricklingBodiesAreCut(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) {
		c.SyncBodyTimeout = 300 * time.Millisecond
		c.UploadGrace = 300 * time.Millisecond
		c.UploadMinRate = 1 << 20 // loopback is far faster; a stall is not
	})
	admin := e.login("admin")
	d, photos := deviceWithPendingPhotos(t, e, admin, "inspector1", 1, 7300)
	hc := trickleClient()
	never := make(chan struct{})
	defer close(never)

	_, done := tricklePush(t, d, hc, never)
	push := await(t, done, "push")
	if push.status != http.StatusServiceUnavailable || push.code != schema.CodeTimeout || !strings.Contains(push.message, "did not arrive within 300ms") {
		t.Errorf("stalled push: %+v; want 503 timeout saying the body did not arrive", push)
	}

	_, done = trickleUpload(t, d, hc, photos[0], never)
	up := await(t, done, "upload")
	if up.status != http.StatusServiceUnavailable || up.code != schema.CodeUnavailable || !strings.Contains(up.message, "slower than the minimum") || up.offset != "100" {
		t.Errorf("stalled upload: %+v; want 503 naming the minimum rate, Upload-Offset 100", up)
	}
	// The server kept what arrived: the upload resumes at byte 100.
	st, _ := deviceCallHead(t, d, schema.PathUploads+"/"+photos[0].sha)
	if st.Get(schema.HeaderUploadOffset) != "100" {
		t.Errorf("after the cut the server holds %q bytes; want 100", st.Get(schema.HeaderUploadOffset))
	}
	waitSlotsFree(t, e)

	d.SetPhotoUploader(nil)
	rep := mustSync(t, d)
	if rep.PhotosUploaded != 1 || rep.PhotoBytes != photos[0].size-100 {
		t.Errorf("resumed upload: %+v; want the photo done with its last %d bytes sent", rep, photos[0].size-100)
	}
	if n := e.countRows(`SELECT count(*) FROM photos WHERE sha256 = ?`, photos[0].sha); n != 1 {
		t.Errorf("photo stored %d times", n)
	}
}

// await waits for a trickling request that the server is expected to cut.
func await(t *testing.T, done <-chan trickled, what string) trickled {
	t.Helper()
	failsafe := time.NewTimer(30 * time.Second) // only a hang trips this
	defer failsafe.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("stalled %s: the connection broke without an answer: %v", what, r.err)
		}
		return r
	case <-failsafe.C:
		t.Fatalf("stalled %s was never cut", what)
		return trickled{}
	}
}

// deviceCallHead sends a HEAD with the device's credentials.
func deviceCallHead(t *testing.T, d *mobilesync.Device, path string) (http.Header, int) {
	t.Helper()
	req, err := d.NewRequest(context.Background(), http.MethodHead, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("HEAD %s: %w", path, err))
	}
	resp.Body.Close()
	return resp.Header, resp.StatusCode
}
