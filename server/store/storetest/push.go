package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var pushCases = []contractCase{
	withEnv("AnswersEachMutation", testPushAnswers),
	withEnv("ReplayInAnyOrderIsAnsweredNotReapplied", testPushReplay),
	withEnv("RejectedDoesNotBlockTheRest", testPushRejectedDoesNotBlock),
	withEnv("MutationIDOfAnotherDeviceIsRejected", testPushForeignMutationID),
	withEnv("InvalidIDsAndShapes", testPushInvalid),
	withEnv("DeviceWithoutSquad", testPushNoSquad),
	withEnv("VenueCreateTwice", testPushVenueCreateTwice),
	withEnv("VenueKeepsTheZoneItWasFoundIn", testPushVenueFoundInZone),
	withEnv("MovedVenueGracePeriod", testPushMovedVenueGrace),
	withEnv("LargeBatchAnswersInOrder", testPushLargeBatch),
	withEnv("StreamErrorAppliesNothing", testPushStreamError),
	withEnv("ConcurrentRetriesApplyOnce", testPushConcurrentRetries),
	withEnv("ClockSampleWithBatch", testPushClockSample),
}

// answerBatch is a batch with one of each answer: applied, conflict and
// rejected for each reason a device can get wrong, applied ones after
// the rejected ones. wants are the outcomes and codes in order.
func answerBatch(t *testing.T, e *env, d *device) (batch []schema.Mutation, wants []want) {
	t.Helper()
	v1a, v1b, v2a := e.venue(e.venues["v1a"].ID), e.venue(e.venues["v1b"].ID), e.venues["v2a"]
	// The server renames v1b after the device saw it: the device's edit is concurrent.
	staleName := v1b.Clocks[schema.FieldName]
	e.clock.Advance(time.Second)
	if _, _, err := e.s.EditVenue(e.ctx, v1b.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Renamed by the leader"}}, nil,
		serverActor("leader1"), schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	black := venueOf(1, "Unlicensed café")
	black.Licensed = false
	empty := d.inspection(v1a.ID)
	empty.Items = nil
	batch = []schema.Mutation{
		d.create(black),
		d.upsert(d.inspection(black.ID)),
		d.edit(v1a.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-7777", Base: v1a.Clocks[schema.FieldPhone]}}),
		d.edit(v1b.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Renamed on the device", Base: staleName}}),
		d.upsert(empty),
		d.upsert(d.inspection(uuid.NewString())),
		d.edit(v2a.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "1", Base: v2a.Clocks[schema.FieldPhone]}}),
		d.upsert(d.inspection(v2a.ID)),
		d.upsert(d.inspection(v1a.ID)),
	}
	wants = []want{
		{"create", schema.OutcomeApplied, ""},
		{"inspection of the venue created before it", schema.OutcomeApplied, ""},
		{"edit from the current base", schema.OutcomeApplied, ""},
		{"edit from a stale base", schema.OutcomeConflict, schema.CodeConflict},
		{"inspection answering no item", schema.OutcomeRejected, schema.CodeInvalid},
		{"inspection of an unknown venue", schema.OutcomeRejected, schema.CodeNotFound},
		{"edit of another squad's venue (answered as an unknown one)", schema.OutcomeRejected, schema.CodeNotFound},
		{"inspection of another squad's venue (answered as an unknown one)", schema.OutcomeRejected, schema.CodeNotFound},
		{"inspection after the rejected ones", schema.OutcomeApplied, ""},
	}
	return batch, wants
}

type want struct {
	what    string
	outcome string
	code    schema.Code
}

func testPushAnswers(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	batch, wants := answerBatch(t, e, d)
	res := d.push(batch...)
	for i, w := range wants {
		wantOutcome(t, fmt.Sprintf("mutation %d (%s)", i, w.what), res[i], w.outcome, w.code)
	}
	// The conflict answer carries the merged venue; the device's later
	// HLC won the name.
	if sv := res[3].ServerVenue; sv == nil || sv.ID != e.venues["v1b"].ID || sv.Name != "Renamed on the device" {
		t.Fatalf("conflict answer's server venue: %+v", res[3].ServerVenue)
	}
	c, err := e.s.Conflict(e.ctx, res[3].ConflictID)
	if err != nil {
		t.Fatalf("Conflict %s of the answer: %v", res[3].ConflictID, err)
	}
	if c.MutationID != batch[3].ID || c.DeviceID != d.id || c.EntityID != e.venues["v1b"].ID || c.SquadID != 1 {
		t.Fatalf("conflict row %+v; want mutation %s of device %s on venue v1b", c, batch[3].ID, d.id)
	}
	// What was applied is stored; what was rejected is not.
	black := e.venue(batch[0].Venue.ID)
	if black.SquadID != 1 || black.CreatedBy != d.id || black.Licensed || black.Deleted {
		t.Fatalf("venue created by the device: %+v", black)
	}
	for _, i := range []int{1, 8} {
		in := e.inspection(batch[i].Inspection.ID)
		if in.SquadID != 1 || in.DeviceID != d.id || in.Status != schema.StatusSubmitted || len(in.Items) != len(batch[i].Inspection.Items) {
			t.Fatalf("applied inspection %d as stored: %+v", i, in)
		}
	}
	if v := e.venue(e.venues["v1a"].ID); v.Phone != "0539-7777" {
		t.Fatalf("applied edit: v1a phone %q", v.Phone)
	}
	for _, i := range []int{4, 5, 7} {
		_, err := e.s.Inspection(e.ctx, batch[i].Inspection.ID)
		wantCode(t, fmt.Sprintf("rejected inspection %d", i), err, schema.CodeNotFound)
	}
	if v := e.venue(e.venues["v2a"].ID); v.Phone != e.venues["v2a"].Phone {
		t.Fatalf("rejected edit changed v2a's phone to %q", v.Phone)
	}
}

func testPushReplay(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	batch, wants := answerBatch(t, e, d)
	first := d.push(batch...)
	for i, w := range wants {
		wantOutcome(t, fmt.Sprintf("mutation %d (%s)", i, w.what), first[i], w.outcome, w.code)
	}
	before := e.snapshot(d)
	rng := rand.New(rand.NewPCG(1, 2))
	var replies []map[string]schema.MutationResult
	for round := 0; round < 3; round++ {
		e.clock.Advance(time.Minute)
		shuffled := append([]schema.Mutation(nil), batch...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := map[string]schema.MutationResult{}
		for _, r := range d.push(shuffled...) {
			got[r.ID] = r
		}
		replies = append(replies, got)
	}
	for i, r := range first {
		dup := replies[0][r.ID]
		if dup.Outcome != schema.OutcomeDuplicate || dup.Original != r.Outcome || dup.Code != r.Code || dup.Reason != r.Reason || dup.ConflictID != r.ConflictID {
			t.Errorf("replay of mutation %d (%s): %+v; first answer %+v", i, wants[i].what, dup, r)
		}
	}
	if !reflect.DeepEqual(replies[0], replies[1]) || !reflect.DeepEqual(replies[1], replies[2]) {
		t.Fatalf("replays answered differently:\n%v\n%v\n%v", replies[0], replies[1], replies[2])
	}
	if after := e.snapshot(d); after != before {
		t.Fatalf("replays changed what the store shows: %s", firstDiff(before, after))
	}
	// A batch that mixes a replay with new work answers each for itself.
	next := d.upsert(d.inspection(e.venues["v1a"].ID))
	res := d.push(batch[8], next)
	if res[0].Outcome != schema.OutcomeDuplicate || res[0].Original != schema.OutcomeApplied {
		t.Fatalf("replayed mutation beside new work: %+v", res[0])
	}
	wantOutcome(t, "new mutation beside a replay", res[1], schema.OutcomeApplied, "")
}

func testPushRejectedDoesNotBlock(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	v1a := e.venues["v1a"].ID
	bad := d.inspection(v1a)
	bad.Items[3].ItemID = "NC99"
	good1, good2 := d.inspection(v1a), d.inspection(e.venues["v1b"].ID)
	res := d.push(d.upsert(bad), d.upsert(good1), d.upsert(d.inspection(uuid.NewString())), d.upsert(good2))
	wantOutcome(t, "unknown checklist item", res[0], schema.OutcomeRejected, schema.CodeInvalid)
	wantOutcome(t, "inspection behind a rejected one", res[1], schema.OutcomeApplied, "")
	wantOutcome(t, "inspection of an unknown venue", res[2], schema.OutcomeRejected, schema.CodeNotFound)
	wantOutcome(t, "inspection behind two rejected ones", res[3], schema.OutcomeApplied, "")
	// A colleague may not rewrite the inspector's record, even from the same squad.
	colleague := e.enroll("insp1b")
	forged := colleague.inspection(v1a)
	forged.ID = good1.ID
	forged.Items[0].Result = schema.ResultFail
	wantOutcome(t, "another inspector's version of the record (its id cannot be used)", colleague.push(colleague.upsert(forged))[0], schema.OutcomeRejected, schema.CodeConflict)
	if got := e.inspection(good1.ID); got.Items[0].Result != schema.ResultPass || got.DeviceID != d.id {
		t.Fatalf("record after a colleague's version was refused: %+v", got)
	}
	list, err := e.s.ListInspections(e.ctx, store.InspectionFilter{DeviceID: d.id})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sortedIDs(list, func(in schema.Inspection) string { return in.ID }), sortedIDs([]*schema.Inspection{good1, good2},
		func(in *schema.Inspection) string { return in.ID }); !reflect.DeepEqual(got, want) {
		t.Fatalf("inspections stored from the device: %v; want %v", got, want)
	}
}

func testPushForeignMutationID(t *testing.T, e *env) {
	a := e.enroll("insp1a")
	m := a.upsert(a.inspection(e.venues["v1a"].ID))
	a.mustApply(m)

	// Another inspector's device reusing the id is refused, whatever it carries.
	b := e.enroll("insp2")
	stolen := b.upsert(b.inspection(e.venues["v2a"].ID))
	stolen.ID = m.ID
	for round := 0; round < 2; round++ {
		wantOutcome(t, "mutation id of another inspector's device", b.push(stolen)[0], schema.OutcomeRejected, schema.CodeConflict)
	}
	_, err := e.s.Inspection(e.ctx, stolen.Inspection.ID)
	wantCode(t, "inspection under a reused mutation id", err, schema.CodeNotFound)

	// The inspector's own new device (re-enrolled, same outbox) is answered as a replay.
	a2 := e.enroll("insp1a")
	if r := a2.push(m)[0]; r.Outcome != schema.OutcomeDuplicate || r.Original != schema.OutcomeApplied {
		t.Fatalf("the same inspector's re-enrolled device replaying: %+v", r)
	}
	// The refusal did not overwrite the first answer.
	if r := a.push(m)[0]; r.Outcome != schema.OutcomeDuplicate || r.Original != schema.OutcomeApplied {
		t.Fatalf("the first device replaying after the refusal: %+v", r)
	}
}

func testPushInvalid(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	v1a := e.venues["v1a"].ID
	valid := func() schema.Mutation { return d.upsert(d.inspection(v1a)) }
	with := func(f func(m *schema.Mutation)) schema.Mutation {
		m := valid()
		f(&m)
		return m
	}
	badVenue := venueOf(1, "No id")
	badVenue.ID = "café-1"
	cases := []struct {
		name string
		m    schema.Mutation
	}{
		{"empty mutation id", with(func(m *schema.Mutation) { m.ID = "" })},
		{"mutation id not a UUID", with(func(m *schema.Mutation) { m.ID = "not-a-uuid" })},
		{"mutation id a UUIDv4", with(func(m *schema.Mutation) { m.ID = uuid.NewString() })},
		{"inspection id not a UUID", with(func(m *schema.Mutation) { m.Inspection.ID = "inspection-1" })},
		{"venue id not a UUID", with(func(m *schema.Mutation) { m.Inspection.VenueID = "venue-1" })},
		{"venue create with a bad id", d.create(badVenue)},
		{"venue update of a bad id", d.edit("venue-1", map[string]schema.FieldEdit{schema.FieldPhone: {Value: "1"}})},
		{"no hlc", with(func(m *schema.Mutation) { m.HLC = "" })},
		{"malformed hlc", with(func(m *schema.Mutation) { m.HLC = "yesterday" })},
		{"unknown kind", with(func(m *schema.Mutation) { m.Kind = "inspection.delete" })},
		{"two payloads", with(func(m *schema.Mutation) { m.Venue = clone(&badVenue) })},
		{"unknown checklist version", with(func(m *schema.Mutation) { m.Inspection.ChecklistVersion = "nc16-1999.1" })},
		{"draft status", with(func(m *schema.Mutation) { m.Inspection.Status = schema.StatusDraft })},
		{"uneditable field", d.edit(v1a, map[string]schema.FieldEdit{"squad_id": {Value: "2"}})},
	}
	muts := make([]schema.Mutation, 0, len(cases)+1)
	for _, c := range cases {
		muts = append(muts, c.m)
	}
	last := valid()
	muts = append(muts, last)
	res := d.push(muts...)
	for i, c := range cases {
		wantOutcome(t, c.name, res[i], schema.OutcomeRejected, schema.CodeInvalid)
	}
	wantOutcome(t, "valid mutation behind the invalid ones", res[len(cases)], schema.OutcomeApplied, "")
	e.inspection(last.Inspection.ID)

	// Replayed, a mutation with a usable id is answered from the record;
	// one without is judged again, the same way. Neither changes anything.
	before := e.snapshot(d)
	again := d.push(muts[:len(cases)]...)
	for i, c := range cases {
		r := again[i]
		if ok := schema.ValidUUID7(c.m.ID) == nil; ok {
			if r.Outcome != schema.OutcomeDuplicate || r.Original != schema.OutcomeRejected || r.Code != schema.CodeInvalid {
				t.Errorf("replay of %s: %+v; want duplicate of rejected invalid", c.name, r)
			}
			continue
		}
		wantOutcome(t, "replay of "+c.name, r, schema.OutcomeRejected, schema.CodeInvalid)
	}
	if after := e.snapshot(d); after != before {
		t.Fatalf("replay of invalid mutations changed the store: %s", firstDiff(before, after))
	}
}

func testPushNoSquad(t *testing.T, e *env) {
	// An inspector taken out of every squad after enrolling still holds a
	// device token; the handler passes the principal's squad, now none.
	d := e.enroll("insp1a")
	d.user.SquadID = nil
	v := venueOf(1, "Found while off squad")
	in := d.inspection(e.venues["v1a"].ID)
	muts := []schema.Mutation{d.create(v), d.upsert(in),
		d.edit(e.venues["v1a"].ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "1", Base: e.venues["v1a"].Clocks[schema.FieldPhone]}})}
	for i, r := range d.push(muts...) {
		wantOutcome(t, fmt.Sprintf("mutation %d (%s) without a squad", i, muts[i].Kind), r, schema.OutcomeRejected, schema.CodeForbidden)
	}
	_, err := e.s.Venue(e.ctx, v.ID)
	wantCode(t, "venue created without a squad", err, schema.CodeNotFound)
	_, err = e.s.Inspection(e.ctx, in.ID)
	wantCode(t, "inspection pushed without a squad", err, schema.CodeNotFound)
	if got := e.venue(e.venues["v1a"].ID); got.Phone != e.venues["v1a"].Phone {
		t.Fatalf("edit without a squad changed the phone to %q", got.Phone)
	}
	_, err = e.s.Pull(e.ctx, d.pullInput("", 0))
	wantCode(t, "pull without a squad", err, schema.CodeForbidden)
}

