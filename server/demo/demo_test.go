package demo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

func TestSeed_DemoDistrict(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := demo.NewClock(func() time.Time { return now })
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.DB()
	hash := func(pw string) (string, error) { return "test$" + pw, nil }
	photos := map[string]bool{}
	put := func(_ context.Context, data []byte) error {
		sum := sha256.Sum256(data)
		photos[hex.EncodeToString(sum[:])] = true
		return nil
	}
	sum, err := demo.Seed(ctx, st, demo.Options{Now: func() time.Time { return now }, HashPassword: hash, PutPhoto: put, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Squads != 6 || sum.Users != 19 || sum.Venues != 320 || sum.Schools != 100 || sum.Unlicensed == 0 || sum.Inspections < 300 {
		t.Fatalf("summary %+v", sum)
	}
	var n int
	for _, tc := range []struct {
		q    string
		want func(int) bool
	}{
		{`SELECT count(*) FROM users WHERE role = 'inspector' AND squad_id = 3 AND username IN ('inspector5','inspector6')`, func(n int) bool { return n == 2 }},
		{`SELECT count(DISTINCT squad_id) FROM venues`, func(n int) bool { return n == 6 }},
		{`SELECT count(*) FROM venues WHERE licensed = 0 AND kind = 'net_cafe'`, func(n int) bool { return n == sum.Unlicensed }},
		{`SELECT count(*) FROM venues v JOIN squads s ON s.id = v.squad_id WHERE v.lat NOT BETWEEN s.min_lat AND s.max_lat OR v.lng NOT BETWEEN s.min_lng AND s.max_lng`, func(n int) bool { return n == 0 }},
		{`SELECT count(*) FROM inspections i JOIN venues v ON v.id = i.venue_id WHERE i.squad_id <> v.squad_id`, func(n int) bool { return n == 0 }},
		{`SELECT count(*) FROM inspections i WHERE (SELECT count(*) FROM inspection_items it WHERE it.inspection_id = i.id) <> 16`, func(n int) bool { return n == 0 }},
		{`SELECT count(DISTINCT seq) - count(*) FROM venues`, func(n int) bool { return n == 0 }},
		// The counter is where the last write left it: the complaints, after the import.
		{`SELECT (SELECT value FROM counters WHERE name='seq') - max((SELECT max(seq) FROM findings), (SELECT max(seq) FROM complaints),
			(SELECT max(seq) FROM inspections))`, func(n int) bool { return n == 0 }},
		{`SELECT count(*) FROM inspections WHERE status NOT IN ('submitted', 'approved', 'returned')`, func(n int) bool { return n == 0 }},
		// A living ledger: inspections in every state, amended ones, and
		// findings in every state, some overdue, some repeated.
		{`SELECT count(DISTINCT status) FROM inspections`, func(n int) bool { return n == 3 }},
		{`SELECT count(*) FROM inspections WHERE version = 2`, func(n int) bool { return n > 0 }},
		{`SELECT count(*) FROM inspections WHERE version = 2 AND status = 'approved'`, func(n int) bool { return n > 0 }},
		{`SELECT count(DISTINCT status) FROM findings`, func(n int) bool { return n == 5 }},
		{`SELECT count(*) FROM findings WHERE status = 'ordered' AND deadline < '2026-11-27'`, func(n int) bool { return n > 0 }},
		{`SELECT count(*) FROM findings WHERE repeat > 0`, func(n int) bool { return n > 0 }},
		{`SELECT count(*) FROM findings WHERE critical = 1`, func(n int) bool { return n > 0 }},
		{`SELECT count(DISTINCT order_number) - count(order_number) FROM findings`, func(n int) bool { return n == 0 }},
		// Every failed item of an approved inspection stands in the ledger.
		{`SELECT count(*) FROM inspections i JOIN inspection_items it ON it.inspection_id = i.id AND it.result = 'fail'
			WHERE i.status = 'approved' AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.venue_id = i.venue_id AND f.item_id = it.item_id)`,
			func(n int) bool { return n == 0 }},
		{`SELECT count(*) FROM findings`, func(n int) bool { return n > 0 }},
		{`SELECT count(*) FROM inspection_versions`, func(n int) bool { return n > sum.Inspections }},
		{`SELECT count(*) FROM schools WHERE json_array_length(polygon) <> 5`, func(n int) bool { return n == 0 }},
	} {
		if err := db.R.QueryRow(tc.q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if !tc.want(n) {
			t.Errorf("%s = %d", tc.q, n)
		}
	}
	// Every photo the inspections name was handed to PutPhoto.
	rows, err := db.R.Query(`SELECT DISTINCT sha256 FROM inspection_photos`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	named := 0
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			t.Fatal(err)
		}
		named++
		if !photos[sha] {
			t.Errorf("photo %s is named but was never stored", sha)
		}
	}
	if named == 0 {
		t.Error("the demo's inspections name no photos")
	}
	byStatus := map[string]int{}
	srows, err := db.R.Query(`SELECT status, count(*) FROM findings GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer srows.Close()
	for srows.Next() {
		var st string
		var n int
		if err := srows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		byStatus[st] = n
	}
	t.Logf("findings by status: %v", byStatus)
	if _, err := demo.Seed(ctx, st, demo.Options{Now: func() time.Time { return now }, HashPassword: hash}); err == nil {
		t.Fatal("second seed into a database with users succeeded")
	}
}

// TestSeed_EachUserHasItsOwnSalt: every demo user shares the password, but
// no two share a hash: each is hashed with its own salt.
func TestSeed_EachUserHasItsOwnSalt(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.DB()
	cheap := func(pw string) (string, error) {
		return auth.HashPasswordParams(pw, auth.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	}
	if _, err := demo.Seed(ctx, st, demo.Options{HashPassword: cheap, Venues: 10, Schools: 2, MonthsHistory: 1}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.R.Query(`SELECT password_hash FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	salts := map[string]bool{}
	users := 0
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		if ok, err := auth.VerifyPassword(h, demo.Password); !ok || err != nil {
			t.Fatalf("hash %q does not verify the demo password: %v", h, err)
		}
		salts[strings.Split(h, "$")[4]] = true
		users++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if users != 19 || len(salts) != users {
		t.Fatalf("%d users with %d distinct salts; want 19 and 19", users, len(salts))
	}
}

// TestSeed_ComplaintsInEveryState: the demo's complaints stand in every
// state, with the times of their own steps, one unaccepted past its limit,
// one unfinished past its due date, one extended, and the investigating
// one linked to a demo inspection of its venue.
func TestSeed_ComplaintsInEveryState(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := demo.NewClock(func() time.Time { return now })
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash := func(pw string) (string, error) { return "test$" + pw, nil }
	sum, err := demo.Seed(ctx, st, demo.Options{Now: func() time.Time { return now }, HashPassword: hash, Clock: clock, Schools: 2, MonthsHistory: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := clock.Now(); !got.Equal(now) {
		t.Fatalf("after the seed the clock reads %v, want its base %v", got, now)
	}
	admin := schema.ComplaintAccessOf(schema.RoleAdmin, nil, false)
	list, err := st.ListComplaints(ctx, store.ComplaintFilter{}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Complaints != len(list) || len(list) < 10 {
		t.Fatalf("summary says %d complaints, the store holds %d; want at least 10", sum.Complaints, len(list))
	}
	byStatus := map[string]int{}
	var overdueAccept, overdueFinish, extended, investigating int
	for _, c := range list {
		byStatus[c.Status]++
		if c.ReceivedAt.After(now) || c.UpdatedAt.After(now) || !c.UpdatedAt.Before(now) {
			t.Errorf("%s received %v, updated %v: want its steps before now", c.Number, c.ReceivedAt, c.UpdatedAt)
		}
		if c.Contact == "" || c.Content == "" {
			t.Errorf("%s without contact or content", c.Number)
		}
		if c.AcceptedAt != nil && !c.AcceptedAt.After(c.ReceivedAt) {
			t.Errorf("%s accepted %v, not after it was received %v", c.Number, *c.AcceptedAt, c.ReceivedAt)
		}
		if c.ClosedAt != nil && (c.Reply == nil || !c.ClosedAt.After(c.Reply.At) || c.HandledAt == nil || !c.Reply.At.After(*c.HandledAt)) {
			t.Errorf("%s closed without its steps in order: %+v", c.Number, c)
		}
		switch {
		case c.Status == schema.ComplaintReceived && c.Overdue:
			overdueAccept++
		case c.Overdue:
			overdueFinish++
		}
		if c.Extension != nil && c.Extension.Days > 0 && c.Due.After(now) {
			extended++
		}
		if c.Status == schema.ComplaintInvestigating {
			if len(c.InspectionIDs) != 1 {
				t.Fatalf("investigating %s links %v", c.Number, c.InspectionIDs)
			}
			in, err := st.Inspection(ctx, c.InspectionIDs[0])
			if err != nil || in.ComplaintID != c.ID || in.VenueID != c.VenueID || in.SquadID != c.SquadID {
				t.Fatalf("the inspection of %s: %+v, %v", c.Number, in, err)
			}
			investigating++
		}
	}
	for _, s := range schema.ComplaintStates {
		if byStatus[s] == 0 {
			t.Errorf("no complaint %s (by status %v)", s, byStatus)
		}
	}
	if overdueAccept == 0 || overdueFinish == 0 || extended == 0 || investigating == 0 {
		t.Errorf("overdue at acceptance %d, at finish %d, extended %d, investigating %d: want each", overdueAccept, overdueFinish, extended, investigating)
	}
	t.Logf("complaints by status: %v", byStatus)
}

// TestSeed_CasesInEveryState: the demo district holds cases in every
// state, one of them past its 90-day limit, each of a finding that names
// it back.
func TestSeed_CasesInEveryState(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := demo.Seed(ctx, st, demo.Options{Now: func() time.Time { return now }, HashPassword: func(pw string) (string, error) { return "test$" + pw, nil }, Venues: 120, Schools: 10, MonthsHistory: 2}); err != nil {
		t.Fatal(err)
	}
	page, err := st.ListCases(ctx, store.CaseFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	overdue := 0
	for _, c := range page.Cases {
		states[c.Status]++
		if c.Overdue {
			overdue++
		}
		f, err := st.Finding(ctx, c.SourceID)
		if err != nil || f.CaseID != c.ID {
			t.Fatalf("case %s: finding %s names case %q, %v", c.Number, c.SourceID, f.CaseID, err)
		}
	}
	for _, s := range schema.CaseStates {
		if states[s] == 0 {
			t.Errorf("no %s case among %v", s, states)
		}
	}
	t.Logf("%d cases by state %v, %d overdue", len(page.Cases), states, overdue)
	if overdue != 1 {
		t.Errorf("%d overdue cases; want 1", overdue)
	}
}
