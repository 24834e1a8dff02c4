package storetest

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

var zoneCases = []contractCase{
	{"NationalRuleSeeded", testZoneNationalRule},
	{"BoundaryNotCentre", testZoneBoundary},
	{"MovedOutClears", testZoneMovedOut},
	{"ClosedClears", testZoneClosed},
	{"KindergartenRuleIsData", testZoneKindergartenRule},
	{"RuleInForceOnTheDay", testZoneRuleDay},
	{"ImportEvaluates", testZoneImport},
	{"BadRuleRefused", testZoneBadRule},
}

// zoneCentre is the centre of the campus the zone cases measure from,
// inside squad 1's area.
var zoneCentre = geo.Point{118.33, 35.07}

// campus is a square campus about 220 m wide around c: its boundary lies
// 110 m from its centre, so a venue 150 m from the boundary is 260 m from
// the centre.
func campus(id, kind string, c geo.Point) schema.School {
	n, s := geo.Direct(c, 0, 110)[1], geo.Direct(c, 180, 110)[1]
	e, w := geo.Direct(c, 90, 110)[0], geo.Direct(c, 270, 110)[0]
	return schema.School{ID: id, Name: "学校 " + id, Kind: kind, Polygon: [][2]float64{{w, s}, {e, s}, {e, n}, {w, n}, {w, s}}}
}

// eastOf is the point dist metres east of the campus's east boundary.
func eastOf(c geo.Point, dist float64) geo.Point {
	edge := geo.Point{geo.Direct(c, 90, 110)[0], c[1]}
	return geo.Direct(edge, 90, dist)
}

type zoneEnv struct {
	t     *testing.T
	ctx   context.Context
	s     store.Store
	clock *fakeClock
}

