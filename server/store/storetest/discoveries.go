package storetest

import (
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var discoveryCases = []contractCase{
	withEnv("ListedWithFinderPhotosZoneAndNearby", testDiscoveryListed),
	withEnv("MergeRepointsEverything", testDiscoveryMergeRepoints),
	withEnv("MergeRetriedAnswersTheSame", testDiscoveryMergeRetry),
	withEnv("MergeRefusals", testDiscoveryMergeRefusals),
	withEnv("ConcurrentMergesOneWins", testDiscoveryConcurrentMerges),
	withEnv("PushNamingMergedLandsOnSurvivor", testDiscoveryPushAfterMerge),
	withEnv("Confirm", testDiscoveryConfirm),
}

// The black café of the discovery cases: 55 m south of school s1in, so
// inside its 200 m zone; a second device records it 10 m further east.
const (
	blackLat = 35.0495
	blackLng = 118.3502
	tenMLng  = 0.00011 // about 10 m of longitude at 35° N
)

// blackCafe is an unlicensed café a device records in the field.
func blackCafe(name string, lngOffset float64) schema.Venue {
	return schema.Venue{ID: uuid.NewString(), Kind: schema.KindNetCafe, Name: name, Licensed: false,
		OpenState: schema.OpenStateOpen, Lat: blackLat, Lng: blackLng + lngOffset,
		FoundInZone: &schema.ZoneHit{SchoolID: "s1in", SchoolName: "School s1in", RuleID: "national", DistanceM: 55, InsideZone: true}}
}

// discovered is two devices of squad 1 that each recorded the same black
// café and inspected it with a photo, the bytes of which arrived.
type discovered struct {
	a, b        *device
	va, vb      schema.Venue // as pushed by a and b
	ia, ib      *schema.Inspection
	photoA, phB string
}

func (e *env) discover() discovered {
	e.t.Helper()
	x := discovered{a: e.enroll("insp1a"), b: e.enroll("insp1b")}
	x.va, x.vb = blackCafe("无名网吧", 0), blackCafe("后街网吧", tenMLng)
	x.va.Address, x.vb.Phone = "北街 7 号", "13800000000"
	x.photoA, x.phB = sha("door of the black café, a"), sha("door of the black café, b")
	x.a.mustApply(x.a.create(x.va))
	x.b.mustApply(x.b.create(x.vb))
	x.ia, x.ib = failing(x.a.inspection(x.va.ID), "NC01"), x.b.inspection(x.vb.ID)
	x.ia.Items[0].Photos = []schema.PhotoRef{photoRef(x.photoA, x.a.id, x.ia.StartedAt)}
	x.ib.Items[0].Photos = []schema.PhotoRef{photoRef(x.phB, x.b.id, x.ib.StartedAt)}
	x.a.mustApply(x.a.upsert(x.ia))
	x.b.mustApply(x.b.upsert(x.ib))
	e.received(x.photoA, 2048, x.a.uploader())
	e.received(x.phB, 2048, x.b.uploader())
	return x
}

func (e *env) discoveries(squad int64, state string) []schema.Discovery {
	e.t.Helper()
	list, err := e.s.Discoveries(e.ctx, store.DiscoveryFilter{SquadID: &squad, State: state})
	if err != nil {
		e.t.Fatalf("Discoveries: %v", err)
	}
	return list
}

func (e *env) merge(dup, into string) schema.MergeResult {
	e.t.Helper()
	r, err := e.s.MergeVenue(e.ctx, dup, into, "leader1", schema.SquadScope(1))
	if err != nil {
		e.t.Fatalf("MergeVenue %s into %s: %v", dup, into, err)
	}
	return r
}

func findDiscovery(list []schema.Discovery, id string) *schema.Discovery {
	for i := range list {
		if list[i].Venue.ID == id {
			return &list[i]
		}
	}
	return nil
}

func testDiscoveryListed(t *testing.T, e *env) {
	x := e.discover()
	list := e.discoveries(1, "")
	if len(list) != 2 {
		t.Fatalf("pending discoveries of squad 1: %d, want the two black cafés", len(list))
	}
	da := findDiscovery(list, x.va.ID)
	if da == nil || da.State != schema.DiscoveryPending || da.FoundBy != "insp1a" || da.FoundByName == "" || da.FoundAt.IsZero() {
		t.Fatalf("discovery of a: %+v", da)
	}
	if da.Venue.FoundInZone == nil || !da.Venue.FoundInZone.InsideZone {
		t.Errorf("the zone the device measured was not kept: %+v", da.Venue.FoundInZone)
	}
	if len(da.Violations) != 1 || da.Violations[0].SchoolID != e.schools["s1in"].ID {
		t.Errorf("zone violations of a: %+v", da.Violations)
	}
	if len(da.Photos) != 1 || da.Photos[0].SHA256 != x.photoA || len(da.Inspections) != 1 || da.Inspections[0] != x.ia.ID {
		t.Errorf("photos %+v, inspections %v", da.Photos, da.Inspections)
	}
	if len(da.Nearby) == 0 || da.Nearby[0].ID != x.vb.ID || da.Nearby[0].DistanceM < 5 || da.Nearby[0].DistanceM > 15 {
		t.Errorf("nearby of a, nearest first: %+v (want b about 10 m away)", da.Nearby)
	}
	for _, n := range da.Nearby {
		if n.DistanceM > schema.NearbyMergeM {
			t.Errorf("nearby %s is %.0f m away", n.ID, n.DistanceM)
		}
	}
	if other := e.discoveries(2, ""); len(other) != 0 {
		t.Errorf("squad 2 sees %d of squad 1's discoveries", len(other))
	}
	if _, err := e.s.Discovery(e.ctx, x.va.ID, schema.SquadScope(2)); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Errorf("leader of squad 2 reads squad 1's discovery: %v", err)
	}
	if _, err := e.s.Discovery(e.ctx, e.venues["v1a"].ID, schema.SquadScope(1)); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Errorf("a venue of the register is not a discovery: %v", err)
	}
}

