package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const uploadColumns = `sha256, device_id, size, staged_bytes, hash_state, pieces, pending, version, updated_at`

// scanUpload reads one photo_uploads row in uploadColumns order.
func scanUpload(row pgx.Row) (store.Upload, error) {
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
	u, err := scanUpload(s.pool.QueryRow(ctx, `SELECT `+uploadColumns+` FROM photo_uploads WHERE sha256 = $1 AND device_id = $2`, sha, device))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Upload{}, schema.Errorf(schema.CodeNotFound, "nothing of photo %s is staged", shortHash(sha))
	}
	if err != nil {
		return store.Upload{}, wrap("upload "+shortHash(sha), err)
	}
	return u, nil
}

// SaveUpload replaces the state at u.Version with u; the version in the
// WHERE clause (or the primary key, for a new one) makes two replicas'
// saves of one version exclusive.
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
	var n int64
	if u.Version == 0 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO photo_uploads (`+uploadColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (sha256, device_id) DO NOTHING`,
			u.SHA256, u.Device, u.Size, u.Offset, u.Hash, string(pieces), u.Pending, next.Version, schema.FormatTime(next.UpdatedAt))
		if err != nil {
			return store.Upload{}, wrap("save upload "+shortHash(u.SHA256), err)
		}
		n = tag.RowsAffected()
	} else {
		tag, err := s.pool.Exec(ctx, `UPDATE photo_uploads SET size = $1, staged_bytes = $2, hash_state = $3, pieces = $4, pending = $5,
			version = $6, updated_at = $7 WHERE sha256 = $8 AND device_id = $9 AND version = $10`,
			u.Size, u.Offset, u.Hash, string(pieces), u.Pending, next.Version, schema.FormatTime(next.UpdatedAt), u.SHA256, u.Device, u.Version)
		if err != nil {
			return store.Upload{}, wrap("save upload "+shortHash(u.SHA256), err)
		}
		n = tag.RowsAffected()
	}
	if n == 0 {
		return store.Upload{}, uploadMoved(u.SHA256)
	}
	return next, nil
}

// uploadMoved is the conflict of a save or delete whose version is gone.
func uploadMoved(sha string) error {
	return schema.Errorf(schema.CodeConflict, "the upload of photo %s moved on meanwhile: another upload of it is in progress", shortHash(sha))
}

// DeleteUpload removes the state at version.
func (s *Store) DeleteUpload(ctx context.Context, sha, device string, version int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM photo_uploads WHERE sha256 = $1 AND device_id = $2 AND version = $3`, sha, device, version)
	if err != nil {
		return wrap("delete upload "+shortHash(sha), err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM photo_uploads WHERE sha256 = $1 AND device_id = $2)`, sha, device).Scan(&exists); err != nil {
		return wrap("delete upload "+shortHash(sha), err)
	}
	if exists {
		return uploadMoved(sha)
	}
	return schema.Errorf(schema.CodeNotFound, "nothing of photo %s is staged", shortHash(sha))
}

// StaleUploads lists uploads last saved before before, oldest first.
func (s *Store) StaleUploads(ctx context.Context, before time.Time, limit int) ([]store.Upload, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+uploadColumns+` FROM photo_uploads WHERE updated_at < $1
		ORDER BY updated_at, sha256, device_id LIMIT $2`, schema.FormatTime(before), limit)
	if err != nil {
		return nil, wrap("stale uploads", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Upload, error) { return scanUpload(r) })
	if err != nil {
		return nil, wrap("stale uploads", err)
	}
	return out, nil
}
