package mobilesync

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// AttachPhotos adds photo references to an answered item, in one local
// transaction with the photo rows and their upload-queue entries. The hash
// in the record fixes which bytes are the evidence; on a submitted
// inspection the amended record is queued again. The bytes must already be
// in the device's photo store under their hash.
func (d *Device) AttachPhotos(ctx context.Context, inspectionID, itemID string, photos ...schema.PhotoRef) error {
	itemID = strings.ToUpper(strings.TrimSpace(itemID))
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return d.changeInspection(ctx, tx, inspectionID, func(li *localInspection, cl *schema.Checklist) error {
			if err := knownItem(cl, itemID); err != nil {
				return err
			}
			answered := false
			for _, it := range li.Items {
				answered = answered || it.ItemID == itemID
			}
			if !answered {
				return schema.Errorf(schema.CodeInvalid, "answer item %s (pass, fail or na) before attaching photos to it", itemID)
			}
			return addPhotos(ctx, tx, li, itemID, photos, d.opts.Now())
		})
	})
	if err != nil {
		return fmt.Errorf("mobilesync: attach photos to %s item %s: %w", inspectionID, itemID, err)
	}
	return nil
}

// addPhotos puts refs on the item (once per hash) and queues each distinct
// hash for upload.
func addPhotos(ctx context.Context, tx *sql.Tx, li *localInspection, itemID string, refs []schema.PhotoRef, now time.Time) error {
	if len(refs) == 0 {
		return nil
	}
	idx := -1
	for i := range li.Items {
		if li.Items[i].ItemID == itemID {
			idx = i
		}
	}
	if idx < 0 {
		return schema.Errorf(schema.CodeInvalid, "item %s is not answered", itemID)
	}
	item := &li.Items[idx]
	for _, p := range refs {
		p.Received = false
		if err := schema.ValidatePhotoRef(&p); err != nil {
			return err
		}
		dup := false
		for _, q := range item.Photos {
			dup = dup || q.SHA256 == p.SHA256
		}
		if dup {
			continue
		}
		if len(item.Photos) >= schema.MaxPhotosPerItem {
			return schema.Errorf(schema.CodeInvalid, "item %s already has %d photos; at most %d", itemID, len(item.Photos), schema.MaxPhotosPerItem)
		}
		item.Photos = append(item.Photos, p)
		if _, err := tx.ExecContext(ctx, `INSERT INTO photos (sha256, inspection_id, item_id, size, media_type, captured_at, lat, lng, time_suspect, added_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.SHA256, li.ID, itemID, p.Size, p.MediaType, schema.FormatTime(p.CapturedAt), p.Lat, p.Lng, boolInt(p.TimeSuspect), schema.FormatTime(now)); err != nil {
			return fmt.Errorf("record photo %s: %w", p.SHA256[:12], err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO photo_uploads (sha256, size) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.SHA256, p.Size); err != nil {
			return fmt.Errorf("queue photo %s: %w", p.SHA256[:12], err)
		}
	}
	return nil
}
