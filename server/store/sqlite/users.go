package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

const userCols = `id, username, display_name, badge_no, role, squad_id, password_hash, disabled`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var squad sql.NullInt64
	var disabled int
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.BadgeNo, &u.Role, &squad, &u.PasswordHash, &disabled); err != nil {
		return User{}, err
	}
	if squad.Valid {
		v := squad.Int64
		u.SquadID = &v
	}
	u.Disabled = disabled != 0
	return u, nil
}

// UserByUsername looks a user up for login and enrollment.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, notFound("user", username)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", username, err)
	}
	return u, nil
}

// CreateUser inserts a user (used by tests and administration); it assigns
// the member row a seq so that devices of the squad receive it.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	u.Username = auth.CanonicalUsername(u.Username)
	err := s.writeTx(ctx, func(w *writer) error {
		if err := w.insertUser(ctx, u); err != nil {
			return err
		}
		return w.audit(ctx, schema.AuditUser, u.ID, u.SquadID, "create", "", userState(u), "user "+u.Username+", role "+u.Role)
	})
	if err != nil {
		return User{}, fmt.Errorf("store: create user %s: %w", u.Username, err)
	}
	return u, nil
}

// CountUsers tells the wiring whether a database is still empty (and may
// receive the demo seed).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// CreateSession stores a user session token (hashed) valid until expires.
func (s *Store) CreateSession(ctx context.Context, userID, tokenHash string, expires time.Time) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (token_hash, user_id, device_id, created_at, expires_at) VALUES (?, ?, NULL, ?, ?)`,
			tokenHash, userID, schema.FormatTime(s.now()), schema.FormatTime(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// RevokeToken revokes one token (logout).
func (s *Store) RevokeToken(ctx context.Context, tokenHash string) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`,
			schema.FormatTime(s.now()), tokenHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	return nil
}

// Authenticate resolves a token hash to its principal, or an unauthorized
// error that says whether the token is unknown, expired or revoked.
func (s *Store) Authenticate(ctx context.Context, tokenHash string) (*auth.Principal, error) {
	var (
		p                                auth.Principal
		squad                            sql.NullInt64
		deviceID, tokRevoked, devRevoked sql.NullString
		expires                          string
		disabled                         int
	)
	err := s.db.R.QueryRowContext(ctx, `SELECT u.id, u.username, u.display_name, u.role, u.squad_id, u.disabled,
			t.device_id, t.expires_at, t.revoked_at, d.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN devices d ON d.id = t.device_id
		WHERE t.token_hash = ?`, tokenHash).Scan(&p.UserID, &p.Username, &p.DisplayName, &p.Role, &squad, &disabled,
		&deviceID, &expires, &tokRevoked, &devRevoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.Errorf(schema.CodeUnauthorized, "unknown token; log in or enroll the device again")
	}
	if err != nil {
		return nil, fmt.Errorf("store: authenticate: %w", err)
	}
	switch {
	case tokRevoked.Valid:
		return nil, schema.Errorf(schema.CodeUnauthorized, "token was revoked; log in or enroll the device again")
	case devRevoked.Valid:
		return nil, schema.Errorf(schema.CodeUnauthorized, "this device was revoked; ask your squad leader for a new enrollment code")
	case disabled != 0:
		return nil, schema.Errorf(schema.CodeUnauthorized, "account %s is disabled", p.Username)
	}
	exp := parseTime(expires)
	if !s.now().Before(exp) {
		return nil, schema.Errorf(schema.CodeUnauthorized, "token expired at %s; log in or enroll the device again", exp.Format(time.RFC3339))
	}
	if squad.Valid {
		v := squad.Int64
		p.SquadID = &v
	}
	p.DeviceID = deviceID.String
	p.TokenHash = tokenHash
	return &p, nil
}

// CreateEnrollmentCode stores a one-time code (hashed) for an inspector.
func (s *Store) CreateEnrollmentCode(ctx context.Context, codeHash, userID, createdBy string, expires time.Time) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO enrollment_codes (code_hash, user_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			codeHash, userID, createdBy, schema.FormatTime(now), schema.FormatTime(expires)); err != nil {
			return err
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return fmt.Errorf("user %s: %w", userID, err)
		}
		_, err = appendAudit(ctx, tx, store.AuditOf(ctx, now, schema.AuditEnrollmentCode, store.EnrollmentCodeID(codeHash), u.SquadID, "create", "", "pending",
			"for "+u.Username+" by "+createdBy+", until "+schema.FormatTime(expires)))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create enrollment code: %w", err)
	}
	return nil
}

