package sqlite

import (
	"context"
	"sync"
)

// checkpointer copies committed WAL frames into the database file on a
// connection of its own after a push commits. SQLite's automatic
// checkpoint otherwise runs inside the COMMIT that crosses its threshold,
// so every other push would pay for copying the frames of the one before
// it. A passive checkpoint waits for no reader or writer; should one still
// run when a commit crosses the threshold, that commit's own checkpoint
// finds the lock taken and leaves the work to this one. Durability does not
// depend on it: a commit is on disk in the WAL before it returns.
type checkpointer struct {
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (s *Store) startCheckpointer() {
	c := &checkpointer{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.ckpt = c
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.stop:
				return
			case <-c.kick:
			}
			// A failed checkpoint leaves the frames to the next one or to
			// SQLite's own; nothing is lost.
			_, _ = s.db.R.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}()
}

// kickCheckpoint asks for a checkpoint without waiting for it.
func (s *Store) kickCheckpoint() {
	if s.ckpt == nil {
		return
	}
	select {
	case s.ckpt.kick <- struct{}{}:
	default:
	}
}

// stopCheckpointer ends the checkpointer and waits for a running checkpoint.
func (s *Store) stopCheckpointer() {
	if s.ckpt == nil {
		return
	}
	s.ckpt.stopOnce.Do(func() { close(s.ckpt.stop) })
	<-s.ckpt.done
}
