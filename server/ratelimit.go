package server

import (
	"context"
	"sync"
	"time"
)

// attemptLimiter counts failed logins and enrollments per key and holds a
// key back once it has too many (see rule). A lone server counts in its
// memory (failureLimiter); replicas behind one load balancer count in the
// store they share (storeLimiter), or a guesser would get each replica's
// allowance.
type attemptLimiter interface {
	// reserve counts an attempt as a failure of every key before it is
	// checked, unless a key is held back: then it reports how long to
	// wait, and counts nothing. Counting up front is what makes the limit
	// hold under parallel attempts: were failures recorded after the
	// check, every attempt started before the first one ended would pass.
	reserve(ctx context.Context, keys ...limitKey) (*reservation, time.Duration, error)
	// release takes back a reserved failure: the attempt succeeded, or it
	// was refused before it was checked.
	release(ctx context.Context, r *reservation) error
	// remember notes a successful login of account from addr.
	remember(ctx context.Context, account, addr string) error
	// knownAt reports whether account logged in successfully from addr
	// within knownAddressTTL.
	knownAt(ctx context.Context, account, addr string) (bool, error)
}

// rule says how many failed attempts a key may collect within a window and
// how the key is held back after that.
type rule struct {
	free   int           // failures within the window before the key is held back
	window time.Duration // how long a failure counts
	// delay > 0 makes the hold a growing delay: once free failures are
	// counted, the next attempt waits delay·2^(n−free) after the last
	// failure, at most maxDelay, so the right password gets through after a
	// short wait however many wrong ones came before. delay == 0 makes the
	// hold a hard limit: refused until failures age out below free.
	delay, maxDelay time.Duration
}

// hold is how long a key whose failures are at (oldest first) must wait.
func (r *rule) hold(at []time.Time, now time.Time) time.Duration {
	n := len(at)
	if n < r.free || n == 0 {
		return 0
	}
	if r.delay <= 0 {
		return at[n-r.free].Add(r.window).Sub(now)
	}
	d := r.maxDelay
	if shift := n - r.free; shift < 32 && r.delay<<shift < d {
		d = r.delay << shift
	}
	return at[n-1].Add(d).Sub(now)
}

// keep is how many failures of a key are worth remembering: a hard limit
// refuses before it collects more than free, and a delay reaches maxDelay
// long before 32 doublings.
func (r *rule) keep() int { return r.free + 32 }

// limitKey is one thing attempts are counted against: an account, a client
// address, or every attempt of a kind.
type limitKey struct {
	name string
	rule *rule
}

// failureLimiter is the attemptLimiter of a lone server: it counts failed
// attempts per key in a sliding window in memory, so that passwords and
// enrollment codes cannot be guessed at speed, without a write to the
// database per attempt. Time is injected; memory is bounded by
// maxLimiterKeys.
type failureLimiter struct {
	mu    sync.Mutex
	now   func() time.Time
	fails map[string]*failures
	known map[string]time.Time // account and address → last successful login from there
}

type failures struct {
	rule *rule
	at   []time.Time // oldest first
}

// maxLimiterKeys bounds the memory an attacker can make the limiter use by
// failing from many addresses or with many usernames (about 100 bytes a
// key). Past it, stale keys are pruned and then a tenth of the rest dropped
// at random: an attacker who fills the map to flush one account's count
// pays 10,000 failures for each account failure forgotten.
const maxLimiterKeys = 100_000

// knownAddressTTL is how long an address stays known for an account after
// a successful login from it.
const knownAddressTTL = 30 * 24 * time.Hour

func newFailureLimiter(now func() time.Time) *failureLimiter {
	return &failureLimiter{now: now, fails: map[string]*failures{}, known: map[string]time.Time{}}
}

var _ attemptLimiter = (*failureLimiter)(nil)

// reservation is an attempt counted as a failure before its work is done.
type reservation struct {
	id   string // the store's name of the attempt (storeLimiter)
	keys []string
	at   time.Time
}

// reserve implements attemptLimiter.
func (l *failureLimiter) reserve(_ context.Context, keys ...limitKey) (*reservation, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		if f := l.prune(k.name, now); f != nil {
			wait = max(wait, k.rule.hold(f.at, now))
		}
	}
	if wait > 0 {
		return nil, wait, nil
	}
	if len(l.fails)+len(keys) > maxLimiterKeys {
		l.shrink(now)
	}
	res := &reservation{at: now}
	for _, k := range keys {
		f := l.fails[k.name]
		if f == nil {
			f = &failures{rule: k.rule}
			l.fails[k.name] = f
		}
		if len(f.at) >= k.rule.keep() {
			f.at = f.at[1:]
		}
		f.at = append(f.at, now)
		res.keys = append(res.keys, k.name)
	}
	return res, 0, nil
}

// release implements attemptLimiter.
func (l *failureLimiter) release(_ context.Context, r *reservation) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range r.keys {
		f := l.fails[k]
		if f == nil {
			continue
		}
		for i := len(f.at) - 1; i >= 0; i-- {
			if f.at[i].Equal(r.at) {
				f.at = append(f.at[:i:i], f.at[i+1:]...)
				break
			}
		}
		if len(f.at) == 0 {
			delete(l.fails, k)
		}
	}
	return nil
}

// remember implements attemptLimiter.
func (l *failureLimiter) remember(_ context.Context, account, addr string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.known) >= maxLimiterKeys {
		dropped := 0
		for k, t := range l.known {
			if now.Sub(t) > knownAddressTTL || dropped < maxLimiterKeys/10 {
				delete(l.known, k)
				dropped++
			}
		}
	}
	l.known[account+"\x00"+addr] = now
	return nil
}

// knownAt implements attemptLimiter.
func (l *failureLimiter) knownAt(_ context.Context, account, addr string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.known[account+"\x00"+addr]
	return ok && l.now().Sub(t) <= knownAddressTTL, nil
}

// prune drops the failures of key that left its window and returns what is
// left (nil when nothing is).
func (l *failureLimiter) prune(key string, now time.Time) *failures {
	f := l.fails[key]
	if f == nil {
		return nil
	}
	i := 0
	for i < len(f.at) && !f.at[i].Add(f.rule.window).After(now) {
		i++
	}
	f.at = f.at[i:]
	if len(f.at) == 0 {
		delete(l.fails, key)
		return nil
	}
	return f
}

// shrink makes room in a full map: stale keys first, then a tenth at random.
func (l *failureLimiter) shrink(now time.Time) {
	for k := range l.fails {
		l.prune(k, now)
	}
	for k := range l.fails {
		if len(l.fails) <= maxLimiterKeys*9/10 {
			break
		}
		delete(l.fails, k)
	}
}
