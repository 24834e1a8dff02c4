package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/server/store"
)

var attemptCases = []contractCase{
	{"HoldDecidesReleaseTakesBack", testAttemptHold},
	{"WindowAndKeepForget", testAttemptWindow},
	{"ParallelAttemptsStopAtTheLimit", testAttemptParallel},
	{"KnownLoginsAndPrune", testAttemptKnown},
}

// limitOf is a hard limit: free failures, then held back for a minute.
func limitOf(free int) func(int, []time.Time) time.Duration {
	return func(_ int, at []time.Time) time.Duration {
		if len(at) >= free {
			return time.Minute
		}
		return 0
	}
}

// reserve counts one attempt at now against keys, held back by hold.
func reserve(t *testing.T, s store.Store, now time.Time, hold func(int, []time.Time) time.Duration, keys ...store.AttemptKey) (string, time.Duration) {
	t.Helper()
	id := uuid.NewString()
	wait, err := s.ReserveAttempt(context.Background(), store.AttemptReservation{ID: id, At: now, Keys: keys, Hold: hold})
	if err != nil {
		t.Fatalf("ReserveAttempt: %v", err)
	}
	return id, wait
}

func testAttemptHold(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	ctx := context.Background()
	acct := store.AttemptKey{Name: "login-account:alice", Keep: 40}
	addr := store.AttemptKey{Name: "login-address:10.0.0.1", Keep: 40}
	var seen [][]time.Time
	hold := func(i int, at []time.Time) time.Duration {
		seen = append(seen, at)
		return limitOf(3)(i, at)
	}
	var ids []string
	for i := range 3 {
		id, wait := reserve(t, s, start.Add(time.Duration(i)*time.Second), hold, acct, addr)
		if wait != 0 {
			t.Fatalf("attempt %d held back %v; 3 are free", i+1, wait)
		}
		ids = append(ids, id)
	}
	if last := seen[len(seen)-1]; len(last) != 2 || !last[0].Equal(start) || !last[1].Equal(start.Add(time.Second)) {
		t.Fatalf("the third attempt's hold saw %v; want the two earlier failures, oldest first", last)
	}
	if _, wait := reserve(t, s, start.Add(3*time.Second), hold, acct, addr); wait != time.Minute {
		t.Fatalf("fourth attempt: wait %v; want the rule's minute", wait)
	}
	// A held-back attempt records nothing: another key of the same
	// reservation was not charged either.
	if _, wait := reserve(t, s, start.Add(4*time.Second), limitOf(4), addr); wait != 0 {
		t.Fatalf("the address alone, under a limit of 4: wait %v; the refused attempt must not have counted", wait)
	}
	// Releasing one attempt takes its failure back from every key.
	if err := s.ReleaseAttempt(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	seen = nil
	if _, wait := reserve(t, s, start.Add(5*time.Second), hold, acct); wait != 0 || len(seen[0]) != 2 {
		t.Fatalf("after a release: wait %v, hold saw %v; want 2 failures left and the attempt through", wait, seen)
	}
	if err := s.ReleaseAttempt(ctx, uuid.NewString()); err != nil {
		t.Fatalf("releasing an attempt never made: %v", err)
	}
}

func testAttemptWindow(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	var saw int
	count := func(_ int, at []time.Time) time.Duration { saw = len(at); return 0 }
	key := func(now time.Time) store.AttemptKey {
		return store.AttemptKey{Name: "enroll-all", Since: now.Add(-time.Hour), Keep: 3}
	}
	for i := range 5 {
		now := start.Add(time.Duration(i) * time.Minute)
		reserve(t, s, now, count, key(now))
		if want := min(i, 3); saw != want {
			t.Fatalf("attempt %d saw %d failures; want %d (at most Keep are remembered)", i+1, saw, want)
		}
	}
	later := start.Add(time.Hour + 3*time.Minute + time.Second) // past the first four
	reserve(t, s, later, count, key(later))
	if saw != 1 {
		t.Fatalf("an hour later the hold saw %d failures; want only the one still in the window", saw)
	}
}

// testAttemptParallel: replicas checking the same account at once; the
// count is read and charged in one step, so no more than the free
// attempts get through.
func testAttemptParallel(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	const n, free = 20, 5
	keys := []store.AttemptKey{{Name: "login-address:10.0.0.9", Keep: 40}, {Name: "login-account:bob", Keep: 40}}
	var wg sync.WaitGroup
	waits := make([]time.Duration, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every other reservation names the keys in the other order.
			ks := keys
			if i%2 == 1 {
				ks = []store.AttemptKey{keys[1], keys[0]}
			}
			waits[i], errs[i] = s.ReserveAttempt(context.Background(), store.AttemptReservation{
				ID: uuid.NewString(), At: start.Add(time.Duration(i) * time.Millisecond), Keys: ks, Hold: limitOf(free)})
		}()
	}
	wg.Wait()
	through := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("reservation %d: %v", i, errs[i])
		}
		if waits[i] == 0 {
			through++
		}
	}
	if through != free {
		t.Fatalf("%d of %d parallel attempts got through; the limit is %d", through, n, free)
	}
}

func testAttemptKnown(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	ctx := context.Background()
	known := func(account, addr string, since time.Time) bool {
		t.Helper()
		ok, err := s.LoggedInFrom(ctx, account, addr, since)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if known("alice", "10.0.0.1", start.Add(-time.Hour)) {
		t.Fatal("an address nobody logged in from is known")
	}
	for _, at := range []time.Time{start, start.Add(-time.Hour)} { // a late, older report keeps the newer time
		if err := s.RememberLogin(ctx, "alice", "10.0.0.1", at); err != nil {
			t.Fatal(err)
		}
	}
	if !known("alice", "10.0.0.1", start.Add(-time.Minute)) || known("alice", "10.0.0.1", start) ||
		known("alice", "10.0.0.2", start.Add(-time.Minute)) || known("bob", "10.0.0.1", start.Add(-time.Minute)) {
		t.Fatal("known logins: want alice at 10.0.0.1 since just before the login, and nothing else")
	}
	reserve(t, s, start, limitOf(9), store.AttemptKey{Name: "login-address:10.0.0.3", Keep: 40})
	reserve(t, s, start.Add(time.Hour), limitOf(9), store.AttemptKey{Name: "login-address:10.0.0.4", Keep: 40})
	n, err := s.PruneAttempts(ctx, start, start)
	if err != nil || n != 2 {
		t.Fatalf("PruneAttempts up to the start: %d rows, %v; want the first failure and the login", n, err)
	}
	if known("alice", "10.0.0.1", start.Add(-time.Hour)) {
		t.Fatal("a pruned login is still known")
	}
	var saw int
	reserve(t, s, start.Add(time.Hour), func(_ int, at []time.Time) time.Duration { saw = len(at); return 0 },
		store.AttemptKey{Name: "login-address:10.0.0.4", Keep: 40})
	if saw != 1 {
		t.Fatalf("the failure after the prune point: %d left; want 1", saw)
	}
}
