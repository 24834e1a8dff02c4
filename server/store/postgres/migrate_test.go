package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestMigrate_ConcurrentReplicasApplyEachOnce: replicas that start
// together on an empty database apply every migration exactly once, and a
// later start applies none.
func TestMigrate_ConcurrentReplicasApplyEachOnce(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	counts := make([]int, 3)
	errs := make([]error, 3)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = postgres.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != len(migs) {
		t.Errorf("replicas applied %v migrations; want %d in all", counts, len(migs))
	}
	var recorded int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil || recorded != len(migs) {
		t.Errorf("%d recorded (err %v); want %d", recorded, err, len(migs))
	}
	if n, err := postgres.Migrate(ctx, pool); err != nil || n != 0 {
		t.Errorf("a later start applied %d (err %v); want 0", n, err)
	}
}