// newZoneEnv imports squad 1 with the schools.
func newZoneEnv(t *testing.T, open Open, schools ...schema.School) *zoneEnv {
	t.Helper()
	clock := &fakeClock{t: start}
	z := &zoneEnv{t: t, ctx: store.WithAuditor(context.Background(), "admin", "192.0.2.1"), clock: clock, s: openStore(t, open, clock)}
	if err := z.s.Import(z.ctx, store.Dataset{Squads: []store.Squad{squad1, squad2}, Schools: schools}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	return z
}

func (z *zoneEnv) cafe(name string, at geo.Point) schema.Venue {
	z.t.Helper()
	v, err := z.s.CreateVenue(z.ctx, schema.Venue{ID: uuid.NewString(), SquadID: 1, Kind: schema.KindNetCafe, Name: name,
		Licensed: false, Lat: at[1], Lng: at[0]}, serverActor("admin"))
	if err != nil {
		z.t.Fatalf("CreateVenue %s: %v", name, err)
	}
	return v
}

func (z *zoneEnv) violations(venueID string, cleared bool) []schema.ZoneViolation {
	z.t.Helper()
	list, err := z.s.ZoneViolations(z.ctx, store.ZoneViolationFilter{VenueID: venueID, IncludeCleared: cleared})
	if err != nil {
		z.t.Fatalf("ZoneViolations: %v", err)
	}
	return list
}

// zoneAudit is the venue's zone entries, oldest first.
func (z *zoneEnv) zoneAudit(venueID string) []schema.AuditEntry {
	z.t.Helper()
	list, err := z.s.AuditEntries(z.ctx, store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: venueID})
	if err != nil {
		z.t.Fatalf("AuditEntries: %v", err)
	}
	var out []schema.AuditEntry
	for i := len(list) - 1; i >= 0; i-- {
		if a := list[i].Action; a == store.AuditZoneFlag || a == store.AuditZoneClear {
			out = append(out, list[i])
		}
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func testZoneNationalRule(t *testing.T, open Open) {
	z := newZoneEnv(t, open)
	rules, err := z.s.ZoneRules(z.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.DistanceM == 200 && r.Method == geo.MethodBoundaryStraightLine && strings.Join(r.SchoolKinds, ",") == "primary,secondary" &&
			strings.Join(r.VenueKinds, ",") == "net_cafe,arcade,ktv" {
			return
		}
	}
	t.Fatalf("no national 200 m rule among %+v", rules)
}

func testZoneBoundary(t *testing.T, open Open) {
	school := campus("s-primary", "primary", zoneCentre)
	z := newZoneEnv(t, open, school)
	at := eastOf(zoneCentre, 150)
	if d, _, _ := geo.Inverse(zoneCentre, at); !near(d, 260, 1) {
		t.Fatalf("test geometry: %v m from the centre; want 260", d)
	}
	v := z.cafe("黑网吧", at)
	got := z.violations(v.ID, false)
	if len(got) != 1 || got[0].SchoolID != school.ID || !near(got[0].DistanceM, 150, 1) || got[0].SquadID != 1 ||
		got[0].RuleID == "" || !got[0].Since.Equal(start) || got[0].ClearedAt != nil {
		t.Fatalf("violations = %+v; want one, 150 m from %s, since %v", got, school.ID, start)
	}
	au := z.zoneAudit(v.ID)
	if len(au) != 1 || au[0].Action != store.AuditZoneFlag || au[0].Actor != "admin" || !strings.Contains(au[0].Reason, "150 m") {
		t.Fatalf("zone audit = %+v; want one flag by admin naming 150 m", au)
	}
	// Re-evaluating an unchanged venue writes nothing.
	if _, _, err := z.s.EditVenue(z.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-9"}}, nil,
		serverActor("admin"), schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	if got := z.violations(v.ID, true); len(got) != 1 || len(z.zoneAudit(v.ID)) != 1 {
		t.Fatalf("an edit that does not move the venue changed its violations: %+v", got)
	}
	// A leader of another squad sees none of them.
	if list, _ := z.s.ZoneViolations(z.ctx, store.ZoneViolationFilter{SquadID: ptr(int64(2))}); len(list) != 0 {
		t.Fatalf("squad 2 sees %+v", list)
	}
}

func testZoneMovedOut(t *testing.T, open Open) {
	school := campus("s-primary", "primary", zoneCentre)
	z := newZoneEnv(t, open, school)
	v := z.cafe("网吧", eastOf(zoneCentre, 150))
	z.clock.Advance(time.Hour)
	to := eastOf(zoneCentre, 210)
	_, err := z.s.RelocateVenue(z.ctx, v.ID, to[1], to[0], schema.SquadScope(2))
	wantCode(t, "RelocateVenue out of scope", err, schema.CodeNotFound)
	if _, err := z.s.RelocateVenue(z.ctx, v.ID, to[1], to[0], schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	if got := z.violations(v.ID, false); len(got) != 0 {
		t.Fatalf("still standing after the move to 210 m: %+v", got)
	}
	got := z.violations(v.ID, true)
	if len(got) != 1 || got[0].ClearedAt == nil || !got[0].ClearedAt.Equal(start.Add(time.Hour)) || got[0].ClearReason != schema.ZoneClearMovedOut {
		t.Fatalf("cleared = %+v; want cleared an hour later, %q", got, schema.ZoneClearMovedOut)
	}
	au := z.zoneAudit(v.ID)
	if len(au) != 2 || au[1].Action != store.AuditZoneClear || au[1].Actor != "admin" ||
		!strings.Contains(au[1].Reason, schema.ZoneClearMovedOut) || !strings.Contains(au[1].Reason, "210 m") {
		t.Fatalf("zone audit = %+v; want flag then clear by admin, moved out, 210 m", au)
	}
	// Moving back flags it again: a new row, the old one kept.
	back := eastOf(zoneCentre, 100)
	if _, err := z.s.RelocateVenue(z.ctx, v.ID, back[1], back[0], schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	if got := z.violations(v.ID, true); len(got) != 2 || got[0].ClearedAt != nil || !near(got[0].DistanceM, 100, 1) {
		t.Fatalf("after moving back: %+v; want a standing row at 100 m before the cleared one", got)
	}
}

func testZoneClosed(t *testing.T, open Open) {
	school := campus("s-secondary", "secondary", zoneCentre)
	z := newZoneEnv(t, open, school)
	v := z.cafe("网吧", eastOf(zoneCentre, 50))
	if len(z.violations(v.ID, false)) != 1 {
		t.Fatal("not flagged at 50 m")
	}
	if _, _, err := z.s.EditVenue(z.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldOpenState: {Value: schema.OpenStateClosed}}, nil,
		serverActor("admin"), schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	got := z.violations(v.ID, true)
	if len(got) != 1 || got[0].ClearReason != schema.ZoneClearClosed {
		t.Fatalf("after closing: %+v; want cleared as %q", got, schema.ZoneClearClosed)
	}
	if au := z.zoneAudit(v.ID); len(au) != 2 || !strings.Contains(au[1].Reason, schema.ZoneClearClosed) {
		t.Fatalf("zone audit = %+v", au)
	}
	// Reopening flags it again.
	if _, _, err := z.s.EditVenue(z.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldOpenState: {Value: schema.OpenStateOpen}}, nil,
		serverActor("admin"), schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	if len(z.violations(v.ID, false)) != 1 {
		t.Fatal("not flagged again after reopening")
	}
}

func kindergartenRule(dist float64) schema.ZoneRule {
	return schema.ZoneRule{ID: "gd-kindergarten", Name: "幼儿园周边 100 米", DistanceM: dist, Method: geo.MethodBoundaryStraightLine,
		SchoolKinds: []string{"kindergarten"}, VenueKinds: []string{schema.KindNetCafe, schema.KindArcade, schema.KindKTV},
		EffectiveFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), LegalBasis: "省级规定"}
}

func testZoneKindergartenRule(t *testing.T, open Open) {
	kg := campus("kg", "kindergarten", zoneCentre)
	z := newZoneEnv(t, open, kg)
	in := z.cafe("80 m", eastOf(zoneCentre, 80))
	out := z.cafe("150 m", eastOf(zoneCentre, 150))
	if len(z.violations(in.ID, false)) != 0 {
		t.Fatal("a kindergarten flagged before any rule names kindergartens")
	}
	if _, err := z.s.PutZoneRule(z.ctx, kindergartenRule(100)); err != nil {
		t.Fatal(err)
	}
	got := z.violations(in.ID, false)
	if len(got) != 1 || got[0].RuleID != "gd-kindergarten" || !near(got[0].DistanceM, 80, 1) {
		t.Fatalf("80 m venue after the kindergarten rule: %+v", got)
	}
	if got := z.violations(out.ID, false); len(got) != 0 {
		t.Fatalf("150 m venue flagged by a 100 m rule: %+v", got)
	}
	// The rule narrowed to 50 m: the 80 m venue clears, because the rule changed.
	if _, err := z.s.PutZoneRule(z.ctx, kindergartenRule(50)); err != nil {
		t.Fatal(err)
	}
	got = z.violations(in.ID, true)
	if len(got) != 1 || got[0].ClearReason != schema.ZoneClearRule {
		t.Fatalf("after narrowing to 50 m: %+v; want cleared as %q", got, schema.ZoneClearRule)
	}
	if au := z.zoneAudit(in.ID); len(au) != 2 || !strings.Contains(au[1].Reason, "80 m") {
		t.Fatalf("zone audit = %+v", au)
	}
	rules, err := z.s.ZoneRules(z.ctx)
	if err != nil || len(rules) != 2 {
		t.Fatalf("ZoneRules = %+v, %v; want national and kindergarten", rules, err)
	}
}

func testZoneRuleDay(t *testing.T, open Open) {
	kg := campus("kg", "kindergarten", zoneCentre)
	z := newZoneEnv(t, open, kg)
	// 2026-03-02 16:30 UTC is 00:30 on 3 March in Beijing.
	z.clock.Advance(7*time.Hour + 30*time.Minute)
	r := kindergartenRule(100)
	r.EffectiveFrom = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	if _, err := z.s.PutZoneRule(z.ctx, r); err != nil {
		t.Fatal(err)
	}
	v := z.cafe("网吧", eastOf(zoneCentre, 60))
	if got := z.violations(v.ID, false); len(got) != 0 {
		t.Fatalf("flagged by a rule not yet in force: %+v", got)
	}
	// A rule from 3 March is in force at 00:30 on 3 March in Beijing,
	// though it is still 2 March in UTC.
	r.EffectiveFrom = time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	if _, err := z.s.PutZoneRule(z.ctx, r); err != nil {
		t.Fatal(err)
	}
	got := z.violations(v.ID, false)
	if len(got) != 1 || got[0].RuleID != r.ID {
		t.Fatalf("on 3 March in Beijing: %+v; want flagged by %s", got, r.ID)
	}
	// A rule that ended yesterday names nothing: the successor does.
	r.EffectiveTo = time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	r.EffectiveFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := z.s.PutZoneRule(z.ctx, r); err != nil {
		t.Fatal(err)
	}
	next := kindergartenRule(80)
	next.ID, next.EffectiveFrom = "gd-kindergarten-2026", time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	if _, err := z.s.PutZoneRule(z.ctx, next); err != nil {
		t.Fatal(err)
	}
	got = z.violations(v.ID, false)
	if len(got) != 1 || got[0].RuleID != next.ID {
		t.Fatalf("after the successor: %+v; want flagged by %s", got, next.ID)
	}
}

func testZoneImport(t *testing.T, open Open) {
	school := campus("s-primary", "primary", zoneCentre)
	clock := &fakeClock{t: start}
	s := openStore(t, open, clock)
	at := eastOf(zoneCentre, 120)
	v := schema.Venue{ID: uuid.NewString(), SquadID: 1, Kind: schema.KindArcade, Name: "电子游艺", Licensed: true,
		OpenState: schema.OpenStateOpen, Lat: at[1], Lng: at[0]}
	if err := s.Import(context.Background(), store.Dataset{Squads: []store.Squad{squad1}, Venues: []schema.Venue{v}, Schools: []schema.School{school}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ZoneViolations(context.Background(), store.ZoneViolationFilter{SquadID: ptr(int64(1))})
	if err != nil || len(got) != 1 || got[0].VenueID != v.ID || !near(got[0].DistanceM, 120, 1) {
		t.Fatalf("after import: %+v, %v; want the arcade at 120 m", got, err)
	}
}

func testZoneBadRule(t *testing.T, open Open) {
	z := newZoneEnv(t, open)
	for _, bad := range []func(r *schema.ZoneRule){
		func(r *schema.ZoneRule) { r.DistanceM = -5 },
		func(r *schema.ZoneRule) { r.DistanceM = math.NaN() },
		func(r *schema.ZoneRule) { r.Method = "as the crow flies" },
		func(r *schema.ZoneRule) { r.SchoolKinds = []string{"university"} },
		func(r *schema.ZoneRule) { r.EffectiveFrom = time.Time{} },
		func(r *schema.ZoneRule) { r.ID = "a/b" },
	} {
		r := kindergartenRule(100)
		bad(&r)
		_, err := z.s.PutZoneRule(z.ctx, r)
		wantCode(t, "PutZoneRule "+r.ID, err, schema.CodeInvalid)
	}
}
