package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// RollupCases opens, on the rollup fixture, the cases whose figures the
// rollups are tested with, moving the store's clock (set) as it goes:
//
// Case A (文立〔2026〕1号): f1 (NC02 of c1a, squad 1) escalated at 10:00 on
// 10 March; never decided, so its limit ends with 8 June and it is
// overdue from 9 June. Case B (2号): f2 (NC11 of c1a) escalated at 10:00
// on 20 March, decided on 21 March and closed on 25 March. Squads 2 and
// 3 have none. So squad 1 holds 0 open cases on 9 March, 1 on 15 March,
// 2 on 22 March, 1 on 26 March; 0 overdue on 8 June and A alone on 9 June.
func (f *RollupFixture) RollupCases(ctx context.Context, s store.Store, set func(time.Time)) (a, b schema.Case, err error) {
	open := func(at time.Time, finding schema.Finding) (schema.Case, error) {
		set(at)
		c, _, err := s.OpenCase(ctx, store.OpenCaseInput{Source: schema.CaseFromEscalatedFinding, SourceID: finding.ID,
			Summary: "fixture case of " + finding.ItemID, By: "lead1"}, schema.SquadScope(1))
		return c, err
	}
	act := func(at time.Time, id string, in store.CaseInput) error {
		set(at)
		in.By = "lead1"
		_, err := s.ActOnCase(ctx, id, in, schema.SquadScope(1))
		return err
	}
	if a, err = open(CST(3, 10, 10, 0), f.Dataset.Findings[0]); err != nil {
		return a, b, err
	}
	if b, err = open(CST(3, 20, 10, 0), f.Dataset.Findings[1]); err != nil {
		return a, b, err
	}
	for _, st := range []struct {
		at time.Time
		in store.CaseInput
	}{
		{CST(3, 21, 9, 0), store.CaseInput{Action: schema.CaseActInvestigate}},
		{CST(3, 21, 9, 5), store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"ins1a", "ins1b"}}},
		{CST(3, 21, 10, 0), store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionWarning}}},
		{CST(3, 25, 10, 0), store.CaseInput{Action: schema.CaseActClose, Note: "警告书已送达"}},
	} {
		if err := act(st.at, b.ID, st.in); err != nil {
			return a, b, err
		}
	}
	return a, b, nil
}

// testRollupCases: the open and overdue cases of squad 1 on the days the
// fixture's cases were built to give.
func testRollupCases(t *testing.T, open Open) {
	s, f, clock := rollupStore(t, open)
	ctx := context.Background()
	set := func(at time.Time) {
		clock.mu.Lock()
		clock.t = at
		clock.mu.Unlock()
	}
	a, _, err := f.RollupCases(ctx, s, set)
	if err != nil {
		t.Fatal(err)
	}
	if a.Number != schema.CaseNumber(2026, 1) {
		t.Fatalf("case A is %s", a.Number)
	}
	for _, tc := range []struct {
		month   time.Month
		day     int
		open    int
		overdue []string
	}{
		{3, 9, 0, nil}, {3, 15, 1, nil}, {3, 22, 2, nil}, {3, 26, 1, nil}, {6, 8, 1, nil}, {6, 9, 1, []string{a.ID}},
	} {
		got, err := s.RollupFacts(ctx, 1, window(tc.month, tc.day))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range got.CasesOverdue {
			ids = append(ids, c.ID)
			if c.Number != a.Number || c.VenueName != f.Venues["c1a"].Name || !c.DecideBy.Equal(a.DecideBy) {
				t.Errorf("overdue case %+v", c)
			}
		}
		if got.CasesOpen != tc.open || len(ids) != len(tc.overdue) || (len(ids) == 1 && ids[0] != tc.overdue[0]) {
			t.Errorf("%d %s: %d open, overdue %v; want %d, %v", tc.day, tc.month, got.CasesOpen, ids, tc.open, tc.overdue)
		}
	}
	two, err := s.RollupFacts(ctx, 2, window(6, 9))
	if err != nil || two.CasesOpen != 0 || len(two.CasesOverdue) != 0 {
		t.Errorf("squad 2 on 9 June: %d open, %v, %v", two.CasesOpen, two.CasesOverdue, err)
	}
}
