package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// pushNaming pushes, as device d would if its app were tampered with, a
// complete inspection of venue whose item NC03 names the photo sha with
// the declared size, and returns the inspection id and the answer.
func pushNaming(t *testing.T, d *mobilesync.Device, venue, sha string, size int64) (string, schema.MutationResult) {
	t.Helper()
	id, err := d.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	now := time.Now()
	end := now.Add(-5 * time.Minute)
	in := &schema.Inspection{ID: uuid.NewString(), VenueID: venue, Status: schema.StatusSubmitted, ChecklistVersion: cl.Version,
		Inspectors: []schema.Inspector{{Username: id.Username}}, StartedAt: now.Add(-30 * time.Minute), FinishedAt: &end}
	for _, it := range cl.Items {
		r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == "NC03" {
			r.Result = schema.ResultFail
			r.Photos = []schema.PhotoRef{{SHA256: sha, Size: size, MediaType: "image/jpeg", CapturedAt: now.Add(-20 * time.Minute), DeviceID: id.DeviceID}}
		}
		in.Items = append(in.Items, r)
	}
	hlc := schema.NewClock(id.DeviceID, time.Now).Tick().String()
	req := schema.PushRequest{ClientTime: now, HLC: hlc, Mutations: []schema.Mutation{
		{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert, HLC: hlc, Inspection: in}}}
	st, raw := deviceCall(t, d, "POST", schema.PathPush, req)
	var pr schema.PushResponse
	if st != 200 || json.Unmarshal(raw, &pr) != nil || len(pr.Results) != 1 {
		t.Fatalf("push naming %s: HTTP %d %s", sha[:12], st, raw)
	}
	return in.ID, pr.Results[0]
}

// headUpload is what HEAD /uploads/{sha} tells d.
func headUpload(t *testing.T, d *mobilesync.Device, sha string) (status int, offset string, stored bool) {
	t.Helper()
	h, st := deviceCallHead(t, d, schema.PathUploads+"/"+sha)
	return st, h.Get(schema.HeaderUploadOffset), h.Get(schema.HeaderStored) == "true"
}

// wantMissing checks that the inspection shows sha as not received.
func wantMissing(t *testing.T, c *client, id, sha string, missing bool) {
	t.Helper()
	in := getInspection(t, c, id)
	listed := slices.Contains(in.MissingPhotos, sha)
	flagged := slices.Contains(in.Flags, schema.FlagPhotosMissing)
	received := false
	for _, it := range in.Items {
		for _, p := range it.Photos {
			received = received || p.SHA256 == sha && p.Received
		}
	}
	if listed != missing || flagged != missing || received == missing || in.PhotosComplete == nil || *in.PhotosComplete == missing {
		t.Fatalf("inspection %s: photo %s in missing_photos %v, flag %v, received %v, complete %v; want missing %v",
			id, sha[:12], listed, flagged, received, in.PhotosComplete, missing)
	}
}

// TestPhoto_NamingAnotherSquadsHashProvesNothing: a device of squad 2
// that learnt the hash of squad 1's evidence names it in an inspection of
// its own. The push is taken, but the claim is pending: the upload HEAD
// does not tell that the photo exists, neither the device nor its leader
// may read it, and the inspection shows it missing. Only sending the bytes
// themselves proves the claim (the photo is still stored once).
func TestPhoto_NamingAnotherSquadsHashProvesNothing(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	owner := e.newDevice(admin, "inspector1")
	thief := e.newDevice(admin, "inspector3")
	mustSync(t, owner)
	mustSync(t, thief)
	p, sha := writePhoto(t, t.TempDir(), 120_000, 61)
	photo, _ := os.ReadFile(p)
	recordWithPhotos(t, owner, nthVenue(t, owner, schema.KindNetCafe, 0).ID, []string{p}, nil)
	if rep := mustSync(t, owner); rep.PhotosUploaded != 1 {
		t.Fatalf("owner's sync: %+v", rep)
	}

	id, r := pushNaming(t, thief, nthVenue(t, thief, schema.KindNetCafe, 0).ID, sha, int64(len(photo)))
	if r.Outcome != schema.OutcomeApplied {
		t.Fatalf("inspection naming another squad's photo: %+v; want applied with a pending claim", r)
	}
	if st, off, stored := headUpload(t, thief, sha); st != 200 || off != "0" || stored {
		t.Fatalf("HEAD /uploads by the claimant: HTTP %d offset %q stored %v; want 200, offset 0, not stored (as for a new upload)", st, off, stored)
	}
	if h, st := deviceCallHead(t, thief, schema.PathPhotos+"/"+sha); st != 404 || h.Get("Content-Length") != "" {
		t.Fatalf("claimant device HEAD /photos: HTTP %d, Content-Length %q; want 404", st, h.Get("Content-Length"))
	}
	leader2 := e.login("leader2")
	for _, path := range []string{schema.PathPhotos + "/" + sha, schema.PathPhotos + "/" + sha + "/thumb"} {
		if st, _ := deviceCall(t, thief, "GET", path, nil); st != 404 {
			t.Fatalf("claimant device GET %s: HTTP %d; want 404", path, st)
		}
		if resp, _ := leader2.rawGet("GET", path, nil); resp.StatusCode != 404 {
			t.Fatalf("claimant's leader GET %s: HTTP %d; want 404", path, resp.StatusCode)
		}
	}
	wantMissing(t, admin, id, sha, true)
	// A wrong declared size of another squad's photo is not refused: the
	// answer would tell that the server holds the photo.
	if _, r := pushNaming(t, thief, nthVenue(t, thief, schema.KindNetCafe, 0).ID, sha, int64(len(photo))+1); r.Outcome != schema.OutcomeApplied {
		t.Fatalf("another squad's photo with a wrong size: %+v; want applied (pending), telling nothing", r)
	}

	// Bytes that do not hash to the name prove nothing.
	bogus := append([]byte(nil), photo...)
	bogus[len(bogus)/2] ^= 0xff
	if _, patch := uploadAs(t, thief, sha, bogus); patch != 422 {
		t.Fatalf("claimant's PATCH of other bytes: HTTP %d; want 422", patch)
	}
	if resp, _ := leader2.rawGet("GET", schema.PathPhotos+"/"+sha, nil); resp.StatusCode != 404 {
		t.Fatalf("after bytes that do not match: leader 2 GET HTTP %d; want 404", resp.StatusCode)
	}
	// The very bytes, sent by the claimant, prove that it has them.
	if _, patch := uploadAs(t, thief, sha, photo); patch != 201 {
		t.Fatalf("claimant's PATCH of the photo itself: HTTP %d; want 201", patch)
	}
	wantMissing(t, admin, id, sha, false)
	if resp, body := leader2.rawGet("GET", schema.PathPhotos+"/"+sha, nil); resp.StatusCode != 200 || len(body) != len(photo) {
		t.Fatalf("after the claimant sent the photo: leader 2 GET HTTP %d, %d bytes", resp.StatusCode, len(body))
	}
	if n := e.countRows(`SELECT count(*) FROM photos WHERE sha256 = ?`, sha); n != 1 {
		t.Fatalf("%d photo records; want the one", n)
	}
}

