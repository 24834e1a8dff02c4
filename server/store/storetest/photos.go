package storetest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var photoCases = []contractCase{
	withEnv("ReferencesFollowPushesAndProvenClaims", testPhotoReferences),
	withEnv("ClaimsProvenByTheSquadsOwnBytes", testPhotoClaims),
	withEnv("RecordKeepsTheFirstAndThumbnail", testPhotoRecord),
	withEnv("StatsCountAwaitedPhotosAndPendingConflicts", testPhotoStats),
}

// uploader is d as the sender of a photo's bytes.
func (d *device) uploader() store.Uploader {
	var sq int64
	if d.user.SquadID != nil {
		sq = *d.user.SquadID
	}
	return store.Uploader{DeviceID: d.id, UserID: d.user.ID, SquadID: sq}
}

// received records bytes of photo hash, of size bytes, as sent by from.
func (e *env) received(hash string, size int64, from store.Uploader) {
	e.t.Helper()
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: hash, Size: size, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()}, from); err != nil {
		e.t.Fatalf("RecordPhoto %s: %v", hash[:8], err)
	}
}

func testPhotoReferences(t *testing.T, e *env) {
	a, a2, b := e.enroll("insp1a"), e.enroll("insp1b"), e.enroll("insp2")
	shared, onlyA, nobody := sha("shared by two squads"), sha("only a's"), sha("named by no one")
	in := a.inspection(e.venues["v1a"].ID)
	in.Items[0].Photos = []schema.PhotoRef{photoRef(onlyA, a.id, a.now())}
	in.Items[5].Photos = []schema.PhotoRef{photoRef(shared, a.id, a.now()), photoRef(onlyA, a.id, a.now())}
	a.mustApply(a.upsert(in))
	inb := b.inspection(e.venues["v2a"].ID)
	inb.Items[2].Photos = []schema.PhotoRef{photoRef(shared, b.id, b.now())}
	b.mustApply(b.upsert(inb))

	reenrolled := store.Uploader{DeviceID: "a-new-device", UserID: a.user.ID, SquadID: 1}
	refs := []struct {
		what   string
		device string
		user   string
		photo  string
	}{
		{"the pushing device", a.id, a.user.ID, onlyA},
		{"the pushing device, second photo", a.id, a.user.ID, shared},
		{"another squad's device", b.id, b.user.ID, onlyA},
		{"a colleague's device of the same squad", a2.id, a2.user.ID, onlyA},
		{"another device of the author (re-enrolled)", reenrolled.DeviceID, a.user.ID, onlyA},
		{"the author of the imported record, from a new device", a.id, a.user.ID, pastPhoto},
		{"another squad's device, its own photo", b.id, b.user.ID, shared},
		{"a photo no record names", a.id, a.user.ID, nobody},
		{"an unknown device and user", "nobody's device", "nobody", shared},
	}
	check := func(when string, want ...string) {
		t.Helper()
		for i, r := range refs {
			claim, err := e.s.DevicePhotoClaim(e.ctx, r.device, r.user, r.photo)
			if err != nil || claim != want[i] {
				t.Errorf("%s: DevicePhotoClaim by %s = %q, %v; want %q", when, r.what, claim, err, want[i])
			}
			got, err := e.s.DeviceReferencesPhoto(e.ctx, r.device, r.user, r.photo)
			if err != nil || got != (want[i] == schema.ClaimProven) {
				t.Errorf("%s: DeviceReferencesPhoto by %s = %v, %v; want %v (only a proven claim counts)", when, r.what, got, err, want[i] == schema.ClaimProven)
			}
		}
	}
	const proven, pending = schema.ClaimProven, schema.ClaimPending
	// Nothing was sent yet: every pushed claim is pending; the imported
	// record's is proven.
	check("after the pushes", pending, pending, "", "", pending, proven, pending, "", "")
	squads := func(photo string, want ...int64) {
		t.Helper()
		got, err := e.s.SquadsReferencingPhoto(e.ctx, photo)
		if err != nil || len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("SquadsReferencingPhoto(%s) = %v, %v; want %v", photo[:8], got, err, want)
		}
	}
	squads(shared)
	squads(onlyA)
	squads(pastPhoto, 1)
	squads(nobody)

	// Each device's own bytes prove its own claims, and no one else's.
	e.received(shared, 2048, a.uploader())
	check("after a sent the shared photo", pending, proven, "", "", pending, proven, pending, "", "")
	squads(shared, 1)
	e.received(shared, 2048, b.uploader())
	check("after b sent it too", pending, proven, "", "", pending, proven, proven, "", "")
	squads(shared, 1, 2)
	// Another device of the author proves the author's claims.
	e.received(onlyA, 2048, reenrolled)
	check("after the author's new device sent a's photo", proven, proven, "", "", proven, proven, proven, "", "")
	squads(onlyA, 1)

	// A newer version of the record that no longer names a photo drops the reference.
	e.clock.Advance(time.Second)
	in.Items[0].Photos = nil
	in.Items[5].Photos = in.Items[5].Photos[:1]
	a.mustApply(a.upsert(in))
	squads(onlyA)
	squads(shared, 1, 2)
	if got, err := e.s.DevicePhotoClaim(e.ctx, a.id, a.user.ID, onlyA); err != nil || got != "" {
		t.Fatalf("after the amendment: DevicePhotoClaim of the dropped photo = %q, %v", got, err)
	}
}

