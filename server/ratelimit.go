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

// waitLocked is how long until no key is locked out (0: none is).
func (l *failureLimiter) waitLocked(now time.Time, keys []string) time.Duration {
	var wait time.Duration
	for _, k := range keys {
		f := l.prune(k, now)
		if len(f) >= l.max {
			if w := f[len(f)-l.max].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait
}

// reservation is an attempt counted as a failure before its work is done.
type reservation struct {
	keys []string
	at   time.Time
}

// reserve counts an attempt as a failure of every key before it is checked,
// unless a key is locked out (then it reports how long to wait). Counting up
// front is what makes the limit hold under parallel attempts: were failures
// recorded after the check, every attempt started before the first one
// ended would pass. A success or an attempt that was never checked is
// handed back with release.
func (l *failureLimiter) reserve(keys ...string) (*reservation, time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if wait := l.waitLocked(now, keys); wait > 0 {
		return nil, wait, false
	}
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
	return &reservation{keys: keys, at: now}, 0, true
}

// release takes back a reserved failure: the attempt succeeded, or it was
// refused before it was checked.
func (l *failureLimiter) release(r *reservation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range r.keys {
		f := l.fails[k]
		for i := len(f) - 1; i >= 0; i-- {
			if f[i].Equal(r.at) {
				f = append(f[:i:i], f[i+1:]...)
				break
			}
		}
		if len(f) == 0 {
			delete(l.fails, k)
		} else {
			l.fails[k] = f
		}
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
