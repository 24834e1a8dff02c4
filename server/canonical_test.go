package server_test

import (
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// TestIDs_OnlyLowerCaseUUIDsEnter: an id that differs from an existing one
// only in letter case is refused where it enters (push, route), instead of
// making a second object under what reads as the same id.
func TestIDs_OnlyLowerCaseUUIDsEnter(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	v := e.venues(d.squad)[0]
	black := schema.Venue{ID: newID(t), Kind: schema.KindNetCafe, Name: "无名网吧", Lat: v.Lat, Lng: v.Lng}
	if r := d.push(schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &black})[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("venue.create: %+v", r)
	}
	in := d.inspection(v.ID)
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("inspection: %+v", r)
	}
	venues, inspections := e.count("venues"), e.count("inspections")
	upperVenue := black
	upperVenue.ID = strings.ToUpper(black.ID)
	upperInsp := *in
	upperInsp.ID = strings.ToUpper(in.ID)
	upperVenueRef := *d.inspection(strings.ToUpper(v.ID))
	upperMutation := d.upsert(d.inspection(v.ID))
	upperMutation.ID = strings.ToUpper(upperMutation.ID)
	for _, tc := range []struct {
		what string
		m    schema.Mutation
	}{
		{"venue.create", schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &upperVenue}},
		{"inspection.upsert", d.upsert(&upperInsp)},
		{"inspection of an upper-case venue id", d.upsert(&upperVenueRef)},
		{"venue.update", d.edit(strings.ToUpper(v.ID), map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-1"}})},
		{"mutation id", upperMutation},
	} {
		r := d.push(tc.m)[0]
		if r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeInvalid || !strings.Contains(r.Reason, "lower-case") {
			t.Errorf("%s with an upper-case id: %+v; want rejected invalid, saying ids are lower-case", tc.what, r)
		}
	}
	if n, m := e.count("venues"), e.count("inspections"); n != venues || m != inspections {
		t.Fatalf("upper-case ids made objects: venues %d → %d, inspections %d → %d", venues, n, inspections, m)
	}
	admin := e.login("admin")
	for _, path := range []string{
		schema.PathVenues + "/" + strings.ToUpper(v.ID),
		schema.PathInspections + "/" + strings.ToUpper(in.ID),
	} {
		r := admin.call("GET", path, nil, nil)
		if r.status != 400 || r.err.Code != schema.CodeInvalid || !strings.Contains(r.err.Message, "lower-case") {
			t.Errorf("GET %s: %d %s %q; want 400 invalid saying ids are lower-case", path, r.status, r.err.Code, r.err.Message)
		}
	}
}

// TestText_ControlCharactersRefused: free text (review notes, item notes,
// venue names and addresses, device names) refuses control characters
// other than tab and newline, wherever it enters.
func TestText_ControlCharactersRefused(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	v := e.venues(d.squad)[0]
	in := d.inspection(v.ID)
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("inspection: %+v", r)
	}
	leader := e.login("leader1")
	for _, note := range []string{"fine\x00", "bell\a", "escape \x1b[31m", "return\r", "del\x7f", "c1 \u0085"} {
		r := leader.call("POST", schema.PathInspections+"/"+in.ID+"/review", map[string]string{"action": "return", "comment": note}, nil)
		if r.status != 400 || r.err.Code != schema.CodeInvalid || !strings.Contains(r.err.Message, "control character") {
			t.Errorf("review comment %q: %d %s %q; want 400 invalid naming the control character", note, r.status, r.err.Code, r.err.Message)
		}
	}
	noted := d.inspection(v.ID)
	noted.Items[2].Note = "exit\x07locked"
	named := schema.Venue{ID: newID(t), Kind: schema.KindNetCafe, Name: "网吧\x1b", Lat: v.Lat, Lng: v.Lng}
	addressed := schema.Venue{ID: newID(t), Kind: schema.KindNetCafe, Name: "网吧", Address: "Road\x0b1", Lat: v.Lat, Lng: v.Lng}
	for _, tc := range []struct {
		what string
		m    schema.Mutation
	}{
		{"item note", d.upsert(noted)},
		{"venue name", schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &named}},
		{"venue address", schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &addressed}},
		{"venue name edit", d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Café\x00"}})},
	} {
		r := d.push(tc.m)[0]
		if r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeInvalid || !strings.Contains(r.Reason, "control character") {
			t.Errorf("%s: %+v; want rejected invalid naming the control character", tc.what, r)
		}
	}
	fine := d.inspection(v.ID)
	fine.Items[2].Note = "exit locked\n\tsee photo"
	if r := d.push(d.upsert(fine))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("a note with a tab and a newline: %+v", r)
	}
	if r := leader.call("POST", schema.PathInspections+"/"+in.ID+"/review", map[string]string{"action": "return", "comment": "ok\n\tfine"}, nil); r.status != 200 {
		t.Fatalf("review comment with tab and newline: %d %q", r.status, r.err.Message)
	}
	var code schema.EnrollmentCodeResponse
	e.login("admin").must(201, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: "inspector2"}, &code)
	r := e.anon().call("POST", schema.PathEnroll, schema.EnrollRequest{Code: code.Code, DeviceName: "phone\x1b[2J"}, nil)
	if r.status != 400 || !strings.Contains(r.err.Message, "control character") {
		t.Fatalf("device name with an escape: %d %q; want 400 naming the control character", r.status, r.err.Message)
	}
}
