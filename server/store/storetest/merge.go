package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var mergeCases = []contractCase{
	withEnv("ServerEditAgainstDeviceEdit", testMergeServerAndDevice),
	withEnv("TwoDevicesEditOneField", testMergeTwoDevices),
	withEnv("RestampedBaseIsTheSameVersion", testMergeRestampedBase),
	withEnv("EditOfDeletedVenueIsAConflict", testMergeEditOfDeleted),
	withEnv("AmendmentAfterReviewIsAConflict", testMergeAmendmentAfterReview),
	withEnv("ResolveConflictWithinScope", testMergeResolveScope),
	withEnv("ConcurrentEditsLoseNothing", testMergeConcurrentEdits),
}

// pulledVenue is the venue as the device holds it after a sync.
func pulledVenue(t *testing.T, d *device, id string) schema.Venue {
	t.Helper()
	d.sync(0)
	raw, ok := d.held[key(schema.ChangeVenue, id)]
	if !ok {
		t.Fatalf("device of %s holds no venue %s", d.user.Username, id)
	}
	var c schema.Change
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.Venue == nil {
		t.Fatalf("held venue %s: %q, %v", id, raw, err)
	}
	return *c.Venue
}

func (e *env) conflict(id string) schema.Conflict {
	e.t.Helper()
	c, err := e.s.Conflict(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Conflict %s: %v", id, err)
	}
	return c
}

// wantConflict checks the row of a concurrent field edit; an empty winner
// or mutation is not checked.
func wantConflict(t *testing.T, c schema.Conflict, venueID, field, serverValue, deviceValue, winner string, m schema.Mutation, deviceID string) {
	t.Helper()
	if c.Kind != schema.ConflictConcurrentEdit || c.EntityKind != "venue" || c.EntityID != venueID || c.Field != field ||
		c.ServerValue != serverValue || c.DeviceValue != deviceValue || (winner != "" && c.Winner != winner) || c.DeviceID != deviceID ||
		(m.ID != "" && c.MutationID != m.ID) || c.SquadID != 1 || c.ResolvedAt != nil {
		t.Fatalf("conflict %+v;\nwant %s of %s, server %q device %q, %s won, mutation %s of %s, squad 1, open",
			c, field, venueID, serverValue, deviceValue, winner, m.ID, deviceID)
	}
}

