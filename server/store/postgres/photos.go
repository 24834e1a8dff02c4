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
// or authored by its user, names the photo with a proven claim.
func (s *Store) DeviceReferencesPhoto(ctx context.Context, deviceID, userID, sha string) (bool, error) {
	claim, err := s.DevicePhotoClaim(ctx, deviceID, userID, sha)
	return claim == schema.ClaimProven, err
}

// DevicePhotoClaim is the strongest claim to the photo of the inspections
// pushed by the device or authored by its user; "" when none names it.
func (s *Store) DevicePhotoClaim(ctx context.Context, deviceID, userID, sha string) (string, error) {
	var named, proven bool
	err := s.pool.QueryRow(ctx, `SELECT count(*) > 0, coalesce(bool_or(p.claim = 'proven'), false)
		FROM (SELECT inspection_id, device_id, claim FROM inspection_photos WHERE sha256 = $1
		      UNION ALL SELECT inspection_id, device_id, claim FROM record_signatures WHERE sha256 = $1) p
		JOIN inspections i ON i.id = p.inspection_id
		WHERE p.device_id = $2 OR i.author_id = $3`, sha, deviceID, userID).Scan(&named, &proven)
	switch {
	case err != nil:
		return "", wrap("photo claims "+shortHash(sha), err)
	case proven:
		return schema.ClaimProven, nil
	case named:
		return schema.ClaimPending, nil
	}
	return "", nil
}

// SquadsReferencingPhoto lists the squads whose inspections name the photo
// with a proven claim.
func (s *Store) SquadsReferencingPhoto(ctx context.Context, sha string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT squad_id FROM inspection_photos WHERE sha256 = $1 AND claim = 'proven'
		UNION SELECT squad_id FROM record_signatures WHERE sha256 = $1 AND claim = 'proven' ORDER BY squad_id`, sha)
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

// RecordPhoto records verified bytes from a device, in one transaction:
// the photo (the first record stays), the device's receipt, and the proof
// of the pending claims of the device and of its user that declare the
// stored size. A delivery holds the counter row shared (see the package
// comment), so that it and each push come in one order: a push either
// sees the receipt and proves its claims at once, or committed its
// pending claims before the delivery proves them. Deliveries do not wait
// for one another.
func (s *Store) RecordPhoto(ctx context.Context, p store.Photo, from store.Uploader) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if from.DeviceID != "" {
			b.Queue(`SELECT FROM counters WHERE name = 'seq' FOR SHARE`)
		}
		b.Queue(`INSERT INTO photos (sha256, size, media_type, width, height, thumb_key, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING`,
			p.SHA256, p.Size, p.MediaType, p.Width, p.Height, p.ThumbKey, schema.FormatTime(p.ReceivedAt))
		if from.DeviceID != "" {
			b.Queue(`INSERT INTO photo_receipts (sha256, device_id, squad_id, received_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (sha256, device_id) DO NOTHING`, p.SHA256, from.DeviceID, from.SquadID, schema.FormatTime(p.ReceivedAt))
			b.Queue(`UPDATE inspection_photos ip SET claim = 'proven'
				WHERE ip.sha256 = $1 AND ip.claim = 'pending' AND ip.size = (SELECT size FROM photos WHERE sha256 = $1)
				AND (ip.device_id = $2 OR $3 <> '' AND EXISTS (SELECT 1 FROM inspections i WHERE i.id = ip.inspection_id AND i.author_id = $3))`,
				p.SHA256, from.DeviceID, from.UserID)
			b.Queue(`UPDATE record_signatures rs SET claim = 'proven'
				WHERE rs.sha256 = $1 AND rs.claim = 'pending' AND rs.size = (SELECT size FROM photos WHERE sha256 = $1)
				AND (rs.device_id = $2 OR $3 <> '' AND EXISTS (SELECT 1 FROM inspections i WHERE i.id = rs.inspection_id AND i.author_id = $3))`,
				p.SHA256, from.DeviceID, from.UserID)
		}
		return tx.SendBatch(ctx, b).Close()
	})
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
