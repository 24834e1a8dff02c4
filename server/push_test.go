package server_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

func TestPush_ReplayedShuffledBatchGetsIdenticalAnswers(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	vs := e.venues(1)
	black := schema.Venue{ID: newID(t), Kind: schema.KindNetCafe, Name: "无名网吧", Lat: 35.1, Lng: 118.3, Licensed: false}
	batch := []schema.Mutation{
		{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &black},
		d.upsert(d.inspection(black.ID)),
		d.upsert(d.inspection(vs[0].ID)),
		d.edit(vs[1].ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-1234567", Base: vs[1].Clocks[schema.FieldPhone]}}),
		d.upsert(&schema.Inspection{ID: newID(t), VenueID: vs[0].ID, Status: schema.StatusSubmitted}), // rejected
	}
	first := d.push(batch...)
	want := []string{schema.OutcomeApplied, schema.OutcomeApplied, schema.OutcomeApplied, schema.OutcomeApplied, schema.OutcomeRejected}
	for i, r := range first {
		if r.Outcome != want[i] {
			t.Fatalf("mutation %d: %+v; want %s", i, r, want[i])
		}
	}
	counts := func() [4]int {
		return [4]int{e.count("inspections"), e.count("venues"), e.count("applied_mutations"), e.count("venue_squad_history")}
	}
	before := counts()
	var replies []map[string]schema.MutationResult
	for round := 0; round < 3; round++ {
		shuffled := append([]schema.Mutation(nil), batch...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := map[string]schema.MutationResult{}
		for _, r := range d.push(shuffled...) {
			got[r.ID] = r
		}
		replies = append(replies, got)
	}
	for i, r := range first {
		dup := replies[0][r.ID]
		if dup.Outcome != schema.OutcomeDuplicate || dup.Original != r.Outcome || dup.Code != r.Code || dup.Reason != r.Reason {
			t.Errorf("replay of %d: %+v; first answer %+v", i, dup, r)
		}
	}
	if !reflect.DeepEqual(replies[0], replies[1]) || !reflect.DeepEqual(replies[1], replies[2]) {
		t.Fatalf("replays answered differently:\n%v\n%v\n%v", replies[0], replies[1], replies[2])
	}
	if after := counts(); after != before {
		t.Fatalf("replays changed row counts %v → %v", before, after)
	}
}

func TestPush_RejectedMutationDoesNotBlockTheRest(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	vs := e.venues(1)
	badItem := d.inspection(vs[0].ID)
	badItem.Items[3].ItemID = "NC99"
	res := d.push(
		d.upsert(d.inspection(vs[0].ID)),
		d.upsert(badItem),
		d.upsert(d.inspection(newID(t))),
		schema.Mutation{ID: "not-a-uuid", Kind: schema.MutInspectionUpsert, HLC: d.clock.Tick().String(), Inspection: d.inspection(vs[0].ID)},
		d.upsert(d.inspection(vs[1].ID)),
	)
	type want struct {
		outcome string
		code    schema.Code
	}
	wants := []want{{"applied", ""}, {"rejected", schema.CodeInvalid}, {"rejected", schema.CodeNotFound}, {"rejected", schema.CodeInvalid}, {"applied", ""}}
	for i, w := range wants {
		if res[i].Outcome != w.outcome || res[i].Code != w.code {
			t.Errorf("mutation %d: %+v; want %v", i, res[i], w)
		}
		if w.outcome == "rejected" && res[i].Reason == "" {
			t.Errorf("mutation %d rejected without a reason", i)
		}
	}
	if n := e.count("inspections WHERE device_id = '" + d.id + "'"); n != 2 {
		t.Fatalf("%d inspections stored; want 2", n)
	}
}

func TestPush_UnlicensedVenueAndItsInspectionInOneBatch(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector3") // squad 2
	black := schema.Venue{ID: newID(t), Kind: schema.KindNetCafe, Name: "黑网吧 on Yishui Rd", Address: "沂蒙路 88", Lat: 35.08, Lng: 118.33, Licensed: false, SquadID: 5}
	in := d.inspection(black.ID)
	res := d.push(schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &black}, d.upsert(in))
	if res[0].Outcome != schema.OutcomeApplied || res[1].Outcome != schema.OutcomeApplied {
		t.Fatalf("results %+v", res)
	}
	var got schema.Inspection
	e.login("leader2").must(200, "GET", schema.PathInspections+"/"+in.ID, nil, &got)
	if got.Venue == nil || got.Venue.Licensed || got.Venue.SquadID != 2 || got.Venue.CreatedBy != d.id || got.SquadID != 2 || len(got.Items) != 16 {
		t.Fatalf("inspection as the leader sees it: %+v venue %+v", got, got.Venue)
	}
	if got.PhotosComplete == nil || !*got.PhotosComplete {
		t.Fatalf("an inspection without photos should be complete: %+v", got.PhotosComplete)
	}
	// The creating device re-sending the create under a new id is a no-op; another device's is refused.
	again := schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &black}
	if r := d.push(again)[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("same device re-create: %+v", r)
	}
	other := e.enroll("inspector4")
	again.ID = newID(t)
	if r := other.push(again)[0]; r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeConflict {
		t.Fatalf("other device re-create: %+v", r)
	}
	changes, _ := d.pullAll(0)
	if c := byID(changes, schema.ChangeVenue, black.ID); len(c) != 1 || c[0].Venue.Licensed {
		t.Fatalf("pulled black café: %+v", c)
	}
}

