package sqlite

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer copies committed WAL frames into the database file on a
// connection of its own after a push commits. SQLite's automatic
// checkpoint otherwise runs inside the COMMIT that crosses its threshold,
// so every other push would pay for copying the frames of the one before
// it. A passive checkpoint waits for no reader or writer; should one still
// run when a commit crosses the threshold, that commit's own checkpoint
// finds the lock taken and leaves the work to this one. Durability does not
// depend on it: a commit is on disk in the WAL before it returns.
//
// It keeps off the pushes' preparation: a push decodes and looks up its
// mutations beside the writer, and on a small machine a checkpoint beside
// both would take the core the writer waits on. So after a commit it waits
// briefly for the next push, lets that push prepare, and then runs beside
// its writer's SQL.
type checkpointer struct {
	kick      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	stopOnce  sync.Once
	preparing atomic.Int32  // pushes preparing mutations now
	changed   chan struct{} // poked when one starts or finishes
}

// checkpointGrace is how long a checkpoint waits for a push to start
// preparing; maxCheckpointDelay bounds its whole wait, so that a steady
// stream of pushes cannot starve it.
const (
	checkpointGrace    = 5 * time.Millisecond
	maxCheckpointDelay = 50 * time.Millisecond
)

func (s *Store) startCheckpointer() {
	c := &checkpointer{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), changed: make(chan struct{}, 1)}
	s.ckpt = c
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.stop:
				return
			case <-c.kick:
			}
			if !c.waitForPreparation() {
				return
			}
			// A failed checkpoint leaves the frames to the next one or to
			// SQLite's own; nothing is lost.
			_, _ = s.db.R.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}()
}

// waitForPreparation waits until a push that starts within the grace
// period has prepared its mutations; false when the checkpointer stops.
func (c *checkpointer) waitForPreparation() bool {
	grace, limit := time.NewTimer(checkpointGrace), time.NewTimer(maxCheckpointDelay)
	defer grace.Stop()
	defer limit.Stop()
	seen := false
	for {
		switch n := c.preparing.Load(); {
		case n > 0:
			seen = true
		case seen:
			return true
		}
		select {
		case <-c.changed:
		case <-grace.C:
			if !seen && c.preparing.Load() == 0 {
				return true
			}
		case <-limit.C:
			return true
		case <-c.stop:
			return false
		}
	}
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

// preparingPush tells the checkpointer that a push is preparing its
// mutations until the returned function is called.
func (s *Store) preparingPush() func() {
	c := s.ckpt
	if c == nil {
		return func() {}
	}
	poke := func() {
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
	c.preparing.Add(1)
	poke()
	return func() {
		c.preparing.Add(-1)
		poke()
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
