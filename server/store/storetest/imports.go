package storetest

import (
	"errors"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

var importCases = []contractCase{
	withEnv("SchoolsIdempotent", testImportSchoolsIdempotent),
	withEnv("VenuesAllOrNothing", testImportVenuesAllOrNothing),
	withEnv("VenuesByArea", testImportVenuesByArea),
	withEnv("SquadAreasReassign", testImportSquadAreasReassign),
	withEnv("DryRunChangesNothing", testImportDryRun),
	withEnv("SchoolsMeasureTheVenuesNearThem", testImportSchoolsMeasure),
}

// testImportSchoolsMeasure: a campus imported 150 m from an arcade flags
// it in the same transaction; the campus imported again 300 m away (a
// corrected survey) clears it.
func testImportSchoolsMeasure(t *testing.T, e *env) {
	v := e.newVenue(1, "Arcade by the school")
	at := geo.Point{v.Lng, v.Lat}
	campus := func(distM float64) geo.MultiPolygon {
		// A 100 m square whose west edge lies distM east of the arcade.
		sw := geo.Direct(at, 90, distM)
		se := geo.Direct(sw, 90, 100)
		ne := geo.Direct(se, 0, 100)
		nw := geo.Direct(sw, 0, 100)
		sw2 := geo.Direct(sw, 180, 50)
		return geo.MultiPolygon{{{sw2, geo.Direct(se, 180, 50), ne, nw, sw2}}}
	}
	violations := func() []schema.ZoneViolation {
		t.Helper()
		list, err := e.s.ZoneViolations(e.ctx, store.ZoneViolationFilter{VenueID: v.ID})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	e.importSchools(store.ImportSchool{ExternalID: "EDU-Z", Name: "第二中学", Kind: "secondary", Geometry: campus(150)})
	got := violations()
	if len(got) != 1 || got[0].DistanceM < 149 || got[0].DistanceM > 151 {
		t.Fatalf("violations after the school import: %+v; want one at 150 m", got)
	}
	e.importSchools(store.ImportSchool{ExternalID: "EDU-Z", Name: "第二中学", Kind: "secondary", Geometry: campus(300)})
	if got := violations(); len(got) != 0 {
		t.Fatalf("standing violations after the campus moved 300 m away: %+v", got)
	}
}

// box is a rectangle polygon of [lng, lat] corners.
func box(minLat, minLng, maxLat, maxLng float64) geo.Polygon {
	return geo.Polygon{{{minLng, minLat}, {maxLng, minLat}, {maxLng, maxLat}, {minLng, maxLat}, {minLng, minLat}}}
}

func (e *env) importSchools(list ...store.ImportSchool) store.ImportReport {
	e.t.Helper()
	rep, err := e.s.ImportSchools(e.ctx, list, store.ImportOptions{})
	if err != nil {
		e.t.Fatalf("ImportSchools: %v", err)
	}
	return rep
}

func (e *env) importVenues(list ...store.ImportVenue) store.ImportReport {
	e.t.Helper()
	rep, err := e.s.ImportVenues(e.ctx, list, store.ImportOptions{})
	if err != nil {
		e.t.Fatalf("ImportVenues: %v", err)
	}
	return rep
}

func (e *env) importAreas(list ...store.ImportSquadArea) store.ImportReport {
	e.t.Helper()
	rep, err := e.s.ImportSquadAreas(e.ctx, list, store.ImportOptions{})
	if err != nil {
		e.t.Fatalf("ImportSquadAreas: %v", err)
	}
	return rep
}

func wantCounts(t *testing.T, what string, r store.ImportReport, created, updated, unchanged int) {
	t.Helper()
	if r.Created != created || r.Updated != updated || r.Unchanged != unchanged {
		t.Fatalf("%s: created %d, updated %d, unchanged %d; want %d, %d, %d", what, r.Created, r.Updated, r.Unchanged, created, updated, unchanged)
	}
}

// A school file imported twice changes nothing the second time: no seq
// (devices receive nothing), no audit entry. A changed campus reaches the
// devices near it, whole (holes, parts) and with its external id.
func testImportSchoolsIdempotent(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	d.sync(0)
	campus := geo.MultiPolygon{
		{box(35.02, 118.32, 35.03, 118.33)[0], box(35.024, 118.324, 35.026, 118.326)[0]}, // with a hole
		box(35.031, 118.32, 35.032, 118.321),
	}
	recs := []store.ImportSchool{
		{ExternalID: "EDU-1", Name: "第一小学", Kind: "primary", Geometry: campus},
		{ExternalID: "EDU-2", Name: "Far school", Kind: "secondary", Geometry: geo.MultiPolygon{box(20, 100, 20.001, 100.001)}},
	}
	wantCounts(t, "first import", e.importSchools(recs...), 2, 0, 0)
	changes, _ := d.sync(0)
	var got *schema.School
	for _, c := range changes {
		if c.Kind == schema.ChangeSchool && c.School != nil && c.School.ExternalID == "EDU-1" {
			got = c.School
		}
		if c.Kind == schema.ChangeSchool && c.School != nil && c.School.ExternalID == "EDU-2" {
			t.Fatal("a school far from squad 1 reached its device")
		}
	}
	if got == nil {
		t.Fatalf("the imported school did not reach squad 1's device: %+v", changes)
	}
	if !store.SameArea(got.Geometry, campus) || len(got.Polygon) != len(campus[0][0]) {
		t.Fatalf("pulled geometry %v, ring %v; want %v", got.Geometry, got.Polygon, campus)
	}
	audit := e.verifyAudit()
	wantCounts(t, "second import", e.importSchools(recs...), 0, 0, 2)
	if changes, _ := d.sync(0); len(changes) != 0 {
		t.Fatalf("a second import of the same file delivered %d changes: %+v", len(changes), changes)
	}
	if n := e.verifyAudit(); n != audit {
		t.Fatalf("a second import of the same file wrote %d audit entries", n-audit)
	}
	recs[0].Name = "第一小学（新校区）"
	wantCounts(t, "renamed", e.importSchools(recs...), 0, 1, 1)
	changes, _ = d.sync(0)
	if len(changes) != 1 || changes[0].School == nil || changes[0].School.Name != recs[0].Name || changes[0].School.ID != got.ID {
		t.Fatalf("after a rename the device got %+v; want the one school, same id", changes)
	}
}

// A venue file with one bad record imports nothing and names every bad
// record.
func testImportVenuesAllOrNothing(t *testing.T, e *env) {
	before, err := e.s.ListVenues(e.ctx, store.VenueFilter{})
	if err != nil {
		t.Fatal(err)
	}
	audit := e.verifyAudit()
	_, err = e.s.ImportVenues(e.ctx, []store.ImportVenue{
		{Source: store.Source{Index: 0, Line: 2, ID: "V-1"}, ExternalID: "V-1", Kind: schema.KindNetCafe, Name: "Good", Lat: 35.02, Lng: 118.31, SquadID: 1},
		{Source: store.Source{Index: 1, Line: 3, ID: "V-2"}, ExternalID: "V-2", Kind: schema.KindNetCafe, Name: "No squad 9", Lat: 35.02, Lng: 118.31, SquadID: 9},
		{Source: store.Source{Index: 2, Line: 4, ID: "V-3"}, ExternalID: "V-3", Kind: schema.KindNetCafe, Name: "Nowhere", Lat: 10, Lng: 10},
	}, store.ImportOptions{})
	wantCode(t, "a file with bad records", err, schema.CodeInvalid)
	var rej store.Rejections
	if !errors.As(err, &rej) || len(rej) != 2 || rej[0].Line != 3 || rej[1].Line != 4 || rej[1].ID != "V-3" {
		t.Fatalf("rejections %+v (%v); want lines 3 and 4", rej, err)
	}
	after, err := e.s.ListVenues(e.ctx, store.VenueFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || e.verifyAudit() != audit {
		t.Fatalf("a rejected file changed the store: %d venues → %d", len(before), len(after))
	}
}

// New venues go to the squad whose area contains them; an explicit squad
// is kept against the areas; a second import changes nothing.
func testImportVenuesByArea(t *testing.T, e *env) {
	e.importAreas(
		store.ImportSquadArea{SquadID: 1, Area: geo.MultiPolygon{box(35.00, 118.30, 35.10, 118.40)}},
		store.ImportSquadArea{SquadID: 2, Area: geo.MultiPolygon{box(36.00, 117.00, 36.10, 117.10)}},
	)
	fp := box(35.0201, 118.3101, 35.0202, 118.3102)
	recs := []store.ImportVenue{
		{ExternalID: "V-1", LicenceNo: "LIC-1", Kind: schema.KindKTV, Name: "歌厅", Address: "1 Road", Lat: 35.02, Lng: 118.31, Footprint: fp},
		{ExternalID: "V-2", Kind: schema.KindArcade, Name: "Hand-placed", Lat: 35.03, Lng: 118.31, SquadID: 2},
	}
	rep := e.importVenues(recs...)
	wantCounts(t, "first import", rep, 2, 0, 0)
	vs, err := e.s.ListVenues(e.ctx, store.VenueFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byExt := map[string]schema.Venue{}
	for _, v := range vs {
		if v.ExternalID != "" {
			byExt[v.ExternalID] = v
		}
	}
	if v := byExt["V-1"]; v.SquadID != 1 || !store.SameArea(geo.MultiPolygon{v.Footprint}, geo.MultiPolygon{fp}) || v.LicenceNo != "LIC-1" {
		t.Fatalf("V-1 = %+v; want squad 1 with its footprint", v)
	}
	if v := byExt["V-2"]; v.SquadID != 2 {
		t.Fatalf("V-2 in squad %d; want the squad its record names", v.SquadID)
	}
	d2 := e.enroll("insp2")
	if r := d2.fresh(); !r.has(schema.ChangeVenue, byExt["V-2"].ID) {
		t.Fatal("squad 2's device does not receive the venue imported into it")
	}
	audit := e.verifyAudit()
	wantCounts(t, "second import", e.importVenues(recs...), 0, 0, 2)
	if e.verifyAudit() != audit {
		t.Fatal("a second import wrote audit entries")
	}
	// The squad areas again: V-2 stays where its record put it.
	rep = e.importAreas(store.ImportSquadArea{SquadID: 1, Area: geo.MultiPolygon{box(35.00, 118.30, 35.10, 118.40)}})
	if len(rep.Reassigned) != 0 {
		t.Fatalf("re-importing the same areas moved %+v", rep.Reassigned)
	}
	if v := e.venue(byExt["V-2"].ID); v.SquadID != 2 {
		t.Fatalf("an area import moved a hand-placed venue to squad %d", v.SquadID)
	}
	// A moved address reaches the squad's device as one update.
	d1 := e.enroll("insp1a")
	d1.sync(0)
	recs[0].Address = "2 Road"
	wantCounts(t, "new address", e.importVenues(recs...), 0, 1, 1)
	changes, _ := d1.sync(0)
	c := change(t, changes, schema.ChangeVenue, byExt["V-1"].ID)
	if c.Venue == nil || c.Venue.Address != "2 Road" || c.Venue.ExternalID != "V-1" {
		t.Fatalf("pulled %+v; want the new address", c.Venue)
	}
}

// An area import moves venues whose squad was not set by hand, through
// the move: devices purge and receive, findings follow, the move is
// audited; a venue moved by hand stays; one outside every area is listed.
func testImportSquadAreasReassign(t *testing.T, e *env) {
	d1, d2 := e.enroll("insp1a"), e.enroll("insp2")
	v1a, v1b := e.venues["v1a"].ID, e.venues["v1b"].ID // at 35.03 and 35.06 north
	f := e.openFindings(d1, v1b, "NC04")["NC04"]
	manual := e.newVenue(1, "Moved by hand") // squad 1's centre, 35.05
	if _, err := e.s.MoveVenue(e.ctx, manual.ID, 2); err != nil {
		t.Fatal(err)
	}
	d1.sync(0)
	d2.sync(0)
	// Squad 1 keeps the south of its box; squad 2 gets the north and its own.
	rep := e.importAreas(
		store.ImportSquadArea{SquadID: 1, Name: "一中队", Area: geo.MultiPolygon{box(35.00, 118.30, 35.055, 118.40)}},
		store.ImportSquadArea{SquadID: 2, Area: geo.MultiPolygon{box(35.055, 118.30, 35.10, 118.40), box(36.00, 117.00, 36.02, 117.01)}},
	)
	wantCounts(t, "areas", rep, 0, 2, 0)
	if len(rep.Reassigned) != 1 || rep.Reassigned[0].VenueID != v1b || rep.Reassigned[0].From != 1 || rep.Reassigned[0].To != 2 {
		t.Fatalf("reassigned %+v; want v1b from 1 to 2", rep.Reassigned)
	}
	v2a := e.venues["v2a"].ID // 36.03, 117.02: outside squad 2's new area
	if len(rep.Outside) != 1 || rep.Outside[0].VenueID != v2a || rep.Outside[0].SquadID != 2 {
		t.Fatalf("outside %+v; want v2a, kept in squad 2", rep.Outside)
	}
	if v := e.venue(v2a); v.SquadID != 2 {
		t.Fatalf("a venue outside every area moved to squad %d", v.SquadID)
	}
	if v := e.venue(manual.ID); v.SquadID != 2 {
		t.Fatalf("a venue moved by hand went back to squad %d", v.SquadID)
	}
	if v := e.venue(v1a); v.SquadID != 1 {
		t.Fatalf("v1a moved to squad %d", v.SquadID)
	}
	d1.sync(0)
	d2.sync(0)
	if d1.held.has(schema.ChangeVenue, v1b) || !d2.held.has(schema.ChangeVenue, v1b) {
		t.Fatal("the reassigned venue is not where the devices see it")
	}
	if d1.held.has(schema.ChangeFinding, f.ID) || !d2.held.has(schema.ChangeFinding, f.ID) || e.finding(f.ID).SquadID != 2 {
		t.Fatal("the reassigned venue's finding did not follow it")
	}
	moves := 0
	for _, a := range e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: v1b}) {
		if a.Action == "move" {
			moves++
		}
	}
	if moves != 1 {
		t.Fatalf("%d move entries for the reassigned venue; want 1", moves)
	}
	// Again: nothing changes, nothing is written.
	audit := e.verifyAudit()
	rep = e.importAreas(
		store.ImportSquadArea{SquadID: 1, Name: "一中队", Area: geo.MultiPolygon{box(35.00, 118.30, 35.055, 118.40)}},
		store.ImportSquadArea{SquadID: 2, Area: geo.MultiPolygon{box(35.055, 118.30, 35.10, 118.40), box(36.00, 117.00, 36.02, 117.01)}},
	)
	wantCounts(t, "same areas", rep, 0, 0, 2)
	if len(rep.Reassigned) != 0 || e.verifyAudit() != audit {
		t.Fatalf("the same areas again moved %+v or wrote the audit log", rep.Reassigned)
	}
	if c, _ := d1.sync(0); len(c) != 0 {
		t.Fatalf("the same areas again delivered %+v", c)
	}
	// A squad the store does not know is created with its area.
	rep = e.importAreas(store.ImportSquadArea{SquadID: 7, Name: "七中队", Area: geo.MultiPolygon{box(30, 110, 30.1, 110.1)}})
	wantCounts(t, "new squad", rep, 1, 0, 0)
}

// A dry run answers what it would do and changes nothing.
func testImportDryRun(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	before := e.snapshot(d)
	audit := e.verifyAudit()
	rep, err := e.s.ImportSquadAreas(e.ctx, []store.ImportSquadArea{
		{SquadID: 2, Area: geo.MultiPolygon{box(35.00, 118.30, 35.10, 118.40)}},
	}, store.ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || len(rep.Reassigned) != 2 {
		t.Fatalf("dry run %+v; want v1a and v1b reassigned", rep)
	}
	if after := e.snapshot(d); after != before || e.verifyAudit() != audit {
		t.Fatalf("a dry run changed the store: %s", firstDiff(before, after))
	}
}
