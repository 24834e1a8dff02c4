package photos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Photo is the server's record of a stored photo; the bytes live in the
// blob store under SHA256, the thumbnail under ThumbKey.
type Photo struct {
	SHA256     string
	Size       int64
	MediaType  string
	Width      int
	Height     int
	ThumbKey   string // "" when there is no thumbnail (HEIC/HEIF) or none yet
	ReceivedAt time.Time

	// ThumbState is "" or why the photo can never have a thumbnail
	// (ThumbCorrupt, ThumbUnsupported, ThumbTooLarge), with ThumbReason.
	ThumbState  string
	ThumbReason string
}

// Get returns the record of a stored photo, or a *schema.Error not_found
// when its bytes have not arrived.
func Get(ctx context.Context, db *schema.DB, sha string) (Photo, error) {
	var p Photo
	var received string
	err := db.R.QueryRowContext(ctx, `SELECT sha256, size, media_type, width, height, thumb_key, thumb_state, thumb_reason, received_at
		FROM photos WHERE sha256 = ?`, sha).Scan(&p.SHA256, &p.Size, &p.MediaType, &p.Width, &p.Height, &p.ThumbKey, &p.ThumbState, &p.ThumbReason, &received)
	if errors.Is(err, sql.ErrNoRows) {
		return Photo{}, schema.Errorf(schema.CodeNotFound, "photo %s has not been received", short(sha))
	}
	if err != nil {
		return Photo{}, fmt.Errorf("photos: get %s: %w", short(sha), err)
	}
	if p.ReceivedAt, err = schema.ParseTime(received); err != nil {
		return Photo{}, fmt.Errorf("photos: get %s: received_at: %w", short(sha), err)
	}
	return p, nil
}

// insertPhoto records a stored photo; recording one twice keeps the first.
func insertPhoto(ctx context.Context, db *schema.DB, p Photo) error {
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO photos (sha256, size, media_type, width, height, thumb_key, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			p.SHA256, p.Size, p.MediaType, p.Width, p.Height, p.ThumbKey, schema.FormatTime(p.ReceivedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("photos: record %s: %w", short(p.SHA256), err)
	}
	return nil
}

// DeviceReferences reports whether an inspection recorded by deviceID
// names sha as evidence. Only such devices may upload the bytes, so the
// server is no anonymous dumping ground.
func DeviceReferences(ctx context.Context, db *schema.DB, deviceID, sha string) (bool, error) {
	var one int
	err := db.R.QueryRowContext(ctx, `SELECT 1 FROM inspection_photos WHERE sha256 = ? AND device_id = ? LIMIT 1`,
		sha, deviceID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("photos: device references %s: %w", short(sha), err)
	}
	return true, nil
}

// SquadsReferencing lists (ascending, without repeats) the squads whose
// inspections name sha: leaders of these squads may read the photo. The
// list is empty, not an error, when no inspection names it.
func SquadsReferencing(ctx context.Context, db *schema.DB, sha string) ([]int64, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT DISTINCT squad_id FROM inspection_photos WHERE sha256 = ? ORDER BY squad_id`, sha)
	if err != nil {
		return nil, fmt.Errorf("photos: squads referencing %s: %w", short(sha), err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("photos: squads referencing %s: %w", short(sha), err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("photos: squads referencing %s: %w", short(sha), err)
	}
	return out, nil
}

// receivedBatch keeps IN lists well under SQLite's parameter limit.
const receivedBatch = 500

// Received tells, for every hash in shas, whether its bytes have arrived,
// so that the inspection API can mark photos received and inspections
// complete. Every requested hash is a key of the result.
func Received(ctx context.Context, db *schema.DB, shas []string) (map[string]bool, error) {
	out := make(map[string]bool, len(shas))
	for _, sha := range shas {
		out[sha] = false
	}
	for start := 0; start < len(shas); start += receivedBatch {
		batch := shas[start:min(start+receivedBatch, len(shas))]
		args := make([]any, len(batch))
		for i, sha := range batch {
			args[i] = sha
		}
		q := `SELECT sha256 FROM photos WHERE sha256 IN (?` + strings.Repeat(", ?", len(batch)-1) + `)`
		rows, err := db.R.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("photos: received: %w", err)
		}
		for rows.Next() {
			var sha string
			if err := rows.Scan(&sha); err != nil {
				rows.Close()
				return nil, fmt.Errorf("photos: received: %w", err)
			}
			out[sha] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("photos: received: %w", err)
		}
	}
	return out, nil
}

// setThumbKey records the thumbnail made for a stored photo.
func setThumbKey(ctx context.Context, db *schema.DB, sha, key string) error {
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE photos SET thumb_key = ? WHERE sha256 = ?`, key, sha)
		return err
	})
	if err != nil {
		return fmt.Errorf("photos: record thumbnail of %s: %w", short(sha), err)
	}
	return nil
}

// setThumbFailed records, for good, why a stored photo can have no
// thumbnail; a thumbnail already made wins.
func setThumbFailed(ctx context.Context, db *schema.DB, sha, state, reason string) error {
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE photos SET thumb_state = ?, thumb_reason = ? WHERE sha256 = ? AND thumb_key = ''`, state, reason, sha)
		return err
	})
	if err != nil {
		return fmt.Errorf("photos: record thumbnail failure of %s: %w", short(sha), err)
	}
	return nil
}
