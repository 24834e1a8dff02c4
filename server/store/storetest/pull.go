package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var pullCases = []contractCase{
	withEnv("VisibleSetOfTheSquad", testPullVisibleSet),
	withEnv("ScopeGrowsAndShrinksWithMoves", testPullScopeMoves),
	withEnv("DeletionArrivesAsRemoved", testPullDeletion),
	withEnv("NewMemberAndReviewArrive", testPullMemberAndReview),
}

// names replaces the ids of the district's venues, schools and imported
// inspection with their names in the suite, for messages.
func (e *env) names(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		for k, v := range e.venues {
			if v.ID == id {
				out[i] = k
			}
		}
		for k, s := range e.schools {
			if s.ID == id {
				out[i] = k
			}
		}
		if id == e.past.ID {
			out[i] = "imported inspection"
		}
	}
	return out
}

func testPullVisibleSet(t *testing.T, e *env) {
	a, a2, b := e.enroll("insp1a"), e.enroll("insp1b"), e.enroll("insp2")
	ina, ina2, inb := a.inspection(e.venues["v1a"].ID), a2.inspection(e.venues["v1b"].ID), b.inspection(e.venues["v2a"].ID)
	a.mustApply(a.upsert(ina))
	a2.mustApply(a2.upsert(ina2))
	b.mustApply(b.upsert(inb))
	made1, made2 := e.newVenue(1, "Server-made 1"), e.newVenue(2, "Server-made 2")

	checklists := schema.Checklists()
	for _, tc := range []struct {
		d                *device
		venues, schools  []string
		members          []string
		inspections      []string
		otherInspections []string
	}{
		{a, []string{e.venues["v1a"].ID, e.venues["v1b"].ID, made1.ID}, []string{e.schools["s1in"].ID, e.schools["s1edge"].ID, e.schools["s1east"].ID},
			[]string{"insp1a", "insp1b", "leader1"}, []string{ina.ID}, []string{ina2.ID, inb.ID, e.past.ID}},
		{b, []string{e.venues["v2a"].ID, made2.ID}, []string{e.schools["s2in"].ID},
			[]string{"insp2", "leader2"}, []string{inb.ID}, []string{ina.ID, ina2.ID, e.past.ID}},
	} {
		d := tc.d
		d.sync(0)
		held := d.held
		for _, list := range [][]string{tc.venues, tc.schools, tc.inspections} {
			slices.Sort(list)
		}
		if got := held.ids(schema.ChangeVenue); !reflect.DeepEqual(got, tc.venues) {
			t.Errorf("%s holds venues %v; want %v", d.user.Username, e.names(got), e.names(tc.venues))
		}
		if got := held.ids(schema.ChangeSchool); !reflect.DeepEqual(got, tc.schools) {
			t.Errorf("%s holds schools %v; want %v (inside the area and within 200 m of it, not 3 km away)", d.user.Username, e.names(got), e.names(tc.schools))
		}
		if got := held.ids(schema.ChangeMember); !reflect.DeepEqual(got, tc.members) {
			t.Errorf("%s holds members %v; want %v (the squad's, not a disabled one)", d.user.Username, got, tc.members)
		}
		if got := held.ids(schema.ChangeInspection); !reflect.DeepEqual(got, tc.inspections) {
			t.Errorf("%s holds inspections %v; want %v (its own device's only, not %v)", d.user.Username, got, tc.inspections, tc.otherInspections)
		}
		for _, c := range checklists {
			if got := held.change(t, schema.ChangeChecklist, c.Version); got.Checklist == nil || len(got.Checklist.Items) != len(c.Items) {
				t.Errorf("%s holds checklist %s as %+v", d.user.Username, c.Version, got.Checklist)
			}
		}
		rules := held.ids(schema.ChangeZoneRule)
		if len(rules) == 0 {
			t.Errorf("%s holds no zone rule", d.user.Username)
		}
		for _, id := range rules {
			if r := held.change(t, schema.ChangeZoneRule, id).ZoneRule; r.DistanceM <= 0 || len(r.VenueKinds) == 0 || len(r.SchoolKinds) == 0 {
				t.Errorf("zone rule %+v", r)
			}
		}
		if n := len(held) - len(tc.venues) - len(tc.schools) - len(tc.members) - len(tc.inspections) - len(checklists) - len(rules); n != 0 {
			t.Errorf("%s holds %d rows of other kinds: %v", d.user.Username, n, held)
		}
		// Payloads are what the store holds.
		for _, id := range tc.venues {
			if got, want := held.change(t, schema.ChangeVenue, id).Venue, e.venue(id); !reflect.DeepEqual(*got, want) {
				t.Errorf("pulled venue %+v;\n  the store holds %+v", *got, want)
			}
		}
		for _, id := range tc.schools {
			var want schema.School
			for _, s := range e.schools {
				if s.ID == id {
					want = s
				}
			}
			if got := held.change(t, schema.ChangeSchool, id).School; !reflect.DeepEqual(*got, want) {
				t.Errorf("pulled school %+v; imported %+v", *got, want)
			}
		}
		for _, name := range tc.members {
			u := e.users[name]
			m := held.change(t, schema.ChangeMember, name).Member
			if m.Name != u.DisplayName || m.BadgeNo != u.BadgeNo || m.Role != u.Role || m.SquadID != *u.SquadID {
				t.Errorf("pulled member %+v; user %+v", *m, u)
			}
		}
		for _, id := range tc.inspections {
			got, want := held.change(t, schema.ChangeInspection, id).Inspection, e.inspection(id)
			if got.VenueID != want.VenueID || got.SquadID != want.SquadID || got.Status != want.Status || got.HLC != want.HLC ||
				!reflect.DeepEqual(got.Items, stripReceived(want.Items)) || !reflect.DeepEqual(got.Inspectors, want.Inspectors) ||
				!got.StartedAt.Equal(want.StartedAt) {
				t.Errorf("pulled inspection %+v;\n  the store holds %+v", *got, want)
			}
		}
		// Nothing new: a second sync is empty and keeps the cursor's place.
		if again, reset := d.sync(0); reset || len(again) != 0 {
			t.Errorf("%s's second sync: reset %v, %d changes", d.user.Username, reset, len(again))
		}
	}
}

