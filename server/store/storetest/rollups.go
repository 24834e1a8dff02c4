package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server/store"
)

var rollupCases = []contractCase{
	{"FactsOfAKnownDay", testRollupFacts},
	{"DaysReplaceMonthsFreezeOnce", testRollupHistory},
	{"LateArrivalsKeepTheirFirstRecord", testLateArrivals},
	{"CasesOpenAndOverdue", testRollupCases},
}

// rollupStore opens a store with the rollup fixture imported at
// RollupImportAt.
func rollupStore(t *testing.T, open Open) (store.Store, *RollupFixture, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: RollupImportAt}
	s := openStore(t, open, clock)
	f := NewRollupFixture()
	if err := s.Import(context.Background(), f.Dataset); err != nil {
		t.Fatalf("Import of the rollup month: %v", err)
	}
	return s, f, clock
}

// window is the local day's bounds in RollupZone.
func window(month time.Month, day int) store.RollupWindow {
	return store.RollupWindow{MonthStart: CST(month, 1, 0, 0), DayStart: CST(month, day, 0, 0), DayEnd: CST(month, day+1, 0, 0)}
}

// testRollupFacts: every count of squad 1 on 15 March is the one the
// fixture was built to give, and the day the black café was found has it.
func testRollupFacts(t *testing.T, open Open) {
	s, f, _ := rollupStore(t, open)
	ctx := context.Background()
	got, err := s.RollupFacts(ctx, 1, window(3, 15))
	if err != nil {
		t.Fatal(err)
	}
	v := func(key string) store.RollupVenue {
		return store.RollupVenue{ID: f.Venues[key].ID, Name: f.Venues[key].Name, Kind: f.Venues[key].Kind}
	}
	want := store.RollupFacts{
		VenuesByKind: map[string]int{"net_cafe": 5, "arcade": 1}, LicensedCafes: 4, CafesInspected: 2, Complaints: []store.RollupComplaint{},
		AtRisk:              []store.RollupVenue{v("c1c"), v("c1d")},
		InspectionsByStatus: map[string]int{"returned": 1, "submitted": 1}, ByInspector: map[string]int{"ins1a": 1, "ins1b": 1},
		Opened: map[string]int{"NC11": 1}, Ordered: map[string]int{}, Closed: map[string]int{"NC14": 1},
		Overdue: map[string]int{"NC02": 1}, Repeated: map[string]int{"NC02": 1}, Standing: map[string]int{"NC02": 1, "NC11": 1},
		CloseOutDays: []float64{4, 23}, BlackCafes: []store.RollupVenue{}, InZoneOpen: []store.RollupVenue{v("c1d")},
		CasesOverdue: []store.RollupCase{},
	}
	if len(got.CloseOutDays) == 2 && got.CloseOutDays[0] > got.CloseOutDays[1] {
		got.CloseOutDays[0], got.CloseOutDays[1] = got.CloseOutDays[1], got.CloseOutDays[0]
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("facts of squad 1 on 15 March:\n got %+v\nwant %+v", got, want)
	}

	found, err := s.RollupFacts(ctx, 1, window(3, 10))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(found.BlackCafes, []store.RollupVenue{v("b1")}) || found.Ordered["NC02"] != 0 {
		t.Fatalf("10 March: black cafés %+v, ordered %v", found.BlackCafes, found.Ordered)
	}
	// Before the venues were recorded, nothing was under watch.
	early, err := s.RollupFacts(ctx, 1, window(3, 3))
	if err != nil {
		t.Fatal(err)
	}
	if early.LicensedCafes != 0 || len(early.VenuesByKind) != 0 || early.Ordered["NC02"] != 1 || early.Opened["NC02"] != 1 {
		t.Fatalf("3 March: %+v", early)
	}
	// The time-zone edge: 23:30 on 31 March is March, 00:30 on 1 April is April.
	last, err := s.RollupFacts(ctx, 1, window(3, 31))
	if err != nil {
		t.Fatal(err)
	}
	april, err := s.RollupFacts(ctx, 1, store.RollupWindow{MonthStart: CST(4, 1, 0, 0), DayStart: CST(4, 1, 0, 0), DayEnd: CST(4, 2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if last.CafesInspected != 3 || !reflect.DeepEqual(last.AtRisk, []store.RollupVenue{v("c1d")}) || last.InspectionsByStatus["submitted"] != 1 {
		t.Fatalf("31 March: inspected %d, at risk %+v, by status %v", last.CafesInspected, last.AtRisk, last.InspectionsByStatus)
	}
	if april.CafesInspected != 1 || len(april.AtRisk) != 3 || april.InspectionsByStatus["submitted"] != 1 {
		t.Fatalf("1 April: inspected %d, at risk %+v, by status %v", april.CafesInspected, april.AtRisk, april.InspectionsByStatus)
	}
	squads, err := s.RollupSquads(ctx)
	if err != nil || !reflect.DeepEqual(squads, []int64{1, 2, 3}) {
		t.Fatalf("RollupSquads = %v, %v", squads, err)
	}
}

// testRollupHistory: saving a day again replaces it; a month freezes once.
func testRollupHistory(t *testing.T, open Open) {
	s, _, _ := rollupStore(t, open)
	ctx := context.Background()
	if last, err := s.LastRollupDay(ctx); err != nil || last != "" {
		t.Fatalf("LastRollupDay of none = %q, %v", last, err)
	}
	at := CST(3, 16, 2, 0).UTC()
	rec := func(squad int64, key, body string, at time.Time) store.RollupRecord {
		return store.RollupRecord{SquadID: squad, Key: key, Body: []byte(body), At: at}
	}
	for _, rows := range [][]store.RollupRecord{
		{rec(1, "2026-03-15", `{"v":1}`, at), rec(2, "2026-03-15", `{"v":1}`, at)},
		{rec(1, "2026-03-15", `{"v":2}`, at.Add(time.Hour)), rec(2, "2026-03-15", `{"v":2}`, at.Add(time.Hour))},
		{rec(1, "2026-03-31", `{"v":3}`, at), rec(1, "2026-04-01", `{"v":4}`, at)},
	} {
		if err := s.SaveRollupDays(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	days, err := s.RollupDays(ctx, "2026-03-15")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RollupRecord{rec(1, "2026-03-15", `{"v":2}`, at.Add(time.Hour)), rec(2, "2026-03-15", `{"v":2}`, at.Add(time.Hour))}
	if !reflect.DeepEqual(days, want) {
		t.Fatalf("RollupDays after a re-run = %+v", days)
	}
	month, err := s.RollupMonthDays(ctx, "2026-03")
	if err != nil || len(month) != 3 || month[0].Key != "2026-03-15" || month[1].Key != "2026-03-31" || month[2].SquadID != 2 {
		t.Fatalf("RollupMonthDays = %+v, %v", month, err)
	}
	if last, err := s.LastRollupDay(ctx); err != nil || last != "2026-04-01" {
		t.Fatalf("LastRollupDay = %q, %v", last, err)
	}
	if none, err := s.RollupMonths(ctx, "2026-03"); err != nil || len(none) != 0 {
		t.Fatalf("RollupMonths before the freeze = %+v, %v", none, err)
	}
	first := []store.RollupRecord{rec(1, "2026-03", `{"m":1}`, at)}
	if err := s.FreezeRollupMonth(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.FreezeRollupMonth(ctx, []store.RollupRecord{rec(1, "2026-03", `{"m":2}`, at.Add(time.Hour)), rec(2, "2026-03", `{"m":2}`, at)}); err != nil {
		t.Fatal(err)
	}
	frozen, err := s.RollupMonths(ctx, "2026-03")
	if err != nil || !reflect.DeepEqual(frozen, append(first, rec(2, "2026-03", `{"m":2}`, at))) {
		t.Fatalf("RollupMonths after two freezes = %+v, %v", frozen, err)
	}
}

// testLateArrivals: old inspections received in a range are listed, and a
// late arrival recorded twice keeps its first record.
func testLateArrivals(t *testing.T, open Open) {
	s, f, _ := rollupStore(t, open)
	ctx := context.Background()
	// Only inspection i1 (27 Feb, received 40+10 minutes after) started
	// before March; it was received on 27 February.
	got, err := s.ReceivedBetween(ctx, CST(2, 27, 0, 0), CST(2, 28, 0, 0), CST(3, 1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ReceivedInspection{{ID: f.Dataset.Inspections[0].ID, SquadID: 1, StartedAt: CST(2, 27, 10, 0).UTC(),
		ReceivedAt: CST(2, 27, 10, 50).UTC()}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReceivedBetween = %+v, want %+v", got, want)
	}
	if got, err := s.ReceivedBetween(ctx, CST(2, 27, 0, 0), CST(2, 28, 0, 0), CST(2, 1, 0, 0)); err != nil || len(got) != 0 {
		t.Fatalf("ReceivedBetween, started before February = %+v, %v", got, err)
	}
	a := store.LateArrival{InspectionID: want[0].ID, SquadID: 1, Day: "2026-04-03", Month: "2026-02", ReceivedAt: CST(4, 3, 9, 0).UTC()}
	b := a
	b.Day, b.ReceivedAt = "2026-04-04", CST(4, 4, 9, 0).UTC()
	for _, list := range [][]store.LateArrival{{a}, {b}, nil} {
		if err := s.RecordLateArrivals(ctx, list); err != nil {
			t.Fatal(err)
		}
	}
	late, err := s.LateArrivals(ctx, "2026-02")
	if err != nil || !reflect.DeepEqual(late, []store.LateArrival{a}) {
		t.Fatalf("LateArrivals = %+v, %v", late, err)
	}
	if none, err := s.LateArrivals(ctx, "2026-03"); err != nil || len(none) != 0 {
		t.Fatalf("LateArrivals of March = %+v, %v", none, err)
	}
}
