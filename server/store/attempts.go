package store

import (
	"context"
	"time"
)

// Attempts count failed logins and enrollments in the store, so that the
// limits on guessing passwords and enrollment codes hold across every
// replica behind a load balancer: a guesser who spreads attempts over the
// replicas meets one count. The rules (how many failures are free, how
// long a key is held back) are the server's; the store makes reading a
// key's failures, deciding and recording the next one a single step.
type Attempts interface {
	// ReserveAttempt, atomically for all of r.Keys: forgets each key's
	// failures at or before its Since and beyond its Keep, asks r.Hold how
	// long each key's remaining failures hold it back and, when none does,
	// records a failure at r.At under r.ID for every key. It returns the
	// longest hold: 0 when the failure was recorded.
	ReserveAttempt(ctx context.Context, r AttemptReservation) (time.Duration, error)
	// ReleaseAttempt takes back the failures recorded under id: the
	// attempt succeeded, or it was refused before it was checked.
	ReleaseAttempt(ctx context.Context, id string) error
	// RememberLogin notes a successful login of account from addr at at.
	RememberLogin(ctx context.Context, account, addr string, at time.Time) error
	// LoggedInFrom reports whether account logged in from addr after since.
	LoggedInFrom(ctx context.Context, account, addr string, since time.Time) (bool, error)
	// PruneAttempts deletes failures at or before failuresBefore and
	// logins remembered at or before loginsBefore, so that keys nobody
	// tries again do not stay for ever; it returns how many rows went.
	PruneAttempts(ctx context.Context, failuresBefore, loginsBefore time.Time) (int64, error)
}

// AttemptReservation is one attempt to count against several keys.
type AttemptReservation struct {
	ID   string // the caller's unique id of the attempt, for ReleaseAttempt
	At   time.Time
	Keys []AttemptKey
	// Hold says how long Keys[i] must wait given its failures that still
	// count, oldest first; 0 lets the attempt through.
	Hold func(i int, failures []time.Time) time.Duration
}

// AttemptKey is one thing attempts are counted against.
type AttemptKey struct {
	Name  string
	Since time.Time // failures at or before it have left the window
	Keep  int       // at most this many, the newest, are remembered
}