// stripReceived is items as a pull carries them: a pull need not say which
// photos arrived (reads for leaders do).
func stripReceived(items []schema.ItemResult) []schema.ItemResult {
	out := clone(&items)
	for i := range *out {
		for j := range (*out)[i].Photos {
			(*out)[i].Photos[j].Received = false
		}
	}
	return *out
}

func testPullScopeMoves(t *testing.T, e *env) {
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	a.sync(0)
	b.sync(0)
	old2, old1 := e.venues["v2a"], e.venues["v1b"]
	// Later writes carry both cursors well past the imported venues' changes.
	for i := 0; i < 3; i++ {
		e.newVenue(1, "Filler 1")
		e.newVenue(2, "Filler 2")
		a.mustApply(a.upsert(a.inspection(e.venues["v1a"].ID)))
		b.mustApply(b.upsert(b.inspection(old2.ID)))
	}
	a.sync(0)
	b.sync(0)

	// Growth: a venue moved into squad 1 arrives there, however old its last change.
	e.clock.Advance(time.Hour)
	moved, err := e.s.MoveVenue(e.ctx, old2.ID, 1)
	if err != nil || moved.SquadID != 1 || moved.Name != old2.Name {
		t.Fatalf("MoveVenue into squad 1: %+v, %v", moved, err)
	}
	changes, reset := a.sync(0)
	if reset {
		t.Fatal("a move into the squad reset its devices; it must arrive as a change")
	}
	if c := change(t, changes, schema.ChangeVenue, old2.ID); c.Removed || c.Venue.SquadID != 1 || c.Venue.Name != old2.Name {
		t.Fatalf("squad 1 pulled the moved-in venue as %+v", c)
	}
	// Shrink: squad 2 purges it.
	changes, reset = b.sync(0)
	if reset {
		t.Fatal("a move out of the squad reset its devices; it must arrive as a removal")
	}
	if c := change(t, changes, schema.ChangeVenue, old2.ID); !c.Removed {
		t.Fatalf("squad 2 pulled the moved-out venue as %+v; want removed", c)
	}
	// And the other way round for a venue of squad 1.
	if _, err := e.s.MoveVenue(e.ctx, old1.ID, 2); err != nil {
		t.Fatal(err)
	}
	changes, _ = a.sync(0)
	if c := change(t, changes, schema.ChangeVenue, old1.ID); !c.Removed {
		t.Fatalf("squad 1 pulled the moved-out venue as %+v; want removed", c)
	}
	changes, _ = b.sync(0)
	if c := change(t, changes, schema.ChangeVenue, old1.ID); c.Removed || c.Venue.SquadID != 2 {
		t.Fatalf("squad 2 pulled the moved-in venue as %+v", c)
	}
	// Out and back again between two pulls: held by squad 1, not by squad 2.
	roundTrip := e.newVenue(1, "Round trip")
	a.sync(0)
	b.sync(0)
	if _, err := e.s.MoveVenue(e.ctx, roundTrip.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.MoveVenue(e.ctx, roundTrip.ID, 1); err != nil {
		t.Fatal(err)
	}
	// A move to the squad it is in is refused.
	_, err = e.s.MoveVenue(e.ctx, roundTrip.ID, 1)
	wantCode(t, "MoveVenue to its own squad", err, schema.CodeInvalid)
	_, err = e.s.MoveVenue(e.ctx, roundTrip.ID, 99)
	wantCode(t, "MoveVenue to a squad that does not exist", err, schema.CodeInvalid)
	a.sync(0)
	b.sync(0)
	if !a.held.has(schema.ChangeVenue, roundTrip.ID) || b.held.has(schema.ChangeVenue, roundTrip.ID) {
		t.Fatalf("after a round trip: squad 1 holds it %v, squad 2 holds it %v; want true, false",
			a.held.has(schema.ChangeVenue, roundTrip.ID), b.held.has(schema.ChangeVenue, roundTrip.ID))
	}
	// What each device holds is what a fresh device would.
	for _, d := range []*device{a, b} {
		if diff := d.held.diff(d.fresh()); diff != "" {
			t.Fatalf("%s holds what a fresh pull does not:\n  %s", d.user.Username, diff)
		}
	}
	// The lists agree with what the devices hold.
	for _, d := range []*device{a, b} {
		list, err := e.s.ListVenues(e.ctx, store.VenueFilter{SquadID: d.user.SquadID})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.held.ids(schema.ChangeVenue), sortedIDs(list, func(v schema.Venue) string { return v.ID }); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s holds venues %v; ListVenues of its squad %v", d.user.Username, got, want)
		}
	}
}

