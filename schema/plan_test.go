package schema_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func TestCheckPlan_Table(t *testing.T) {
	cands := []schema.PlanCandidate{
		{VenueID: "a", Name: "甲网吧", AtRisk: true},
		{VenueID: "b", Name: "乙网吧", AtRisk: true},
		{VenueID: "c", Name: "丙网吧"}, // not at risk: never flagged
	}
	visit := func(venue, day string) schema.PlanVisit { return schema.PlanVisit{VenueID: venue, Day: day} }
	kinds := func(fs []schema.PlanFlag) []string {
		out := []string{}
		for _, f := range fs {
			out = append(out, f.Kind+":"+f.VenueID)
		}
		return out
	}
	cases := []struct {
		name   string
		visits []schema.PlanVisit
		want   []string
	}{
		{"empty plan leaves every at-risk café", nil, []string{"uncovered:a", "uncovered:b"}},
		{"all covered", []schema.PlanVisit{visit("a", "2026-12-02"), visit("b", "2026-12-31")}, []string{}},
		{"after month end does not cover", []schema.PlanVisit{visit("a", "2026-12-10"), visit("b", "2027-01-02")},
			[]string{"after_end:b", "uncovered:b"}},
		{"past day does not cover", []schema.PlanVisit{visit("a", "2026-12-01"), visit("b", "2026-12-05")},
			[]string{"past_day:a", "uncovered:a"}},
		{"bad day", []schema.PlanVisit{visit("a", "12/05"), visit("b", "2026-12-05"), visit("c", "2026-12-06")},
			[]string{"bad_day:a", "uncovered:a"}},
		{"two visits of one café", []schema.PlanVisit{visit("a", "2026-12-01"), visit("a", "2026-12-03"), visit("b", "2026-12-04")},
			[]string{"past_day:a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := kinds(schema.CheckPlan(cands, c.visits, "2026-12-02", "2026-12-31"))
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("flags = %v; want %v", got, c.want)
			}
		})
	}
}

func TestSortPlanCandidates_RiskOrder(t *testing.T) {
	old := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	recent := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	list := []schema.PlanCandidate{
		{VenueID: "recent", Name: "A", LastInspected: &recent},
		{VenueID: "old", Name: "B", LastInspected: &old},
		{VenueID: "never", Name: "C"},
		{VenueID: "repeat", Name: "D", Repeats: 2, LastInspected: &recent},
		{VenueID: "crit", Name: "E", Critical: 1, LastInspected: &recent},
		{VenueID: "old2", Name: "A2", LastInspected: &old},
	}
	schema.SortPlanCandidates(list)
	var got []string
	for _, c := range list {
		got = append(got, c.VenueID)
	}
	want := []string{"crit", "repeat", "never", "old2", "old", "recent"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v; want %v", got, want)
	}
}

func TestCheckPlanVisit_Rules(t *testing.T) {
	members := []schema.Member{{Username: "i1", Role: schema.RoleInspector}, {Username: "i2", Role: schema.RoleInspector},
		{Username: "l1", Role: schema.RoleLeader}}
	ok := schema.PlanVisit{VenueID: "v", Day: "2026-12-10", Inspectors: [2]string{"i1", "i2"}}
	if err := schema.CheckPlanVisit(ok, members, "2026-12-02", "2026-12-31"); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]schema.PlanVisit{
		"same twice": {VenueID: "v", Day: "2026-12-10", Inspectors: [2]string{"i1", "i1"}},
		"leader":     {VenueID: "v", Day: "2026-12-10", Inspectors: [2]string{"i1", "l1"}},
		"stranger":   {VenueID: "v", Day: "2026-12-10", Inspectors: [2]string{"i1", "x"}},
		"past":       {VenueID: "v", Day: "2026-12-01", Inspectors: [2]string{"i1", "i2"}},
		"next month": {VenueID: "v", Day: "2027-01-01", Inspectors: [2]string{"i1", "i2"}},
	} {
		if err := schema.CheckPlanVisit(v, members, "2026-12-02", "2026-12-31"); schema.ErrorCode(err) != schema.CodeInvalid {
			t.Errorf("%s: err = %v; want invalid", name, err)
		}
	}
}
