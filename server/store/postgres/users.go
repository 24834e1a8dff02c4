package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

const userCols = `id, username, display_name, badge_no, role, squad_id, password_hash, disabled`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.BadgeNo, &u.Role, &u.SquadID, &u.PasswordHash, &u.Disabled); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// UserByUsername looks a user up for login and enrollment.
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, notFound("user", username)
	}
	if err != nil {
		return store.User{}, wrap("user "+username, err)
	}
	return u, nil
}

// CreateUser inserts a user; it assigns the member row a seq so that
// devices of the squad receive it.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
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
		return store.User{}, fmt.Errorf("store: create user %s: %w", u.Username, err)
	}
	return u, nil
}

// insertUser writes a user with a seq, so that the squad's devices receive
// the member row.
func (w *writer) insertUser(ctx context.Context, u store.User) error {
	u.Username = auth.CanonicalUsername(u.Username)
	if u.SquadID != nil {
		if err := w.squadExists(ctx, *u.SquadID); err != nil {
			return err
		}
	}
	_, err := w.tx.Exec(ctx, `INSERT INTO users (id, username, display_name, badge_no, role, squad_id, password_hash, disabled, created_at, seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, u.ID, u.Username, u.DisplayName, u.BadgeNo, u.Role, u.SquadID, u.PasswordHash,
		u.Disabled, w.nowText(), w.nextSeq())
	switch {
	case isUnique(err, "users_username_key"):
		return schema.Errorf(schema.CodeConflict, "username %s is taken", u.Username)
	case isUnique(err, "users_pkey"):
		return schema.Errorf(schema.CodeConflict, "user id %s is taken", u.ID)
	case err != nil:
		return fmt.Errorf("user %s: %w", u.Username, err)
	}
	return nil
}

// CountUsers tells the wiring whether a database is still empty (and may
// receive the demo seed).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, wrap("count users", err)
	}
	return n, nil
}

// CreateSession stores a user session token (hashed) valid until expires.
func (s *Store) CreateSession(ctx context.Context, userID, tokenHash string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (token_hash, user_id, device_id, created_at, expires_at) VALUES ($1, $2, NULL, $3, $4)`,
		tokenHash, userID, schema.FormatTime(s.now()), schema.FormatTime(expires))
	return wrap("create session", err)
}

// RevokeToken revokes one token (logout).
func (s *Store) RevokeToken(ctx context.Context, tokenHash string) error {
	_, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL`,
		schema.FormatTime(s.now()), tokenHash)
	return wrap("revoke token", err)
}

// Authenticate resolves a token hash to its principal, or an unauthorized
// error that says whether the token is unknown, expired or revoked.
func (s *Store) Authenticate(ctx context.Context, tokenHash string) (*auth.Principal, error) {
	var (
		p                                auth.Principal
		deviceID, tokRevoked, devRevoked *string
		expires                          string
		disabled                         bool
	)
	err := s.pool.QueryRow(ctx, `SELECT u.id, u.username, u.display_name, u.role, u.squad_id, u.disabled,
			t.device_id, t.expires_at, t.revoked_at, d.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN devices d ON d.id = t.device_id
		WHERE t.token_hash = $1`, tokenHash).Scan(&p.UserID, &p.Username, &p.DisplayName, &p.Role, &p.SquadID, &disabled,
		&deviceID, &expires, &tokRevoked, &devRevoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, schema.Errorf(schema.CodeUnauthorized, "unknown token; log in or enroll the device again")
	}
	if err != nil {
		return nil, wrap("authenticate", err)
	}
	switch {
	case tokRevoked != nil:
		return nil, schema.Errorf(schema.CodeUnauthorized, "token was revoked; log in or enroll the device again")
	case devRevoked != nil:
		return nil, schema.Errorf(schema.CodeUnauthorized, "this device was revoked; ask your squad leader for a new enrollment code")
	case disabled:
		return nil, schema.Errorf(schema.CodeUnauthorized, "account %s is disabled", p.Username)
	}
	exp := parseTime(expires)
	if !s.now().Before(exp) {
		return nil, schema.Errorf(schema.CodeUnauthorized, "token expired at %s; log in or enroll the device again", exp.Format(time.RFC3339))
	}
	if deviceID != nil {
		p.DeviceID = *deviceID
	}
	p.TokenHash = tokenHash
	return &p, nil
}

// CreateEnrollmentCode stores a one-time code (hashed) for an inspector.
func (s *Store) CreateEnrollmentCode(ctx context.Context, codeHash, userID, createdBy string, expires time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO enrollment_codes (code_hash, user_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			codeHash, userID, createdBy, schema.FormatTime(now), schema.FormatTime(expires)); err != nil {
			return err
		}
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, userID))
		if err != nil {
			return fmt.Errorf("user %s: %w", userID, err)
		}
		_, err = appendAudit(ctx, tx, store.AuditOf(ctx, now, schema.AuditEnrollmentCode, store.EnrollmentCodeID(codeHash), u.SquadID, "create", "", "pending",
			"for "+u.Username+" by "+createdBy+", until "+schema.FormatTime(expires)))
		return err
	})
	return wrap("create enrollment code", err)
}

// EnrollDevice consumes a one-time code and creates the device and its
// token in one transaction, so a code can never enrol two devices: the
// code's row is locked (FOR UPDATE) first, so a second enrollment with it
// waits and then finds it used.
func (s *Store) EnrollDevice(ctx context.Context, codeHash, deviceName, tokenHash string, tokenExpires time.Time) (store.EnrolledDevice, error) {
	var out store.EnrolledDevice
	now := s.now()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var userID, expires string
		var used *string
		err := tx.QueryRow(ctx, `SELECT user_id, expires_at, used_at FROM enrollment_codes WHERE code_hash = $1 FOR UPDATE`, codeHash).
			Scan(&userID, &expires, &used)
		if errors.Is(err, pgx.ErrNoRows) {
			return schema.Errorf(schema.CodeUnauthorized, "unknown enrollment code; check it or ask your squad leader for a new one")
		}
		if err != nil {
			return err
		}
		if used != nil {
			return schema.Errorf(schema.CodeUnauthorized, "enrollment code was already used; ask your squad leader for a new one")
		}
		if !now.Before(parseTime(expires)) {
			return schema.Errorf(schema.CodeUnauthorized, "enrollment code expired; ask your squad leader for a new one")
		}
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, userID))
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
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO devices (id, user_id, name, created_at) VALUES ($1, $2, $3, $4)`, id.String(), userID, deviceName, ts)
		b.Queue(`UPDATE enrollment_codes SET used_at = $1, device_id = $2 WHERE code_hash = $3`, ts, id.String(), codeHash)
		b.Queue(`INSERT INTO tokens (token_hash, user_id, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			tokenHash, userID, id.String(), ts, schema.FormatTime(tokenExpires))
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out = store.EnrolledDevice{DeviceID: id.String(), User: u}
		if u.BadgeNo != "" {
			rows, err := tx.Query(ctx, `SELECT record_number FROM inspections WHERE record_number LIKE $1`, store.RecordNumberLike(u.BadgeNo))
			if err != nil {
				return err
			}
			numbers, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
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
		return store.EnrolledDevice{}, wrap("enroll device", err)
	}
	return out, nil
}

// DeviceOwner returns the user a device belongs to (for authorization of
// device administration).
func (s *Store) DeviceOwner(ctx context.Context, deviceID string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = (SELECT user_id FROM devices WHERE id = $1)`, deviceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, notFound("device", deviceID)
	}
	if err != nil {
		return store.User{}, wrap("device "+deviceID, err)
	}
	return u, nil
}