func testDiscoveryMergeRepoints(t *testing.T, e *env) {
	x := e.discover()
	// The leader approves a's inspection (a finding on a's café), and a
	// concurrent edit of a's café leaves a conflict on it.
	e.approve(x.ia.ID)
	x.a.push(x.a.edit(x.va.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-1", Base: schema.HLC{WallMS: start.UnixMilli() - 1000, Node: "elsewhere"}.String()}}))
	before := len(e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: x.va.ID}))
	x.a.sync(0)

	r := e.merge(x.va.ID, x.vb.ID)
	if !r.Duplicate.Deleted || r.Duplicate.MergedInto != x.vb.ID || r.Survivor.ID != x.vb.ID || r.Survivor.Deleted {
		t.Fatalf("merge result: %+v", r)
	}
	// Survivor's fields win; its empty address is filled from the duplicate.
	if r.Survivor.Name != "后街网吧" || r.Survivor.Phone != "13800000000" || r.Survivor.Address != "北街 7 号" {
		t.Errorf("survivor fields: name %q phone %q address %q", r.Survivor.Name, r.Survivor.Phone, r.Survivor.Address)
	}
	ins, err := e.s.ListInspections(e.ctx, store.InspectionFilter{VenueID: x.vb.ID})
	if err != nil || len(ins) != 2 {
		t.Fatalf("inspections of the survivor: %d, %v", len(ins), err)
	}
	if left, _ := e.s.ListInspections(e.ctx, store.InspectionFilter{VenueID: x.va.ID}); len(left) != 0 {
		t.Errorf("%d inspections still name the duplicate", len(left))
	}
	fp, err := e.s.Findings(e.ctx, store.FindingFilter{VenueID: x.vb.ID})
	if err != nil || len(fp.Findings) != 1 || fp.Findings[0].InspectionID != x.ia.ID {
		t.Errorf("findings of the survivor: %+v, %v", fp.Findings, err)
	}
	if fp, _ := e.s.Findings(e.ctx, store.FindingFilter{VenueID: x.va.ID}); len(fp.Findings) != 0 {
		t.Errorf("findings still on the duplicate: %+v", fp.Findings)
	}
	zv, _ := e.s.ZoneViolations(e.ctx, store.ZoneViolationFilter{VenueID: x.vb.ID})
	if len(zv) != 1 {
		t.Errorf("standing violations of the survivor: %+v (want one for s1in)", zv)
	}
	if zv, _ := e.s.ZoneViolations(e.ctx, store.ZoneViolationFilter{VenueID: x.va.ID, IncludeCleared: true}); len(zv) != 0 {
		t.Errorf("violations still on the duplicate: %+v", zv)
	}
	cs, _ := e.s.ListConflicts(e.ctx, store.ConflictFilter{SquadID: ptr(int64(1))})
	moved, disagree := 0, 0
	for _, c := range cs {
		if c.EntityID == x.va.ID {
			t.Errorf("conflict %s still names the duplicate", c.ID)
		}
		if c.EntityID == x.vb.ID && c.Kind == schema.ConflictConcurrentEdit {
			moved++
		}
		if c.EntityID == x.vb.ID && c.Kind == schema.ConflictMergeDisagree && c.Field == schema.FieldName && c.DeviceValue == "无名网吧" {
			disagree++
		}
	}
	if moved != 1 || disagree != 1 {
		t.Errorf("conflicts moved to the survivor: %d, name disagreements: %d, of %+v", moved, disagree, cs)
	}
	for _, h := range []string{x.photoA, x.phB} {
		sq, err := e.s.SquadsReferencingPhoto(e.ctx, h)
		if err != nil || len(sq) != 1 || sq[0] != 1 {
			t.Errorf("photo %s readable by squads %v, %v", h[:8], sq, err)
		}
	}
	// Both venues keep their history and say what happened.
	da := e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: x.va.ID})
	if len(da) != before+1 || da[0].Action != schema.AuditMergedInto || da[0].To != "merged_into:"+x.vb.ID {
		t.Errorf("audit of the duplicate (newest first): %+v", da)
	}
	db := e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: x.vb.ID})
	if len(db) == 0 || db[0].Action != schema.AuditMergeAbsorb {
		t.Errorf("audit of the survivor: %+v", db)
	}
	if got := e.discoveries(1, schema.DiscoveryMerged); len(got) != 1 || got[0].Venue.ID != x.va.ID || got[0].DecidedBy != "leader1" {
		t.Errorf("merged discoveries: %+v", got)
	}
	if got := e.discoveries(1, ""); len(got) != 1 || got[0].Venue.ID != x.vb.ID {
		t.Errorf("pending after the merge: %+v", got)
	}
	// Device a receives the removal naming the survivor, and its own
	// inspection re-pointed.
	changes, _ := x.a.sync(0)
	rm := change(t, changes, schema.ChangeVenue, x.va.ID)
	if !rm.Removed || rm.MergedInto != x.vb.ID {
		t.Errorf("pull of the duplicate: %+v", rm)
	}
	ic := change(t, changes, schema.ChangeInspection, x.ia.ID)
	if ic.Inspection == nil || ic.Inspection.VenueID != x.vb.ID {
		t.Errorf("pulled inspection: %+v", ic.Inspection)
	}
	sv := change(t, changes, schema.ChangeVenue, x.vb.ID)
	if sv.Venue == nil || sv.Venue.Address != "北街 7 号" {
		t.Errorf("pulled survivor: %+v", sv.Venue)
	}
}

