package mobilesync

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// The on-site inspection record (现场检查笔录) on the device. The officers
// fill it in on site (SetRecord: the party, that they showed their IDs,
// further facts; the number and the venue as found come from the device),
// then the party signs on the screen (SignRecord: the signature is an image
// kept like a photo) or refuses before a witness (RefuseRecord). Signing
// seals the record: from then on SetItem and the photo calls never change
// the original, they go into an open amendment, which gets its reason
// (AmendmentReason) and its own signing (SignAmendment, RefuseAmendment).
// Submit refuses an inspection whose record or open amendment is unsigned.
// An inspection without a record works as before.

// metaRecordCount is the meta key of the device's running count of the
// records it numbered.
const metaRecordCount = "record_count"

// Item ids of the device's photo rows of signature images.
const (
	recordSignatureItem = "record"
	amendmentItemPrefix = "record:"
)

// RecordInput is what the officers type into an on-site record.
type RecordInput struct {
	// Party is the person in charge present: name, role, ID type (one of
	// schema.IDTypes) and the last schema.IDLastDigits characters of the
	// ID number only.
	Party schema.Party
	// IDsShown: the officers showed their law-enforcement IDs.
	IDsShown bool
	// Remarks are further facts beyond the item notes (no penalty).
	Remarks string
}

