package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// naming replaces the inspectors of in with usernames, each claiming a
// name and badge the server never issued.
func naming(in *schema.Inspection, usernames ...string) *schema.Inspection {
	in.Inspectors = nil
	for _, u := range usernames {
		in.Inspectors = append(in.Inspectors, schema.Inspector{Username: u, Name: "Forged", BadgeNo: "FORGED"})
	}
	return in
}

// TestPush_ForgedInspectorsRejected pushes records naming officers who
// were not the squad's inspectors on site through the real API: each is
// refused with a reason, stored nowhere, and the legitimate record is
// stored with the server's names and badge numbers.
func TestPush_ForgedInspectorsRejected(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	venue := e.venues(1)[0].ID
	cases := []struct {
		name       string
		inspectors []string
		code       schema.Code
		reason     string
	}{
		{"an inspector of another squad", []string{"inspector1", "inspector3"}, schema.CodeForbidden, "inspector inspector3 is not an active inspector of squad 1; ask your leader"},
		{"the squad's leader", []string{"inspector1", "leader1"}, schema.CodeForbidden, "inspector leader1 is not an active inspector of squad 1"},
		{"the admin", []string{"inspector1", "admin"}, schema.CodeForbidden, "inspector admin is not an active inspector of squad 1"},
		{"a user that does not exist", []string{"inspector1", "nobody"}, schema.CodeForbidden, "inspector nobody is not an active inspector of squad 1"},
		{"all of them, without its author", []string{"inspector3", "leader1", "admin", "nobody"}, schema.CodeForbidden, "is not an active inspector of squad 1"},
		{"the colleague alone, without its author", []string{"inspector2"}, schema.CodeInvalid, "does not name its author inspector1"},
		{"a colleague twice", []string{"inspector1", "inspector2", "inspector2"}, schema.CodeInvalid, ""},
	}
	var muts []schema.Mutation
	for _, c := range cases {
		muts = append(muts, d.upsert(naming(d.inspection(venue), c.inspectors...)))
	}
	legit := naming(d.inspection(venue), "inspector1", "inspector2")
	res := d.push(append(muts, d.upsert(legit))...)
	leader := e.login("leader1")
	for i, c := range cases {
		if r := res[i]; r.Outcome != schema.OutcomeRejected || r.Code != c.code || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: %+v; want rejected %s saying %q", c.name, r, c.code, c.reason)
		}
		if r := leader.call("GET", schema.PathInspections+"/"+muts[i].Inspection.ID, nil, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: the refused record reads %d; want 404", c.name, r.status)
		}
	}
	if r := res[len(cases)]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("the author and a colleague of the squad: %+v", r)
	}
	var got schema.Inspection
	leader.must(200, "GET", schema.PathInspections+"/"+legit.ID, nil, &got)
	for i, in := range got.Inspectors {
		if in.Name == "Forged" || in.BadgeNo == "FORGED" || in.BadgeNo == "" || in.Username != legit.Inspectors[i].Username {
			t.Errorf("stored inspector %d %+v; want %s with the server's name and badge", i, in, legit.Inspectors[i].Username)
		}
	}
	if len(got.Flags) != 0 {
		t.Errorf("a two-inspector record has flags %v", got.Flags)
	}
}

// TestMovedVenue_OldSquadSeesItAsItLeft is the leak: after a venue moved
// to squad 2 and squad 2 edited it, squad 1's leader reading squad 1's
// inspection sees the venue as it was at the move, not squad 2's phone,
// address and licence.
func TestMovedVenue_OldSquadSeesItAsItLeft(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	v := e.venues(1)[0]
	in := d.inspection(v.ID)
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("inspection: %+v", r)
	}
	admin, leader1, leader2 := e.login("admin"), e.login("leader1"), e.login("leader2")
	var atMove schema.Venue
	admin.must(200, "GET", schema.PathVenues+"/"+v.ID, nil, &atMove)
	e.clock.Advance(time.Hour)
	admin.must(200, "POST", schema.PathVenues+"/"+v.ID+"/move", map[string]int64{"squad_id": 2}, nil)
	e.clock.Advance(time.Hour)
	leader2.must(200, "PATCH", schema.PathVenues+"/"+v.ID, map[string]any{"fields": map[string]string{
		"phone": "0539-2222222", "address": "squad 2's secret address", "licence_no": "L-SQUAD2"}}, nil)

	var got schema.Inspection
	leader1.must(200, "GET", schema.PathInspections+"/"+in.ID, nil, &got)
	var list []schema.Inspection
	leader1.must(200, "GET", schema.PathInspections+"?squad=1", nil, &list)
	var listed *schema.Venue
	for _, x := range list {
		if x.ID == in.ID {
			listed = x.Venue
		}
	}
	for what, seen := range map[string]*schema.Venue{"the inspection": got.Venue, "the list": listed} {
		if seen == nil || seen.Phone != atMove.Phone || seen.Address != atMove.Address || seen.LicenceNo != atMove.LicenceNo ||
			seen.Name != atMove.Name || seen.SquadID != 1 {
			t.Errorf("squad 1's leader sees through %s venue %+v; want it as it was at the move %+v", what, seen, atMove)
		}
	}
	// The venue itself is squad 2's now: squad 1's leader cannot read it.
	if r := leader1.call("GET", schema.PathVenues+"/"+v.ID, nil, nil); r.status != http.StatusNotFound {
		t.Errorf("squad 1's leader reads the moved venue: %d", r.status)
	}
}

