package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/server/store"
)

// Classes of the two-key advisory locks the store takes (the first key);
// the second is hashtext of the name. Migrations lock in the one-key space,
// which never meets these.
const (
	lockClassAttempts = 1
	lockClassJobs     = 2
)

// ReserveAttempt counts an attempt against every key unless one is held
// back. Each key's advisory lock, taken in name order (so that two
// reservations never wait on each other in a circle), makes reading,
// deciding and recording one step across every replica, also for a key
// that has no rows yet.
func (s *Store) ReserveAttempt(ctx context.Context, r store.AttemptReservation) (time.Duration, error) {
	var wait time.Duration
	names := make([]string, len(r.Keys))
	for i, k := range r.Keys {
		names[i] = k.Name
	}
	slices.Sort(names)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		wait = 0
		for _, name := range slices.Compact(names) {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClassAttempts, name); err != nil {
				return err
			}
		}
		counts := make([][]time.Time, len(r.Keys))
		for i, k := range r.Keys {
			if _, err := tx.Exec(ctx, `DELETE FROM attempt_failures WHERE name = $1 AND at_ns <= $2`, k.Name, k.Since.UnixNano()); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT at_ns FROM attempt_failures WHERE name = $1 ORDER BY at_ns`, k.Name)
			if err != nil {
				return err
			}
			ns, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			for _, n := range ns {
				counts[i] = append(counts[i], time.Unix(0, n).UTC())
			}
			wait = max(wait, r.Hold(i, counts[i]))
		}
		if wait > 0 {
			return nil
		}
		for i, k := range r.Keys {
			if over := len(counts[i]) - max(k.Keep, 1) + 1; over > 0 {
				if _, err := tx.Exec(ctx, `DELETE FROM attempt_failures WHERE (id, name) IN
					(SELECT id, name FROM attempt_failures WHERE name = $1 ORDER BY at_ns LIMIT $2)`, k.Name, over); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO attempt_failures (id, name, at_ns) VALUES ($1, $2, $3)`, r.ID, k.Name, r.At.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap("reserve attempt", err)
	}
	return wait, nil
}

// ReleaseAttempt takes back the failures recorded under id.
func (s *Store) ReleaseAttempt(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM attempt_failures WHERE id = $1`, id)
	return wrap("release attempt", err)
}

// RememberLogin notes a successful login of account from addr.
func (s *Store) RememberLogin(ctx context.Context, account, addr string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO known_logins (account, address, at_ns) VALUES ($1, $2, $3)
		ON CONFLICT (account, address) DO UPDATE SET at_ns = GREATEST(known_logins.at_ns, excluded.at_ns)`, account, addr, at.UnixNano())
	return wrap("remember login", err)
}

// LoggedInFrom reports whether account logged in from addr after since.
func (s *Store) LoggedInFrom(ctx context.Context, account, addr string, since time.Time) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM known_logins WHERE account = $1 AND address = $2 AND at_ns > $3)`,
		account, addr, since.UnixNano()).Scan(&ok)
	if err != nil {
		return false, wrap("known login", err)
	}
	return ok, nil
}

// PruneAttempts deletes failures and remembered logins that no longer count.
func (s *Store) PruneAttempts(ctx context.Context, failuresBefore, loginsBefore time.Time) (int64, error) {
	var n int64
	for _, q := range []struct {
		sql string
		at  time.Time
	}{
		{`DELETE FROM attempt_failures WHERE at_ns <= $1`, failuresBefore},
		{`DELETE FROM known_logins WHERE at_ns <= $1`, loginsBefore},
	} {
		tag, err := s.pool.Exec(ctx, q.sql, q.at.UnixNano())
		if err != nil {
			return n, wrap("prune attempts", err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
