package mobilesync

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/patrolhq/patrol/schema"
)

// StartOptions are the choices of StartInspectionWith beyond the venue.
type StartOptions struct {
	// CoInspectors names the other officers on site (the law wants two).
	CoInspectors []string
	// RecheckOf is the id of a finding of the venue this inspection goes
	// back to re-check (a task of kind recheck). The server links the two
	// when the inspection is approved; the finding must be known on the
	// device, of the same venue, and open or ordered.
	RecheckOf string
	// ComplaintID is the id of a complaint this inspection investigates (a
	// task of kind complaint). The pushed record names it and the server
	// links the two; the complaint must be one this device holds, and of
	// this venue when it names one.
	ComplaintID string
}

// StartInspectionWith opens a draft inspection of a venue like
// StartInspection, with the options a phone's form offers: co-inspectors,
// the finding it re-checks and the complaint it investigates. A finding
// the device does not hold, of another venue or resolved already is
// refused, and so is a complaint the device does not hold or that names
// another venue, so that the officers learn it on site rather than from a
// rejected upload.
func (d *Device) StartInspectionWith(ctx context.Context, venueID string, o StartOptions) (string, error) {
	var id string
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = d.startTx(ctx, tx, venueID, o)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("mobilesync: start inspection of %s: %w", venueID, err)
	}
	return id, nil
}

// checkRecheck refuses a re-check of a finding the inspection may not name.
func checkRecheck(ctx context.Context, tx *sql.Tx, in *schema.Inspection, findingID string) error {
	findingID = strings.ToLower(strings.TrimSpace(findingID))
	if err := schema.ValidUUID(findingID); err != nil {
		return schema.Errorf(schema.CodeInvalid, "finding id %q: %v", truncateText(findingID, 40), err)
	}
	f, err := getFinding(ctx, tx, findingID)
	if err != nil {
		return err
	}
	if err := schema.RecheckTarget(*in, f); err != nil {
		if f.VenueID != in.VenueID {
			return fmt.Errorf("%w (it is of venue %s; start the re-check with --venue %s)", err, f.VenueID, f.VenueID)
		}
		return err
	}
	in.RecheckOf = f.ID
	return nil
}

// AmendInspection reopens a returned inspection as a local draft under the
// same id, keeping its answers and photos and the leader's comment, so
// that SetItem, the photo calls and Submit work on it as on any draft;
// Submit then queues it with a new clock and the server takes it as the
// next version. Only an inspection the server returned may be amended,
// and only on the device that made it.
func (d *Device) AmendInspection(ctx context.Context, inspectionID string) error {
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		me, err := enrolled(ctx, tx)
		if err != nil {
			return err
		}
		li, err := getInspection(ctx, tx, inspectionID)
		if err != nil {
			return err
		}
		if li.Status == schema.StatusDraft && li.ServerStatus == schema.StatusReturned {
			return nil // reopened already
		}
		if err := schema.ReturnedAmendable(li.Inspection); err != nil {
			return fmt.Errorf("%w (see `patrol tasks` for what waits for amendment)", err)
		}
		if li.DeviceID != "" && li.DeviceID != me.DeviceID {
			return schema.Errorf(schema.CodeForbidden, "inspection %s was made on another device; amend it there", li.ID)
		}
		h, err := d.tick(ctx, tx)
		if err != nil {
			return err
		}
		li.Status = schema.StatusDraft
		li.HLC = h.String()
		return putInspection(ctx, tx, &li)
	})
	if err != nil {
		return fmt.Errorf("mobilesync: amend %s: %w", inspectionID, err)
	}
	return nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
