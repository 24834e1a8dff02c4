package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// The officers a record names are evidence of the two-officer rule: a push
// stores only inspectors its squad may name (schema.CheckInspectors), with
// the server's names and badge numbers, and a squad's leader may allow
// inspectors of other squads.
var inspectorCases = []contractCase{
	withEnv("ForgedInspectorsAreRejected", testInspectorsForged),
	withEnv("NamesAndBadgesFromTheServer", testInspectorsFromTheServer),
	withEnv("CoInspectorsAllowedByTheLeader", testInspectorsCoInspectors),
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

func testInspectorsCoInspectors(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	v := e.venues["v1a"].ID
	d.sync(0)
	withInsp2 := func() *schema.Inspection { return naming(d.inspection(v), "insp1a", "insp2") }
	wantOutcome(t, "insp2 before being allowed", d.push(d.upsert(withInsp2()))[0], schema.OutcomeRejected, schema.CodeForbidden)

	// Only the squad's leader or an admin may allow, and only inspectors
	// of other squads.
	for _, c := range []struct {
		name, username string
		squad          int64
		scope          schema.Scope
		code           schema.Code
	}{
		{"by another squad's leader", "insp2", 1, schema.SquadScope(2), schema.CodeForbidden},
		{"by an inspector (no scope)", "insp2", 1, schema.Scope{}, schema.CodeForbidden},
		{"an inspector of the squad itself", "insp1b", 1, schema.SquadScope(1), schema.CodeInvalid},
		{"a leader", "leader2", 1, schema.SquadScope(1), schema.CodeInvalid},
		{"the admin", "admin", 1, schema.SquadScope(1), schema.CodeInvalid},
		{"a user that does not exist", "ghost", 1, schema.SquadScope(1), schema.CodeNotFound},
		{"a disabled user", "retired1", 2, schema.SquadScope(2), schema.CodeNotFound},
		{"for a squad that does not exist", "insp2", 9, schema.AllSquads(), schema.CodeInvalid},
	} {
		_, err := e.s.AddCoInspector(e.ctx, c.squad, c.username, "someone", c.scope)
		wantCode(t, "AddCoInspector "+c.name, err, c.code)
	}
	m, err := e.s.AddCoInspector(e.ctx, 1, "insp2", "leader1", schema.SquadScope(1))
	if err != nil {
		t.Fatalf("AddCoInspector by the squad's leader: %v", err)
	}
	want := schema.Member{Username: "insp2", Name: e.users["insp2"].DisplayName, BadgeNo: e.users["insp2"].BadgeNo, Role: schema.RoleInspector,
		SquadID: 2, CoInspector: true}
	if m != want {
		t.Fatalf("AddCoInspector answered %+v; want %+v", m, want)
	}
	if _, err := e.s.AddCoInspector(e.ctx, 1, "insp2", "admin", schema.AllSquads()); err != nil {
		t.Fatalf("AddCoInspector of one allowed already: %v", err)
	}

	// The squad's devices receive the co-inspector as a member; the other
	// squad's devices do not, and squad 2 gains nothing on squad 1.
	changes, _ := d.sync(0)
	if got := change(t, changes, schema.ChangeMember, "insp2"); got.Member == nil || *got.Member != want {
		t.Fatalf("pulled co-inspector %+v; want %+v", got, want)
	}
	other := e.enroll("insp2")
	other.sync(0)
	if got := other.held.ids(schema.ChangeMember); !reflect.DeepEqual(got, []string{"insp2", "leader2"}) {
		t.Fatalf("squad 2's device holds members %v; want its own squad's", got)
	}
	in := withInsp2()
	d.mustApply(d.upsert(in))
	if got := e.inspection(in.ID).Inspectors[1]; got != (schema.Inspector{Username: "insp2", Name: want.Name, BadgeNo: want.BadgeNo}) {
		t.Fatalf("co-inspector stored as %+v", got)
	}
	// Squad 2 may not name squad 1's inspectors in return.
	wantOutcome(t, "squad 2 naming squad 1's inspector", other.push(other.upsert(naming(other.inspection(e.venues["v2a"].ID), "insp2", "insp1a")))[0],
		schema.OutcomeRejected, schema.CodeForbidden)

	// Withdrawn: later records may not name them, the devices drop the
	// member, and the record made already keeps them.
	wantCode(t, "RemoveCoInspector by another squad's leader", e.s.RemoveCoInspector(e.ctx, 1, "insp2", schema.SquadScope(2)), schema.CodeForbidden)
	if err := e.s.RemoveCoInspector(e.ctx, 1, "insp2", schema.SquadScope(1)); err != nil {
		t.Fatalf("RemoveCoInspector: %v", err)
	}
	wantCode(t, "RemoveCoInspector of one not allowed", e.s.RemoveCoInspector(e.ctx, 1, "insp2", schema.SquadScope(1)), schema.CodeNotFound)
	d.sync(0)
	if d.held.has(schema.ChangeMember, "insp2") {
		t.Fatalf("device still holds the withdrawn co-inspector")
	}
	if f := d.fresh(); f.has(schema.ChangeMember, "insp2") {
		t.Fatalf("a fresh device receives the withdrawn co-inspector")
	}
	wantOutcome(t, "insp2 after the permission was withdrawn", d.push(d.upsert(withInsp2()))[0], schema.OutcomeRejected, schema.CodeForbidden)
	if got := e.inspection(in.ID).Inspectors; len(got) != 2 || got[1].Username != "insp2" {
		t.Fatalf("the record made while allowed names %+v", got)
	}
	// Allowed again, they are back.
	if _, err := e.s.AddCoInspector(e.ctx, 1, "insp2", "leader1", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	d.sync(0)
	if !d.held.has(schema.ChangeMember, "insp2") {
		t.Fatalf("device lacks the co-inspector allowed again")
	}
	d.mustApply(d.upsert(withInsp2()))
}
