package store

import "context"

// Jobs let scheduled work (the hourly clean-up, nightly rollups) run on
// one replica at a time although every replica's cron fires it.
type Jobs interface {
	// TryJobLock takes the lock named name without waiting: ok is false
	// when it is held, by another replica or this one. It stays held until
	// release is called or the replica's connection to the store ends
	// (the replica died), whichever comes first; call release before
	// closing the store.
	TryJobLock(ctx context.Context, name string) (release func(), ok bool, err error)
	// Shared reports whether several replicas may serve from this store
	// at once, so that what a lone server keeps in its memory (failed
	// login counts) must be kept in the store instead.
	Shared() bool
	// Optimize refreshes the statistics the store's query planner chooses
	// indexes by, where the store does not keep them fresh itself; the
	// hourly clean-up runs it.
	Optimize(ctx context.Context) error
}