func testMergeServerAndDevice(t *testing.T, e *env) {
	v := e.newVenue(1, "Golden Dragon")
	d, late := e.enroll("insp1a"), e.enroll("insp1b")
	late.skew = -time.Hour // its edits carry an older clock than the server's
	seen := pulledVenue(t, d, v.ID)
	late.sync(0)

	// The server edits the phone and the address; no base given: based on the current clocks.
	e.clock.Advance(time.Second)
	got, conflicts, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{
		schema.FieldPhone: {Value: "0539-1111"}, schema.FieldAddress: {Value: "Server Road 1"}}, nil, serverActor("leader1"), schema.SquadScope(1))
	if err != nil || len(conflicts) != 0 || got.Phone != "0539-1111" || got.Address != "Server Road 1" {
		t.Fatalf("server edit: %+v, conflicts %v, %v", got, conflicts, err)
	}
	// A device edit of the phone from the base it saw, later by HLC: concurrent, the device wins.
	e.clock.Advance(time.Second)
	m := d.edit(v.ID, map[string]schema.FieldEdit{
		schema.FieldPhone:     {Value: "0539-2222", Base: seen.Clocks[schema.FieldPhone]},
		schema.FieldLicenceNo: {Value: "L-NEW", Base: seen.Clocks[schema.FieldLicenceNo]}})
	r := d.push(m)[0]
	wantOutcome(t, "device edit after a server edit", r, schema.OutcomeConflict, schema.CodeConflict)
	wantConflict(t, e.conflict(r.ConflictID), v.ID, schema.FieldPhone, "0539-1111", "0539-2222", "device", m, d.id)
	if r.ServerVenue == nil || r.ServerVenue.Phone != "0539-2222" || r.ServerVenue.LicenceNo != "L-NEW" {
		t.Fatalf("answer's server venue %+v; want the device's phone and licence", r.ServerVenue)
	}
	// A device whose clock is behind edits the address from its old base: the server's edit wins.
	e.clock.Advance(time.Second)
	m2 := late.edit(v.ID, map[string]schema.FieldEdit{schema.FieldAddress: {Value: "Late Road 9", Base: seen.Clocks[schema.FieldAddress]}})
	r2 := late.push(m2)[0]
	wantOutcome(t, "older device edit after a server edit", r2, schema.OutcomeConflict, schema.CodeConflict)
	wantConflict(t, e.conflict(r2.ConflictID), v.ID, schema.FieldAddress, "Server Road 1", "Late Road 9", "server", m2, late.id)
	// The leader edits the phone again with an explicit base that is stale: concurrent, the newer server stamp wins.
	e.clock.Advance(time.Second)
	got, conflicts, err = e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{
		schema.FieldPhone: {Value: "0539-3333", Base: seen.Clocks[schema.FieldPhone]}}, map[string]bool{schema.FieldPhone: true},
		serverActor("leader1"), schema.SquadScope(1))
	if err != nil || len(conflicts) != 1 || got.Phone != "0539-3333" {
		t.Fatalf("server edit from a stale base: %+v, conflicts %v, %v", got, conflicts, err)
	}
	wantConflict(t, e.conflict(conflicts[0]), v.ID, schema.FieldPhone, "0539-2222", "0539-3333", "", schema.Mutation{}, "server:leader1")

	final := e.venue(v.ID)
	if final.Phone != "0539-3333" || final.Address != "Server Road 1" || final.LicenceNo != "L-NEW" || final.Name != v.Name {
		t.Fatalf("merged venue %+v", final)
	}
	// Each device converges on the merged venue.
	for _, dev := range []*device{d, late} {
		dev.sync(0)
		if diff := dev.held.diff(dev.fresh()); diff != "" {
			t.Fatalf("%s after the merge:\n  %s", dev.user.Username, diff)
		}
		if pv := pulledVenue(t, dev, v.ID); pv.Phone != final.Phone || pv.Address != final.Address || pv.Clocks[schema.FieldPhone] != final.Clocks[schema.FieldPhone] {
			t.Fatalf("%s pulled %+v; the store holds %+v", dev.user.Username, pv, final)
		}
	}
}

func testMergeTwoDevices(t *testing.T, e *env) {
	v := e.newVenue(1, "Twin Stars")
	a, b := e.enroll("insp1a"), e.enroll("insp1b")
	seenA, seenB := pulledVenue(t, a, v.ID), pulledVenue(t, b, v.ID)
	base := seenA.Clocks[schema.FieldName]

	e.clock.Advance(time.Second)
	ma := a.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "A's name", Base: base}})
	a.mustApply(ma)
	e.clock.Advance(time.Second)
	mb := b.edit(v.ID, map[string]schema.FieldEdit{
		schema.FieldName:    {Value: "B's name", Base: seenB.Clocks[schema.FieldName]},
		schema.FieldAddress: {Value: "B's address", Base: seenB.Clocks[schema.FieldAddress]}})
	rb := b.push(mb)[0]
	wantOutcome(t, "second device's edit of the same field", rb, schema.OutcomeConflict, schema.CodeConflict)
	wantConflict(t, e.conflict(rb.ConflictID), v.ID, schema.FieldName, "A's name", "B's name", "device", mb, b.id)
	if sv := rb.ServerVenue; sv == nil || sv.Name != "B's name" || sv.Address != "B's address" {
		t.Fatalf("later HLC wins and the clean field applies: %+v", rb.ServerVenue)
	}
	// Different fields from the same bases merge without conflict.
	e.clock.Advance(time.Second)
	a.mustApply(a.edit(v.ID, map[string]schema.FieldEdit{schema.FieldLicenceNo: {Value: "L-A", Base: seenA.Clocks[schema.FieldLicenceNo]}}))
	b.mustApply(b.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-B", Base: seenB.Clocks[schema.FieldPhone]}}))
	// A device editing a field twice names its own first edit as the base: a sequence, not a conflict.
	e.clock.Advance(time.Second)
	first := a.edit(v.ID, map[string]schema.FieldEdit{schema.FieldOpenState: {Value: schema.OpenStateClosed, Base: seenA.Clocks[schema.FieldOpenState]}})
	second := a.edit(v.ID, map[string]schema.FieldEdit{schema.FieldOpenState: {Value: schema.OpenStateSuspended, Base: first.HLC}})
	a.mustApply(first, second)

	got := e.venue(v.ID)
	if got.Name != "B's name" || got.Address != "B's address" || got.LicenceNo != "L-A" || got.Phone != "0539-B" || got.OpenState != schema.OpenStateSuspended {
		t.Fatalf("merged venue %+v", got)
	}
	open, err := e.s.ListConflicts(e.ctx, store.ConflictFilter{SquadID: ptr(int64(1)), OpenOnly: true})
	if err != nil || len(open) != 1 {
		t.Fatalf("open conflicts %+v, %v; want the one of the name", open, err)
	}
	// Both devices converge.
	for _, d := range []*device{a, b} {
		d.sync(0)
		if diff := d.held.diff(d.fresh()); diff != "" {
			t.Fatalf("%s after the merge:\n  %s", d.user.Username, diff)
		}
	}
}

