package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/server/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replica is a server on the shared database whose clock reads now.
func replica(t *testing.T, dsn string, now time.Time) *server.Server {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, func() time.Time { return storetest.RollupImportAt })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: t.TempDir(), Now: func() time.Time { return now },
		Location: storetest.RollupZone, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestNightlyRollup_TwoReplicasRunOnce: two replicas on one PostgreSQL
// database fire the nightly rollup at the same 02:00. While one holds the
// job lock the other does not run; fired together, every missed day is
// rolled up by exactly one of them, and a run after both finds nothing.
func TestNightlyRollup_TwoReplicasRunOnce(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	now := storetest.CST(3, 18, 2, 0)
	a, b := replica(t, dsn, now), replica(t, dsn, now)
	if err := a.Store().Import(ctx, storetest.NewRollupFixture().Dataset); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.RollupDay(ctx, storetest.CST(3, 14, 0, 0)); err != nil {
		t.Fatal(err)
	}

	// While a holds the lock, b's run stands aside.
	release, ok, err := a.Store().TryJobLock(ctx, "nightly-rollup")
	if err != nil || !ok {
		t.Fatalf("TryJobLock = %v, %v", ok, err)
	}
	if days, ran, err := b.NightlyRollup(ctx); err != nil || ran || len(days) != 0 {
		t.Fatalf("b's run while a holds the lock: %v, ran %v, %v", days, ran, err)
	}
	release()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []string
	runs := 0
	for _, r := range []*server.Server{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			days, ran, err := r.NightlyRollup(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ran {
				runs++
			}
			all = append(all, days...)
		}()
	}
	wg.Wait()
	slices.Sort(all)
	if want := []string{"2026-03-15", "2026-03-16", "2026-03-17"}; !slices.Equal(all, want) || runs == 0 {
		t.Fatalf("days rolled up by the two replicas: %v in %d runs; want %v, each once", all, runs, want)
	}
	for _, day := range []string{"2026-03-15", "2026-03-16", "2026-03-17"} {
		if rows := stored(t, a.Store(), day); len(rows) != 3 {
			t.Fatalf("%s: %d squad rows, want 3", day, len(rows))
		}
	}
	if days, _, err := b.NightlyRollup(ctx); err != nil || len(days) != 0 {
		t.Fatalf("a third run: %v, %v", days, err)
	}
}
