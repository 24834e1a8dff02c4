package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var supervisionCases = []contractCase{
	withEnv("ListInspectionsFilters", testSupervisionInspections),
	withEnv("ListVenuesFilters", testSupervisionVenues),
	withEnv("ListConflictsNewestFirst", testSupervisionConflicts),
	withEnv("EditVenueWithinScope", testSupervisionEditScope),
	withEnv("MovedVenueShownAsItsSquadSawIt", testSupervisionMovedVenue),
}

// testSupervisionMovedVenue moves a venue away after squad 1 inspected it;
// squad 2 edits it. Squad 1's inspection shows the venue as it was when
// it left squad 1, never squad 2's phone, address or licence.
func testSupervisionMovedVenue(t *testing.T, e *env) {
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	id := e.venues["v1b"].ID
	if _, _, err := e.s.EditVenue(e.ctx, id, map[string]schema.FieldEdit{schema.FieldName: {Value: "Renamed by squad 1"}}, nil,
		serverActor("leader1"), schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	ours := a.inspection(id)
	a.mustApply(a.upsert(ours))
	e.clock.Advance(time.Hour)
	atMove := e.venue(id)
	if _, err := e.s.MoveVenue(e.ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	b.sync(0)
	moved := e.venue(id)
	b.mustApply(b.edit(id, map[string]schema.FieldEdit{
		schema.FieldPhone:   {Value: "squad 2's phone", Base: moved.Clocks[schema.FieldPhone]},
		schema.FieldAddress: {Value: "squad 2's address", Base: moved.Clocks[schema.FieldAddress]},
	}))
	if _, _, err := e.s.EditVenue(e.ctx, id, map[string]schema.FieldEdit{schema.FieldLicenceNo: {Value: "squad 2's licence"}}, nil,
		serverActor("leader2"), schema.SquadScope(2)); err != nil {
		t.Fatal(err)
	}
	theirs := b.inspection(id)
	b.mustApply(b.upsert(theirs))

	seen := func(what string, v *schema.Venue, want schema.Venue, squad int64) {
		t.Helper()
		if v == nil || v.ID != id || v.SquadID != squad || v.Name != want.Name || v.Phone != want.Phone || v.Address != want.Address ||
			v.LicenceNo != want.LicenceNo || v.Kind != want.Kind || v.Lat != want.Lat {
			t.Fatalf("%s shows venue %+v; want %+v in squad %d", what, v, want, squad)
		}
	}
	seen("squad 1's inspection", e.inspection(ours.ID).Venue, atMove, 1)
	list, err := e.s.ListInspections(e.ctx, store.InspectionFilter{SquadID: ptr(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.ID == ours.ID {
			seen("squad 1's list", in.Venue, atMove, 1)
		}
	}
	now := e.venue(id)
	if now.Phone != "squad 2's phone" || now.LicenceNo != "squad 2's licence" {
		t.Fatalf("squad 2's edits did not apply: %+v", now)
	}
	seen("squad 2's inspection", e.inspection(theirs.ID).Venue, now, 2)

	// Back in squad 1, it is squad 1's venue as it is; squad 2 now sees
	// it as it left squad 2.
	if _, err := e.s.MoveVenue(e.ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	seen("squad 1's inspection after the venue came back", e.inspection(ours.ID).Venue, now, 1)
	seen("squad 2's inspection after the venue left it", e.inspection(theirs.ID).Venue, now, 2)
	if _, _, err := e.s.EditVenue(e.ctx, id, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "squad 1's new phone"}}, nil,
		serverActor("leader1"), schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	seen("squad 2's inspection after squad 1 edited the venue again", e.inspection(theirs.ID).Venue, now, 2)
}

func inspectionIDs(t *testing.T, e *env, f store.InspectionFilter) []string {
	t.Helper()
	list, err := e.s.ListInspections(e.ctx, f)
	if err != nil {
		t.Fatalf("ListInspections(%+v): %v", f, err)
	}
	var out []string
	for i, in := range list {
		if i > 0 && in.StartedAt.After(list[i-1].StartedAt) {
			t.Fatalf("ListInspections(%+v) not newest first: %v after %v", f, in.StartedAt, list[i-1].StartedAt)
		}
		if in.Venue == nil || in.Venue.ID != in.VenueID || in.PhotosComplete == nil {
			t.Fatalf("listed inspection %s without its venue or photo state: %+v", in.ID, in)
		}
		out = append(out, in.ID)
	}
	return out
}

func testSupervisionInspections(t *testing.T, e *env) {
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	var ids []string // squad 1, oldest first
	for i := 0; i < 3; i++ {
		e.clock.Advance(time.Hour)
		in := a.inspection(e.venues["v1a"].ID)
		a.mustApply(a.upsert(in))
		ids = append(ids, in.ID)
	}
	e.clock.Advance(time.Hour)
	inb := b.inspection(e.venues["v2a"].ID)
	single := clone(inb)
	single.ID = inb.ID
	single.Inspectors = single.Inspectors[:1]
	b.mustApply(b.upsert(single))
	if _, err := e.s.ReviewInspection(e.ctx, ids[1], store.ReviewInput{Action: schema.ReviewApprove, By: "leader1"}, schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	newest := func(list ...string) []string { out := slices.Clone(list); slices.Reverse(out); return out }
	for _, c := range []struct {
		name string
		f    store.InspectionFilter
		want []string
	}{
		{"every squad", store.InspectionFilter{}, append([]string{inb.ID}, append(newest(ids...), e.past.ID)...)},
		{"squad 1", store.InspectionFilter{SquadID: ptr(int64(1))}, append(newest(ids...), e.past.ID)},
		{"squad 2", store.InspectionFilter{SquadID: ptr(int64(2))}, []string{inb.ID}},
		{"approved", store.InspectionFilter{Status: schema.StatusApproved}, []string{ids[1]}},
		{"submitted in squad 1", store.InspectionFilter{SquadID: ptr(int64(1)), Status: schema.StatusSubmitted}, []string{ids[2], ids[0], e.past.ID}},
		{"since the second", store.InspectionFilter{Since: e.inspection(ids[1]).StartedAt}, []string{inb.ID, ids[2], ids[1]}},
		{"one device's", store.InspectionFilter{DeviceID: a.id}, newest(ids...)},
		{"limited", store.InspectionFilter{Limit: 2}, []string{inb.ID, ids[2]}},
	} {
		if got := inspectionIDs(t, e, c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ListInspections %s: %v; want %v", c.name, got, c.want)
		}
	}
	if got := e.inspection(inb.ID); !slices.Contains(got.Flags, schema.FlagSingleInspector) {
		t.Errorf("inspection by one inspector has flags %v; want %s", got.Flags, schema.FlagSingleInspector)
	}
	if got := e.inspection(ids[0]); len(got.Flags) != 0 {
		t.Errorf("inspection by two inspectors without photos has flags %v", got.Flags)
	}
}

func testSupervisionVenues(t *testing.T, e *env) {
	ktv := venueOf(1, "Aaa KTV")
	ktv.Kind = schema.KindKTV
	ktv, err := e.s.CreateVenue(e.ctx, ktv, serverActor("admin"))
	if err != nil {
		t.Fatal(err)
	}
	gone := e.newVenue(1, "Zzz gone")
	if err := e.s.DeleteVenue(e.ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	names := func(f store.VenueFilter) []string {
		t.Helper()
		list, err := e.s.ListVenues(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, v := range list {
			out = append(out, v.Name)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.VenueFilter
		want []string
	}{
		{"all, by name, no deleted", store.VenueFilter{}, []string{"Aaa KTV", "Café v1a", "Café v1b", "Café v2a"}},
		{"squad 1", store.VenueFilter{SquadID: ptr(int64(1))}, []string{"Aaa KTV", "Café v1a", "Café v1b"}},
		{"squad 2 cafés", store.VenueFilter{SquadID: ptr(int64(2)), Kind: schema.KindNetCafe}, []string{"Café v2a"}},
		{"KTVs", store.VenueFilter{Kind: schema.KindKTV}, []string{"Aaa KTV"}},
		{"limited", store.VenueFilter{Limit: 2}, []string{"Aaa KTV", "Café v1a"}},
	} {
		if got := names(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ListVenues %s: %v; want %v", c.name, got, c.want)
		}
	}
	// A created venue is stamped by the server clock on every field.
	if len(ktv.Clocks) != len(schema.VenueFields) || ktv.OpenState != schema.OpenStateOpen {
		t.Fatalf("created venue %+v; want a clock per field and open", ktv)
	}
	for _, f := range schema.VenueFields {
		if h, err := schema.ParseHLC(ktv.Clocks[f]); err != nil || h.Node != "server" {
			t.Fatalf("clock of %s: %q, %v; want a server HLC", f, ktv.Clocks[f], err)
		}
	}
	bad := venueOf(1, "")
	_, err = e.s.CreateVenue(e.ctx, bad, serverActor("admin"))
	wantCode(t, "CreateVenue without a name", err, schema.CodeInvalid)
}

func testSupervisionConflicts(t *testing.T, e *env) {
	d1, d2 := e.enroll("insp1a"), e.enroll("insp2")
	var ids []string // oldest first
	for _, c := range []struct {
		d *device
		v schema.Venue
	}{{d1, e.venues["v1a"]}, {d2, e.venues["v2a"]}, {d1, e.venues["v1b"]}} {
		e.clock.Advance(time.Minute)
		if _, _, err := e.s.EditVenue(e.ctx, c.v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "server"}}, nil, serverActor("admin"), schema.AllSquads()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		r := c.d.push(c.d.edit(c.v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "device", Base: c.v.Clocks[schema.FieldName]}}))[0]
		wantOutcome(t, "stale edit", r, schema.OutcomeConflict, schema.CodeConflict)
		ids = append(ids, r.ConflictID)
	}
	if _, err := e.s.ResolveConflict(e.ctx, ids[0], "leader1", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	list := func(f store.ConflictFilter) []string {
		t.Helper()
		cs, err := e.s.ListConflicts(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.ConflictFilter
		want []string
	}{
		{"all", store.ConflictFilter{}, []string{ids[2], ids[1], ids[0]}},
		{"open", store.ConflictFilter{OpenOnly: true}, []string{ids[2], ids[1]}},
		{"squad 1", store.ConflictFilter{SquadID: ptr(int64(1))}, []string{ids[2], ids[0]}},
		{"squad 2 open", store.ConflictFilter{SquadID: ptr(int64(2)), OpenOnly: true}, []string{ids[1]}},
		{"limited", store.ConflictFilter{Limit: 1}, []string{ids[2]}},
	} {
		if got := list(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ListConflicts %s: %v; want %v", c.name, got, c.want)
		}
	}
	if c := e.conflict(ids[1]); c.SquadID != 2 || !c.CreatedAt.Equal(start.Add(4*time.Minute)) {
		t.Errorf("conflict %+v; want squad 2, created at %v", c, start.Add(4*time.Minute))
	}
}

func testSupervisionEditScope(t *testing.T, e *env) {
	v := e.venues["v1a"]
	for _, sc := range []struct {
		name  string
		scope schema.Scope
	}{{"another squad's leader", schema.SquadScope(2)}, {"no squad", schema.Scope{}}} {
		_, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Hijacked"}}, nil, serverActor("leader2"), sc.scope)
		wantCode(t, "EditVenue by "+sc.name, err, schema.CodeNotFound)
	}
	_, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldLicensed: {Value: "maybe"}}, nil, serverActor("leader1"), schema.SquadScope(1))
	wantCode(t, "EditVenue with a bad value", err, schema.CodeInvalid)
	if got := e.venue(v.ID); got.Name != v.Name || !got.Licensed {
		t.Fatalf("venue after refused edits: %+v", got)
	}
	got, conflicts, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldLicensed: {Value: "false"}}, nil, serverActor("leader1"), schema.SquadScope(1))
	if err != nil || got.Licensed || len(conflicts) != 0 {
		t.Fatalf("EditVenue by the squad's leader: %+v, %v, %v", got, conflicts, err)
	}
	if h, err := schema.ParseHLC(got.Clocks[schema.FieldLicensed]); err != nil || h.Node != "server" || got.Clocks[schema.FieldName] != v.Clocks[schema.FieldName] {
		t.Fatalf("clocks after a server edit of one field: %v", got.Clocks)
	}
}