func testDiscoveryMergeRetry(t *testing.T, e *env) {
	x := e.discover()
	first := e.merge(x.vb.ID, x.va.ID)
	n := len(e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: x.vb.ID}))
	again := e.merge(x.vb.ID, x.va.ID)
	if again.Survivor.ID != first.Survivor.ID || again.Duplicate.MergedInto != first.Duplicate.MergedInto ||
		again.Survivor.Name != first.Survivor.Name || !again.Duplicate.Deleted {
		t.Errorf("retry answered %+v, first %+v", again, first)
	}
	if m := len(e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: x.vb.ID})); m != n {
		t.Errorf("a retried merge audited again: %d entries, was %d", m, n)
	}
}

func testDiscoveryMergeRefusals(t *testing.T, e *env) {
	x := e.discover()
	v1a, v2a := e.venues["v1a"], e.venues["v2a"]
	for _, c := range []struct {
		name      string
		dup, into string
		scope     schema.Scope
		want      schema.Code
	}{
		{"leader of another squad", x.va.ID, x.vb.ID, schema.SquadScope(2), schema.CodeNotFound},
		{"into a venue of another squad", x.va.ID, v2a.ID, schema.SquadScope(1), schema.CodeNotFound},
		{"admin across squads", x.va.ID, v2a.ID, schema.AllSquads(), ""},
		{"a licensed venue of the register", v1a.ID, x.vb.ID, schema.SquadScope(1), schema.CodeInvalid},
		{"into itself", x.vb.ID, x.vb.ID, schema.SquadScope(1), schema.CodeInvalid},
		{"unknown", uuid.NewString(), x.vb.ID, schema.SquadScope(1), schema.CodeNotFound},
		{"an inspector", x.va.ID, x.vb.ID, schema.Scope{}, schema.CodeNotFound},
	} {
		_, err := e.s.MergeVenue(e.ctx, c.dup, c.into, "someone", c.scope)
		if c.want == "" {
			// An admin may merge venues of two squads.
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		wantCode(t, c.name, err, c.want)
	}
	// x.va is now merged into v2a (by the admin): a second merge into
	// another venue is refused, and nothing merges into a deleted venue.
	_, err := e.s.MergeVenue(e.ctx, x.va.ID, x.vb.ID, "leader1", schema.AllSquads())
	wantCode(t, "double merge", err, schema.CodeConflict)
	_, err = e.s.MergeVenue(e.ctx, x.vb.ID, x.va.ID, "leader1", schema.SquadScope(1))
	wantCode(t, "into a merged venue", err, schema.CodeGone)
	if _, err := e.s.ConfirmVenue(e.ctx, x.va.ID, "leader1", schema.AllSquads()); schema.ErrorCode(err) != schema.CodeGone {
		t.Errorf("confirm of a merged venue: %v", err)
	}
}

func testDiscoveryConcurrentMerges(t *testing.T, e *env) {
	x := e.discover()
	v1a := e.venues["v1a"]
	var wg sync.WaitGroup
	errs := make([]error, 4)
	into := []string{x.vb.ID, v1a.ID, x.vb.ID, v1a.ID}
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = e.s.MergeVenue(e.ctx, x.va.ID, into[i], "leader1", schema.SquadScope(1))
		}(i)
	}
	wg.Wait()
	v := e.venue(x.va.ID)
	if v.MergedInto != x.vb.ID && v.MergedInto != v1a.ID {
		t.Fatalf("after the race the duplicate is merged into %q", v.MergedInto)
	}
	for i, err := range errs {
		switch {
		case into[i] == v.MergedInto && err != nil:
			t.Errorf("merge %d into the winner: %v", i, err)
		case into[i] != v.MergedInto:
			wantCode(t, "merge into the loser", err, schema.CodeConflict)
		}
	}
	absorbed := 0
	for _, id := range []string{x.vb.ID, v1a.ID} {
		for _, a := range e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: id}) {
			if a.Action == schema.AuditMergeAbsorb {
				absorbed++
			}
		}
	}
	if absorbed != 1 {
		t.Errorf("%d venues absorbed the duplicate", absorbed)
	}
	ins, _ := e.s.ListInspections(e.ctx, store.InspectionFilter{VenueID: v.MergedInto})
	if len(ins) < 1 {
		t.Errorf("the winner holds %d inspections", len(ins))
	}
}