// EnrollDevice consumes a one-time code and creates the device and its
// token in one transaction, so a code can never enrol two devices.
func (s *Store) EnrollDevice(ctx context.Context, codeHash, deviceName, tokenHash string, tokenExpires time.Time) (EnrolledDevice, error) {
	var out EnrolledDevice
	now := s.now()
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var userID, expires string
		var used sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT user_id, expires_at, used_at FROM enrollment_codes WHERE code_hash = ?`, codeHash).
			Scan(&userID, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.CodeUnauthorized, "unknown enrollment code; check it or ask your squad leader for a new one")
		}
		if err != nil {
			return err
		}
		if used.Valid {
			return schema.Errorf(schema.CodeUnauthorized, "enrollment code was already used; ask your squad leader for a new one")
		}
		if !now.Before(parseTime(expires)) {
			return schema.Errorf(schema.CodeUnauthorized, "enrollment code expired; ask your squad leader for a new one")
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return err
		}
		if u.Disabled {
			return schema.Errorf(schema.CodeUnauthorized, "account %s is disabled", u.Username)
		}
		if u.SquadID == nil {
			return schema.Errorf(schema.CodeForbidden, "user %s belongs to no squad; only squad members enrol devices", u.Username)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		ts := schema.FormatTime(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, user_id, name, created_at) VALUES (?, ?, ?, ?)`, id.String(), userID, deviceName, ts); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrollment_codes SET used_at = ?, device_id = ? WHERE code_hash = ?`, ts, id.String(), codeHash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (token_hash, user_id, device_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			tokenHash, userID, id.String(), ts, schema.FormatTime(tokenExpires)); err != nil {
			return err
		}
		out = EnrolledDevice{DeviceID: id.String(), User: u}
		if u.BadgeNo != "" {
			rows, err := tx.QueryContext(ctx, `SELECT record_number FROM inspections WHERE record_number LIKE ? ESCAPE '\'`, store.RecordNumberLike(u.BadgeNo))
			if err != nil {
				return err
			}
			var numbers []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					rows.Close()
					return err
				}
				numbers = append(numbers, s)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			out.RecordCount = store.RecordCountOf(numbers, u.BadgeNo)
		}
		e := store.AuditOf(ctx, now, schema.AuditDevice, id.String(), u.SquadID, "enroll", "", "active", "device "+strconv.Quote(deviceName)+" of "+u.Username)
		if e.Actor == schema.AuditSystem {
			e.Actor = u.Username // the code's owner is who enrols
		}
		if _, err := appendAudit(ctx, tx, e); err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, store.AuditOf(ctx, now, schema.AuditEnrollmentCode, store.EnrollmentCodeID(codeHash), u.SquadID, "use", "pending", "used",
			"enrolled device "+id.String()))
		return err
	})
	if err != nil {
		return EnrolledDevice{}, fmt.Errorf("store: enroll device: %w", err)
	}
	return out, nil
}

// DeviceOwner returns the user a device belongs to (for authorization of
// device administration).
func (s *Store) DeviceOwner(ctx context.Context, deviceID string) (User, error) {
	u, err := scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = (SELECT user_id FROM devices WHERE id = ?)`, deviceID))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, notFound("device", deviceID)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: device %s: %w", deviceID, err)
	}
	return u, nil
}

// RevokeDevice revokes a device and every token it holds.
func (s *Store) RevokeDevice(ctx context.Context, deviceID string) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		ts := schema.FormatTime(now)
		var revoked sql.NullString
		var squad sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT d.revoked_at, u.squad_id FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?`, deviceID).
			Scan(&revoked, &squad)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("device", deviceID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, ts, deviceID); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL`, ts, deviceID); err != nil {
			return err
		}
		if revoked.Valid {
			return nil // revoked already: nothing changed
		}
		var sq *int64
		if squad.Valid {
			sq = &squad.Int64
		}
		_, err = appendAudit(ctx, tx, store.AuditOf(ctx, now, schema.AuditDevice, deviceID, sq, "revoke", "active", "revoked", ""))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke device %s: %w", deviceID, err)
	}
	return nil
}

// recordClockSample writes the sample and the device's latest offset.
func recordClockSample(ctx context.Context, tx *sql.Tx, cs ClockSample) error {
	at := schema.FormatTime(cs.At)
	if _, err := tx.ExecContext(ctx, `INSERT INTO device_clock_samples (device_id, at, offset_ms, endpoint) VALUES (?, ?, ?, ?)`,
		cs.DeviceID, at, cs.OffsetMS, cs.Endpoint); err != nil {
		return fmt.Errorf("clock sample: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET clock_offset_ms = ?, last_sync_at = ?,
			last_hlc = CASE WHEN ? > last_hlc THEN ? ELSE last_hlc END WHERE id = ?`,
		cs.OffsetMS, at, cs.HLC, cs.HLC, cs.DeviceID); err != nil {
		return fmt.Errorf("device offset: %w", err)
	}
	return nil
}

// RecordClockSample stores a sync's clock measurement on its own (pull).
func (s *Store) RecordClockSample(ctx context.Context, cs ClockSample) error {
	if err := s.db.WriteTx(ctx, func(tx *sql.Tx) error { return recordClockSample(ctx, tx, cs) }); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// DeviceClock reports a device's last recorded offset and sync time.
func (s *Store) DeviceClock(ctx context.Context, deviceID string) (offsetMS int64, lastSync time.Time, err error) {
	var off sql.NullInt64
	var last sql.NullString
	err = s.db.R.QueryRowContext(ctx, `SELECT clock_offset_ms, last_sync_at FROM devices WHERE id = ?`, deviceID).Scan(&off, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, notFound("device", deviceID)
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: device clock %s: %w", deviceID, err)
	}
	if t := nullTime(last); t != nil {
		lastSync = *t
	}
	return off.Int64, lastSync, nil
}
