package server_test

import (
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// TestPush_ForeignIdsAnswerLikeUnknownOnes: a device that names ids of
// another squad's objects gets the answer it would get for ids nobody
// uses, or a refusal that says only that the id cannot be used, so a push
// never tells whether another squad's venue or inspection exists.
func TestPush_ForeignIdsAnswerLikeUnknownOnes(t *testing.T) {
	e := newEnv(t)
	d1, d3 := e.enroll("inspector1"), e.enroll("inspector3")
	if d1.squad == d3.squad {
		t.Fatalf("inspector1 and inspector3 share squad %d", d1.squad)
	}
	foreign := e.venues(d1.squad)[0]
	own := e.venues(d3.squad)[0]
	theirs := d1.inspection(foreign.ID)
	if r := d1.push(d1.upsert(theirs))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("squad %d inspection: %+v", d1.squad, r)
	}
	unknown := newID(t)
	// same answers the two mutations with each id put in place of the
	// other: nothing in them may depend on whose id it was.
	same := func(what string, a, b schema.MutationResult, idA, idB string) {
		t.Helper()
		if a.Outcome != b.Outcome || a.Code != b.Code || a.Reason != strings.ReplaceAll(b.Reason, idB, idA) {
			t.Errorf("%s: another squad's id answers %s %s %q; an unknown id %s %s %q", what, a.Outcome, a.Code, a.Reason, b.Outcome, b.Code, b.Reason)
		}
	}
	edit := func(id string) schema.Mutation {
		return d3.edit(id, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-000"}})
	}
	same("venue.update", d3.push(edit(foreign.ID))[0], d3.push(edit(unknown))[0], foreign.ID, unknown)
	same("inspection of a venue", d3.push(d3.upsert(d3.inspection(foreign.ID)))[0], d3.push(d3.upsert(d3.inspection(unknown)))[0], foreign.ID, unknown)

	taken := []struct {
		what string
		m    schema.Mutation
		id   string
	}{
		{"inspection id of another squad's inspector", d3.upsert(func() *schema.Inspection { in := d3.inspection(own.ID); in.ID = theirs.ID; return in }()), theirs.ID},
		{"venue id of another squad", schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d3.clock.Tick().String(),
			Venue: &schema.Venue{ID: foreign.ID, Kind: schema.KindKTV, Name: "KTV", Lat: own.Lat, Lng: own.Lng}}, foreign.ID},
	}
	for _, tc := range taken {
		r := d3.push(tc.m)[0]
		if r.Outcome != schema.OutcomeRejected || !strings.Contains(r.Reason, tc.id+" cannot be used; make a new id") {
			t.Errorf("%s: %+v; want a refusal saying only that the id cannot be used", tc.what, r)
		}
		for _, leak := range []string{"exists", "another", "belongs", "squad"} {
			if strings.Contains(r.Reason, leak) {
				t.Errorf("%s: reason %q tells %q", tc.what, r.Reason, leak)
			}
		}
	}
	if got := d1.push(d1.upsert(theirs))[0]; got.Outcome != schema.OutcomeApplied {
		t.Fatalf("the owner's own copy again: %+v", got)
	}
}
