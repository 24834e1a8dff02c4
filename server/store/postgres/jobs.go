package postgres

import (
	"context"
	"sync"
	"time"
)

// TryJobLock takes a session advisory lock on a connection of its own,
// held out of the pool until release: a replica that dies loses its
// connection, and PostgreSQL drops the lock with it.
func (s *Store) TryJobLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, wrap("job lock "+name, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClassJobs, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, wrap("job lock "+name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var unlocked bool
			if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClassJobs, name).Scan(&unlocked); err != nil || !unlocked {
				// The session may still hold the lock: end it rather
				// than hand a locked connection back to the pool.
				conn.Conn().Close(ctx)
			}
			conn.Release()
		})
	}, true, nil
}

// Shared is true: any number of replicas may open one database.
func (s *Store) Shared() bool { return true }

// Optimize does nothing: autovacuum analyzes every table as it changes,
// on every replica's behalf. (Import analyzes at once.)
func (s *Store) Optimize(ctx context.Context) error { return nil }
