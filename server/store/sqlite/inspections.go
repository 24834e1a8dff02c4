package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// inspectionCols is the column list every inspection read uses, in
// scanInspection order.
const inspectionCols = `id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, finished_at,
	items, hlc, time_suspect, review, seq`

// inspectionRow is an inspection with the server-only columns.
type inspectionRow struct {
	schema.Inspection
	AuthorID string
	Seq      int64
}

func scanInspection(row interface{ Scan(...any) error }) (*inspectionRow, error) {
	var r inspectionRow
	var inspectors, started, items string
	var finished, review sql.NullString
	var suspect int
	if err := row.Scan(&r.ID, &r.VenueID, &r.SquadID, &r.DeviceID, &r.AuthorID, &r.ChecklistVersion, &r.Status, &inspectors,
		&started, &finished, &items, &r.HLC, &suspect, &review, &r.Seq); err != nil {
		return nil, err
	}
	r.StartedAt = parseTime(started)
	r.FinishedAt = nullTime(finished)
	r.TimeSuspect = suspect != 0
	if err := json.Unmarshal([]byte(inspectors), &r.Inspectors); err != nil {
		return nil, fmt.Errorf("inspection %s inspectors: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(items), &r.Items); err != nil {
		return nil, fmt.Errorf("inspection %s items: %w", r.ID, err)
	}
	if review.Valid && review.String != "" {
		r.Review = &schema.Review{}
		if err := json.Unmarshal([]byte(review.String), r.Review); err != nil {
			return nil, fmt.Errorf("inspection %s review: %w", r.ID, err)
		}
	}
	return &r, nil
}

// The one mapping of an inspection to its rows: inspectionValues gives the
// inspections row, photoValues the inspection_photos rows. Both read the
// row as the writer left it, its clock, time_suspect and seq decided.
const (
	// inspectionInsertCols are the columns a device-authored record sets;
	// review stays NULL until a leader decides.
	inspectionInsertCols = `id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, finished_at,
		items, hlc, time_suspect, received_at, updated_at, seq`
	// inspectionInsertHead and inspectionInsertRow make the statement that
	// inserts inspections, one VALUES row each. OR FAIL: a failing row leaves
	// the rows before it in place instead of undoing the statement, which
	// spares SQLite part of its statement journal for a statement of many
	// rows; every caller rolls the whole transaction back on an error anyway.
	inspectionInsertHead = `INSERT OR FAIL INTO inspections (` + inspectionInsertCols + `) VALUES `
	inspectionInsertRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// inspectionReplace writes a newer version of a stored inspection from
	// the same values, keeping its author, receipt time and review.
	inspectionReplace = `INSERT INTO inspections (` + inspectionInsertCols + `) VALUES ` + inspectionInsertRow + `
		ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, squad_id = excluded.squad_id, device_id = excluded.device_id,
		checklist_version = excluded.checklist_version, status = excluded.status, inspectors = excluded.inspectors,
		started_at = excluded.started_at, finished_at = excluded.finished_at, items = excluded.items, hlc = excluded.hlc,
		time_suspect = excluded.time_suspect, updated_at = excluded.updated_at, seq = excluded.seq`
	// A photo named twice by one item is one reference (OR IGNORE).
	photoInsertHead = `INSERT OR IGNORE INTO inspection_photos (inspection_id, item_id, sha256, squad_id, device_id) VALUES `
	photoInsertRow  = `(?, ?, ?, ?, ?)`
)

// inspectionValues are the values of r's inspectionInsertRow, received and
// updated at now. Whether a photo arrived is not stored: it is worked out
// on read.
func inspectionValues(r *inspectionRow, now string) ([]any, error) {
	for i := range r.Items {
		for j := range r.Items[i].Photos {
			r.Items[i].Photos[j].Received = false
		}
	}
	items, err := itemsJSON(r.Items)
	if err != nil {
		return nil, fmt.Errorf("encode items of %s: %w", r.ID, err)
	}
	return []any{r.ID, r.VenueID, r.SquadID, r.DeviceID, r.AuthorID, r.ChecklistVersion, r.Status, inspectorsJSON(r.Inspectors),
		schema.FormatTime(r.StartedAt), finishedArg(r.FinishedAt), items, r.HLC, boolInt(r.TimeSuspect), now, now, r.Seq}, nil
}

// photoValues are the values of r's photoInsertRows: the photos its items
// name, so uploads can be authorized and completeness computed without
// reading the record.
func photoValues(r *inspectionRow) [][]any {
	var out [][]any
	for _, it := range r.Items {
		for _, p := range it.Photos {
			out = append(out, []any{r.ID, it.ItemID, p.SHA256, r.SquadID, r.DeviceID})
		}
	}
	return out
}

func finishedArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return schema.FormatTime(*t)
}

// insertInspection writes one new inspection with its seq, outside a push.
func (w *writer) insertInspection(ctx context.Context, r *inspectionRow) error {
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	r.Seq = seq
	vals, err := inspectionValues(r, w.nowText())
	if err != nil {
		return err
	}
	if _, err := w.exec(ctx, inspectionInsertHead+inspectionInsertRow, vals...); err != nil {
		return fmt.Errorf("insert inspection %s: %w", r.ID, err)
	}
	for _, ph := range photoValues(r) {
		if _, err := w.exec(ctx, photoInsertHead+photoInsertRow, ph...); err != nil {
			return fmt.Errorf("inspection %s photos: %w", r.ID, err)
		}
	}
	return nil
}

