package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// DeviceReferencesPhoto reports whether an inspection pushed by the device,
// or authored by its user, names the photo.
func (s *Store) DeviceReferencesPhoto(ctx context.Context, deviceID, userID, sha string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inspection_photos p JOIN inspections i ON i.id = p.inspection_id
		WHERE p.sha256 = $1 AND (p.device_id = $2 OR i.author_id = $3))`, sha, deviceID, userID).Scan(&ok)
	if err != nil {
		return false, wrap("photo references "+shortHash(sha), err)
	}
	return ok, nil
}

// SquadsReferencingPhoto lists the squads whose inspections name the photo.
func (s *Store) SquadsReferencingPhoto(ctx context.Context, sha string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT squad_id FROM inspection_photos WHERE sha256 = $1 ORDER BY squad_id`, sha)
	if err != nil {
		return nil, wrap("photo squads "+shortHash(sha), err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, wrap("photo squads "+shortHash(sha), err)
	}
	return out, nil
}

// Photo returns the record of a received photo; not found until its bytes
// have arrived.
func (s *Store) Photo(ctx context.Context, sha string) (store.Photo, error) {
	var p store.Photo
	var received string
	err := s.pool.QueryRow(ctx, `SELECT sha256, size, media_type, width, height, thumb_key, thumb_state, thumb_reason, received_at
		FROM photos WHERE sha256 = $1`, sha).Scan(&p.SHA256, &p.Size, &p.MediaType, &p.Width, &p.Height, &p.ThumbKey,
		&p.ThumbState, &p.ThumbReason, &received)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Photo{}, schema.Errorf(schema.CodeNotFound, "photo %s has not been received", shortHash(sha))
	}
	if err != nil {
		return store.Photo{}, wrap("photo "+shortHash(sha), err)
	}
	if p.ReceivedAt, err = schema.ParseTime(received); err != nil {
		return store.Photo{}, fmt.Errorf("store: photo %s: received_at: %w", shortHash(sha), err)
	}
	return p, nil
}

// RecordPhoto records received bytes; recording one twice keeps the first.
func (s *Store) RecordPhoto(ctx context.Context, p store.Photo) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO photos (sha256, size, media_type, width, height, thumb_key, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING`,
		p.SHA256, p.Size, p.MediaType, p.Width, p.Height, p.ThumbKey, schema.FormatTime(p.ReceivedAt))
	return wrap("record photo "+shortHash(p.SHA256), err)
}

// SetThumbnail records the thumbnail made for a received photo.
func (s *Store) SetThumbnail(ctx context.Context, sha, key string) error {
	_, err := s.pool.Exec(ctx, `UPDATE photos SET thumb_key = $1 WHERE sha256 = $2`, key, sha)
	return wrap("thumbnail of "+shortHash(sha), err)
}

// SetThumbnailFailed records why a photo can have no thumbnail, unless one
// was made meanwhile.
func (s *Store) SetThumbnailFailed(ctx context.Context, sha, state, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE photos SET thumb_state = $1, thumb_reason = $2 WHERE sha256 = $3 AND thumb_key = ''`, state, reason, sha)
	return wrap("thumbnail failure of "+shortHash(sha), err)
}

// shortHash is the prefix of a hash that messages quote.
func shortHash(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
