package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const uploadColumns = `sha256, device_id, size, staged_bytes, hash_state, pieces, pending, version, updated_at`

// scanUpload reads one photo_uploads row in uploadColumns order.
func scanUpload(row interface{ Scan(...any) error }) (store.Upload, error) {
	var u store.Upload
	var pieces, updated string
	if err := row.Scan(&u.SHA256, &u.Device, &u.Size, &u.Offset, &u.Hash, &pieces, &u.Pending, &u.Version, &updated); err != nil {
		return store.Upload{}, err
	}
	if err := json.Unmarshal([]byte(pieces), &u.Pieces); err != nil {
		return store.Upload{}, fmt.Errorf("pieces: %w", err)
	}
	t, err := schema.ParseTime(updated)
	if err != nil {
		return store.Upload{}, fmt.Errorf("updated_at: %w", err)
	}
	u.UpdatedAt = t
	return u, nil
}

// Upload returns the state of a partial upload.
func (s *Store) Upload(ctx context.Context, sha, device string) (store.Upload, error) {
	u, err := scanUpload(s.db.R.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM photo_uploads WHERE sha256 = ? AND device_id = ?`, sha, device))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Upload{}, schema.Errorf(schema.CodeNotFound, "nothing of photo %s is staged", shortHash(sha))
	}
	if err != nil {
		return store.Upload{}, fmt.Errorf("store: upload %s: %w", shortHash(sha), err)
	}
	return u, nil
}

// SaveUpload replaces the state at u.Version with u.
func (s *Store) SaveUpload(ctx context.Context, u store.Upload) (store.Upload, error) {
	pieces, err := json.Marshal(u.Pieces)
	if err != nil {
		return store.Upload{}, fmt.Errorf("store: save upload %s: %w", shortHash(u.SHA256), err)
	}
	if u.Pieces == nil {
		pieces = []byte("[]")
	}
	if u.Hash == nil {
		u.Hash = []byte{}
	}
	next := u
	next.Version, next.UpdatedAt = u.Version+1, s.now().UTC()
	err = s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if u.Version == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO photo_uploads (`+uploadColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (sha256, device_id) DO NOTHING`,
				u.SHA256, u.Device, u.Size, u.Offset, u.Hash, string(pieces), u.Pending, next.Version, schema.FormatTime(next.UpdatedAt))
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE photo_uploads SET size = ?, staged_bytes = ?, hash_state = ?, pieces = ?, pending = ?,
				version = ?, updated_at = ? WHERE sha256 = ? AND device_id = ? AND version = ?`,
				u.Size, u.Offset, u.Hash, string(pieces), u.Pending, next.Version, schema.FormatTime(next.UpdatedAt), u.SHA256, u.Device, u.Version)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return uploadMoved(u.SHA256)
		}
		return nil
	})
	if err != nil {
		var se *schema.Error
		if errors.As(err, &se) {
			return store.Upload{}, err
		}
		return store.Upload{}, fmt.Errorf("store: save upload %s: %w", shortHash(u.SHA256), err)
	}
	return next, nil
}

// uploadMoved is the conflict of a save or delete whose version is gone.
func uploadMoved(sha string) error {
	return schema.Errorf(schema.CodeConflict, "the upload of photo %s moved on meanwhile: another upload of it is in progress", shortHash(sha))
}

// DeleteUpload removes the state at version.
func (s *Store) DeleteUpload(ctx context.Context, sha, device string, version int64) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM photo_uploads WHERE sha256 = ? AND device_id = ? AND version = ?`, sha, device, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM photo_uploads WHERE sha256 = ? AND device_id = ?)`, sha, device).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return uploadMoved(sha)
		}
		return schema.Errorf(schema.CodeNotFound, "nothing of photo %s is staged", shortHash(sha))
	})
	var se *schema.Error
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("store: delete upload %s: %w", shortHash(sha), err)
	}
	return err
}

// StaleUploads lists uploads last saved before before, oldest first.
func (s *Store) StaleUploads(ctx context.Context, before time.Time, limit int) ([]store.Upload, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+uploadColumns+` FROM photo_uploads WHERE updated_at < ?
		ORDER BY updated_at, sha256, device_id LIMIT ?`, schema.FormatTime(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: stale uploads: %w", err)
	}
	defer rows.Close()
	var out []store.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("store: stale uploads: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stale uploads: %w", err)
	}
	return out, nil
}
