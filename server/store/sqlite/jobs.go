package sqlite

import (
	"context"
	"sync"
)

// jobLocks are the locks of scheduled jobs. SQLite serves one server, so
// a lock in the process is a lock everywhere.
type jobLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

// TryJobLock takes the job lock name in this process without waiting.
func (s *Store) TryJobLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	l := &s.jobs
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, true, nil
}

// Shared is false: one SQLite file serves one server.
func (s *Store) Shared() bool { return false }

// Optimize refreshes the planner's statistics of the tables that grew or
// shrank a lot since they were last analyzed (schema.DB.Optimize).
func (s *Store) Optimize(ctx context.Context) error {
	if err := s.db.Optimize(ctx); err != nil {
		return wrap("optimize", err)
	}
	return nil
}