func testDiscoveryPushAfterMerge(t *testing.T, e *env) {
	x := e.discover()
	e.merge(x.va.ID, x.vb.ID)
	// Device a has not pulled: it amends its inspection, starts a new one
	// and edits the café, all naming the duplicate.
	x.ia.Items[1].Note = "补记: 后门上锁"
	fresh := x.a.inspection(x.va.ID)
	res := x.a.push(x.a.upsert(x.ia), x.a.upsert(fresh),
		x.a.edit(x.va.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-9", Base: e.venue(x.va.ID).Clocks[schema.FieldAddress]}}))
	for i, r := range res[:2] {
		if r.Outcome != schema.OutcomeApplied {
			t.Errorf("mutation %d naming the merged venue: %+v", i, r)
		}
	}
	if res[2].Outcome == schema.OutcomeRejected {
		t.Errorf("an edit naming the merged venue was refused: %+v", res[2])
	}
	for _, id := range []string{x.ia.ID, fresh.ID} {
		if in := e.inspection(id); in.VenueID != x.vb.ID {
			t.Errorf("inspection %s stored on %s, want the survivor", id, in.VenueID)
		}
	}
	if v := e.venue(x.vb.ID); v.Phone != "0539-9" {
		// Based on the duplicate's clock, the edit is concurrent with the
		// survivor's own phone: recorded as a conflict at least.
		cs, _ := e.s.ListConflicts(e.ctx, store.ConflictFilter{SquadID: ptr(int64(1))})
		found := false
		for _, c := range cs {
			found = found || (c.EntityID == x.vb.ID && c.DeviceValue == "0539-9")
		}
		if !found {
			t.Errorf("the edit is neither applied (phone %q) nor a conflict", v.Phone)
		}
	}
}

func testDiscoveryConfirm(t *testing.T, e *env) {
	x := e.discover()
	d, err := e.s.ConfirmVenue(e.ctx, x.va.ID, "leader1", schema.SquadScope(1))
	if err != nil || d.State != schema.DiscoveryConfirmed || d.DecidedBy != "leader1" || d.DecidedAt == nil {
		t.Fatalf("confirm: %+v, %v", d, err)
	}
	again, err := e.s.ConfirmVenue(e.ctx, x.va.ID, "leader1", schema.SquadScope(1))
	if err != nil || again.State != schema.DiscoveryConfirmed || !again.DecidedAt.Equal(*d.DecidedAt) {
		t.Errorf("confirm again: %+v, %v", again, err)
	}
	if got := e.discoveries(1, schema.DiscoveryConfirmed); len(got) != 1 || got[0].Venue.ID != x.va.ID {
		t.Errorf("confirmed list: %+v", got)
	}
	if got := e.discoveries(1, ""); len(got) != 1 || got[0].Venue.ID != x.vb.ID {
		t.Errorf("pending list: %+v", got)
	}
	n := 0
	for _, a := range e.auditEntries(store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: x.va.ID}) {
		if a.Action == schema.AuditDiscoveryConfirm {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d confirm entries", n)
	}
	_, err = e.s.ConfirmVenue(e.ctx, x.vb.ID, "leader2", schema.SquadScope(2))
	wantCode(t, "confirm by another squad", err, schema.CodeNotFound)
	_, err = e.s.ConfirmVenue(e.ctx, e.venues["v1a"].ID, "leader1", schema.SquadScope(1))
	wantCode(t, "confirm of a register venue", err, schema.CodeInvalid)
	// A confirmed black café can still be merged (it was known after all).
	e.merge(x.va.ID, x.vb.ID)
}