func testMergeRestampedBase(t *testing.T, e *env) {
	v := e.newVenue(1, "Far Future")
	ahead, other := e.enroll("insp1a"), e.enroll("insp1b")
	ahead.skew = 3 * time.Hour
	seen := pulledVenue(t, ahead, v.ID)

	e.clock.Advance(time.Second)
	first := ahead.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Edited ahead", Base: seen.Clocks[schema.FieldName]}})
	ahead.mustApply(first)
	stored := e.venue(v.ID).Clocks[schema.FieldName]
	h, err := schema.ParseHLC(stored)
	if err != nil {
		t.Fatalf("stored clock %q: %v", stored, err)
	}
	if h.Time().After(e.clock.Now().Add(schema.MaxHLCLead)) || stored == first.HLC {
		t.Fatalf("an HLC 3 h ahead was stored as the field's clock (%s); it must be restamped near server time %v", stored, e.clock.Now())
	}
	// The device, not having pulled, names its own stamp as the base: the same version.
	e.clock.Advance(time.Second)
	again := ahead.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Edited ahead twice", Base: first.HLC}})
	ahead.mustApply(again)
	// Another device, having pulled the restamped clock, edits from it: no conflict either.
	e.clock.Advance(time.Second)
	seenOther := pulledVenue(t, other, v.ID)
	other.mustApply(other.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Edited by the other", Base: seenOther.Clocks[schema.FieldName]}}))
	if got := e.venue(v.ID); got.Name != "Edited by the other" {
		t.Fatalf("name %q after three sequential edits", got.Name)
	}
	// A venue the device found and created with its clock ahead: its
	// fields carry the server's stamp, and the device's next edit, based on
	// the create's own stamp, is based on that same version.
	e.clock.Advance(time.Second)
	found := venueOf(1, "Found ahead")
	create := ahead.create(found)
	ahead.mustApply(create)
	e.clock.Advance(time.Second)
	ahead.mustApply(ahead.edit(found.ID, map[string]schema.FieldEdit{schema.FieldAddress: {Value: "Corrected address", Base: create.HLC}}))
	if got := e.venue(found.ID); got.Address != "Corrected address" || got.Clocks[schema.FieldName] == create.HLC {
		t.Fatalf("venue created ahead and edited: %+v", got)
	}
	if st := e.stats(); st.ConflictsPending != 0 {
		t.Fatalf("%d conflicts from sequential edits", st.ConflictsPending)
	}
}

func testMergeEditOfDeleted(t *testing.T, e *env) {
	v := e.newVenue(1, "Closing Down")
	d := e.enroll("insp1a")
	seen := pulledVenue(t, d, v.ID)
	if err := e.s.DeleteVenue(e.ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	m := d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Still open", Base: seen.Clocks[schema.FieldName]}})
	r := d.push(m)[0]
	wantOutcome(t, "edit of a deleted venue", r, schema.OutcomeConflict, schema.CodeGone)
	c := e.conflict(r.ConflictID)
	if c.Kind != schema.ConflictEditOfDeleted || c.EntityKind != "venue" || c.EntityID != v.ID || c.SquadID != 1 || c.MutationID != m.ID ||
		c.DeviceID != d.id || c.Winner != "server" || !strings.Contains(c.DeviceValue, "Still open") {
		t.Fatalf("conflict %+v; want edit_of_deleted of %s keeping the device's value", c, v.ID)
	}
	got := e.venue(v.ID)
	if !got.Deleted || got.Name != v.Name {
		t.Fatalf("deleted venue after the edit: %+v", got)
	}
	// Not resurrected on any device, and the replay records no second conflict.
	if dup := d.push(m)[0]; dup.Outcome != schema.OutcomeDuplicate || dup.Original != schema.OutcomeConflict || dup.ConflictID != r.ConflictID || dup.Code != schema.CodeGone {
		t.Fatalf("replay: %+v", dup)
	}
	if st := e.stats(); st.ConflictsPending != 1 {
		t.Fatalf("%d pending conflicts; want 1", st.ConflictsPending)
	}
	changes, _ := d.sync(0)
	if c := change(t, changes, schema.ChangeVenue, v.ID); !c.Removed {
		t.Fatalf("pull after the delete: %+v", c)
	}
	if d.fresh().has(schema.ChangeVenue, v.ID) {
		t.Fatal("a fresh pull delivers the deleted venue")
	}
	// A server edit of it is refused as gone.
	_, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Back"}}, nil, serverActor("admin"), schema.AllSquads())
	wantCode(t, "EditVenue of a deleted venue", err, schema.CodeGone)
}

func testMergeAmendmentAfterReview(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	in := d.inspection(e.venues["v1a"].ID)
	d.mustApply(d.upsert(in))
	// An amendment before review applies; an older version arriving late changes nothing.
	e.clock.Advance(time.Second)
	older := d.upsert(in)
	in.Items[3].Result = schema.ResultFail
	in.Items[3].Note = "fire exit blocked"
	newer := d.upsert(in)
	d.mustApply(newer, older)
	if got := e.inspection(in.ID); got.Items[3].Result != schema.ResultFail || got.Items[3].Note != "fire exit blocked" {
		t.Fatalf("amended inspection: item 3 %+v", got.Items[3])
	}

	// Another squad's leader cannot review it; its own can.
	_, err := e.s.ReviewInspection(e.ctx, in.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader2"}, schema.SquadScope(2))
	wantCode(t, "review by another squad's leader", err, schema.CodeNotFound)
	_, err = e.s.ReviewInspection(e.ctx, in.ID, store.ReviewInput{Action: "looks fine", By: "leader1"}, schema.SquadScope(1))
	wantCode(t, "review with an unknown decision", err, schema.CodeInvalid)
	e.clock.Advance(time.Minute)
	rv, err := e.s.ReviewInspection(e.ctx, in.ID, store.ReviewInput{Action: schema.ReviewApprove, Comment: "fix NC04", By: "leader1"}, schema.SquadScope(1))
	if err != nil || rv.Status != schema.StatusApproved || rv.Review == nil || rv.Review.Decision != schema.StatusApproved || !rv.Review.ReviewedAt.Equal(e.clock.Now()) {
		t.Fatalf("review: %+v, %v", rv, err)
	}

	// The device, offline, amends again: a conflict, the reviewed record stands.
	e.clock.Advance(time.Minute)
	in.Items[3].Result = schema.ResultPass
	m := d.upsert(in)
	r := d.push(m)[0]
	wantOutcome(t, "amendment after review", r, schema.OutcomeConflict, schema.CodeConflict)
	if r.ServerInspection == nil || r.ServerInspection.Review == nil || r.ServerInspection.Items[3].Result != schema.ResultFail {
		t.Fatalf("answer's server inspection %+v", r.ServerInspection)
	}
	c := e.conflict(r.ConflictID)
	if c.Kind != schema.ConflictEditAfterReview || c.EntityKind != "inspection" || c.EntityID != in.ID || c.SquadID != 1 || c.MutationID != m.ID || c.DeviceID != d.id {
		t.Fatalf("conflict %+v; want edit_after_review of %s", c, in.ID)
	}
	got := e.inspection(in.ID)
	if got.Status != schema.StatusApproved || got.Items[3].Result != schema.ResultFail || got.Review == nil {
		t.Fatalf("reviewed inspection changed: %+v", got)
	}
	// The device receives the review with its own inspection.
	changes, _ := d.sync(0)
	if pc := change(t, changes, schema.ChangeInspection, in.ID); pc.Inspection.Review == nil || pc.Inspection.Review.Decision != schema.StatusApproved ||
		pc.Inspection.Status != schema.StatusApproved || pc.Inspection.Review.Note != "fix NC04" {
		t.Fatalf("device pulled %+v", pc.Inspection)
	}
}

func testMergeResolveScope(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	var ids []string
	for _, name := range []string{"First", "Second"} {
		v := e.newVenue(1, name)
		seen := pulledVenue(t, d, v.ID)
		e.clock.Advance(time.Second)
		if _, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "server"}}, nil, serverActor("leader1"), schema.SquadScope(1)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		r := d.push(d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "device", Base: seen.Clocks[schema.FieldPhone]}}))[0]
		wantOutcome(t, "concurrent edit of "+name, r, schema.OutcomeConflict, schema.CodeConflict)
		ids = append(ids, r.ConflictID)
	}
	if st := e.stats(); st.ConflictsPending != 2 {
		t.Fatalf("%d pending conflicts; want 2", st.ConflictsPending)
	}
	for _, sc := range []struct {
		name  string
		scope schema.Scope
	}{{"another squad's leader", schema.SquadScope(2)}, {"no squad at all", schema.Scope{}}} {
		_, err := e.s.ResolveConflict(e.ctx, ids[0], "someone", sc.scope)
		wantCode(t, "ResolveConflict by "+sc.name, err, schema.CodeNotFound)
	}
	if c := e.conflict(ids[0]); c.ResolvedAt != nil {
		t.Fatalf("conflict resolved out of scope: %+v", c)
	}
	e.clock.Advance(time.Minute)
	resolvedAt := e.clock.Now()
	c, err := e.s.ResolveConflict(e.ctx, ids[0], "leader1", schema.SquadScope(1))
	if err != nil || c.ResolvedAt == nil || !c.ResolvedAt.Equal(resolvedAt) || c.ID != ids[0] {
		t.Fatalf("ResolveConflict by the squad's leader: %+v, %v; want resolved at %v", c, err, resolvedAt)
	}
	// Resolving again is harmless and keeps the first time.
	e.clock.Advance(time.Minute)
	if c, err := e.s.ResolveConflict(e.ctx, ids[0], "leader1", schema.SquadScope(1)); err != nil || c.ResolvedAt == nil || !c.ResolvedAt.Equal(resolvedAt) {
		t.Fatalf("second ResolveConflict: %+v, %v", c, err)
	}
	if c, err := e.s.ResolveConflict(e.ctx, ids[1], "admin", schema.AllSquads()); err != nil || c.ResolvedAt == nil {
		t.Fatalf("ResolveConflict by an admin: %+v, %v", c, err)
	}
	if st := e.stats(); st.ConflictsPending != 0 {
		t.Fatalf("%d pending conflicts after resolving both", st.ConflictsPending)
	}
	open, err := e.s.ListConflicts(e.ctx, store.ConflictFilter{OpenOnly: true})
	if err != nil || len(open) != 0 {
		t.Fatalf("open conflicts after resolving: %+v, %v", open, err)
	}
	all, err := e.s.ListConflicts(e.ctx, store.ConflictFilter{SquadID: ptr(int64(1))})
	if err != nil || len(all) != 2 {
		t.Fatalf("squad 1 conflicts: %+v, %v; want both, resolved", all, err)
	}
}

