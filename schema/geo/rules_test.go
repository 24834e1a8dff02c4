package geo_test

import (
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var cst = time.FixedZone("CST", 8*3600)

var national = geo.Rule{
	ID: "cn-2002-art9", DistanceM: 200, Method: geo.MethodBoundaryStraightLine,
	SchoolKinds:   []string{"primary", "secondary"},
	VenueKinds:    []string{schema.KindNetCafe, schema.KindArcade, schema.KindKTV},
	EffectiveFrom: date(2002, 11, 15),
}

// A provincial rule (reconstruction) for kindergartens only, with an end.
var kinder = geo.Rule{
	ID: "prov-kg-100", DistanceM: 100, Method: geo.MethodBoundaryStraightLine,
	SchoolKinds: []string{"kindergarten"}, VenueKinds: []string{schema.KindNetCafe},
	EffectiveFrom: date(2015, 1, 1), EffectiveTo: date(2030, 1, 1),
}

// A catch-all rule naming no school kind: less specific than any other.
var catchAll = geo.Rule{
	ID: "all-150", DistanceM: 150, Method: geo.MethodBoundaryStraightLine,
	VenueKinds: []string{schema.KindNetCafe}, EffectiveFrom: date(2010, 1, 1),
}

func TestRuleFor_MostSpecificSchoolKindWins(t *testing.T) {
	rules := []geo.Rule{catchAll, national, kinder}
	day := date(2024, 6, 1)
	for _, c := range []struct {
		venue, school, want string
		ok                  bool
	}{
		{schema.KindNetCafe, "primary", "cn-2002-art9", true},
		{schema.KindNetCafe, "kindergarten", "prov-kg-100", true},
		{schema.KindNetCafe, "university", "all-150", true},
		{schema.KindKTV, "secondary", "cn-2002-art9", true},
		{schema.KindKTV, "kindergarten", "", false},
		{schema.KindBookshop, "primary", "", false},
	} {
		r, ok := geo.RuleFor(rules, c.venue, c.school, day)
		if ok != c.ok || r.ID != c.want {
			t.Errorf("RuleFor(%s, %s) = %q %v, want %q %v", c.venue, c.school, r.ID, ok, c.want, c.ok)
		}
	}
}

func TestRuleFor_EffectiveDates(t *testing.T) {
	rules := []geo.Rule{national, kinder}
	if _, ok := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2002, 11, 14)); ok {
		t.Error("a rule applied the day before it took effect")
	}
	if _, ok := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2002, 11, 15)); !ok {
		t.Error("a rule did not apply on its first day")
	}
	// 00:30 on 15 Nov in Beijing is still 14 Nov in UTC: the day is the
	// inspector's calendar day.
	if _, ok := geo.RuleFor(rules, schema.KindNetCafe, "primary", time.Date(2002, 11, 15, 0, 30, 0, 0, cst)); !ok {
		t.Error("a rule did not apply on its first day in Beijing")
	}
	if r, ok := geo.RuleFor(rules, schema.KindNetCafe, "kindergarten", date(2029, 12, 31)); !ok || r.ID != kinder.ID {
		t.Errorf("last day: got %q %v", r.ID, ok)
	}
	if r, ok := geo.RuleFor(rules, schema.KindNetCafe, "kindergarten", date(2030, 1, 1)); ok {
		t.Errorf("EffectiveTo is exclusive, yet %q applied on it", r.ID)
	}
}

func TestRuleFor_TieBreaks(t *testing.T) {
	older := national
	newer := national
	newer.ID, newer.DistanceM, newer.EffectiveFrom = "cn-2030", 250, date(2030, 1, 1)
	older.EffectiveTo = date(2030, 1, 1)
	rules := []geo.Rule{newer, older}
	if r, _ := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2029, 6, 1)); r.ID != older.ID {
		t.Errorf("before the successor: %q", r.ID)
	}
	if r, _ := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2030, 1, 1)); r.ID != newer.ID {
		t.Errorf("successor's first day: %q", r.ID)
	}
	// Overlapping rules of equal standing: the later EffectiveFrom wins,
	// then the larger distance, then the smaller id — in any order given.
	a, b, c := national, national, national
	a.ID, b.ID, c.ID = "b", "a", "c"
	b.DistanceM = 300
	c.EffectiveFrom = date(2003, 1, 1)
	for _, rules := range [][]geo.Rule{{a, b, c}, {c, b, a}, {b, a, c}} {
		if r, _ := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2024, 1, 1)); r.ID != "c" {
			t.Errorf("later EffectiveFrom should win: %q", r.ID)
		}
		if r, _ := geo.RuleFor(rules[:0:0], schema.KindNetCafe, "primary", date(2024, 1, 1)); r.ID != "" {
			t.Errorf("no rules gave %q", r.ID)
		}
	}
	for _, rules := range [][]geo.Rule{{a, b}, {b, a}} {
		if r, _ := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2024, 1, 1)); r.ID != "a" {
			t.Errorf("larger distance should win: %q", r.ID)
		}
	}
	b.DistanceM = a.DistanceM
	for _, rules := range [][]geo.Rule{{a, b}, {b, a}} {
		if r, _ := geo.RuleFor(rules, schema.KindNetCafe, "primary", date(2024, 1, 1)); r.ID != "a" {
			t.Errorf("smaller id should win: %q", r.ID)
		}
	}
}
