package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/server/store"
)

// ReserveAttempt counts an attempt against every key unless one is held
// back. The write transaction is the one writer's, so reading, deciding
// and recording are one step.
func (s *Store) ReserveAttempt(ctx context.Context, r store.AttemptReservation) (time.Duration, error) {
	var wait time.Duration
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		wait = 0
		counts := make([][]time.Time, len(r.Keys))
		for i, k := range r.Keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM attempt_failures WHERE name = ? AND at_ns <= ?`, k.Name, k.Since.UnixNano()); err != nil {
				return err
			}
			at, err := failuresOf(ctx, tx, k.Name)
			if err != nil {
				return err
			}
			counts[i] = at
			wait = max(wait, r.Hold(i, at))
		}
		if wait > 0 {
			return nil
		}
		for i, k := range r.Keys {
			if over := len(counts[i]) - max(k.Keep, 1) + 1; over > 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM attempt_failures WHERE (id, name) IN
					(SELECT id, name FROM attempt_failures WHERE name = ? ORDER BY at_ns LIMIT ?)`, k.Name, over); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO attempt_failures (id, name, at_ns) VALUES (?, ?, ?)`,
				r.ID, k.Name, r.At.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: reserve attempt: %w", err)
	}
	return wait, nil
}

// failuresOf lists the failures recorded for a key, oldest first.
func failuresOf(ctx context.Context, tx *sql.Tx, name string) ([]time.Time, error) {
	rows, err := tx.QueryContext(ctx, `SELECT at_ns FROM attempt_failures WHERE name = ? ORDER BY at_ns`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var ns int64
		if err := rows.Scan(&ns); err != nil {
			return nil, err
		}
		out = append(out, time.Unix(0, ns).UTC())
	}
	return out, rows.Err()
}

// ReleaseAttempt takes back the failures recorded under id.
func (s *Store) ReleaseAttempt(ctx context.Context, id string) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM attempt_failures WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release attempt: %w", err)
	}
	return nil
}

// RememberLogin notes a successful login of account from addr.
func (s *Store) RememberLogin(ctx context.Context, account, addr string, at time.Time) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO known_logins (account, address, at_ns) VALUES (?, ?, ?)
			ON CONFLICT (account, address) DO UPDATE SET at_ns = max(at_ns, excluded.at_ns)`, account, addr, at.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: remember login: %w", err)
	}
	return nil
}

// LoggedInFrom reports whether account logged in from addr after since.
func (s *Store) LoggedInFrom(ctx context.Context, account, addr string, since time.Time) (bool, error) {
	var ok bool
	err := s.db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM known_logins WHERE account = ? AND address = ? AND at_ns > ?)`,
		account, addr, since.UnixNano()).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("store: known login: %w", err)
	}
	return ok, nil
}

// PruneAttempts deletes failures and remembered logins that no longer count.
func (s *Store) PruneAttempts(ctx context.Context, failuresBefore, loginsBefore time.Time) (int64, error) {
	var n int64
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, q := range []struct {
			sql string
			at  time.Time
		}{
			{`DELETE FROM attempt_failures WHERE at_ns <= ?`, failuresBefore},
			{`DELETE FROM known_logins WHERE at_ns <= ?`, loginsBefore},
		} {
			res, err := tx.ExecContext(ctx, q.sql, q.at.UnixNano())
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune attempts: %w", err)
	}
	return n, nil
}
