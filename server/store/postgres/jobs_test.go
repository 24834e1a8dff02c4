package postgres_test

import (
	"context"
	"testing"

	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
)

// TestJobLock_HeldAcrossReplicasFreedWhenHolderDies: a job lock taken by
// one replica refuses every other replica of the database until it is
// released, and a replica that dies holding it (its connection ends)
// leaves it free for the next.
func TestJobLock_HeldAcrossReplicasFreedWhenHolderDies(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	var stores [2]*postgres.Store
	for i := range stores {
		s, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	a, b := stores[0], stores[1]
	try := func(s interface {
		TryJobLock(context.Context, string) (func(), bool, error)
	}, what string) (func(), bool) {
		t.Helper()
		release, ok, err := s.TryJobLock(ctx, "hourly-cleanup")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return release, ok
	}
	release, ok := try(a, "replica a")
	if !ok {
		t.Fatal("replica a could not take a free lock")
	}
	if _, ok := try(b, "replica b while a holds it"); ok {
		t.Fatal("replica b took the lock replica a holds")
	}
	release()
	releaseB, ok := try(b, "replica b after a released")
	if !ok {
		t.Fatal("replica b could not take the lock a released")
	}
	// Replica b dies: its session ends without an unlock.
	if _, err := a.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 2 AND objsubid = 2`); err != nil {
		t.Fatal(err)
	}
	releaseA, ok := try(a, "replica a after b died")
	if !ok {
		t.Fatal("the lock of a dead replica stayed held")
	}
	releaseA()
	releaseB() // the dead connection is dropped, not handed back locked
}