// ListInspections returns inspections newest first, each with its venue and
// photo completeness.
func (s *Store) ListInspections(ctx context.Context, f InspectionFilter) ([]schema.Inspection, error) {
	q := `SELECT ` + inspectionCols + ` FROM inspections WHERE 1 = 1`
	var args []any
	if f.SquadID != nil {
		q += ` AND squad_id = ?`
		args = append(args, *f.SquadID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if !f.Since.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, schema.FormatTime(f.Since))
	}
	if f.DeviceID != "" {
		q += ` AND device_id = ?`
		args = append(args, f.DeviceID)
	}
	q += ` ORDER BY started_at DESC, id LIMIT ?`
	args = append(args, clampLimit(f.Limit, 500, 5000))
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrap("list inspections", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list inspections", err)
	}
	var list []*inspectionRow
	for rows.Next() {
		r, err := scanInspection(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("list inspections", err)
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list inspections", err)
	}
	out, err := s.decorate(ctx, tx, list)
	return out, wrap("list inspections", err)
}

// Inspection returns one inspection with its venue and photo state.
func (s *Store) Inspection(ctx context.Context, id string) (schema.Inspection, error) {
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return schema.Inspection{}, wrap("inspection", err)
	}
	defer tx.Rollback()
	r, err := scanInspection(tx.QueryRowContext(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Inspection{}, notFound("inspection", id)
	}
	if err != nil {
		return schema.Inspection{}, wrap("inspection "+id, err)
	}
	out, err := s.decorate(ctx, tx, []*inspectionRow{r})
	if err != nil {
		return schema.Inspection{}, wrap("inspection "+id, err)
	}
	return out[0], nil
}

// decorate adds the venue, photo received flags, missing photos and
// completeness to API reads, with one query per table for the whole list.
func (s *Store) decorate(ctx context.Context, q queryer, list []*inspectionRow) ([]schema.Inspection, error) {
	var venueIDs, hashes []string
	for _, r := range list {
		venueIDs = append(venueIDs, r.VenueID)
		for _, it := range r.Items {
			for _, p := range it.Photos {
				hashes = append(hashes, p.SHA256)
			}
		}
	}
	venues := map[string]*venueRow{}
	err := inChunks(dedupe(venueIDs), func(chunk []any) error {
		rows, err := q.QueryContext(ctx, `SELECT `+venueCols+` FROM venues WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVenue(rows)
			if err != nil {
				return err
			}
			venues[v.ID] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	received, err := receivedPhotos(ctx, q, hashes)
	if err != nil {
		return nil, err
	}
	out := make([]schema.Inspection, 0, len(list))
	for _, r := range list {
		in := r.Inspection
		if v := venues[in.VenueID]; v != nil {
			vv := v.Venue
			in.Venue = &vv
		}
		complete := true
		missing := []string{}
		seen := map[string]bool{}
		for i := range in.Items {
			for j := range in.Items[i].Photos {
				p := &in.Items[i].Photos[j]
				p.Received = received[p.SHA256]
				if !p.Received && !seen[p.SHA256] {
					seen[p.SHA256] = true
					missing = append(missing, p.SHA256)
					complete = false
				}
			}
		}
		in.MissingPhotos = missing
		in.PhotosComplete = &complete
		in.Flags = schema.InspectionFlags(&in)
		out = append(out, in)
	}
	return out, nil
}

// receivedPhotos reports which of the hashes have a photos row.
func receivedPhotos(ctx context.Context, q queryer, hashes []string) (map[string]bool, error) {
	got := map[string]bool{}
	err := inChunks(dedupe(hashes), func(chunk []any) error {
		rows, err := q.QueryContext(ctx, `SELECT sha256 FROM photos WHERE sha256 IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			got[h] = true
		}
		return rows.Err()
	})
	return got, err
}

// Review decisions a leader may take.
var ReviewDecisions = []string{"accepted", "correction_ordered", "case_opened"}

// ReviewInspection records a leader's decision: the inspection becomes
// reviewed and its seq is bumped so the author's device receives the state.
// An inspection the scope does not cover is not found.
func (s *Store) ReviewInspection(ctx context.Context, id string, rv schema.Review, scope schema.Scope) (schema.Inspection, error) {
	ok := false
	for _, d := range ReviewDecisions {
		ok = ok || d == rv.Decision
	}
	if !ok {
		return schema.Inspection{}, schema.Errorf(schema.CodeInvalid, "decision %q is not one of accepted, correction_ordered, case_opened", rv.Decision)
	}
	if len(rv.Note) > schema.MaxNoteLen {
		return schema.Inspection{}, schema.Errorf(schema.CodeInvalid, "note is %d bytes; at most %d", len(rv.Note), schema.MaxNoteLen)
	}
	err := s.writeTx(ctx, func(w *writer) error {
		r, err := scanInspection(w.tx.QueryRowContext(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("inspection", id)
		}
		if err != nil {
			return err
		}
		if !scope.Covers(r.SquadID) {
			return notFound("inspection", id)
		}
		rv.ReviewedAt = w.now
		body, err := json.Marshal(rv)
		if err != nil {
			return err
		}
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		_, err = w.exec(ctx, `UPDATE inspections SET status = ?, review = ?, updated_at = ?, seq = ? WHERE id = ?`,
			schema.StatusReviewed, string(body), schema.FormatTime(w.now), seq, id)
		return err
	})
	if err != nil {
		return schema.Inspection{}, fmt.Errorf("store: review inspection %s: %w", id, err)
	}
	return s.Inspection(ctx, id)
}
