package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/store/storetest"
)

// TestRollupAPI_Complaints: the daily and monthly figures carry each
// squad's open and overdue complaints, the overdue ones named, and a
// leader reads only the squad's.
func TestRollupAPI_Complaints(t *testing.T) {
	ctx := context.Background()
	at := storetest.RollupImportAt
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewRollupFixture()
	if err := st.Import(ctx, f.Dataset); err != nil {
		t.Fatal(err)
	}
	ks, err := f.AddComplaints(ctx, st, func(t time.Time) { at = t })
	if err != nil {
		t.Fatal(err)
	}
	at = storetest.CST(3, 16, 9, 0)
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: t.TempDir(), Now: func() time.Time { return at },
		Location: storetest.RollupZone, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if code := call(t, srv, f, "admin", "POST", "/api/v1/rollups/run", server.RollupRunRequest{Date: "2026-03-15"}, nil); code != http.StatusOK {
		t.Fatalf("run: %d", code)
	}
	var day server.RollupDayResponse
	if code := call(t, srv, f, "admin", "GET", "/api/v1/rollups/daily?date=2026-03-15", nil, &day); code != http.StatusOK || len(day.Squads) != 3 {
		t.Fatalf("daily: %d, %d squads", code, len(day.Squads))
	}
	two := day.Squads[1]
	if two.ComplaintsOpen != 4 || two.ComplaintsOverdue != 2 || len(two.OverdueComplaints) != 2 ||
		two.OverdueComplaints[1].Number != ks["k1"].Number || two.OverdueComplaints[1].Limit != store.ComplaintLimitAccept {
		t.Fatalf("squad 2 daily: %d open, %d overdue, %+v", two.ComplaintsOpen, two.ComplaintsOverdue, two.OverdueComplaints)
	}
	var mine server.RollupMonthResponse
	if code := call(t, srv, f, "lead1", "GET", "/api/v1/rollups/monthly?month=2026-03", nil, &mine); code != http.StatusOK ||
		len(mine.Squads) != 1 || mine.Squads[0].ComplaintsOpen != 1 || mine.Squads[0].ComplaintsOverdue != 0 ||
		len(mine.Squads[0].OverdueComplaints) != 0 {
		t.Fatalf("squad 1's month as its leader: %d, %+v", code, mine.Squads)
	}
}