func TestMerge_ConcurrentEditsRecordConflicts(t *testing.T) {
	e := newEnv(t)
	a, b := e.enroll("inspector1"), e.enroll("inspector2")
	a.pullAll(0)
	changes, _ := b.pullAll(0)
	v := firstVenue(t, changes)
	base := v.Clocks[schema.FieldName]

	// a edits first; b edits the same field offline from the same base, later by HLC.
	ra := a.push(a.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "A name", Base: base}}))[0]
	if ra.Outcome != schema.OutcomeApplied {
		t.Fatalf("first edit: %+v", ra)
	}
	e.clock.Advance(1000)
	rb := b.push(b.edit(v.ID, map[string]schema.FieldEdit{
		schema.FieldName:    {Value: "B name", Base: base},
		schema.FieldAddress: {Value: "B address", Base: v.Clocks[schema.FieldAddress]},
	}))[0]
	if rb.Outcome != schema.OutcomeConflict || rb.ConflictID == "" || rb.ServerVenue == nil {
		t.Fatalf("concurrent edit: %+v", rb)
	}
	if rb.ServerVenue.Name != "B name" || rb.ServerVenue.Address != "B address" {
		t.Fatalf("later HLC should win and the clean field apply: %+v", rb.ServerVenue)
	}

	// The admin edits with a stale explicit base: the server's HLC is newer, it wins, and a conflict is recorded.
	admin := e.login("admin")
	var er struct {
		Venue     schema.Venue `json:"venue"`
		Conflicts []string     `json:"conflicts"`
	}
	admin.must(200, "PATCH", schema.PathVenues+"/"+v.ID, map[string]any{"fields": map[string]any{
		"name": map[string]string{"value": "Admin name", "base": base}, "phone": "0539-000"}}, &er)
	if er.Venue.Name != "Admin name" || er.Venue.Phone != "0539-000" || len(er.Conflicts) != 1 {
		t.Fatalf("admin edit: %+v", er)
	}

	var conflicts []schema.Conflict
	e.login("leader1").must(200, "GET", schema.PathConflicts+"?open=true", nil, &conflicts)
	if len(conflicts) != 2 {
		t.Fatalf("leader sees %d conflicts; want 2: %+v", len(conflicts), conflicts)
	}
	for _, c := range conflicts {
		if c.Kind != schema.ConflictConcurrentEdit || c.Field != schema.FieldName || c.EntityID != v.ID || c.SquadID != 1 {
			t.Fatalf("conflict %+v", c)
		}
	}
	var resolved schema.Conflict
	e.login("leader1").must(200, "POST", schema.PathConflicts+"/"+conflicts[0].ID+"/resolve", nil, &resolved)
	if resolved.ResolvedAt == nil {
		t.Fatalf("resolve: %+v", resolved)
	}
	// a's device receives the merged state.
	changes, _ = a.pullAll(0)
	got := byID(changes, schema.ChangeVenue, v.ID)
	if len(got) != 1 || got[0].Venue.Name != "Admin name" || got[0].Venue.Address != "B address" {
		t.Fatalf("a pulled %+v", got)
	}
}