// TestMovedVenue_GraceOnlyForWorkStartedBefore: after a move, the old
// squad delivers the inspections it started before the move, not ones it
// started after.
func TestMovedVenue_GraceOnlyForWorkStartedBefore(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	v := e.venues(1)[0]
	before := d.inspection(v.ID)
	e.login("admin").must(200, "POST", schema.PathVenues+"/"+v.ID+"/move", map[string]int64{"squad_id": 2}, nil)
	e.clock.Advance(2 * time.Hour)
	after := d.inspection(v.ID) // started an hour and a half after the move
	res := d.push(d.upsert(before), d.upsert(after))
	if res[0].Outcome != schema.OutcomeApplied {
		t.Errorf("inspection started before the move: %+v; want applied", res[0])
	}
	if res[1].Outcome != schema.OutcomeRejected || res[1].Code != schema.CodeForbidden {
		t.Errorf("inspection started after the move, within the grace: %+v; want rejected forbidden", res[1])
	}
}

// TestCoInspectors_AllowedByTheLeader: the squad's leader (or an admin)
// allows an inspector of another squad on the squad's records, through
// the API; nobody else may.
func TestCoInspectors_AllowedByTheLeader(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	venue := e.venues(1)[0].ID
	path := schema.PathSquads + "/1/co-inspectors"
	withInspector3 := func() schema.Mutation { return d.upsert(naming(d.inspection(venue), "inspector1", "inspector3")) }
	if r := d.push(withInspector3())[0]; r.Outcome != schema.OutcomeRejected {
		t.Fatalf("inspector3 before being allowed: %+v", r)
	}
	body := schema.CoInspectorRequest{Username: "inspector3"}
	for _, c := range []struct {
		name   string
		client *client
		method string
		path   string
		body   any
		want   int
	}{
		{"another squad's leader", e.login("leader2"), "POST", path, body, 403},
		{"an inspector", e.login("inspector2"), "POST", path, body, 403},
		{"a device token", d.client, "POST", path, body, 403},
		{"no token", e.anon(), "POST", path, body, 401},
		{"a squad that is not a number", e.login("admin"), "POST", schema.PathSquads + "/one/co-inspectors", body, 400},
		{"no username", e.login("leader1"), "POST", path, schema.CoInspectorRequest{}, 400},
		{"the squad's own inspector", e.login("leader1"), "POST", path, schema.CoInspectorRequest{Username: "inspector2"}, 400},
		{"a leader", e.login("leader1"), "POST", path, schema.CoInspectorRequest{Username: "leader2"}, 400},
		{"a user that does not exist", e.login("leader1"), "POST", path, schema.CoInspectorRequest{Username: "nobody"}, 404},
		{"withdrawing one never allowed", e.login("leader1"), "DELETE", path + "/inspector3", nil, 404},
	} {
		if r := c.client.call(c.method, c.path, c.body, nil); r.status != c.want {
			t.Errorf("%s: %s %s answered %d (%s); want %d", c.name, c.method, c.path, r.status, r.err.Message, c.want)
		}
	}
	leader := e.login("leader1")
	var m schema.Member
	leader.must(200, "POST", path, schema.CoInspectorRequest{Username: " Inspector3 "}, &m)
	if m.Username != "inspector3" || !m.CoInspector || m.SquadID != 2 || m.BadgeNo == "" {
		t.Fatalf("allowed co-inspector %+v", m)
	}
	changes, _ := d.pullAll(0)
	if c := byID(changes, schema.ChangeMember, "inspector3"); len(c) != 1 || c[0].Member == nil || !c[0].Member.CoInspector {
		t.Fatalf("the squad's device pulled %+v for the co-inspector", c)
	}
	if r := d.push(withInspector3())[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("inspector3 once allowed: %+v", r)
	}
	leader.must(204, "DELETE", path+"/inspector3", nil, nil)
	changes, _ = d.pullAll(0)
	if c := byID(changes, schema.ChangeMember, "inspector3"); len(c) != 1 || !c[0].Removed {
		t.Fatalf("the squad's device pulled %+v after the withdrawal", c)
	}
	if r := d.push(withInspector3())[0]; r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeForbidden {
		t.Fatalf("inspector3 after the withdrawal: %+v", r)
	}
	e.login("admin").must(200, "POST", path, body, nil)
	if r := d.push(withInspector3())[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("inspector3 allowed again by the admin: %+v", r)
	}
}
