package auth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by a Checker whose workers and queue are all taken:
// the caller should answer "retry shortly" without hashing anything.
var ErrBusy = errors.New("auth: password checks at capacity")

// CheckCost is the memory one password check with DefaultParams holds while
// it runs (argon2id's m parameter); the pool is sized by it.
const CheckCost = int64(19 * 1024 * 1024)

// dummyHash is checked when the user does not exist, so that such a login
// costs the same memory and time as a real one and reveals nothing.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("patrol: no such user")
	if err != nil {
		panic("auth: dummy hash: " + err.Error())
	}
	return h
})

// Checker runs password checks on a bounded number of workers with a short
// bounded queue. Each argon2id check holds CheckCost of memory, so without a
// bound a burst of logins (with fresh usernames from fresh addresses, which
// no failure limit stops) takes the server's memory; with it, a burst costs
// at most Workers × CheckCost and the excess is refused at once.
type Checker struct {
	slots    chan struct{} // one per worker
	queue    chan struct{} // one per waiting check
	wait     time.Duration
	checks   atomic.Uint64
	rejected atomic.Uint64
}

// NewChecker allows workers checks at once and queue more to wait up to
// wait for a worker.
func NewChecker(workers, queue int, wait time.Duration) *Checker {
	if workers < 1 {
		workers = 1
	}
	if queue < 0 {
		queue = 0
	}
	return &Checker{slots: make(chan struct{}, workers), queue: make(chan struct{}, queue), wait: wait}
}

// Verify reports whether pw matches hash, like VerifyPassword, on a worker.
// An empty hash stands for a user that does not exist: pw is checked against
// a dummy hash of the same cost and the answer is false. ErrBusy means the
// check was refused before any hashing; ctx ends a wait for a worker.
func (c *Checker) Verify(ctx context.Context, hash, pw string) (bool, error) {
	if err := c.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-c.slots }()
	c.checks.Add(1)
	if hash == "" {
		_, _ = VerifyPassword(dummyHash(), pw)
		return false, nil
	}
	return VerifyPassword(hash, pw)
}

// Hash hashes a password someone sets (HashPassword) on a worker, so that
// setting passwords shares the bound of checking them: ErrBusy means
// nothing was hashed.
func (c *Checker) Hash(ctx context.Context, pw string) (string, error) {
	if err := c.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-c.slots }()
	c.checks.Add(1)
	return HashPassword(pw)
}

func (c *Checker) acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.queue <- struct{}{}:
	default:
		c.rejected.Add(1)
		return ErrBusy
	}
	defer func() { <-c.queue }()
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-t.C:
		c.rejected.Add(1)
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Workers is the number of checks run at once.
func (c *Checker) Workers() int { return cap(c.slots) }

// InUse is the number of checks running now.
func (c *Checker) InUse() int { return len(c.slots) }

// Queued is the number of checks waiting for a worker now.
func (c *Checker) Queued() int { return len(c.queue) }

// Checks counts the password checks run (each one argon2id hash).
func (c *Checker) Checks() uint64 { return c.checks.Load() }

// Rejected counts the checks refused with ErrBusy.
func (c *Checker) Rejected() uint64 { return c.rejected.Load() }

// Workers sizes a check pool from the machine: one worker per CPU the Go
// scheduler runs on (a check is CPU-bound; more workers only add latency and
// memory), lowered so that the workers' memory stays within a quarter of
// memLimit, and at least one.
func Workers(procs int, memLimit int64) int {
	n := procs
	if byMem := memLimit / 4 / CheckCost; memLimit > 0 && int64(n) > byMem {
		n = int(byMem)
	}
	return max(n, 1)
}

// DefaultWorkers is Workers for this process: GOMAXPROCS, and the smallest
// of GOMEMLIMIT, the cgroup's memory.max and the machine's memory.
func DefaultWorkers() int {
	return Workers(runtime.GOMAXPROCS(0), memoryLimit())
}

func memoryLimit() int64 {
	limit := debug.SetMemoryLimit(-1) // math.MaxInt64 when unset
	lower := func(v int64) {
		if v > 0 && v < limit {
			limit = v
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil { // "max" does not parse
			lower(v)
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemTotal:")); ok {
				kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
				if err == nil {
					lower(kb * 1024)
				}
				break
			}
		}
	}
	return limit
}
