package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// inspectionCols is the column list every inspection read uses, in
// scanInspection order. The answers are rows of their own (fillItems).
const inspectionCols = `id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, finished_at,
	hlc, time_suspect, review, seq, version, recheck_of, complaint_id, record`

// inspectionRow is an inspection with the server-only columns.
type inspectionRow struct {
	schema.Inspection
	AuthorID string
	Seq      int64
	// Claims is the claim to each photo the record names, by hash
	// (schema.ClaimPhotos): what a write stores, what fillItems read. A
	// hash without one is written pending.
	Claims map[string]string
	// Unshown are the photo references of answers a brief read left out,
	// counted by decorate all the same.
	Unshown []schema.PhotoRef
}

func scanInspection(row interface{ Scan(...any) error }) (*inspectionRow, error) {
	var r inspectionRow
	var inspectors, started string
	var finished, review, record sql.NullString
	var suspect int
	if err := row.Scan(&r.ID, &r.VenueID, &r.SquadID, &r.DeviceID, &r.AuthorID, &r.ChecklistVersion, &r.Status, &inspectors,
		&started, &finished, &r.HLC, &suspect, &review, &r.Seq, &r.Version, &r.RecheckOf, &r.ComplaintID, &record); err != nil {
		return nil, err
	}
	if record.Valid && record.String != "" {
		if err := store.DecodeRecord(record.String, &r.Inspection); err != nil {
			return nil, fmt.Errorf("inspection %s: %w", r.ID, err)
		}
	}
	r.StartedAt = parseTime(started)
	r.FinishedAt = nullTime(finished)
	r.TimeSuspect = suspect != 0
	if err := json.Unmarshal([]byte(inspectors), &r.Inspectors); err != nil {
		return nil, fmt.Errorf("inspection %s inspectors: %w", r.ID, err)
	}
	if review.Valid && review.String != "" {
		r.Review = &schema.Review{}
		if err := json.Unmarshal([]byte(review.String), r.Review); err != nil {
			return nil, fmt.Errorf("inspection %s review: %w", r.ID, err)
		}
	}
	return &r, nil
}

// The one mapping of an inspection to its rows: its inspections row, one
// inspection_items row per answer and one inspection_photos row per photo
// reference. The append functions read the row as the writer left it, its
// clock, time_suspect and seq decided, and append the values of a VALUES
// row of the statements below. A new column of inspections is added to
// inspectionInsertCols and appendInspectionValues (the statements follow)
// and to inspectionCols and scanInspection.

// inspectionInsertCols are the columns a device-authored record sets;
// review stays NULL until a leader decides.
const inspectionInsertCols = `id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, finished_at,
	hlc, time_suspect, received_at, updated_at, seq, version, recheck_of, complaint_id, record, record_number`

var (
	// inspectionInsertHead and inspectionInsertRow make the statement that
	// inserts inspections, one VALUES row each. OR FAIL: a failing row leaves
	// the rows before it in place instead of undoing the statement, which
	// spares SQLite part of its statement journal for a statement of many
	// rows; every caller rolls the whole transaction back on an error anyway.
	inspectionInsertHead = `INSERT OR FAIL INTO inspections (` + inspectionInsertCols + `) VALUES `
	inspectionInsertRow  = valuesRow(inspectionInsertCols)
	// inspectionReplace writes a newer version of a stored inspection from
	// the same values, keeping its author, receipt time and review.
	inspectionReplace = `INSERT INTO inspections (` + inspectionInsertCols + `) VALUES ` + inspectionInsertRow +
		` ON CONFLICT (id) DO UPDATE SET ` + excludedSet(inspectionInsertCols, "id", "author_id", "received_at")
)