// RevokeDevice revokes a device and every token it holds.
func (s *Store) RevokeDevice(ctx context.Context, deviceID string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		ts := schema.FormatTime(now)
		var revoked *string
		var squad *int64
		err := tx.QueryRow(ctx, `SELECT d.revoked_at, u.squad_id FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = $1 FOR UPDATE OF d`, deviceID).
			Scan(&revoked, &squad)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("device", deviceID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, ts, deviceID); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL`, ts, deviceID); err != nil {
			return err
		}
		if revoked != nil {
			return nil // revoked already: nothing changed
		}
		_, err = appendAudit(ctx, tx, store.AuditOf(ctx, now, schema.AuditDevice, deviceID, squad, "revoke", "active", "revoked", ""))
		return err
	})
	return wrap("revoke device "+deviceID, err)
}

// recordClockSample writes the sample and the device's latest offset.
func recordClockSample(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, cs store.ClockSample) error {
	at := schema.FormatTime(cs.At)
	if _, err := q.Exec(ctx, `INSERT INTO device_clock_samples (device_id, at, offset_ms, endpoint) VALUES ($1, $2, $3, $4)`,
		cs.DeviceID, at, cs.OffsetMS, cs.Endpoint); err != nil {
		return fmt.Errorf("clock sample: %w", err)
	}
	if _, err := q.Exec(ctx, `UPDATE devices SET clock_offset_ms = $1, last_sync_at = $2,
			last_hlc = CASE WHEN $3::text > last_hlc THEN $3::text ELSE last_hlc END WHERE id = $4`,
		cs.OffsetMS, at, cs.HLC, cs.DeviceID); err != nil {
		return fmt.Errorf("device offset: %w", err)
	}
	return nil
}

// RecordClockSample stores a sync's clock measurement on its own (pull).
func (s *Store) RecordClockSample(ctx context.Context, cs store.ClockSample) error {
	return wrap("record clock sample", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return recordClockSample(ctx, tx, cs) }))
}

// DeviceClock reports a device's last recorded offset and sync time.
func (s *Store) DeviceClock(ctx context.Context, deviceID string) (offsetMS int64, lastSync time.Time, err error) {
	var off *int64
	var last *string
	err = s.pool.QueryRow(ctx, `SELECT clock_offset_ms, last_sync_at FROM devices WHERE id = $1`, deviceID).Scan(&off, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, notFound("device", deviceID)
	}
	if err != nil {
		return 0, time.Time{}, wrap("device clock "+deviceID, err)
	}
	if t := nullTime(last); t != nil {
		lastSync = *t
	}
	if off != nil {
		offsetMS = *off
	}
	return offsetMS, lastSync, nil
}