func TestConflict_EditOfDeletedVenueIsNotResurrected(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	changes, _ := d.pullAll(0)
	v := firstVenue(t, changes)
	e.login("admin").must(204, "DELETE", schema.PathVenues+"/"+v.ID, nil, nil)
	r := d.push(d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "still here", Base: v.Clocks[schema.FieldName]}}))[0]
	if r.Outcome != schema.OutcomeConflict || r.ConflictID == "" {
		t.Fatalf("edit of deleted: %+v", r)
	}
	var got schema.Venue
	e.login("admin").must(200, "GET", schema.PathVenues+"/"+v.ID, nil, &got)
	if !got.Deleted || got.Name == "still here" {
		t.Fatalf("venue after edit: %+v", got)
	}
	changes, _ = d.pullAll(0)
	if c := byID(changes, schema.ChangeVenue, v.ID); len(c) != 1 || !c[0].Removed {
		t.Fatalf("pull after delete: %+v", c)
	}
	var conflicts []schema.Conflict
	e.login("leader1").must(200, "GET", schema.PathConflicts, nil, &conflicts)
	if len(conflicts) != 1 || conflicts[0].Kind != schema.ConflictEditOfDeleted {
		t.Fatalf("conflicts %+v", conflicts)
	}
	var dv map[string]string
	if err := json.Unmarshal([]byte(conflicts[0].DeviceValue), &dv); err != nil || dv["name"] != "still here" {
		t.Fatalf("device value %q", conflicts[0].DeviceValue)
	}
}

func TestConflict_EditAfterReview(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	vs := e.venues(1)
	in := d.inspection(vs[0].ID)
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("push: %+v", r)
	}
	leader := e.login("leader1")
	var reviewed schema.Inspection
	leader.must(200, "POST", schema.PathInspections+"/"+in.ID+"/review", map[string]any{"action": "approve", "comment": "NC11 fails", "version": 1}, &reviewed)
	if reviewed.Status != schema.StatusApproved || reviewed.Review == nil || reviewed.Version != 1 {
		t.Fatalf("reviewed: %+v", reviewed)
	}
	in.Items[10].Result = schema.ResultFail
	r := d.push(d.upsert(in))[0]
	if r.Outcome != schema.OutcomeConflict || r.ServerInspection == nil || r.ServerInspection.Review == nil {
		t.Fatalf("edit after review: %+v", r)
	}
	var got schema.Inspection
	leader.must(200, "GET", schema.PathInspections+"/"+in.ID, nil, &got)
	if got.Items[10].Result != schema.ResultPass || got.Status != schema.StatusApproved {
		t.Fatalf("reviewed inspection changed: %+v", got.Items[10])
	}
	changes, _ := d.pullAll(0)
	if c := byID(changes, schema.ChangeInspection, in.ID); len(c) != 1 || c[0].Inspection.Review == nil || c[0].Inspection.Review.Decision != schema.StatusApproved || c[0].Inspection.Review.Note != "NC11 fails" {
		t.Fatalf("device did not receive the review: %+v", c)
	}
}

func TestClock_SkewedDeviceIsMeasuredAndRestamped(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	d.skew = 3 * 3600 * 1e9
	vs := e.venues(1)
	in := d.inspection(vs[0].ID)
	m := d.upsert(in)
	if r := d.push(m)[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("push: %+v", r)
	}
	off, _, err := e.srv.Store().DeviceClock(t.Context(), d.id)
	if err != nil {
		t.Fatal(err)
	}
	if off != 3*3600*1000 {
		t.Fatalf("offset %d ms; want +3h", off)
	}
	var got schema.Inspection
	e.login("leader1").must(200, "GET", schema.PathInspections+"/"+in.ID, nil, &got)
	if !got.TimeSuspect {
		t.Fatal("inspection timed 3 h in the future is not flagged time_suspect")
	}
	var stored string
	if err := e.srv.Store().(*sqlite.Store).DB().R.QueryRow(`SELECT hlc FROM inspections WHERE id = ?`, in.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	h, _ := schema.ParseHLC(stored)
	if h.Node != "server" || h.Time().After(e.clock.Now()) {
		t.Fatalf("far-future HLC %s was not restamped (stored %s)", m.HLC, stored)
	}
	var samples int
	if err := e.srv.Store().(*sqlite.Store).DB().R.QueryRow(`SELECT count(*) FROM device_clock_samples WHERE device_id = ?`, d.id).Scan(&samples); err != nil || samples != 1 {
		t.Fatalf("%d clock samples (err %v)", samples, err)
	}
}

func firstVenue(t *testing.T, changes []schema.Change) schema.Venue {
	t.Helper()
	for _, c := range changes {
		if c.Kind == schema.ChangeVenue && c.Venue != nil {
			return *c.Venue
		}
	}
	t.Fatal("no venue pulled")
	return schema.Venue{}
}

func TestInspection_MissingPhotosUntilReceived(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	in := d.inspection(e.venues(1)[0].ID)
	sha := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	in.Items[0].Photos = []schema.PhotoRef{{SHA256: sha, Size: 1234, MediaType: "image/jpeg", CapturedAt: d.now(), DeviceID: d.id, Received: true}}
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("push: %+v", r)
	}
	leader := e.login("leader1")
	var got schema.Inspection
	leader.must(200, "GET", schema.PathInspections+"/"+in.ID, nil, &got)
	if got.PhotosComplete == nil || *got.PhotosComplete || len(got.MissingPhotos) != 1 || got.Items[0].Photos[0].Received {
		t.Fatalf("before upload: complete=%v missing=%v", got.PhotosComplete, got.MissingPhotos)
	}
	if !slices.Contains(got.Flags, schema.FlagPhotosMissing) {
		t.Fatalf("before upload: flags %v lack %s", got.Flags, schema.FlagPhotosMissing)
	}
	if n := e.count("inspection_photos WHERE sha256 = '" + sha + "' AND squad_id = 1"); n != 1 {
		t.Fatalf("%d inspection_photos rows", n)
	}
	// The device's own bytes arrive (the photo routes record them so).
	if err := e.srv.Store().RecordPhoto(context.Background(), store.Photo{SHA256: sha, Size: 1234, MediaType: "image/jpeg", ReceivedAt: e.clock.Now()},
		store.Uploader{DeviceID: d.id, SquadID: d.squad}); err != nil {
		t.Fatal(err)
	}
	got = schema.Inspection{}
	leader.must(200, "GET", schema.PathInspections+"/"+in.ID, nil, &got)
	if !*got.PhotosComplete || len(got.MissingPhotos) != 0 || !got.Items[0].Photos[0].Received {
		t.Fatalf("after upload: complete=%v missing=%v", *got.PhotosComplete, got.MissingPhotos)
	}
	if slices.Contains(got.Flags, schema.FlagPhotosMissing) {
		t.Fatalf("after upload: flags %v", got.Flags)
	}
}

