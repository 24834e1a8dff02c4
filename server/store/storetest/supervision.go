package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var supervisionCases = []contractCase{
	withEnv("ListInspectionsFilters", testSupervisionInspections),
	withEnv("ListInspectionsBrief", testSupervisionBrief),
	withEnv("InspectionsByID", testSupervisionInspectionsByID),
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
	// Pages follow each other by the cursor of the last one shown.
	all := inspectionIDs(t, e, store.InspectionFilter{})
	var paged []string
	after := ""
	for range len(all) {
		list, err := e.s.ListInspections(e.ctx, store.InspectionFilter{After: after, Limit: 2})
		if err != nil {
			t.Fatalf("ListInspections after %q: %v", after, err)
		}
		if len(list) == 0 {
			break
		}
		for _, in := range list {
			paged = append(paged, in.ID)
		}
		after = store.InspectionCursorOf(list[len(list)-1])
	}
	if !reflect.DeepEqual(paged, all) {
		t.Errorf("ListInspections by pages of 2: %v; want %v", paged, all)
	}
	if got := inspectionIDs(t, e, store.InspectionFilter{SquadID: ptr(int64(1)), After: store.InspectionCursorOf(e.inspection(ids[2]))}); !reflect.DeepEqual(got, append(newest(ids[:2]...), e.past.ID)) {
		t.Errorf("ListInspections of squad 1 after the newest: %v", got)
	}
	for _, bad := range []string{"not a cursor", store.FindingCursor{Sort: store.SortOpened, Key: "x", ID: "y"}.Encode()} {
		if _, err := e.s.ListInspections(e.ctx, store.InspectionFilter{After: bad}); schema.ErrorCode(err) != schema.CodeInvalid {
			t.Errorf("ListInspections after %q: %v; want %s", bad, err, schema.CodeInvalid)
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

// testSupervisionBrief: a brief listing holds the answers a queue card
// shows, yet flags the photos of the answers it leaves out.
func testSupervisionBrief(t *testing.T, e *env) {
	a := e.enroll("insp1a")
	e.clock.Advance(time.Hour)
	in := a.inspection(e.venues["v1a"].ID)
	in.Items[1].Result, in.Items[1].Note = schema.ResultFail, "fire exit blocked"
	in.Items[1].Photos = []schema.PhotoRef{photoRef(sha("brief shown "+in.ID), a.id, a.now())}
	in.Items[3].Note = "passed, with a remark"
	in.Items[4].Result = schema.ResultFail
	in.Items[6].Photos = []schema.PhotoRef{photoRef(sha("brief unshown "+in.ID), a.id, a.now())}
	a.mustApply(a.upsert(in))
	list := func(brief bool) schema.Inspection {
		t.Helper()
		got, err := e.s.ListInspections(e.ctx, store.InspectionFilter{DeviceID: a.id, Brief: brief, Limit: 1})
		if err != nil || len(got) != 1 || got[0].ID != in.ID {
			t.Fatalf("ListInspections brief=%v: %v, %v", brief, got, err)
		}
		return got[0]
	}
	full, brief := list(false), list(true)
	var want []schema.ItemResult
	for _, it := range full.Items {
		if it.Result == schema.ResultFail || it.Note != "" {
			want = append(want, it)
		}
	}
	if len(want) != 3 || !reflect.DeepEqual(brief.Items, want) {
		t.Errorf("brief items %+v; want the failed and noted %+v", brief.Items, want)
	}
	missing := func(in schema.Inspection) []string {
		out := slices.Clone(in.MissingPhotos)
		slices.Sort(out)
		return out
	}
	if len(full.MissingPhotos) != 2 || !reflect.DeepEqual(missing(brief), missing(full)) || *brief.PhotosComplete ||
		!reflect.DeepEqual(brief.Flags, full.Flags) || !slices.Contains(brief.Flags, schema.FlagPhotosMissing) {
		t.Errorf("brief missing %v complete %v flags %v; want those of the full read: %v %v %v", brief.MissingPhotos, *brief.PhotosComplete,
			brief.Flags, full.MissingPhotos, *full.PhotosComplete, full.Flags)
	}
}

// testSupervisionInspectionsByID: a batch read gives each inspection as
// Inspection (or a brief listing) does, leaves out ids that name none,
// reads a repeated id once, and refuses more ids than a ledger page names.
func testSupervisionInspectionsByID(t *testing.T, e *env) {
	a, b := e.enroll("insp1a"), e.enroll("insp2")
	e.clock.Advance(time.Hour)
	one := a.inspection(e.venues["v1a"].ID)
	one.Items[2].Result, one.Items[2].Note = schema.ResultFail, "extinguisher expired"
	one.Items[2].Photos = []schema.PhotoRef{photoRef(sha("byid "+one.ID), a.id, a.now())}
	a.mustApply(a.upsert(one))
	two := b.inspection(e.venues["v2a"].ID)
	b.mustApply(b.upsert(two))
	got, err := e.s.InspectionsByID(e.ctx, []string{two.ID, one.ID, uuid.NewString(), one.ID}, false)
	if err != nil || len(got) != 2 {
		t.Fatalf("InspectionsByID of two known ids, one unknown and a repeat: %d, %v", len(got), err)
	}
	for _, in := range got {
		want, err := e.s.Inspection(e.ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, want) {
			t.Errorf("InspectionsByID %s:\n%+v\nwant as Inspection reads it:\n%+v", in.ID, in, want)
		}
		if in.Venue == nil || in.Venue.ID != in.VenueID {
			t.Errorf("inspection %s without its venue: %+v", in.ID, in.Venue)
		}
	}
	brief, err := e.s.InspectionsByID(e.ctx, []string{one.ID}, true)
	if err != nil || len(brief) != 1 {
		t.Fatalf("InspectionsByID brief: %v, %v", brief, err)
	}
	listed, err := e.s.ListInspections(e.ctx, store.InspectionFilter{DeviceID: a.id, Brief: true, Limit: 1})
	if err != nil || len(listed) != 1 || !reflect.DeepEqual(brief[0], listed[0]) {
		t.Errorf("InspectionsByID brief %+v; want as a brief listing shows it %+v (%v)", brief, listed, err)
	}
	if len(brief[0].Items) != 1 || len(brief[0].Items[0].Photos) != 1 {
		t.Errorf("brief items %+v; want the one failed answer with its photo", brief[0].Items)
	}
	if none, err := e.s.InspectionsByID(e.ctx, nil, false); err != nil || none == nil || len(none) != 0 {
		t.Errorf("InspectionsByID of no ids: %v, %v; want an empty list", none, err)
	}
	many := make([]string, store.MaxInspectionsByID+1)
	for i := range many {
		many[i] = uuid.NewString()
	}
	if _, err := e.s.InspectionsByID(e.ctx, many, false); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Errorf("InspectionsByID of %d ids: %v; want invalid", len(many), err)
	}
}