func testPullDeletion(t *testing.T, e *env) {
	a, a2 := e.enroll("insp1a"), e.enroll("insp1b")
	v := e.newVenue(1, "Short-lived")
	a.sync(0)
	if err := e.s.DeleteVenue(e.ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteVenue(e.ctx, e.venues["v1a"].ID); err != nil {
		t.Fatal(err)
	}
	changes, _ := a.sync(0)
	for _, id := range []string{v.ID, e.venues["v1a"].ID} {
		if c := change(t, changes, schema.ChangeVenue, id); !c.Removed {
			t.Fatalf("deleted venue pulled as %+v; want removed", c)
		}
	}
	// A device that never held them does not get them alive.
	a2.sync(0)
	for _, id := range []string{v.ID, e.venues["v1a"].ID} {
		if a2.held.has(schema.ChangeVenue, id) {
			t.Fatalf("a fresh device holds deleted venue %s", id)
		}
	}
	// Deleted venues are not listed, but can still be read.
	list, err := e.s.ListVenues(e.ctx, store.VenueFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.ID == v.ID {
			t.Fatal("ListVenues lists a deleted venue")
		}
	}
	if got := e.venue(v.ID); !got.Deleted || got.Name != v.Name {
		t.Fatalf("Venue of a deleted venue: %+v", got)
	}
}

func testPullMemberAndReview(t *testing.T, e *env) {
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	in := a.inspection(e.venues["v1a"].ID)
	a.mustApply(a.upsert(in))
	a.sync(0)
	b.sync(0)
	sq := int64(1)
	nu, err := e.s.CreateUser(e.ctx, store.User{Username: "insp1c", DisplayName: "New Officer", BadgeNo: "B-77", Role: schema.RoleInspector, SquadID: &sq, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ReviewInspection(e.ctx, in.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader1"}, schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	changes, _ := a.sync(0)
	if m := change(t, changes, schema.ChangeMember, "insp1c").Member; m.Name != nu.DisplayName || m.BadgeNo != "B-77" || m.SquadID != 1 {
		t.Fatalf("new member pulled as %+v", m)
	}
	if c := change(t, changes, schema.ChangeInspection, in.ID); c.Inspection.Review == nil || c.Inspection.Review.Decision != schema.StatusApproved || c.Inspection.Status != schema.StatusApproved {
		t.Fatalf("reviewed inspection pulled as %+v", c.Inspection)
	}
	if again, _ := b.sync(0); len(again) != 0 {
		t.Fatalf("squad 2 pulled %d changes of squad 1's member and review: %+v", len(again), again)
	}
}