// SetRecord fills in the on-site record of a draft inspection: the party,
// whether IDs were shown and remarks as typed; its number (现检〔YYYY〕
// BADGE-N号, from this device's count) and the venue's name, address and
// licence as the device holds them are given the first time. A signed
// record is sealed: SetRecord then answers CodeSealed, and a change of an
// answer becomes an amendment instead.
func (d *Device) SetRecord(ctx context.Context, inspectionID string, in RecordInput) error {
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		me, err := enrolled(ctx, tx)
		if err != nil {
			return err
		}
		return d.changeInspection(ctx, tx, inspectionID, func(li *localInspection, _ *schema.Checklist) error {
			if r := li.Record; r != nil && r.Signing != nil {
				return schema.Errorf(schema.CodeSealed, "the on-site record %s is signed; change an answer to amend it (`patrol record amend %s --reason ...`)",
					r.Number, li.ID)
			}
			if li.Status != schema.StatusDraft {
				return schema.Errorf(schema.CodeInvalid, "inspection %s is submitted; its on-site record is made on site, before submitting", li.ID)
			}
			r := li.Record
			if r == nil {
				badge := ""
				for _, p := range li.Inspectors {
					if p.Username == me.Username {
						badge = p.BadgeNo
					}
				}
				if strings.TrimSpace(badge) == "" {
					return schema.Errorf(schema.CodeInvalid, "your badge number is not known on this device; sync, then start the inspection again")
				}
				n, err := nextRecordCount(ctx, tx, badge)
				if err != nil {
					return err
				}
				v, _, err := getVenue(ctx, tx, li.VenueID)
				if err != nil {
					return err
				}
				r = &schema.OnSiteRecord{Number: schema.RecordNumber(li.StartedAt, badge, n), VenueName: v.Name, Address: v.Address, LicenceNo: v.LicenceNo}
			}
			next := *r
			next.Party = schema.Party{Name: strings.TrimSpace(in.Party.Name), Role: strings.TrimSpace(in.Party.Role),
				IDType: strings.TrimSpace(in.Party.IDType), IDLast: strings.ToUpper(strings.TrimSpace(in.Party.IDLast))}
			next.IDsShown, next.Remarks = in.IDsShown, in.Remarks
			if err := schema.CheckRecordFields(&next); err != nil {
				return err
			}
			li.Record = &next
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("mobilesync: record of %s: %w", inspectionID, err)
	}
	return nil
}

// nextRecordCount takes the next number of the device's running count:
// past every number of the badge the device holds (its own records and
// those a pull brought back to a re-enrolled device), so that a number is
// never given twice.
func nextRecordCount(ctx context.Context, tx *sql.Tx, badge string) (int, error) {
	v, err := getMeta(ctx, tx, metaRecordCount)
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(v)
	rows, err := tx.QueryContext(ctx, `SELECT json_extract(record, '$.number') FROM inspections WHERE record IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("read record numbers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var num sql.NullString
		if err := rows.Scan(&num); err != nil {
			return 0, err
		}
		if _, b, k, ok := schema.ParseRecordNumber(num.String); ok && b == badge && k > n {
			n = k
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n++
	return n, putMeta(ctx, tx, metaRecordCount, strconv.Itoa(n))
}

// SignRecord seals the on-site record with the party's signature: the
// image at signatureImagePath (captured on the screen) is copied into the
// photo store like a photo and uploads with the photo queue. The record
// must be complete (every item answered, two inspectors with badges, IDs
// shown); the inspection's end time is the signing's if not set yet.
func (d *Device) SignRecord(ctx context.Context, inspectionID, signatureImagePath string) error {
	li, err := getInspection(ctx, d.db.R, inspectionID)
	if err != nil {
		return fmt.Errorf("mobilesync: sign record of %s: %w", inspectionID, err)
	}
	ref, err := d.ImportPhoto(ctx, signatureImagePath, li.StartedAt)
	if err != nil {
		return fmt.Errorf("mobilesync: sign record of %s: %w", inspectionID, err)
	}
	return d.signRecord(ctx, inspectionID, schema.Signing{Signature: &ref}, "sign record")
}

// RefuseRecord seals the on-site record with the party's refusal to sign:
// the reason as the officers recorded it and the witness who saw it.
func (d *Device) RefuseRecord(ctx context.Context, inspectionID, reason string, witness schema.Witness) error {
	return d.signRecord(ctx, inspectionID, schema.Signing{Refused: refusal(reason, witness)}, "record refusal of")
}

func refusal(reason string, w schema.Witness) *schema.SignRefusal {
	return &schema.SignRefusal{Reason: strings.TrimSpace(reason), Witness: schema.Witness{Name: strings.TrimSpace(w.Name),
		IDLast: strings.ToUpper(strings.TrimSpace(w.IDLast)), Relation: strings.TrimSpace(w.Relation)}}
}

func (d *Device) signRecord(ctx context.Context, id string, s schema.Signing, op string) error {
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return d.changeInspection(ctx, tx, id, func(li *localInspection, cl *schema.Checklist) error {
			r := li.Record
			if r == nil {
				return schema.Errorf(schema.CodeInvalid, "inspection %s has no on-site record; fill it in first (`patrol record set %s --party-name ...`)", li.ID, li.ID)
			}
			if r.Signing != nil {
				return schema.Errorf(schema.CodeSealed, "the on-site record %s is signed already; a change must be an amendment", r.Number)
			}
			if missing := unanswered(li, cl); len(missing) > 0 {
				return schema.Errorf(schema.CodeInvalid, "answer every item before the party signs: %s unanswered", strings.Join(missing, ", "))
			}
			now := d.Clock().Physical()
			if li.FinishedAt == nil {
				finished := now
				if finished.Before(li.StartedAt) {
					finished = li.StartedAt
				}
				li.FinishedAt = &finished
			}
			s.At = now
			schema.SealRecord(&li.Inspection, s)
			if err := schema.ValidateRecord(&li.Inspection); err != nil {
				return err
			}
			return addSignaturePhoto(ctx, tx, li, recordSignatureItem, s.Signature, d.opts.Now())
		})
	})
	if err != nil {
		return fmt.Errorf("mobilesync: %s %s: %w", op, id, err)
	}
	return nil
}

func unanswered(li *localInspection, cl *schema.Checklist) []string {
	var missing []string
	for _, it := range cl.Items {
		if !slices.ContainsFunc(li.Items, func(r schema.ItemResult) bool { return r.ItemID == it.ID }) {
			missing = append(missing, it.ID)
		}
	}
	return missing
}

// addSignaturePhoto records a signature image like a photo and queues it
// for upload.
func addSignaturePhoto(ctx context.Context, tx *sql.Tx, li *localInspection, item string, p *schema.PhotoRef, now time.Time) error {
	if p == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO photos (sha256, inspection_id, item_id, size, media_type, captured_at, lat, lng, time_suspect, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.SHA256, li.ID, item, p.Size, p.MediaType, schema.FormatTime(p.CapturedAt), p.Lat, p.Lng, boolInt(p.TimeSuspect), schema.FormatTime(now)); err != nil {
		return fmt.Errorf("record signature %s: %w", p.SHA256[:12], err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO photo_uploads (sha256, size) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.SHA256, p.Size); err != nil {
		return fmt.Errorf("queue signature %s: %w", p.SHA256[:12], err)
	}
	return nil
}

// openAmendment is the last amendment of a sealed record while it waits
// for its signing, nil if there is none.
func openAmendment(r *schema.OnSiteRecord) *schema.Amendment {
	if r == nil || len(r.Amendments) == 0 {
		return nil
	}
	if a := &r.Amendments[len(r.Amendments)-1]; a.Signing == nil {
		return a
	}
	return nil
}

// cloneItems copies answers deep enough that changing the copy's photos
// leaves the original's alone.
func cloneItems(items []schema.ItemResult) []schema.ItemResult {
	out := slices.Clone(items)
	for i := range out {
		out[i].Photos = slices.Clone(out[i].Photos)
	}
	return out
}

// trackAmendment turns what a change did to the answers of a sealed
// record into changes of its open amendment, opening one on the first
// change: the answers stand as amended, and the original is what
// reverting the amendments gives back. An open amendment that the change
// left empty and without a reason is dropped.
func (d *Device) trackAmendment(li *localInspection, before []schema.ItemResult) {
	r := li.Record
	if r == nil || r.Signing == nil {
		return
	}
	a := openAmendment(r)
	for _, after := range li.Items {
		i := slices.IndexFunc(before, func(b schema.ItemResult) bool { return b.ItemID == after.ItemID })
		if i < 0 || schema.SameAnswer(before[i], after) {
			continue
		}
		if a == nil {
			a = schema.OpenAmendment(&li.Inspection, d.Clock().Physical())
		}
		a.ChangeItem(before[i], after)
	}
	if a != nil && len(a.Changes) == 0 && a.Reason == "" {
		r.Amendments = r.Amendments[:len(r.Amendments)-1]
	}
}

// AmendmentReason sets why the open amendment of an inspection's sealed
// record changes its answers (a correction, a fact found later): the
// party signs the amendment with its reason.
func (d *Device) AmendmentReason(ctx context.Context, inspectionID, reason string) error {
	reason = strings.TrimSpace(reason)
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return d.changeInspection(ctx, tx, inspectionID, func(li *localInspection, _ *schema.Checklist) error {
			a, err := needOpenAmendment(li)
			if err != nil {
				return err
			}
			probe := *li.Record
			probe.Remarks = reason
			if err := schema.CheckRecordFields(&probe); err != nil || reason == "" || len([]rune(reason)) > schema.MaxRecordText {
				return schema.Errorf(schema.CodeInvalid, "an amendment's reason is text of 1 to %d characters", schema.MaxRecordText)
			}
			a.Reason = reason
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("mobilesync: amendment reason of %s: %w", inspectionID, err)
	}
	return nil
}

func needOpenAmendment(li *localInspection) (*schema.Amendment, error) {
	if li.Record == nil || li.Record.Signing == nil {
		return nil, schema.Errorf(schema.CodeInvalid, "inspection %s has no signed on-site record; amendments change signed records only", li.ID)
	}
	a := openAmendment(li.Record)
	if a == nil {
		return nil, schema.Errorf(schema.CodeInvalid, "the on-site record %s has no open amendment; change an answer first (`patrol inspect item %s ITEM ...`)",
			li.Record.Number, li.ID)
	}
	return a, nil
}

// SignAmendment seals the open amendment with the party's signature image
// (kept and uploaded like a photo); its reason must be set.
func (d *Device) SignAmendment(ctx context.Context, inspectionID, signatureImagePath string) error {
	li, err := getInspection(ctx, d.db.R, inspectionID)
	if err != nil {
		return fmt.Errorf("mobilesync: sign amendment of %s: %w", inspectionID, err)
	}
	if _, err := needOpenAmendment(&li); err != nil {
		return fmt.Errorf("mobilesync: sign amendment of %s: %w", inspectionID, err)
	}
	ref, err := d.ImportPhoto(ctx, signatureImagePath, li.StartedAt)
	if err != nil {
		return fmt.Errorf("mobilesync: sign amendment of %s: %w", inspectionID, err)
	}
	return d.signAmendment(ctx, inspectionID, schema.Signing{Signature: &ref}, "sign amendment of")
}

// RefuseAmendment seals the open amendment with the party's refusal to
// sign it, with the reason and the witness.
func (d *Device) RefuseAmendment(ctx context.Context, inspectionID, reason string, witness schema.Witness) error {
	return d.signAmendment(ctx, inspectionID, schema.Signing{Refused: refusal(reason, witness)}, "record amendment refusal of")
}

func (d *Device) signAmendment(ctx context.Context, id string, s schema.Signing, op string) error {
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return d.changeInspection(ctx, tx, id, func(li *localInspection, _ *schema.Checklist) error {
			a, err := needOpenAmendment(li)
			if err != nil {
				return err
			}
			if a.Reason == "" {
				return schema.Errorf(schema.CodeInvalid, "give amendment %d its reason first (`patrol record amend %s --reason ...`)", a.N, li.ID)
			}
			s.At = d.Clock().Physical()
			schema.SealAmendment(a, s)
			if err := schema.ValidateRecord(&li.Inspection); err != nil {
				return err
			}
			return addSignaturePhoto(ctx, tx, li, amendmentItemPrefix+strconv.Itoa(a.N), s.Signature, d.opts.Now())
		})
	})
	if err != nil {
		return fmt.Errorf("mobilesync: %s %s: %w", op, id, err)
	}
	return nil
}

// recordReady refuses to submit an inspection whose on-site record, or
// whose open amendment, waits for the party's signing.
func recordReady(li *localInspection) error {
	r := li.Record
	if r == nil {
		return nil
	}
	if r.Signing == nil {
		return schema.Errorf(schema.CodeInvalid, "cannot submit: the on-site record %s is not signed; the party signs (`patrol record sign %s --signature FILE`) or refuses before a witness (`patrol record refuse %s --reason ... --witness ...`)",
			r.Number, li.ID, li.ID)
	}
	if a := openAmendment(r); a != nil {
		how := fmt.Sprintf("`patrol record amend %s --reason ...`, then `patrol record sign %s --signature FILE` or `patrol record refuse %s ...`", li.ID, li.ID, li.ID)
		return schema.Errorf(schema.CodeInvalid, "cannot submit: amendment %d of the on-site record %s is not signed (%d change(s)); %s", a.N, r.Number, len(a.Changes), how)
	}
	return nil
}
