package jobs_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
)

// storedMonth is a store.Rollups that holds a month's stored days and,
// once frozen, its records.
type storedMonth struct {
	monthDays
	frozen []store.RollupRecord
}

func (m storedMonth) RollupMonths(context.Context, string) ([]store.RollupRecord, error) {
	return m.frozen, nil
}

// MonthWithItems reads what StoredMonth and MonthItemsOpened read apart,
// and MonthCoverage the coverage of StoredMonth's record, for a month
// still open and for one frozen.
func TestMonthWithItems_SameAsApart(t *testing.T) {
	half := 1.5
	days := []store.RollupRecord{
		{SquadID: 1, Key: "2026-03-01", Body: dayBody(t, jobs.SquadDay{SquadID: 1, Day: "2026-03-01", Coverage: 10,
			Inspections: jobs.InspectionCounts{Total: 2}, FindingsOpened: 2, FindingsClosed: 1,
			BlackCafes: []store.RollupVenue{{ID: "b1"}}, ByItem: map[string]jobs.ItemFindings{"NC01": {Opened: 2}, "NC02": {Open: 5}}})},
		{SquadID: 1, Key: "2026-03-02", Body: dayBody(t, jobs.SquadDay{SquadID: 1, Day: "2026-03-02", Coverage: 40, Rank: 2,
			Inspections: jobs.InspectionCounts{Total: 3}, FindingsOpened: 1, MedianCloseOutDays: &half,
			AtRisk:     []store.RollupVenue{{ID: "c1", Name: "网吧"}},
			BlackCafes: []store.RollupVenue{{ID: "b2"}, {ID: "b3"}}, ByItem: map[string]jobs.ItemFindings{"NC01": {Opened: 1, Open: 3}}})},
		{SquadID: 2, Key: "2026-03-01", Body: dayBody(t, jobs.SquadDay{SquadID: 2, Day: "2026-03-01", Coverage: 80, Rank: 1,
			FindingsOpened: 4, ByItem: map[string]jobs.ItemFindings{"NC11": {Opened: 4}}})},
	}
	open := storedMonth{monthDays: monthDays{rows: days}}
	var frozen []store.RollupRecord
	for _, m := range monthOfFake(t, open) {
		m.Frozen = true
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		frozen = append(frozen, store.RollupRecord{SquadID: m.SquadID, Key: "2026-03", Body: b})
	}
	for name, st := range map[string]storedMonth{"open": open, "frozen": {monthDays: open.monthDays, frozen: frozen}} {
		ctx := context.Background()
		list, items, err := jobs.MonthWithItems(ctx, st, "2026-03")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantList := monthOfFake(t, st)
		wantItems, err := jobs.MonthItemsOpened(ctx, st, "2026-03")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(list, wantList) || !reflect.DeepEqual(items, wantItems) {
			t.Fatalf("%s: got %+v %v, want %+v %v", name, list, items, wantList, wantItems)
		}
		if name == "open" && (list[0].BlackCafesFound != 3 || list[0].InspectionsTotal != 5 || list[0].Coverage != 40) {
			t.Fatalf("open: squad 1's month %+v", list[0])
		}
		cov, err := jobs.MonthCoverage(ctx, st, "2026-03")
		if err != nil {
			t.Fatal(err)
		}
		want := []jobs.SquadCoverage{{SquadID: 1, Coverage: 40}, {SquadID: 2, Coverage: 80}}
		if !reflect.DeepEqual(cov, want) {
			t.Fatalf("%s: coverage %+v, want %+v", name, cov, want)
		}
	}
}

func monthOfFake(t *testing.T, st store.Rollups) []jobs.SquadMonth {
	t.Helper()
	got, err := jobs.StoredMonth(context.Background(), st, "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	return got
}
