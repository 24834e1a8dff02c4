package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patrolhq/patrol/server/store"
)

// storeLimiter is the attemptLimiter of replicas: the failures live in the
// store they share, which reads a key's failures, applies the rule and
// records the attempt in one step, so that the limits hold however the
// load balancer spreads a guesser's attempts. Each attempt costs a write,
// which a shared database takes in parallel; a lone server keeps the
// in-memory failureLimiter and its one writer free for syncs.
type storeLimiter struct {
	st  store.Attempts
	now func() time.Time
}

var _ attemptLimiter = (*storeLimiter)(nil)

// newAttemptLimiter picks the limiter for the store: in the store when
// replicas share it, in memory otherwise.
func newAttemptLimiter(st store.Store, now func() time.Time) attemptLimiter {
	if st.Shared() {
		return &storeLimiter{st: st, now: now}
	}
	return newFailureLimiter(now)
}

// reserve implements attemptLimiter.
func (l *storeLimiter) reserve(ctx context.Context, keys ...limitKey) (*reservation, time.Duration, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, 0, fmt.Errorf("server: attempt id: %w", err)
	}
	now := l.now()
	res := &reservation{id: hex.EncodeToString(b[:]), at: now}
	ks := make([]store.AttemptKey, len(keys))
	for i, k := range keys {
		ks[i] = store.AttemptKey{Name: storeText(k.name), Since: now.Add(-k.rule.window), Keep: k.rule.keep()}
		res.keys = append(res.keys, k.name)
	}
	wait, err := l.st.ReserveAttempt(ctx, store.AttemptReservation{ID: res.id, At: now, Keys: ks,
		Hold: func(i int, at []time.Time) time.Duration { return keys[i].rule.hold(at, now) }})
	if err != nil || wait > 0 {
		return nil, wait, err
	}
	return res, 0, nil
}

// release implements attemptLimiter.
func (l *storeLimiter) release(ctx context.Context, r *reservation) error {
	return l.st.ReleaseAttempt(ctx, r.id)
}

// remember implements attemptLimiter.
func (l *storeLimiter) remember(ctx context.Context, account, addr string) error {
	return l.st.RememberLogin(ctx, storeText(account), storeText(addr), l.now())
}

// knownAt implements attemptLimiter.
func (l *storeLimiter) knownAt(ctx context.Context, account, addr string) (bool, error) {
	return l.st.LoggedInFrom(ctx, storeText(account), storeText(addr), l.now().Add(-knownAddressTTL))
}

// storeText is s as a database text column takes it: key names join an
// account and an address with a NUL byte, and a username typed at the
// login form may be any bytes, which PostgreSQL text refuses. Those are
// quoted (with Go escapes), and so is anything that starts with a quote,
// so that quoting keeps distinct names distinct.
func storeText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && !strings.HasPrefix(s, `"`) {
		return s
	}
	return strconv.QuoteToASCII(s)
}
