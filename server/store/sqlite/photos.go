package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	var named, proven int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*), coalesce(max(p.claim = 'proven'), 0)
		FROM (SELECT inspection_id, device_id, claim FROM inspection_photos WHERE sha256 = ?
		      UNION ALL SELECT inspection_id, device_id, claim FROM record_signatures WHERE sha256 = ?) p
		JOIN inspections i ON i.id = p.inspection_id
		WHERE p.device_id = ? OR i.author_id = ?`, sha, sha, deviceID, userID).Scan(&named, &proven)
	switch {
	case err != nil:
		return "", fmt.Errorf("store: photo claims %s: %w", shortHash(sha), err)
	case proven != 0:
		return schema.ClaimProven, nil
	case named != 0:
		return schema.ClaimPending, nil
	}
	return "", nil
}

// SquadsReferencingPhoto lists the squads whose inspections name the photo
// with a proven claim.
func (s *Store) SquadsReferencingPhoto(ctx context.Context, sha string) ([]int64, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT squad_id FROM inspection_photos WHERE sha256 = ? AND claim = 'proven'
		UNION SELECT squad_id FROM record_signatures WHERE sha256 = ? AND claim = 'proven' ORDER BY squad_id`, sha, sha)
	if err != nil {
		return nil, fmt.Errorf("store: photo squads %s: %w", sha, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: photo squads %s: %w", sha, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Photo returns the record of a received photo; not found until its bytes
// have arrived.
func (s *Store) Photo(ctx context.Context, sha string) (store.Photo, error) {
	var p store.Photo
	var received string
	err := s.db.R.QueryRowContext(ctx, `SELECT sha256, size, media_type, width, height, thumb_key, thumb_state, thumb_reason, received_at
		FROM photos WHERE sha256 = ?`, sha).Scan(&p.SHA256, &p.Size, &p.MediaType, &p.Width, &p.Height, &p.ThumbKey, &p.ThumbState, &p.ThumbReason, &received)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Photo{}, schema.Errorf(schema.CodeNotFound, "photo %s has not been received", shortHash(sha))
	}
	if err != nil {
		return store.Photo{}, fmt.Errorf("store: photo %s: %w", shortHash(sha), err)
	}
	if p.ReceivedAt, err = schema.ParseTime(received); err != nil {
		return store.Photo{}, fmt.Errorf("store: photo %s: received_at: %w", shortHash(sha), err)
	}
	return p, nil
}

// RecordPhoto records verified bytes from a device: the photo (the first
// record stays), the device's receipt, and the proof of the pending claims
// of the device and of its user that declare the stored size.
func (s *Store) RecordPhoto(ctx context.Context, p store.Photo, from store.Uploader) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO photos (sha256, size, media_type, width, height, thumb_key, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			p.SHA256, p.Size, p.MediaType, p.Width, p.Height, p.ThumbKey, schema.FormatTime(p.ReceivedAt))
		if err != nil || from.DeviceID == "" {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO photo_receipts (sha256, device_id, squad_id, received_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (sha256, device_id) DO NOTHING`, p.SHA256, from.DeviceID, from.SquadID, schema.FormatTime(p.ReceivedAt)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE inspection_photos SET claim = 'proven'
			WHERE sha256 = ? AND claim = 'pending' AND size = (SELECT size FROM photos WHERE sha256 = ?)
			AND (device_id = ? OR EXISTS (SELECT 1 FROM inspections i WHERE i.id = inspection_photos.inspection_id AND i.author_id = ? AND ? <> ''))`,
			p.SHA256, p.SHA256, from.DeviceID, from.UserID, from.UserID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE record_signatures SET claim = 'proven'
			WHERE sha256 = ? AND claim = 'pending' AND size = (SELECT size FROM photos WHERE sha256 = ?)
			AND (device_id = ? OR EXISTS (SELECT 1 FROM inspections i WHERE i.id = record_signatures.inspection_id AND i.author_id = ? AND ? <> ''))`,
			p.SHA256, p.SHA256, from.DeviceID, from.UserID, from.UserID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record photo %s: %w", shortHash(p.SHA256), err)
	}
	return nil
}

// SetThumbnail records the thumbnail made for a received photo.
func (s *Store) SetThumbnail(ctx context.Context, sha, key string) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE photos SET thumb_key = ? WHERE sha256 = ?`, key, sha)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: thumbnail of %s: %w", shortHash(sha), err)
	}
	return nil
}

// SetThumbnailFailed records why a photo can have no thumbnail, unless one
// was made meanwhile.
func (s *Store) SetThumbnailFailed(ctx context.Context, sha, state, reason string) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE photos SET thumb_state = ?, thumb_reason = ? WHERE sha256 = ? AND thumb_key = ''`, state, reason, sha)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: thumbnail failure of %s: %w", shortHash(sha), err)
	}
	return nil
}

// shortHash is the prefix of a hash that messages quote.
func shortHash(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.R.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Stats counts unresolved conflicts and photos still awaited.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.db.R.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM conflicts WHERE resolved_at IS NULL),
		(SELECT count(*) FROM (SELECT sha256 FROM inspection_photos UNION SELECT sha256 FROM record_signatures) ip
		  LEFT JOIN photos p ON p.sha256 = ip.sha256 WHERE p.sha256 IS NULL)`).
		Scan(&st.ConflictsPending, &st.PhotosAwaited)
	if err != nil {
		return store.Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	return st, nil
}