const (
	itemInsertHead  = `INSERT OR FAIL INTO inspection_items (inspection_id, item_id, position, result, note, severity) VALUES `
	itemInsertRow   = `(?, ?, ?, ?, ?, ?)`
	photoInsertHead = `INSERT OR FAIL INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at,
		lat, lng, captured_by, time_suspect, squad_id, device_id, claim) VALUES `
	photoInsertRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sigInsertHead  = `INSERT OR FAIL INTO record_signatures (inspection_id, amendment, sha256, size, media_type, captured_at, squad_id, device_id, claim) VALUES `
	sigInsertRow   = `(?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// versionInsertHead and versionInsertRow record each accepted version.
	versionInsertHead = `INSERT OR FAIL INTO inspection_versions (inspection_id, version, hlc, record, device_id, received_at) VALUES `
	versionInsertRow  = `(?, ?, ?, ?, ?, ?)`
)

// appendInspectionValues appends the values of r's inspectionInsertRow,
// received and updated at now.
func appendInspectionValues(args []any, r *inspectionRow, now string) []any {
	inspectors, _ := json.Marshal(r.Inspectors) // strings only: never fails
	return append(args, r.ID, r.VenueID, r.SquadID, r.DeviceID, r.AuthorID, r.ChecklistVersion, r.Status, string(inspectors),
		schema.FormatTime(r.StartedAt), finishedArg(r.FinishedAt), r.HLC, boolInt(r.TimeSuspect), now, now, r.Seq, max(r.Version, 1), r.RecheckOf, r.ComplaintID,
		store.RecordArg(r.Record), store.RecordNumber(r.Record))
}

// appendVersionValues appends the values of r's versionInsertRow: the
// record as stored, received at now.
func appendVersionValues(args []any, r *inspectionRow, now string) []any {
	return append(args, r.ID, max(r.Version, 1), r.HLC, versionRecord(r.Inspection), r.DeviceID, now)
}

// versionRecord is the JSON of a version as the device made it and the
// server stored it, without review or read-side decorations.
func versionRecord(in schema.Inspection) string {
	in.Review, in.Venue, in.MissingPhotos, in.PhotosComplete, in.Flags = nil, nil, nil, nil, nil
	in.Version = max(in.Version, 1)
	b, _ := json.Marshal(in) // plain data: never fails
	return string(b)
}

// appendItemValues appends one itemInsertRow per answer of r, each with
// the severity of its item in cl, r's checklist version ("" when the
// server does not know the version).
func appendItemValues(args []any, r *inspectionRow, cl *schema.Checklist) []any {
	for i := range r.Items {
		it := &r.Items[i]
		severity := ""
		if cl != nil {
			if ci, ok := cl.Item(it.ItemID); ok {
				severity = ci.Severity
			}
		}
		args = append(args, r.ID, it.ItemID, i, it.Result, it.Note, severity)
	}
	return args
}

// appendPhotoValues appends one photoInsertRow per photo reference of r,
// with its claim. Whether a photo arrived is not part of the record: reads
// work it out.
func appendPhotoValues(args []any, r *inspectionRow) []any {
	for i := range r.Items {
		it := &r.Items[i]
		for j := range it.Photos {
			p := &it.Photos[j]
			claim := schema.ClaimPending
			if r.Claims[p.SHA256] == schema.ClaimProven {
				claim = schema.ClaimProven
			}
			args = append(args, r.ID, it.ItemID, j, p.SHA256, p.Size, p.MediaType, schema.FormatTime(p.CapturedAt), p.Lat, p.Lng,
				p.DeviceID, boolInt(p.TimeSuspect), r.SquadID, r.DeviceID, claim)
		}
	}
	return args
}

// appendSignatureValues appends one sigInsertRow per signature image of
// r's on-site record, with its claim.
func appendSignatureValues(args []any, r *inspectionRow) []any {
	for _, sig := range store.Signatures(r.Record) {
		claim := schema.ClaimPending
		if r.Claims[sig.Ref.SHA256] == schema.ClaimProven {
			claim = schema.ClaimProven
		}
		args = append(args, r.ID, sig.Amendment, sig.Ref.SHA256, sig.Ref.Size, sig.Ref.MediaType, schema.FormatTime(sig.Ref.CapturedAt),
			r.SquadID, r.DeviceID, claim)
	}
	return args
}

func finishedArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return schema.FormatTime(*t)
}

// inspectionQueues hold the rows of new inspections until they are
// inserted many to a statement, each table after the one its rows refer to.
type inspectionQueues struct {
	insp, items, photos, sigs, versions *rowQueue
}

// inspectionGroup is how many inspections one INSERT statement writes;
// their answers and photos go in statements of four times as many rows.
const inspectionGroup = 16

func newInspectionQueues() inspectionQueues {
	return inspectionQueues{insp: newRowQueue(inspectionInsertHead, inspectionInsertRow, inspectionGroup),
		items: newRowQueue(itemInsertHead, itemInsertRow, 4*inspectionGroup), photos: newRowQueue(photoInsertHead, photoInsertRow, 4*inspectionGroup),
		sigs: newRowQueue(sigInsertHead, sigInsertRow, inspectionGroup), versions: newRowQueue(versionInsertHead, versionInsertRow, inspectionGroup)}
}

// add queues the rows of the new inspection r (of checklist cl), received
// at now, and reports whether the queues should be flushed.
func (q *inspectionQueues) add(r *inspectionRow, cl *schema.Checklist, now string) bool {
	q.insp.args = appendInspectionValues(q.insp.args, r, now)
	q.versions.args = appendVersionValues(q.versions.args, r, now)
	q.addAnswers(r, cl)
	return q.insp.full()
}

// addAnswers queues the item and photo rows of r alone (its inspections
// row is written already).
func (q *inspectionQueues) addAnswers(r *inspectionRow, cl *schema.Checklist) {
	q.items.args = appendItemValues(q.items.args, r, cl)
	q.photos.args = appendPhotoValues(q.photos.args, r)
	q.sigs.args = appendSignatureValues(q.sigs.args, r)
}

// flush inserts every queued row, inspections first.
func (q *inspectionQueues) flush(ctx context.Context, w *writer) error {
	if err := q.insp.flush(ctx, w); err != nil {
		return fmt.Errorf("insert inspections: %w", err)
	}
	if err := q.items.flush(ctx, w); err != nil {
		return fmt.Errorf("insert inspection items: %w", err)
	}
	if err := q.photos.flush(ctx, w); err != nil {
		return fmt.Errorf("insert inspection photos: %w", err)
	}
	if err := q.sigs.flush(ctx, w); err != nil {
		return fmt.Errorf("insert record signatures: %w", err)
	}
	if err := q.versions.flush(ctx, w); err != nil {
		return fmt.Errorf("insert inspection versions: %w", err)
	}
	return nil
}

// replaceInspection overwrites a stored inspection with a newer version
// of the same inspector, keeping its review state and receipt time; its
// answers are replaced with it (queued in q, after anything q held is
// flushed).
func (w *writer) replaceInspection(ctx context.Context, q *inspectionQueues, r *inspectionRow, cl *schema.Checklist) error {
	if err := q.flush(ctx, w); err != nil {
		return err
	}
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	r.Seq = seq
	for _, del := range []string{`DELETE FROM inspection_photos WHERE inspection_id = ?`, `DELETE FROM inspection_items WHERE inspection_id = ?`,
		`DELETE FROM record_signatures WHERE inspection_id = ?`} {
		if _, err := w.exec(ctx, del, r.ID); err != nil {
			return fmt.Errorf("replace inspection %s: %w", r.ID, err)
		}
	}
	if _, err := w.exec(ctx, inspectionReplace, appendInspectionValues(nil, r, w.nowText())...); err != nil {
		return fmt.Errorf("replace inspection %s: %w", r.ID, err)
	}
	q.versions.args = appendVersionValues(q.versions.args, r, w.nowText())
	q.addAnswers(r, cl)
	return nil
}

// Columns of the answer rows, in fillItems order.
const (
	itemCols  = `inspection_id, item_id, position, result, note`
	photoCols = `inspection_id, item_id, position, sha256, size, media_type, captured_at, lat, lng, captured_by, time_suspect, claim`
)

// fillItems reads the answers and photo references of the inspections in
// list from their rows, one query per table for the whole list.
func fillItems(ctx context.Context, q queryer, list []*inspectionRow) error {
	return fillAnswers(ctx, q, list, false)
}

// briefAnswers is the condition on inspection_items of a brief read
// (store.InspectionFilter.Brief).
const briefAnswers = ` AND (result = '` + schema.ResultFail + `' OR note <> '')`

// fillAnswers is fillItems, of only the answers that failed or carry a
// note when brief; the photos of the other answers go to Unshown.
func fillAnswers(ctx context.Context, q queryer, list []*inspectionRow, brief bool) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[string]*inspectionRow, len(list))
	ids := make([]string, 0, len(list))
	for _, r := range list {
		if _, dup := byID[r.ID]; !dup {
			byID[r.ID] = r
			ids = append(ids, r.ID)
		}
		r.Items, r.Claims, r.Unshown = nil, nil, nil
	}
	itemQuery := `SELECT ` + itemCols + ` FROM inspection_items WHERE inspection_id IN (SELECT value FROM json_each(?))`
	if brief {
		itemQuery += briefAnswers
	}
	idList, err := jsonList(ids)
	if err != nil {
		return err
	}
	type placed struct {
		pos int
		it  schema.ItemResult
	}
	answers := make(map[string][]placed, len(ids))
	err = queryEach(ctx, q, itemQuery, idList,
		func(rows *sql.Rows) error {
			var id string
			var p placed
			if err := rows.Scan(&id, &p.it.ItemID, &p.pos, &p.it.Result, &p.it.Note); err != nil {
				return err
			}
			answers[id] = append(answers[id], p)
			return nil
		})
	if err != nil {
		return fmt.Errorf("inspection items: %w", err)
	}
	for id, ps := range answers {
		slices.SortFunc(ps, func(a, b placed) int { return a.pos - b.pos })
		r := byID[id]
		r.Items = make([]schema.ItemResult, len(ps))
		for i := range ps {
			r.Items[i] = ps[i].it
		}
	}
	type photo struct {
		pos int
		ref schema.PhotoRef
	}
	photos := map[[2]string][]photo{}
	err = queryEach(ctx, q, `SELECT `+photoCols+` FROM inspection_photos WHERE inspection_id IN (SELECT value FROM json_each(?))`, idList,
		func(rows *sql.Rows) error {
			var id, item, captured, claim string
			var p photo
			var suspect int
			if err := rows.Scan(&id, &item, &p.pos, &p.ref.SHA256, &p.ref.Size, &p.ref.MediaType, &captured, &p.ref.Lat, &p.ref.Lng,
				&p.ref.DeviceID, &suspect, &claim); err != nil {
				return err
			}
			r := byID[id]
			if r.Claims == nil {
				r.Claims = map[string]string{}
			}
			if r.Claims[p.ref.SHA256] != schema.ClaimPending { // one pending reference makes the photo's claim pending
				r.Claims[p.ref.SHA256] = claim
			}
			p.ref.CapturedAt = parseTime(captured)
			p.ref.TimeSuspect = suspect != 0
			k := [2]string{id, item}
			photos[k] = append(photos[k], p)
			return nil
		})
	if err != nil {
		return fmt.Errorf("inspection photos: %w", err)
	}
	// The claims to the record's signature images, which are evidence
	// like photos.
	err = queryEach(ctx, q, `SELECT inspection_id, sha256, claim FROM record_signatures WHERE inspection_id IN (SELECT value FROM json_each(?))`, idList,
		func(rows *sql.Rows) error {
			var id, sha, claim string
			if err := rows.Scan(&id, &sha, &claim); err != nil {
				return err
			}
			r := byID[id]
			if r.Claims == nil {
				r.Claims = map[string]string{}
			}
			if r.Claims[sha] != schema.ClaimPending {
				r.Claims[sha] = claim
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("record signatures: %w", err)
	}
	for k, ps := range photos {
		slices.SortFunc(ps, func(a, b photo) int { return a.pos - b.pos })
		r := byID[k[0]]
		shown := false
		for i := range r.Items {
			if it := &r.Items[i]; it.ItemID == k[1] {
				shown = true
				it.Photos = make([]schema.PhotoRef, len(ps))
				for j := range ps {
					it.Photos[j] = ps[j].ref
				}
			}
		}
		if !shown {
			for j := range ps {
				r.Unshown = append(r.Unshown, ps[j].ref)
			}
		}
	}
	return nil
}

// queryEach runs query with args and hands each row to scan.
func queryEach(ctx context.Context, q queryer, query string, arg any, scan func(rows *sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
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
	if f.VenueID != "" {
		q += ` AND venue_id = ?`
		args = append(args, f.VenueID)
	}
	if f.After != "" {
		c, err := store.DecodeInspectionCursor(f.After)
		if err != nil {
			return nil, err
		}
		q += ` AND (started_at < ? OR started_at = ? AND id > ?)`
		args = append(args, c.Key, c.Key, c.ID)
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
	out, err := s.decorateAnswers(ctx, tx, list, f.Brief)
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

// InspectionsByID reads the inspections of ids in one read transaction,
// one query per table for the whole list.
func (s *Store) InspectionsByID(ctx context.Context, ids []string, brief bool) ([]schema.Inspection, error) {
	ids = dedupe(ids)
	if len(ids) > store.MaxInspectionsByID {
		return nil, schema.Errorf(schema.CodeInvalid, "%d inspections asked for at once; at most %d", len(ids), store.MaxInspectionsByID)
	}
	if len(ids) == 0 {
		return []schema.Inspection{}, nil
	}
	idList, err := jsonList(ids)
	if err != nil {
		return nil, wrap("inspections by id", err)
	}
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrap("inspections by id", err)
	}
	defer tx.Rollback()
	var list []*inspectionRow
	err = queryEach(ctx, tx, `SELECT `+inspectionCols+` FROM inspections WHERE id IN (SELECT value FROM json_each(?))`, idList,
		func(rows *sql.Rows) error {
			r, err := scanInspection(rows)
			if err == nil {
				list = append(list, r)
			}
			return err
		})
	if err != nil {
		return nil, wrap("inspections by id", err)
	}
	out, err := s.decorateAnswers(ctx, tx, list, brief)
	if err != nil {
		return nil, wrap("inspections by id", err)
	}
	return out, nil
}

// decorate adds the venue, photo received flags, missing photos and
// completeness to API reads, with one query per table for the whole list.
// A photo counts as received when its bytes arrived and the record's claim
// to them is proven: a pending claim is missing evidence.
func (s *Store) decorate(ctx context.Context, q queryer, list []*inspectionRow) ([]schema.Inspection, error) {
	return s.decorateAnswers(ctx, q, list, false)
}

// decorateAnswers is decorate of a brief read when brief: the photos of
// the answers left out count towards completeness all the same.
func (s *Store) decorateAnswers(ctx context.Context, q queryer, list []*inspectionRow, brief bool) ([]schema.Inspection, error) {
	if err := fillAnswers(ctx, q, list, brief); err != nil {
		return nil, err
	}
	var venueIDs, hashes []string
	for _, r := range list {
		venueIDs = append(venueIDs, r.VenueID)
		for _, it := range r.Items {
			for _, p := range it.Photos {
				hashes = append(hashes, p.SHA256)
			}
		}
		for _, p := range r.Unshown {
			hashes = append(hashes, p.SHA256)
		}
		for _, p := range schema.RecordSignatures(&r.Inspection) {
			hashes = append(hashes, p.SHA256)
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
	var moved []string
	for _, r := range list {
		if v := venues[r.VenueID]; v != nil && v.SquadID != r.SquadID {
			moved = append(moved, r.VenueID)
		}
	}
	left, err := venuesAsLeft(ctx, q, moved)
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
			vv := schema.VenueSeenBy(in.SquadID, v.Venue, left[venueSquadKey{in.VenueID, in.SquadID}])
			in.Venue = &vv
		}
		complete := true
		missing := []string{}
		seen := map[string]bool{}
		for i := range in.Items {
			for j := range in.Items[i].Photos {
				p := &in.Items[i].Photos[j]
				p.Received = received[p.SHA256] && r.Claims[p.SHA256] == schema.ClaimProven
				if !p.Received && !seen[p.SHA256] {
					seen[p.SHA256] = true
					missing = append(missing, p.SHA256)
					complete = false
				}
			}
		}
		for _, p := range r.Unshown {
			if !(received[p.SHA256] && r.Claims[p.SHA256] == schema.ClaimProven) && !seen[p.SHA256] {
				seen[p.SHA256] = true
				missing = append(missing, p.SHA256)
				complete = false
			}
		}
		if in.Record != nil {
			rec := *in.Record
			rec.Amendments = slices.Clone(rec.Amendments)
			var signed bool
			missing, signed = store.MarkSignatures(&rec, received, r.Claims, missing, seen)
			complete = complete && signed
			in.Record = &rec
		}
		in.MissingPhotos = missing
		in.PhotosComplete = &complete
		in.Flags = schema.InspectionFlags(&in)
		out = append(out, in)
	}
	return out, nil
}

// venueSquadKey names a venue's time in one squad.
type venueSquadKey struct {
	venue string
	squad int64
}

// venuesAsLeft returns, for the venues ids, each copy kept when the venue
// last left a squad (nil for a departure recorded before copies were
// kept), by venue and squad: what schema.VenueSeenBy shows that squad.
func venuesAsLeft(ctx context.Context, q queryer, ids []string) (map[venueSquadKey]*schema.Venue, error) {
	out := map[venueSquadKey]*schema.Venue{}
	err := inChunks(dedupe(ids), func(chunk []any) error {
		rows, err := q.QueryContext(ctx, `SELECT venue_id, squad_id, venue FROM venue_squad_history
			WHERE venue_id IN (`+placeholders(len(chunk))+`) AND to_at IS NOT NULL ORDER BY left_seq`, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k venueSquadKey
			var body sql.NullString
			if err := rows.Scan(&k.venue, &k.squad, &body); err != nil {
				return err
			}
			out[k] = nil
			if body.Valid {
				v := new(schema.Venue)
				if err := json.Unmarshal([]byte(body.String), v); err != nil {
					return fmt.Errorf("venue %s as it left squad %d: %w", k.venue, k.squad, err)
				}
				out[k] = v
			}
		}
		return rows.Err()
	})
	return out, err
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