// testPushVenueFoundInZone: a field-recorded venue keeps the school zone
// its device measured it in, as the device said, for the leader to see
// beside the server's own measure; a hostile school name is refused.
func testPushVenueFoundInZone(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	v := venueOf(1, "Black café by the school")
	v.Licensed = false
	v.FoundInZone = &schema.ZoneHit{SchoolID: "s-1", SchoolName: "第一小学", RuleID: "national-200m", DistanceM: 152.5, InsideZone: true}
	d.mustApply(d.create(v))
	got := e.venue(v.ID)
	if got.FoundInZone == nil || *got.FoundInZone != *v.FoundInZone {
		t.Fatalf("found in zone %+v; want %+v", got.FoundInZone, v.FoundInZone)
	}
	bad := venueOf(1, "Another")
	bad.FoundInZone = &schema.ZoneHit{SchoolName: "a\x1b[31mb"}
	wantOutcome(t, "a control character in the school name", d.push(d.create(bad))[0], schema.OutcomeRejected, schema.CodeInvalid)
}

func testPushVenueCreateTwice(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	v := venueOf(1, "Found in the field")
	d.mustApply(d.create(v))
	// The creating device re-sending its create under a new id is a no-op.
	d.mustApply(d.create(v))
	// Another device creating the same id is refused: ids are not shared.
	other := e.enroll("insp1b")
	taken := v
	taken.Name = "Someone else's"
	wantOutcome(t, "another device's create of a taken venue id", other.push(other.create(taken))[0], schema.OutcomeRejected, schema.CodeConflict)
	// A server-side create of the same id is a conflict too.
	_, err := e.s.CreateVenue(e.ctx, taken, serverActor("admin"))
	wantCode(t, "CreateVenue of a taken id", err, schema.CodeConflict)
	if got := e.venue(v.ID); got.Name != v.Name || got.CreatedBy != d.id {
		t.Fatalf("venue after the refused creates: %+v", got)
	}
	list, err := e.s.ListVenues(e.ctx, store.VenueFilter{SquadID: ptr(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range list {
		if x.ID == v.ID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("venue listed %d times", n)
	}
}

func testPushMovedVenueGrace(t *testing.T, e *env) {
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	v := e.venues["v1b"]
	doneBeforeMove, lateBeforeMove := a.inspection(v.ID), a.inspection(v.ID)
	if _, err := e.s.MoveVenue(e.ctx, v.ID, 2); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(24 * time.Hour)
	// Work done before the move still arrives from the old squad...
	a.mustApply(a.upsert(doneBeforeMove))
	if got := e.inspection(doneBeforeMove.ID); got.VenueID != v.ID {
		t.Fatalf("inspection of the moved venue: %+v", got)
	}
	// ...but work started after it is not the old squad's,
	startedAfter := a.inspection(v.ID)
	wantOutcome(t, "old squad's inspection started after the move, within the grace", a.push(a.upsert(startedAfter))[0],
		schema.OutcomeRejected, schema.CodeForbidden)
	if _, err := e.s.Inspection(e.ctx, startedAfter.ID); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("inspection started after the move was stored: %v", err)
	}
	// nor is the venue itself the old squad's to edit,
	wantOutcome(t, "old squad's edit of a moved venue", a.push(a.edit(v.ID, map[string]schema.FieldEdit{
		schema.FieldPhone: {Value: "1", Base: v.Clocks[schema.FieldPhone]}}))[0], schema.OutcomeRejected, schema.CodeForbidden)
	// while the new squad inspects it.
	b.mustApply(b.upsert(b.inspection(v.ID)))
	e.clock.Advance(schema.ReassignmentGrace)
	wantOutcome(t, "old squad's inspection started before the move, after the grace", a.push(a.upsert(lateBeforeMove))[0],
		schema.OutcomeRejected, schema.CodeForbidden)
}

func testPushLargeBatch(t *testing.T, e *env) {
	// Enough mutations that an adapter working in chunks goes through
	// several, with rejections, creates and replays spread over them.
	d := e.enroll("insp1a")
	v1a := e.venues["v1a"].ID
	var muts []schema.Mutation
	var wants []string
	for i := 0; i < 150; i++ {
		switch {
		case i%50 == 7:
			v := venueOf(1, fmt.Sprintf("Venue %d", i))
			muts = append(muts, d.create(v))
			wants = append(wants, schema.OutcomeApplied)
			// Its inspection follows right behind, in the same batch.
			muts = append(muts, d.upsert(d.inspection(v.ID)))
			wants = append(wants, schema.OutcomeApplied)
		case i%37 == 11:
			in := d.inspection(v1a)
			in.Items = in.Items[1:]
			muts = append(muts, d.upsert(in))
			wants = append(wants, schema.OutcomeRejected)
		default:
			muts = append(muts, d.upsert(d.inspection(v1a)))
			wants = append(wants, schema.OutcomeApplied)
		}
	}
	// Amend the first inspection late in the batch: the newer version wins.
	amended := clone(muts[0].Inspection)
	amended.Items[2].Result = schema.ResultFail
	muts = append(muts, d.upsert(amended))
	wants = append(wants, schema.OutcomeApplied)
	res := d.push(muts...)
	applied := 0
	for i, r := range res {
		if r.Outcome != wants[i] {
			t.Fatalf("mutation %d of %d: %+v; want %s", i, len(muts), r, wants[i])
		}
		if r.Outcome == schema.OutcomeApplied {
			applied++
		}
	}
	if got := e.inspection(amended.ID); got.Items[2].Result != schema.ResultFail {
		t.Fatalf("amendment late in the batch: item 2 is %s", got.Items[2].Result)
	}
	list, err := e.s.ListInspections(e.ctx, store.InspectionFilter{DeviceID: d.id, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	venuesMade := 3
	if len(list) != applied-venuesMade-1 {
		t.Fatalf("%d inspections stored; %d applied of which %d creates and 1 amendment", len(list), applied, venuesMade)
	}
	// The whole batch replayed is answered the same, mutation by mutation.
	for i, r := range d.push(muts...) {
		if r.Outcome != schema.OutcomeDuplicate || r.Original != res[i].Outcome || r.Reason != res[i].Reason {
			t.Fatalf("replay of mutation %d: %+v; first answer %+v", i, r, res[i])
		}
	}
}

// failingStream yields its mutations and then fails.
type failingStream struct {
	muts []schema.Mutation
	err  error
}

func (s *failingStream) Next(m *schema.Mutation) (bool, error) {
	if len(s.muts) == 0 {
		return false, s.err
	}
	*m = s.muts[0]
	s.muts = s.muts[1:]
	return true, nil
}

func testPushStreamError(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	before := e.snapshot(d)
	for _, n := range []int{0, 1, 40} {
		var muts []schema.Mutation
		for i := 0; i < n; i++ {
			muts = append(muts, d.upsert(d.inspection(e.venues["v1a"].ID)))
		}
		cut := errors.New("connection reset while reading the body")
		in := d.pushInput(nil)
		in.Request, in.Stream = nil, &failingStream{muts: muts, err: cut}
		// The clock sample goes with the batch: not recorded either.
		in.Clock = &store.ClockSample{DeviceID: d.id, At: e.clock.Now(), OffsetMS: 4242, Endpoint: "push"}
		res, err := e.s.Push(e.ctx, in)
		if !errors.Is(err, cut) {
			t.Fatalf("push whose stream fails after %d mutations: %v answers, error %v; want an error wrapping the stream's", n, len(res), err)
		}
		if after := e.snapshot(d); after != before {
			t.Fatalf("push whose stream failed after %d mutations changed the store: %s", n, firstDiff(before, after))
		}
		if off, _, err := e.s.DeviceClock(e.ctx, d.id); err != nil || off == 4242 {
			t.Fatalf("the clock sample of a failed push was recorded: %d, %v", off, err)
		}
		if n > 0 {
			// Nothing was recorded: the same mutations go through next time.
			d.mustApply(muts[0])
			before = e.snapshot(d)
		}
	}
	// A stream that ends cleanly is applied like a decoded batch.
	ok := []schema.Mutation{d.upsert(d.inspection(e.venues["v1a"].ID)), d.upsert(d.inspection(e.venues["v1b"].ID))}
	in := d.pushInput(nil)
	in.Request, in.Stream = nil, &failingStream{muts: ok}
	res, err := e.s.Push(e.ctx, in)
	if err != nil || len(res) != 2 || res[0].Outcome != schema.OutcomeApplied || res[1].Outcome != schema.OutcomeApplied {
		t.Fatalf("streamed push: %+v, %v", res, err)
	}
}

func testPushClockSample(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	off, last, err := e.s.DeviceClock(e.ctx, d.id)
	if err != nil || off != 0 || !last.IsZero() {
		t.Fatalf("DeviceClock of a device that never synced: %d, %v, %v; want 0 and no time", off, last, err)
	}
	e.clock.Advance(time.Minute)
	in := d.pushInput([]schema.Mutation{d.upsert(d.inspection(e.venues["v1a"].ID))})
	in.Clock = &store.ClockSample{DeviceID: d.id, At: e.clock.Now(), OffsetMS: -90_000, Endpoint: "push", HLC: d.clock.Tick().String()}
	if _, err := e.s.Push(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	if off, last, err := e.s.DeviceClock(e.ctx, d.id); err != nil || off != -90_000 || !last.Equal(e.clock.Now()) {
		t.Fatalf("DeviceClock after a push with a sample: %d, %v, %v; want -90000 at %v", off, last, err, e.clock.Now())
	}
	e.clock.Advance(time.Minute)
	if err := e.s.RecordClockSample(e.ctx, store.ClockSample{DeviceID: d.id, At: e.clock.Now(), OffsetMS: 1500, Endpoint: "pull",
		HLC: d.clock.Tick().String()}); err != nil {
		t.Fatal(err)
	}
	if off, last, err := e.s.DeviceClock(e.ctx, d.id); err != nil || off != 1500 || !last.Equal(e.clock.Now()) {
		t.Fatalf("DeviceClock after a pull's sample: %d, %v, %v; want 1500 at %v", off, last, err, e.clock.Now())
	}
}

func testPushConcurrentRetries(t *testing.T, e *env) {
	// A device whose request timed out sends the batch again while the
	// first request is still being applied; several at once, to be sure.
	d := e.enroll("insp1a")
	v := e.venue(e.venues["v1b"].ID)
	found := venueOf(1, "Found twice")
	batch := []schema.Mutation{
		d.create(found),
		d.upsert(d.inspection(found.ID)),
		d.upsert(d.inspection(e.venues["v1a"].ID)),
		d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-4444", Base: v.Clocks[schema.FieldPhone]}}),
		d.upsert(d.inspection(e.venues["v2a"].ID)), // rejected: another squad's
	}
	const retries = 4
	answers := make([][]schema.MutationResult, retries)
	errs := make([]error, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = d.pushErr(batch...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("retry %d: %v; concurrent retries must be answered, not fail", i, err)
		}
	}
	for j, m := range batch {
		var first []schema.MutationResult
		for i := range retries {
			if r := answers[i][j]; r.Outcome != schema.OutcomeDuplicate {
				first = append(first, r)
			}
		}
		if len(first) != 1 {
			t.Fatalf("mutation %d (%s) answered as new %d times of %d: %+v", j, m.Kind, len(first), retries, first)
		}
		for i := range retries {
			if r := answers[i][j]; r.Outcome == schema.OutcomeDuplicate && (r.Original != first[0].Outcome || r.Code != first[0].Code) {
				t.Fatalf("mutation %d: duplicate answer %+v does not repeat %+v", j, r, first[0])
			}
		}
	}
	list, err := e.s.ListInspections(e.ctx, store.InspectionFilter{DeviceID: d.id})
	if err != nil || len(list) != 2 {
		t.Fatalf("inspections stored after concurrent retries: %d, %v; want 2", len(list), err)
	}
	if got := e.venue(v.ID); got.Phone != "0539-4444" {
		t.Fatalf("edit applied by concurrent retries: phone %q", got.Phone)
	}
}
