package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var planCases = []contractCase{
	{"CandidatesRiskiestFirst", testPlanCandidates},
	{"SaveValidatesReplacesAndLinksDone", testSavePlan},
	{"CoInspectorsMayBePlanned", testPlanCoInspectors},
}

// testPlanCoInspectors: the squad's inspectors, then its co-inspectors,
// may be planned; a leader may not.
func testPlanCoInspectors(t *testing.T, open Open) {
	s, f, clock := rollupStore(t, open)
	clock.t = CST(4, 1, 12, 0)
	ctx := context.Background()
	if _, err := s.AddCoInspector(ctx, 1, "ins3a", "lead1", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	list, err := s.PlanInspectors(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Username)
	}
	if !reflect.DeepEqual(names, []string{"ins1a", "ins1b", "ins3a"}) || !list[2].CoInspector {
		t.Fatalf("PlanInspectors = %+v; want ins1a, ins1b, then co-inspector ins3a", list)
	}
	v := schema.PlanVisit{VenueID: f.Venues["c1b"].ID, Day: "2026-04-30", Inspectors: [2]string{"ins3a", "ins1b"}}
	got, err := s.SavePlan(ctx, 1, aprilPlan(t), []schema.PlanVisit{v}, "lead1")
	if err != nil || len(got) != 1 || got[0].Inspectors != v.Inspectors || got[0].CreatedBy != "lead1" {
		t.Fatalf("SavePlan with a co-inspector = %+v, %v", got, err)
	}
}

// aprilPlan is April of the rollup fixture seen on its first day.
func aprilPlan(t *testing.T) store.PlanMonth {
	t.Helper()
	m, err := store.NewPlanMonth("2026-04", CST(4, 1, 12, 0), RollupZone)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testPlanCandidates: squad 1's cafés not inspected in April (c1d was,
// c1x is closed), the one with a repeat first, then the never inspected,
// then the longest since its last inspection.
func testPlanCandidates(t *testing.T, open Open) {
	s, f, _ := rollupStore(t, open)
	got, err := s.PlanCandidates(context.Background(), 1, aprilPlan(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var risk []bool
	for _, c := range got {
		ids = append(ids, c.VenueID)
		risk = append(risk, c.AtRisk)
	}
	want := []string{f.Venues["c1a"].ID, f.Venues["b1"].ID, f.Venues["c1b"].ID, f.Venues["c1c"].ID}
	if !reflect.DeepEqual(ids, want) || !reflect.DeepEqual(risk, []bool{true, false, true, true}) {
		t.Fatalf("candidates = %+v; want c1a, b1, c1b, c1c (b1 not at risk)", got)
	}
	if got[0].Repeats != 1 || got[1].LastInspected != nil || got[2].LastInspected == nil || len(got[0].Reasons) == 0 {
		t.Fatalf("risk facts: %+v", got)
	}
}

// testSavePlan: bad visits are refused whole; a save replaces the
// unfinished visits and keeps done ones (linked to their inspection);
// the inspectors' pulls end with exactly the visits planned for them.
func testSavePlan(t *testing.T, open Open) {
	s, f, clock := rollupStore(t, open)
	clock.t = CST(4, 1, 12, 0)
	ctx := context.Background()
	m := aprilPlan(t)
	visit := func(key, day, a, b string) schema.PlanVisit {
		return schema.PlanVisit{VenueID: f.Venues[key].ID, Day: day, Inspectors: [2]string{a, b}}
	}
	for name, bad := range map[string]schema.PlanVisit{
		"other squad's venue": visit("c2a", "2026-04-02", "ins1a", "ins1b"),
		"same inspector":      visit("c1a", "2026-04-02", "ins1a", "ins1a"),
		"past day":            visit("c1a", "2026-03-31", "ins1a", "ins1b"),
		"after month end":     visit("c1a", "2026-05-01", "ins1a", "ins1b"),
		"a leader":            visit("c1a", "2026-04-02", "ins1a", "lead1"),
		"not a co-inspector":  visit("c1a", "2026-04-02", "ins1a", "ins2a"),
	} {
		if _, err := s.SavePlan(ctx, 1, m, []schema.PlanVisit{visit("c1b", "2026-04-03", "ins1a", "ins1b"), bad}, "lead1"); schema.ErrorCode(err) != schema.CodeInvalid {
			t.Errorf("%s: err = %v; want invalid", name, err)
		}
	}
	if got, err := s.PlanVisits(ctx, 1, m); err != nil || len(got) != 0 {
		t.Fatalf("after refused saves: %+v, %v", got, err)
	}
	audits0, err := s.CountAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.SavePlan(ctx, 1, m, []schema.PlanVisit{visit("c1a", "2026-04-02", "ins1a", "ins1b"),
		visit("c1d", "2026-04-01", "ins1b", "ins1a")}, "lead1")
	if err != nil || len(first) != 2 {
		t.Fatalf("SavePlan = %+v, %v", first, err)
	}
	var i6 string
	for _, in := range f.Dataset.Inspections {
		if in.VenueID == f.Venues["c1d"].ID {
			i6 = in.ID
		}
	}
	byVenue := func(list []schema.PlanVisit) map[string]schema.PlanVisit {
		out := map[string]schema.PlanVisit{}
		for _, v := range list {
			out[v.VenueID] = v
		}
		return out
	}
	if v := byVenue(first)[f.Venues["c1d"].ID]; v.DoneInspectionID != i6 || v.Starts != CST(4, 1, 0, 0).UTC() && !v.Starts.Equal(CST(4, 1, 0, 0)) {
		t.Fatalf("c1d visit = %+v; want done by %s", v, i6)
	}
	second, err := s.SavePlan(ctx, 1, m, []schema.PlanVisit{visit("c1c", "2026-04-05", "ins1a", "ins1b")}, "lead1")
	if err != nil {
		t.Fatal(err)
	}
	got := byVenue(second)
	if len(got) != 2 || got[f.Venues["c1c"].ID].Day != "2026-04-05" || got[f.Venues["c1d"].ID].DoneInspectionID != i6 {
		t.Fatalf("after the second save: %+v; want c1c planned and c1d kept done", second)
	}
	if n, err := s.CountAudit(ctx); err != nil || n != audits0+4 {
		t.Fatalf("audit entries %d → %d, %v; want 4 more (2 added, 1 dropped, 1 added)", audits0, n, err)
	}
	// The pulls of ins1a end with the two visits; ins2a gets none.
	pulled := func(user string) map[string]bool {
		u := f.Users[user]
		have := map[string]bool{}
		cur := ""
		for {
			p, err := s.Pull(ctx, store.PullInput{UserID: u.ID, DeviceID: "plan-device", SquadID: u.SquadID, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Changes {
				if c.Kind == schema.ChangeVisit {
					have[c.ID] = !c.Removed && c.Visit != nil
				}
			}
			if cur = p.Cursor; !p.More {
				break
			}
		}
		for id, ok := range have {
			if !ok {
				delete(have, id)
			}
		}
		return have
	}
	want := map[string]bool{}
	for _, v := range second {
		want[v.ID] = true
	}
	if got := pulled("ins1a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("ins1a pulled visits %v; want %v", got, want)
	}
	if got := pulled("ins2a"); len(got) != 0 {
		t.Fatalf("ins2a pulled visits %v; want none", got)
	}
}
