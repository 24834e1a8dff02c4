package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

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
	// Every lock taken is released before the stores close, also when the
	// test fails half-way: a pool waits for a connection still holding one.
	var held []func()
	defer func() {
		for _, r := range held {
			r()
		}
	}()
	try := func(s interface {
		TryJobLock(context.Context, string) (func(), bool, error)
	}, what string) (func(), bool) {
		t.Helper()
		release, ok, err := s.TryJobLock(ctx, "hourly-cleanup")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !ok {
			return func() {}, false
		}
		var once sync.Once
		r := func() { once.Do(release) }
		held = append(held, r)
		return r, true
	}
	release, ok := try(a, "replica a")
	if !ok {
		t.Fatal("replica a could not take a free lock")
	}
	if _, ok := try(b, "replica b while a holds it"); ok {
		t.Fatal("replica b took the lock replica a holds")
	}
	release()
	if _, ok := try(b, "replica b after a released"); !ok {
		t.Fatal("replica b could not take the lock a released")
	}
	// Replica b dies: its session ends without an unlock. The backend ends
	// some moments after pg_terminate_backend answers, so the lock is
	// polled for (a bounded number of times), not expected at once.
	if _, err := a.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 2 AND objsubid = 2`); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, ok := try(a, "replica a after b died"); ok {
			break
		}
		if i == 200 {
			t.Fatal("the lock of a dead replica stayed held")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
