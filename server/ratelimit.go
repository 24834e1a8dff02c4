package server

import (
	"sync"
	"time"
)

// failureLimiter counts failed attempts per key (a username, a client
// address) in a sliding window and locks a key out once it reaches the
// limit, so that passwords and enrollment codes cannot be guessed at speed.
// Time is injected; memory is bounded by pruning stale keys.
type failureLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

// maxLimiterKeys bounds the memory an attacker can make the limiter use by
// failing from many addresses or with many usernames.
const maxLimiterKeys = 100_000

func newFailureLimiter(max int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// blocked reports whether any key is locked out and, if so, after how long
// the oldest failure in the window expires.
func (l *failureLimiter) blocked(keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		f := l.prune(k, now)
		if len(f) >= l.max {
			if w := f[len(f)-l.max].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait, wait > 0
}

// fail records a failed attempt for every key.
func (l *failureLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= maxLimiterKeys {
		for k := range l.fails {
			if len(l.prune(k, now)) == 0 {
				delete(l.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := l.prune(k, now)
		if len(f) >= 2*l.max {
			f = f[1:]
		}
		l.fails[k] = append(f, now)
	}
}

// reset forgets the failures of a key after a success.
func (l *failureLimiter) reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}

func (l *failureLimiter) prune(k string, now time.Time) []time.Time {
	f := l.fails[k]
	i := 0
	for i < len(f) && !f[i].Add(l.window).After(now) {
		i++
	}
	if i > 0 {
		f = f[i:]
		if len(f) == 0 {
			delete(l.fails, k)
			return nil
		}
		l.fails[k] = f
	}
	return f
}
