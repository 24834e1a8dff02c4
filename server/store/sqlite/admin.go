package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// ListUsers lists users by squad (admins without a squad first), then
// username.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]User, error) {
	q := `SELECT ` + userCols + ` FROM users`
	var args []any
	if f.SquadID != nil {
		q += ` WHERE squad_id = ?`
		args = append(args, *f.SquadID)
	}
	q += ` ORDER BY coalesce(squad_id, 0), username LIMIT ?`
	args = append(args, clampLimit(f.Limit, 1000, 10000))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("list users", err)
		}
		out = append(out, u)
	}
	return out, wrap("list users", rows.Err())
}

// UserByID looks a user up by id.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, notFound("user", id)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", id, err)
	}
	return u, nil
}

// SetUserDisabled disables or re-enables a user; disabling revokes the
// user's sessions. The user row takes a new seq, so that the squad's
// devices hear of it with their next pull.
func (s *Store) SetUserDisabled(ctx context.Context, userID string, disabled bool) (User, error) {
	err := s.writeTx(ctx, func(w *writer) error {
		before, err := w.userForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		if _, err := w.exec(ctx, `UPDATE users SET disabled = ?, seq = ? WHERE id = ?`, boolInt(disabled), seq, userID); err != nil {
			return err
		}
		after := before
		after.Disabled = disabled
		action, reason := "enable", ""
		if disabled {
			if err := revokeSessions(ctx, w, userID); err != nil {
				return err
			}
			action, reason = "disable", "sessions revoked"
		}
		return w.audit(ctx, schema.AuditUser, userID, before.SquadID, action, userState(before), userState(after), reason)
	})
	if err != nil {
		return User{}, fmt.Errorf("store: disable user %s: %w", userID, err)
	}
	return s.UserByID(ctx, userID)
}

// SetPassword stores a new password hash and revokes every session of the
// user in the same transaction.
func (s *Store) SetPassword(ctx context.Context, userID, hash string) error {
	err := s.writeTx(ctx, func(w *writer) error {
		u, err := w.userForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		if _, err := w.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID); err != nil {
			return err
		}
		if err := revokeSessions(ctx, w, userID); err != nil {
			return err
		}
		return w.audit(ctx, schema.AuditUser, userID, u.SquadID, "password", "", "", "password set, sessions revoked")
	})
	if err != nil {
		return fmt.Errorf("store: set password of %s: %w", userID, err)
	}
	return nil
}

// userForUpdate reads a user inside the write transaction that changes it,
// for the audit entry of the change.
func (w *writer) userForUpdate(ctx context.Context, userID string) (User, error) {
	rows, err := w.query(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, userID)
	if err != nil {
		return User{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return User{}, err
		}
		return User{}, notFound("user", userID)
	}
	return scanUser(rows)
}

// revokeSessions revokes the user's session tokens (not its devices').
func revokeSessions(ctx context.Context, w *writer, userID string) error {
	_, err := w.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND device_id IS NULL AND revoked_at IS NULL`,
		w.nowText(), userID)
	return err
}

// ListDevices lists enrolled devices, newest enrollment first.
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	q := `SELECT d.id, d.name, u.id, u.username, u.display_name, u.squad_id, d.created_at, d.revoked_at, d.last_sync_at, d.clock_offset_ms
		FROM devices d JOIN users u ON u.id = d.user_id`
	var args []any
	if f.SquadID != nil {
		q += ` WHERE u.squad_id = ?`
		args = append(args, *f.SquadID)
	}
	q += ` ORDER BY d.created_at DESC, d.id DESC LIMIT ?`
	args = append(args, clampLimit(f.Limit, 1000, 10000))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list devices", err)
	}
	defer rows.Close()
	out := []store.Device{}
	for rows.Next() {
		var d store.Device
		var squad, offset sql.NullInt64
		var created string
		var revoked, last sql.NullString
		if err := rows.Scan(&d.ID, &d.Name, &d.UserID, &d.Username, &d.DisplayName, &squad, &created, &revoked, &last, &offset); err != nil {
			return nil, wrap("list devices", err)
		}
		if squad.Valid {
			d.SquadID = &squad.Int64
		}
		if offset.Valid {
			d.ClockOffset = &offset.Int64
		}
		d.CreatedAt, d.RevokedAt, d.LastSyncAt = parseTime(created), nullTime(revoked), nullTime(last)
		out = append(out, d)
	}
	return out, wrap("list devices", rows.Err())
}
