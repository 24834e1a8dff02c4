package jobs_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/store/storetest"
)

// clock is the stores' injected time; tests set it, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var cst = storetest.CST

// month opens a SQLite store holding the hand-built month of storetest.
func month(t *testing.T) (store.Store, *storetest.RollupFixture, *clock) {
	t.Helper()
	c := &clock{t: storetest.RollupImportAt}
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "patrol.db"), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := storetest.NewRollupFixture()
	if err := s.Import(context.Background(), f.Dataset); err != nil {
		t.Fatal(err)
	}
	return s, f, c
}

func rollup(t *testing.T, s store.Store, day, now time.Time) []jobs.SquadDay {
	t.Helper()
	got, err := jobs.RollupDay(context.Background(), s, day, now)
	if err != nil {
		t.Fatalf("RollupDay %s: %v", day.Format(jobs.DayLayout), err)
	}
	return got
}

func venue(f *storetest.RollupFixture, key string) store.RollupVenue {
	v := f.Venues[key]
	return store.RollupVenue{ID: v.ID, Name: v.Name, Kind: v.Kind}
}

func stored(t *testing.T, s store.Store, day string) []store.RollupRecord {
	t.Helper()
	r, err := s.RollupDays(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRollupDay_KnownMonth: 15 March of the hand-built month, every figure
// known in advance, and the ranking with its tie broken by squad id.
func TestRollupDay_KnownMonth(t *testing.T) {
	s, f, _ := month(t)
	got := rollup(t, s, cst(3, 15, 0, 0), cst(3, 16, 2, 0))
	if len(got) != 3 {
		t.Fatalf("%d squads rolled up, want 3", len(got))
	}
	one := got[0]
	median := 13.5
	want := jobs.SquadDay{SquadID: 1, Day: "2026-03-15", OverdueComplaints: []jobs.OverdueComplaint{}, VenuesByKind: map[string]int{"net_cafe": 5, "arcade": 1},
		Cafes: 4, CafesInspected: 2, Coverage: 50, AtRisk: []store.RollupVenue{venue(f, "c1c"), venue(f, "c1d")}, DaysLeft: 16,
		Inspections:    jobs.InspectionCounts{Total: 2, Submitted: 1, Returned: 1},
		FindingsOpened: 1, FindingsClosed: 1, FindingsOpen: 2, FindingsOverdue: 1, FindingsRepeated: 1,
		ByItem:             map[string]jobs.ItemFindings{"NC02": {Open: 1, Overdue: 1, Repeated: 1}, "NC11": {Opened: 1, Open: 1}, "NC14": {Closed: 1}},
		MedianCloseOutDays: &median, BlackCafes: []store.RollupVenue{}, InZoneOpen: []store.RollupVenue{venue(f, "c1d")},
		ByInspector: map[string]int{"ins1a": 1, "ins1b": 1}, OverdueCases: []store.RollupCase{}, Rank: 3, Score: 50}
	if !reflect.DeepEqual(one, want) {
		t.Fatalf("squad 1 on 15 March:\n got %+v\nwant %+v", one, want)
	}
	// Squads 2 and 3 tie on coverage (100 %), overdue (1) and median (6
	// days): the lower id ranks first.
	for _, d := range got[1:] {
		if d.Coverage != 100 || d.FindingsOverdue != 1 || d.MedianCloseOutDays == nil || *d.MedianCloseOutDays != 6 || len(d.AtRisk) != 0 {
			t.Fatalf("squad %d: %+v", d.SquadID, d)
		}
	}
	if ranks := []int{got[0].Rank, got[1].Rank, got[2].Rank}; !slices.Equal(ranks, []int{3, 1, 2}) {
		t.Fatalf("ranks of squads 1, 2, 3 = %v, want 3, 1, 2", ranks)
	}
	// The black café counts on the day it was found.
	if d := rollup(t, s, cst(3, 10, 0, 0), cst(3, 11, 2, 0)); !reflect.DeepEqual(d[0].BlackCafes, []store.RollupVenue{venue(f, "b1")}) {
		t.Fatalf("black cafés of 10 March: %+v", d[0].BlackCafes)
	}
}

// TestRollupDay_Cases: the fixture's cases (storetest.RollupCases) give
// squad 1 two open cases on 22 March and, on 9 June, one open case that
// is overdue and named.
func TestRollupDay_Cases(t *testing.T) {
	s, f, c := month(t)
	a, _, err := f.RollupCases(context.Background(), s, c.Set)
	if err != nil {
		t.Fatal(err)
	}
	if d := rollup(t, s, cst(3, 22, 0, 0), cst(3, 23, 2, 0))[0]; d.CasesOpen != 2 || d.CasesOverdue != 0 || len(d.OverdueCases) != 0 {
		t.Fatalf("22 March: %d open, %d overdue %+v", d.CasesOpen, d.CasesOverdue, d.OverdueCases)
	}
	d := rollup(t, s, cst(6, 9, 0, 0), cst(6, 10, 2, 0))[0]
	if d.CasesOpen != 1 || d.CasesOverdue != 1 || len(d.OverdueCases) != 1 || d.OverdueCases[0].Number != a.Number ||
		d.OverdueCases[0].VenueName != f.Venues["c1a"].Name {
		t.Fatalf("9 June: %d open, %d overdue %+v", d.CasesOpen, d.CasesOverdue, d.OverdueCases)
	}
}

// TestRollupDay_RerunReplaces: rolling a day up again gives the same
// figures and leaves one row per squad.
func TestRollupDay_RerunReplaces(t *testing.T) {
	s, _, _ := month(t)
	rollup(t, s, cst(3, 15, 0, 0), cst(3, 16, 2, 0))
	first := stored(t, s, "2026-03-15")
	rollup(t, s, cst(3, 15, 0, 0), cst(3, 16, 9, 0))
	again := stored(t, s, "2026-03-15")
	if len(again) != 3 {
		t.Fatalf("%d rows after a re-run, want 3", len(again))
	}
	for i := range first {
		if string(first[i].Body) != string(again[i].Body) {
			t.Fatalf("squad %d: re-run changed the figures:\n%s\n%s", first[i].SquadID, first[i].Body, again[i].Body)
		}
		if !again[i].At.Equal(cst(3, 16, 9, 0)) {
			t.Fatalf("computed_at %v, want the re-run's", again[i].At)
		}
	}
}

// TestCatchUp_TwoMissedNights: the server last rolled up 15 March and was
// down on the nights of the 17th and 18th; started at 10:00 on the 18th it
// rolls up the 16th and 17th, and a second start finds nothing to do.
func TestCatchUp_TwoMissedNights(t *testing.T) {
	s, _, _ := month(t)
	ctx := context.Background()
	rollup(t, s, cst(3, 15, 0, 0), cst(3, 16, 2, 0))
	done, err := jobs.CatchUp(ctx, s, storetest.RollupZone, cst(3, 18, 10, 0))
	if err != nil || !slices.Equal(done, []string{"2026-03-16", "2026-03-17"}) {
		t.Fatalf("CatchUp = %v, %v", done, err)
	}
	if done, err := jobs.CatchUp(ctx, s, storetest.RollupZone, cst(3, 18, 11, 0)); err != nil || len(done) != 0 {
		t.Fatalf("second CatchUp = %v, %v", done, err)
	}
	// A store never rolled up does yesterday only; one far behind, the
	// last MaxCatchUpDays days.
	fresh, _, _ := month(t)
	if done, err := jobs.CatchUp(ctx, fresh, storetest.RollupZone, cst(3, 18, 0, 30)); err != nil || !slices.Equal(done, []string{"2026-03-17"}) {
		t.Fatalf("CatchUp of a fresh store = %v, %v", done, err)
	}
	if done, err := jobs.CatchUp(ctx, fresh, storetest.RollupZone, cst(7, 1, 3, 0)); err != nil || len(done) != jobs.MaxCatchUpDays ||
		done[len(done)-1] != "2026-06-30" {
		t.Fatalf("CatchUp after months = %d days ending %v, %v", len(done), done[len(done)-1:], err)
	}
}

func monthOf(t *testing.T, s store.Store, m string) []jobs.SquadMonth {
	t.Helper()
	got, err := jobs.StoredMonth(context.Background(), s, m)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestFreeze_MonthEndAndLateArrival: the inspection at 23:30 on 31 March
// counts in March, the one at 00:30 on 1 April in April; March freezes when
// 1 April is rolled up; a sync on 3 April of an inspection made on 30
// March is a late arrival and leaves the frozen March as it was.
func TestFreeze_MonthEndAndLateArrival(t *testing.T) {
	s, f, c := month(t)
	ctx := context.Background()
	last := rollup(t, s, cst(3, 31, 0, 0), cst(4, 1, 2, 0))
	if d := last[0]; d.Coverage != 75 || !reflect.DeepEqual(d.AtRisk, []store.RollupVenue{venue(f, "c1d")}) || d.DaysLeft != 0 ||
		d.Inspections.Total != 1 {
		t.Fatalf("squad 1 on 31 March: coverage %v, at risk %+v, days left %d, inspections %+v", d.Coverage, d.AtRisk, d.DaysLeft, d.Inspections)
	}
	if m := monthOf(t, s, "2026-03"); len(m) != 3 || m[0].Frozen || m[0].Coverage != 75 {
		t.Fatalf("March before the freeze: %+v", m)
	}
	first := rollup(t, s, cst(4, 1, 0, 0), cst(4, 2, 2, 0))
	if d := first[0]; d.Coverage != 25 || len(d.AtRisk) != 3 || d.DaysLeft != 29 || d.Inspections.Total != 1 {
		t.Fatalf("squad 1 on 1 April: coverage %v, at risk %d, days left %d, inspections %+v", d.Coverage, len(d.AtRisk), d.DaysLeft, d.Inspections)
	}
	march := monthOf(t, s, "2026-03")
	if len(march) != 3 || !march[0].Frozen || march[0].Coverage != 75 || march[0].Day != "2026-03-31" || march[0].Rank != 3 ||
		march[1].Rank != 1 || march[2].Rank != 2 || march[0].InspectionsTotal != 1 {
		t.Fatalf("frozen March: %+v", march)
	}
	frozen, err := s.RollupMonths(ctx, "2026-03")
	if err != nil {
		t.Fatal(err)
	}

	c.Set(cst(4, 3, 9, 0))
	id, err := f.PushLate(ctx, s, c.Now(), "c2a", cst(3, 30, 10, 0))
	if err != nil {
		t.Fatal(err)
	}
	rollup(t, s, cst(4, 3, 0, 0), cst(4, 4, 2, 0))
	late, err := s.LateArrivals(ctx, "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.LateArrival{{InspectionID: id, SquadID: 2, Day: "2026-04-03", Month: "2026-03", ReceivedAt: cst(4, 3, 9, 0).UTC()}}
	if !reflect.DeepEqual(late, want) {
		t.Fatalf("late arrivals = %+v, want %+v", late, want)
	}
	// Rolling up 30 March again counts it on that day; the month stays.
	if d := rollup(t, s, cst(3, 30, 0, 0), cst(4, 4, 3, 0)); d[1].Inspections.Total != 1 {
		t.Fatalf("squad 2 on 30 March after the late sync: %+v", d[1].Inspections)
	}
	rollup(t, s, cst(4, 1, 0, 0), cst(4, 4, 4, 0))
	after, err := s.RollupMonths(ctx, "2026-03")
	if err != nil || !reflect.DeepEqual(after, frozen) {
		t.Fatalf("the frozen March changed:\n%+v\n%+v (%v)", frozen, after, err)
	}
}