// testPhotoClaims: a claim is proven at push when the pushing squad sent
// the bytes before (and a misstated size of them is refused), pending
// otherwise, and proven later only by bytes the claimant sends, of the
// size it declared.
func testPhotoClaims(t *testing.T, e *env) {
	a, a2, b := e.enroll("insp1a"), e.enroll("insp1b"), e.enroll("insp2")
	p := sha("squad one's evidence")
	naming := func(d *device, venue, hash string, size int64) *schema.Inspection {
		in := d.inspection(e.venues[venue].ID)
		r := photoRef(hash, d.id, d.now())
		r.Size = size
		in.Items[3].Photos = []schema.PhotoRef{r}
		return in
	}
	wantReceived := func(what, id string, received bool) {
		t.Helper()
		got := e.inspection(id)
		if got.Items[3].Photos[0].Received != received || slices.Contains(got.MissingPhotos, got.Items[3].Photos[0].SHA256) == received ||
			slices.Contains(got.Flags, schema.FlagPhotosMissing) == received || got.PhotosComplete == nil || *got.PhotosComplete != received {
			t.Fatalf("%s: received %v, missing %v, flags %v, complete %v; want received %v", what, got.Items[3].Photos[0].Received,
				got.MissingPhotos, got.Flags, got.PhotosComplete, received)
		}
	}
	first := naming(a, "v1a", p, 4096)
	a.mustApply(a.upsert(first))
	wantReceived("before the bytes arrived", first.ID, false)
	e.received(p, 4096, a.uploader())
	wantReceived("after a sent them", first.ID, true)

	// The squad had the bytes: a colleague's claim is proven at once.
	colleague := naming(a2, "v1b", p, 4096)
	a2.mustApply(a2.upsert(colleague))
	wantReceived("a colleague naming them", colleague.ID, true)
	if ok, err := e.s.DeviceReferencesPhoto(e.ctx, a2.id, a2.user.ID, p); err != nil || !ok {
		t.Fatalf("the colleague's claim: %v, %v; want proven", ok, err)
	}
	wrong := naming(a2, "v1b", p, 4095)
	r := a2.push(a2.upsert(wrong))[0]
	wantOutcome(t, "the squad's photo with a wrong size", r, schema.OutcomeRejected, schema.CodeInvalid)
	if !strings.Contains(r.Reason, "4096") {
		t.Fatalf("refusal of a wrong size %q does not name the stored size", r.Reason)
	}
	if _, err := e.s.Inspection(e.ctx, wrong.ID); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("the refused record was written: %v", err)
	}
	// An amendment keeps its proven claim, and the squad keeps the bytes
	// when no record names them any more.
	e.clock.Advance(time.Second)
	first.Items[3].Note = "amended"
	a.mustApply(a.upsert(first))
	wantReceived("the amended record", first.ID, true)
	e.clock.Advance(time.Second)
	first.Items[3].Photos, colleague.Items[3].Photos = nil, nil
	a.mustApply(a.upsert(first))
	a2.mustApply(a2.upsert(colleague))
	later := naming(a2, "v1a", p, 4096)
	a2.mustApply(a2.upsert(later))
	wantReceived("named again after no record named it", later.ID, true)

	// Another squad's claim is pending, whatever size it declares, and
	// gives that squad nothing.
	stolen := naming(b, "v2a", p, 4096)
	b.mustApply(b.upsert(stolen))
	misstated := naming(b, "v2a", p, 1)
	b.mustApply(b.upsert(misstated))
	wantReceived("another squad's claim", stolen.ID, false)
	if sq, err := e.s.SquadsReferencingPhoto(e.ctx, p); err != nil || !slices.Equal(sq, []int64{1}) {
		t.Fatalf("squads after another squad's claim: %v, %v; want only 1", sq, err)
	}
	// Bytes from somebody else prove nothing for b.
	e.received(p, 4096, a2.uploader())
	wantReceived("after a colleague of the owner sent them again", stolen.ID, false)
	// b's own bytes prove b's claim, not the one that misstates the size.
	e.received(p, 4096, b.uploader())
	wantReceived("after b sent the bytes itself", stolen.ID, true)
	wantReceived("b's claim with a wrong size", misstated.ID, false)
	if sq, err := e.s.SquadsReferencingPhoto(e.ctx, p); err != nil || !slices.Equal(sq, []int64{1, 2}) {
		t.Fatalf("squads after b sent the bytes: %v, %v; want 1 and 2", sq, err)
	}
	if rec, err := e.s.Photo(e.ctx, p); err != nil || rec.Size != 4096 {
		t.Fatalf("the photo after three deliveries: %+v, %v", rec, err)
	}
}

