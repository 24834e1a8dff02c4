package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// The officers a record names are evidence of the two-officer rule: a push
// stores only inspectors its squad may name (schema.CheckInspectors), with
// the server's names and badge numbers.
var inspectorCases = []contractCase{
	withEnv("ForgedInspectorsAreRejected", testInspectorsForged),
	withEnv("NamesAndBadgesFromTheServer", testInspectorsFromTheServer),
}

// naming is in with its inspectors replaced by usernames, each with the
// name and badge a forging device would claim.
func naming(in *schema.Inspection, usernames ...string) *schema.Inspection {
	out := clone(in)
	out.Inspectors = nil
	for _, u := range usernames {
		out.Inspectors = append(out.Inspectors, schema.Inspector{Username: u, Name: "Forged " + u, BadgeNo: "FORGED-" + u})
	}
	return out
}

func testInspectorsForged(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	v := e.venues["v1a"].ID
	cases := []struct {
		name       string
		inspectors []string
		code       schema.Code
		reason     string
	}{
		{"an inspector of another squad", []string{"insp1a", "insp2"}, schema.CodeForbidden, "inspector insp2 is not an active inspector of squad 1; ask your leader"},
		{"the squad's leader", []string{"insp1a", "leader1"}, schema.CodeForbidden, "inspector leader1 is not an active inspector of squad 1"},
		{"another squad's leader", []string{"insp1a", "leader2"}, schema.CodeForbidden, "inspector leader2 is not an active inspector of squad 1"},
		{"the admin", []string{"insp1a", "admin"}, schema.CodeForbidden, "inspector admin is not an active inspector of squad 1"},
		{"a user that does not exist", []string{"insp1a", "ghost"}, schema.CodeForbidden, "inspector ghost is not an active inspector of squad 1"},
		{"a disabled inspector of the squad", []string{"insp1a", "retired1"}, schema.CodeForbidden, "inspector retired1 is not an active inspector of squad 1"},
		{"an inspector of no squad", []string{"insp1a", "floater"}, schema.CodeForbidden, "inspector floater is not an active inspector of squad 1"},
		{"without its author", []string{"insp1b"}, schema.CodeInvalid, "does not name its author insp1a"},
		{"without its author, forged all through", []string{"insp2", "leader1", "admin", "ghost"}, schema.CodeForbidden, "inspector insp2 is not an active inspector"},
		{"a colleague twice", []string{"insp1a", "insp1b", "insp1b"}, schema.CodeInvalid, ""}, // refused as invalid before any rule
	}
	var forged []schema.Mutation
	for _, c := range cases {
		forged = append(forged, d.upsert(naming(d.inspection(v), c.inspectors...)))
	}
	legit := naming(d.inspection(v), "insp1a", "insp1b")
	res := d.push(append(forged, d.upsert(legit))...)
	for i, c := range cases {
		wantOutcome(t, c.name, res[i], schema.OutcomeRejected, c.code)
		if !strings.Contains(res[i].Reason, c.reason) {
			t.Errorf("%s: reason %q; want it to say %q", c.name, res[i].Reason, c.reason)
		}
		_, err := e.s.Inspection(e.ctx, forged[i].Inspection.ID)
		wantCode(t, c.name+": the refused record", err, schema.CodeNotFound)
	}
	wantOutcome(t, "the author and a colleague of the squad", res[len(cases)], schema.OutcomeApplied, "")

	// An amendment that adds a forged officer is refused, and the record
	// stays as it was.
	amended := naming(legit, "insp1a", "insp1b", "insp2")
	amended.ID = legit.ID
	r := d.push(d.upsert(amended))[0]
	wantOutcome(t, "an amendment naming an inspector of another squad", r, schema.OutcomeRejected, schema.CodeForbidden)
	if got := e.inspection(legit.ID); len(got.Inspectors) != 2 {
		t.Fatalf("record after a refused amendment names %+v; want the two it was stored with", got.Inspectors)
	}
}

func testInspectorsFromTheServer(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	in := naming(d.inspection(e.venues["v1a"].ID), "insp1a", "insp1b")
	d.mustApply(d.upsert(in))
	want := []schema.Inspector{
		{Username: "insp1a", Name: e.users["insp1a"].DisplayName, BadgeNo: e.users["insp1a"].BadgeNo},
		{Username: "insp1b", Name: e.users["insp1b"].DisplayName, BadgeNo: e.users["insp1b"].BadgeNo},
	}
	if got := e.inspection(in.ID).Inspectors; !reflect.DeepEqual(got, want) {
		t.Fatalf("stored inspectors %+v; want the server's names and badges %+v, not the device's", got, want)
	}
	// The device gets the stored record back with its next pull.
	d.sync(0)
	if got := d.held.change(t, schema.ChangeInspection, in.ID).Inspection.Inspectors; !reflect.DeepEqual(got, want) {
		t.Fatalf("pulled inspectors %+v; want %+v", got, want)
	}
}