// TestPhoto_SameBytesFromTwoDevicesOfASquad: two devices of one squad name
// the same photo before either has sent it. Each claim is proven by that
// device's own upload; the photo is stored once. A device of the squad
// that names it once the squad has sent it is proven at once, sends
// nothing, and a wrong declared size of it is refused.
func TestPhoto_SameBytesFromTwoDevicesOfASquad(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	netA, netB := newFaultNet(t), newFaultNet(t)
	a := e.newDevice(admin, "inspector1", netA.opts())
	b := e.newDevice(admin, "inspector2", netB.opts())
	mustSync(t, a)
	mustSync(t, b)
	p, sha := writePhoto(t, t.TempDir(), 90_000, 62)
	photo, _ := os.ReadFile(p)
	ia := recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p}, nil)
	ib := recordWithPhotos(t, b, nthVenue(t, b, schema.KindNetCafe, 1).ID, nil, []string{p})
	netA.noUploads.Store(true)
	netB.noUploads.Store(true)
	a.Sync(context.Background()) // records up, photos not
	b.Sync(context.Background())
	leader1 := e.login("leader1")
	wantMissing(t, leader1, ia, sha, true)
	wantMissing(t, leader1, ib, sha, true)

	netA.noUploads.Store(false)
	if rep := mustSync(t, a); rep.PhotosUploaded != 1 {
		t.Fatalf("a's upload: %+v", rep)
	}
	wantMissing(t, leader1, ia, sha, false)
	wantMissing(t, leader1, ib, sha, true)
	netB.noUploads.Store(false)
	if st, off, stored := headUpload(t, b, sha); st != 200 || off != "0" || stored {
		t.Fatalf("HEAD by b, whose claim is pending: HTTP %d offset %q stored %v; want offset 0, not stored", st, off, stored)
	}
	if rep := mustSync(t, b); rep.PhotosUploaded != 1 || rep.PhotoBytes != int64(len(photo)) {
		t.Fatalf("b's upload: %+v; want the whole photo sent", rep)
	}
	wantMissing(t, leader1, ib, sha, false)
	if n := e.countRows(`SELECT count(*) FROM photos WHERE sha256 = ?`, sha); n != 1 {
		t.Fatalf("%d photo records; want one", n)
	}
	if got := readBlob(t, e.Blobs, sha); len(got) != len(photo) {
		t.Fatalf("stored blob has %d bytes", len(got))
	}

	// The squad holds the photo now: naming it again is proven at once.
	ic := recordWithPhotos(t, b, nthVenue(t, b, schema.KindNetCafe, 2).ID, []string{p}, nil)
	if rep := mustSync(t, b); rep.PhotoBytes != 0 {
		t.Fatalf("naming a photo the squad sent: %+v; want no bytes sent", rep)
	}
	wantMissing(t, leader1, ic, sha, false)
	_, r := pushNaming(t, b, nthVenue(t, b, schema.KindNetCafe, 3).ID, sha, int64(len(photo))-1)
	if r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeInvalid || !strings.Contains(r.Reason, strconv.Itoa(len(photo))) {
		t.Fatalf("the squad's photo with a wrong size: %+v; want rejected invalid, naming the stored size", r)
	}
	if resp, _ := leader1.rawGet("GET", schema.PathPhotos+"/"+sha, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("leader 1 GET photo: HTTP %d", resp.StatusCode)
	}
}
