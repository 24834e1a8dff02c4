package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// ListUsers lists users by squad (admins without a squad first), then
// username.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	q := `SELECT ` + userCols + ` FROM users`
	args := []any{clampLimit(f.Limit, 1000, 10000)}
	if f.SquadID != nil {
		q += ` WHERE squad_id = $2`
		args = append(args, *f.SquadID)
	}
	q += ` ORDER BY coalesce(squad_id, 0), username LIMIT $1`
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	out := []store.User{}
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
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, notFound("user", id)
	}
	if err != nil {
		return store.User{}, wrap("user "+id, err)
	}
	return u, nil
}

// SetUserDisabled disables or re-enables a user; disabling revokes the
// user's sessions. The user row takes a new seq, so that the squad's
// devices hear of it with their next pull.
func (s *Store) SetUserDisabled(ctx context.Context, userID string, disabled bool) (store.User, error) {
	err := s.writeTx(ctx, func(w *writer) error {
		before, err := scanUser(w.tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1 FOR UPDATE`, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("user", userID)
		}
		if err != nil {
			return err
		}
		if _, err := w.tx.Exec(ctx, `UPDATE users SET disabled = $1, seq = $2 WHERE id = $3`, disabled, w.nextSeq(), userID); err != nil {
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
		return store.User{}, fmt.Errorf("store: disable user %s: %w", userID, err)
	}
	return s.UserByID(ctx, userID)
}

// SetPassword stores a new password hash and revokes every session of the
// user in the same transaction.
func (s *Store) SetPassword(ctx context.Context, userID, hash string) error {
	err := s.writeTx(ctx, func(w *writer) error {
		var squad *int64
		err := w.tx.QueryRow(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING squad_id`, hash, userID).Scan(&squad)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("user", userID)
		}
		if err != nil {
			return err
		}
		if err := revokeSessions(ctx, w, userID); err != nil {
			return err
		}
		return w.audit(ctx, schema.AuditUser, userID, squad, "password", "", "", "password set, sessions revoked")
	})
	if err != nil {
		return fmt.Errorf("store: set password of %s: %w", userID, err)
	}
	return nil
}

// revokeSessions revokes the user's session tokens (not its devices').
func revokeSessions(ctx context.Context, w *writer, userID string) error {
	_, err := w.tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND device_id IS NULL AND revoked_at IS NULL`,
		w.nowText(), userID)
	return err
}

// ListDevices lists enrolled devices, newest enrollment first.
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	q := `SELECT d.id, d.name, u.id, u.username, u.display_name, u.squad_id, d.created_at, d.revoked_at, d.last_sync_at, d.clock_offset_ms
		FROM devices d JOIN users u ON u.id = d.user_id`
	args := []any{clampLimit(f.Limit, 1000, 10000)}
	if f.SquadID != nil {
		q += ` WHERE u.squad_id = $2`
		args = append(args, *f.SquadID)
	}
	q += ` ORDER BY d.created_at DESC, d.id DESC LIMIT $1`
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list devices", err)
	}
	defer rows.Close()
	out := []store.Device{}
	for rows.Next() {
		var d store.Device
		var created string
		var revoked, last *string
		if err := rows.Scan(&d.ID, &d.Name, &d.UserID, &d.Username, &d.DisplayName, &d.SquadID, &created, &revoked, &last, &d.ClockOffset); err != nil {
			return nil, wrap("list devices", err)
		}
		d.CreatedAt, d.RevokedAt, d.LastSyncAt = parseTime(created), nullTime(revoked), nullTime(last)
		out = append(out, d)
	}
	return out, wrap("list devices", rows.Err())
}
