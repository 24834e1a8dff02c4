package mobilesync

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/patrolhq/patrol/schema"
)

// InspectionInput is a whole inspection recorded in one call, for tools
// that replay finished work (the load generator) and for apps that collect
// a form before saving it.
type InspectionInput struct {
	VenueID      string
	CoInspectors []string
	// RecheckOf is the finding this inspection re-checks, as in StartOptions.
	RecheckOf string
	// ComplaintID is the complaint it investigates, as in StartOptions.
	ComplaintID string
	Items       []ItemInput
}

// ItemInput answers one item; Photos are files to copy into the device's
// photo store and attach.
type ItemInput struct {
	ItemID string
	Result string
	Note   string
	Photos []string
}

// RecordInspection starts, answers and submits an inspection in one local
// transaction (photos are copied into the store first): either the whole
// submitted inspection is on the device, queued, or nothing is.
func (d *Device) RecordInspection(ctx context.Context, in InspectionInput) (string, error) {
	refs := make([][]schema.PhotoRef, len(in.Items))
	now := d.Clock().Physical()
	for i, it := range in.Items {
		for _, p := range it.Photos {
			ref, err := d.ImportPhoto(ctx, p, now)
			if err != nil {
				return "", fmt.Errorf("mobilesync: record inspection of %s: %w", in.VenueID, err)
			}
			refs[i] = append(refs[i], ref)
		}
	}
	var id string
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = d.startTx(ctx, tx, in.VenueID, StartOptions{CoInspectors: in.CoInspectors, RecheckOf: in.RecheckOf, ComplaintID: in.ComplaintID}); err != nil {
			return err
		}
		for i, it := range in.Items {
			if err := d.setItemTx(ctx, tx, id, it.ItemID, it.Result, it.Note, refs[i]); err != nil {
				return fmt.Errorf("item %s: %w", it.ItemID, err)
			}
		}
		return d.submitTx(ctx, tx, id)
	})
	if err != nil {
		return "", fmt.Errorf("mobilesync: record inspection of %s: %w", in.VenueID, err)
	}
	return id, nil
}

// Acknowledged lists the submitted inspections the server holds as this
// device last sent them: not drafts, nothing queued, not set aside as
// rejected. A checker compares them with the server's copy.
func (d *Device) Acknowledged(ctx context.Context) ([]schema.Inspection, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT `+inspectionColumns+` FROM inspections i
		WHERE status <> 'draft' AND dirty = 0
		  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = i.id)
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: acknowledged: %w", err)
	}
	defer rows.Close()
	out := []schema.Inspection{}
	for rows.Next() {
		li, err := scanInspection(rows)
		if err != nil {
			return nil, fmt.Errorf("mobilesync: acknowledged: %w", err)
		}
		out = append(out, li.Inspection)
	}
	return out, rows.Err()
}