func testMergeConcurrentEdits(t *testing.T, e *env) {
	// Devices push edits of one venue at the same moment. A store that
	// merges from a row it read before another push committed loses one of
	// them; the merge must see every committed edit.
	v := e.newVenue(1, "Crowded")
	var devices []*device
	for _, u := range []string{"insp1a", "insp1b", "leader1", "insp1a", "insp1b", "leader1"} {
		d := e.enroll(u)
		d.sync(0)
		devices = append(devices, d)
	}
	values := map[string]string{schema.FieldName: "Name by 0", schema.FieldAddress: "Address by 1", schema.FieldLicenceNo: "L-by-2",
		schema.FieldPhone: "0539-by-3", schema.FieldOpenState: schema.OpenStateClosed, schema.FieldLicensed: "false"}
	pushAll := func(muts []schema.Mutation) []schema.MutationResult {
		t.Helper()
		res := make([]schema.MutationResult, len(muts))
		errs := make([]error, len(muts))
		var wg sync.WaitGroup
		for i := range muts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r []schema.MutationResult
				if r, errs[i] = devices[i].pushErr(muts[i]); errs[i] == nil {
					res[i] = r[0]
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent push %d: %v", i, err)
			}
		}
		return res
	}
	// Each device edits another field, all from the fields' current clocks.
	var muts []schema.Mutation
	for i, f := range schema.VenueFields {
		muts = append(muts, devices[i].edit(v.ID, map[string]schema.FieldEdit{f: {Value: values[f], Base: v.Clocks[f]}}))
	}
	for i, r := range pushAll(muts) {
		wantOutcome(t, "concurrent edit of "+schema.VenueFields[i], r, schema.OutcomeApplied, "")
	}
	got := e.venue(v.ID)
	for _, f := range schema.VenueFields {
		if got.Clocks[f] != muts[slices.Index(schema.VenueFields, f)].HLC {
			t.Fatalf("field %s has clock %s; its one edit had %s", f, got.Clocks[f], muts[slices.Index(schema.VenueFields, f)].HLC)
		}
	}
	if got.Name != values[schema.FieldName] || got.Address != values[schema.FieldAddress] || got.LicenceNo != values[schema.FieldLicenceNo] ||
		got.Phone != values[schema.FieldPhone] || got.OpenState != schema.OpenStateClosed || got.Licensed {
		t.Fatalf("after concurrent edits of every field: %+v; want each device's value", got)
	}

	// Every device edits the phone from the same base: one applies, the
	// rest are conflicts, and the greatest clock wins whatever the order
	// of commits.
	base := got.Clocks[schema.FieldPhone]
	muts = muts[:0]
	winner := 0
	for i, d := range devices {
		muts = append(muts, d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "phone of " + d.id, Base: base}}))
		if muts[i].HLC > muts[winner].HLC {
			winner = i
		}
	}
	applied, conflicts := 0, 0
	for _, r := range pushAll(muts) {
		switch r.Outcome {
		case schema.OutcomeApplied:
			applied++
		case schema.OutcomeConflict:
			conflicts++
		default:
			t.Fatalf("concurrent edit of one field: %+v", r)
		}
	}
	if applied != 1 || conflicts != len(devices)-1 {
		t.Fatalf("%d applied and %d conflicts among %d edits of one field from one base; want 1 and %d", applied, conflicts, len(devices), len(devices)-1)
	}
	if got := e.venue(v.ID); got.Phone != "phone of "+devices[winner].id || got.Clocks[schema.FieldPhone] != muts[winner].HLC {
		t.Fatalf("phone %q at %s; want the greatest clock's %q at %s", got.Phone, got.Clocks[schema.FieldPhone], "phone of "+devices[winner].id, muts[winner].HLC)
	}
	if st := e.stats(); st.ConflictsPending != int64(len(devices)-1) {
		t.Fatalf("%d pending conflicts; want %d", st.ConflictsPending, len(devices)-1)
	}
}