func TestInspection_SingleInspectorIsFlaggedForTheLeader(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	two := d.inspection(e.venues(1)[0].ID)
	one := d.inspection(e.venues(1)[1].ID)
	one.Inspectors = one.Inspectors[:1]
	for _, r := range d.push(d.upsert(two), d.upsert(one)) {
		if r.Outcome != schema.OutcomeApplied {
			t.Fatalf("push: %+v", r)
		}
	}
	leader := e.login("leader1")
	for _, tc := range []struct {
		in   *schema.Inspection
		want bool
	}{{two, false}, {one, true}} {
		var got schema.Inspection
		leader.must(200, "GET", schema.PathInspections+"/"+tc.in.ID, nil, &got)
		if slices.Contains(got.Flags, schema.FlagSingleInspector) != tc.want {
			t.Errorf("%d inspectors: flags %v", len(tc.in.Inspectors), got.Flags)
		}
	}
}

func TestPush_MutationIDOfAnotherUsersDeviceIsRefused(t *testing.T) {
	e := newEnv(t)
	first := e.enroll("inspector1")
	vs := e.venues(1)
	m := first.upsert(first.inspection(vs[0].ID))
	if r := first.push(m); r[0].Outcome != schema.OutcomeApplied {
		t.Fatalf("first push: %+v", r[0])
	}
	// The same inspector's re-enrolled device (a revoked token, a new code)
	// resends its outbox: the earlier answer stands.
	again := e.enroll("inspector1")
	if r := again.push(m); r[0].Outcome != schema.OutcomeDuplicate || r[0].Original != schema.OutcomeApplied {
		t.Fatalf("re-enrolled device: %+v; want duplicate of applied", r[0])
	}
	// Another inspector's device cannot claim the id.
	other := e.enroll("inspector2")
	if r := other.push(m); r[0].Outcome != schema.OutcomeRejected || r[0].Code != schema.CodeConflict {
		t.Fatalf("another user's device: %+v; want rejected conflict", r[0])
	}
	if n := e.count("inspections WHERE id = '" + m.Inspection.ID + "'"); n != 1 {
		t.Fatalf("inspection stored %d times", n)
	}
}

func TestClock_PullsAfterAPushDoNotRecordAgain(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	samples := func() int { return e.count("device_clock_samples WHERE device_id = '" + d.id + "'") }
	d.push(d.upsert(d.inspection(e.venues(1)[0].ID)))
	if n := samples(); n != 1 {
		t.Fatalf("after a push: %d clock samples, want 1 (recorded with the push)", n)
	}
	d.pullAll(7) // several pages right after the push: nothing new to learn
	if n := samples(); n != 1 {
		t.Fatalf("pulls right after a push wrote %d more clock samples", n-1)
	}
	e.clock.Advance(time.Minute)
	d.pullAll(0)
	if n := samples(); n != 2 {
		t.Fatalf("a pull a minute later: %d clock samples, want 2", n)
	}
}