func testPhotoRecord(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	p := sha("evidence")
	_, err := e.s.Photo(e.ctx, p)
	wantCode(t, "Photo before its bytes arrived", err, schema.CodeNotFound)

	in := d.inspection(e.venues["v1a"].ID)
	in.Items[4].Photos = []schema.PhotoRef{photoRef(p, d.id, d.now())}
	d.mustApply(d.upsert(in))
	got := e.inspection(in.ID)
	if !slices.Equal(got.MissingPhotos, []string{p}) || got.PhotosComplete == nil || *got.PhotosComplete || !slices.Contains(got.Flags, schema.FlagPhotosMissing) ||
		got.Items[4].Photos[0].Received {
		t.Fatalf("inspection before its photo arrived: missing %v complete %v flags %v", got.MissingPhotos, got.PhotosComplete, got.Flags)
	}

	e.clock.Advance(time.Minute)
	first := store.Photo{SHA256: p, Size: 2048, MediaType: "image/jpeg", Width: 800, Height: 600, ReceivedAt: e.clock.Now()}
	if err := e.s.RecordPhoto(e.ctx, first, d.uploader()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: p, Size: 1, MediaType: "image/png", Width: 1, Height: 1, ThumbKey: "other", ReceivedAt: e.clock.Now()}, d.uploader()); err != nil {
		t.Fatalf("RecordPhoto of a photo recorded already: %v", err)
	}
	rec, err := e.s.Photo(e.ctx, p)
	if err != nil || rec.SHA256 != p || rec.Size != first.Size || rec.MediaType != first.MediaType || rec.Width != 800 || rec.Height != 600 ||
		rec.ThumbKey != "" || !rec.ReceivedAt.Equal(first.ReceivedAt) {
		t.Fatalf("Photo after two records: %+v, %v; want the first, %+v", rec, err, first)
	}
	if err := e.s.SetThumbnail(e.ctx, p, "thumbs/"+p); err != nil {
		t.Fatal(err)
	}
	if rec, err := e.s.Photo(e.ctx, p); err != nil || rec.ThumbKey != "thumbs/"+p || rec.Size != first.Size {
		t.Fatalf("Photo after SetThumbnail: %+v, %v", rec, err)
	}
	got = e.inspection(in.ID)
	if len(got.MissingPhotos) != 0 || got.PhotosComplete == nil || !*got.PhotosComplete || slices.Contains(got.Flags, schema.FlagPhotosMissing) ||
		!got.Items[4].Photos[0].Received {
		t.Fatalf("inspection after its photo arrived: missing %v complete %v flags %v", got.MissingPhotos, got.PhotosComplete, got.Flags)
	}
}

func testPhotoStats(t *testing.T, e *env) {
	// The imported record names one photo that never arrived.
	if st := e.stats(); st.PhotosAwaited != 1 || st.ConflictsPending != 0 {
		t.Fatalf("Stats of the imported district: %+v; want 1 photo awaited", st)
	}
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	p1, p2 := sha("stats one"), sha("stats two")
	in := a.inspection(e.venues["v1a"].ID)
	in.Items[0].Photos = []schema.PhotoRef{photoRef(p1, a.id, a.now()), photoRef(p2, a.id, a.now())}
	inb := b.inspection(e.venues["v2a"].ID)
	inb.Items[0].Photos = []schema.PhotoRef{photoRef(p2, b.id, b.now())} // named twice, awaited once
	a.mustApply(a.upsert(in))
	b.mustApply(b.upsert(inb))
	if st := e.stats(); st.PhotosAwaited != 3 {
		t.Fatalf("Stats after pushes naming two new photos: %+v; want 3 awaited", st)
	}
	for i, p := range []string{p2, pastPhoto} {
		if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: p, Size: 10, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()}, store.Uploader{}); err != nil {
			t.Fatal(err)
		}
		if st := e.stats(); st.PhotosAwaited != int64(2-i) {
			t.Fatalf("Stats after %d photos arrived: %+v", i+1, st)
		}
	}
	// Bytes nobody names are not awaited and do not count.
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: sha("unnamed"), Size: 10, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()}, store.Uploader{}); err != nil {
		t.Fatal(err)
	}
	if st := e.stats(); st.PhotosAwaited != 1 {
		t.Fatalf("Stats after unnamed bytes: %+v", st)
	}

	// Conflicts: each recorded one is pending until resolved.
	v := e.venue(e.venues["v1b"].ID)
	for i, val := range []string{"one", "two"} {
		e.clock.Advance(time.Second)
		if _, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "server " + val}}, nil, serverActor("leader1"), schema.SquadScope(1)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		r := a.push(a.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "device " + val, Base: v.Clocks[schema.FieldPhone]}}))[0]
		wantOutcome(t, "stale edit "+val, r, schema.OutcomeConflict, schema.CodeConflict)
		if st := e.stats(); st.ConflictsPending != int64(i+1) {
			t.Fatalf("Stats after %d conflicts: %+v", i+1, st)
		}
		if i == 1 {
			if _, err := e.s.ResolveConflict(e.ctx, r.ConflictID, "leader1", schema.SquadScope(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := e.stats(); st.ConflictsPending != 1 || st.PhotosAwaited != 1 {
		t.Fatalf("Stats at the end: %+v; want 1 pending conflict, 1 photo awaited", st)
	}
}
