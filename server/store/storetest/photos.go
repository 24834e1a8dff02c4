package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var photoCases = []contractCase{
	withEnv("ReferencesFollowPushes", testPhotoReferences),
	withEnv("RecordKeepsTheFirstAndThumbnail", testPhotoRecord),
	withEnv("StatsCountAwaitedPhotosAndPendingConflicts", testPhotoStats),
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

	refs := []struct {
		what      string
		device    string
		user      string
		photo     string
		reference bool
	}{
		{"the pushing device", a.id, a.user.ID, onlyA, true},
		{"the pushing device, second photo", a.id, a.user.ID, shared, true},
		{"another squad's device", b.id, b.user.ID, onlyA, false},
		{"a colleague's device of the same squad", a2.id, a2.user.ID, onlyA, false},
		{"another device of the author (re-enrolled)", "a-new-device", a.user.ID, onlyA, true},
		{"the author of the imported record, from a new device", a.id, a.user.ID, pastPhoto, true},
		{"another squad's device, its own photo", b.id, b.user.ID, shared, true},
		{"a photo no record names", a.id, a.user.ID, nobody, false},
		{"an unknown device and user", "nobody's device", "nobody", shared, false},
	}
	check := func(when string) {
		t.Helper()
		for _, r := range refs {
			got, err := e.s.DeviceReferencesPhoto(e.ctx, r.device, r.user, r.photo)
			if err != nil || got != r.reference {
				t.Errorf("%s: DeviceReferencesPhoto by %s = %v, %v; want %v", when, r.what, got, err, r.reference)
			}
		}
	}
	check("after the pushes")
	squads := func(photo string, want ...int64) {
		t.Helper()
		got, err := e.s.SquadsReferencingPhoto(e.ctx, photo)
		if err != nil || len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("SquadsReferencingPhoto(%s) = %v, %v; want %v", photo[:8], got, err, want)
		}
	}
	squads(shared, 1, 2)
	squads(onlyA, 1)
	squads(pastPhoto, 1)
	squads(nobody)

	// Receiving bytes changes no reference.
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: shared, Size: 2048, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	check("after the bytes arrived")
	squads(shared, 1, 2)

	// A newer version of the record that no longer names a photo drops the reference.
	e.clock.Advance(time.Second)
	in.Items[0].Photos = nil
	in.Items[5].Photos = in.Items[5].Photos[:1]
	a.mustApply(a.upsert(in))
	squads(onlyA)
	squads(shared, 1, 2)
	if got, err := e.s.DeviceReferencesPhoto(e.ctx, a.id, a.user.ID, onlyA); err != nil || got {
		t.Fatalf("after the amendment: DeviceReferencesPhoto of the dropped photo = %v, %v", got, err)
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
	first := store.Photo{SHA256: p, Size: 4096, MediaType: "image/jpeg", Width: 800, Height: 600, ReceivedAt: e.clock.Now()}
	if err := e.s.RecordPhoto(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: p, Size: 1, MediaType: "image/png", Width: 1, Height: 1, ThumbKey: "other", ReceivedAt: e.clock.Now()}); err != nil {
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
		if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: p, Size: 10, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		if st := e.stats(); st.PhotosAwaited != int64(2-i) {
			t.Fatalf("Stats after %d photos arrived: %+v", i+1, st)
		}
	}
	// Bytes nobody names are not awaited and do not count.
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: sha("unnamed"), Size: 10, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()}); err != nil {
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
