package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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

func scanInspection(row pgx.Row) (*inspectionRow, error) {
	var r inspectionRow
	var inspectors, started string
	var finished, review, record *string
	if err := row.Scan(&r.ID, &r.VenueID, &r.SquadID, &r.DeviceID, &r.AuthorID, &r.ChecklistVersion, &r.Status, &inspectors,
		&started, &finished, &r.HLC, &r.TimeSuspect, &review, &r.Seq, &r.Version, &r.RecheckOf, &r.ComplaintID, &record); err != nil {
		return nil, err
	}
	if record != nil && *record != "" {
		if err := store.DecodeRecord(*record, &r.Inspection); err != nil {
			return nil, fmt.Errorf("inspection %s: %w", r.ID, err)
		}
	}
	r.StartedAt = parseTime(started)
	r.FinishedAt = nullTime(finished)
	if err := json.Unmarshal([]byte(inspectors), &r.Inspectors); err != nil {
		return nil, fmt.Errorf("inspection %s inspectors: %w", r.ID, err)
	}
	if review != nil && *review != "" {
		r.Review = &schema.Review{}
		if err := json.Unmarshal([]byte(*review), r.Review); err != nil {
			return nil, fmt.Errorf("inspection %s review: %w", r.ID, err)
		}
	}
	return &r, nil
}

// The one mapping of an inspection to its rows: its inspections row, one
// inspection_items row per answer and one inspection_photos row per photo
// reference, as the SQLite store writes them. The values functions read
// the row as the writer left it, its clock, time_suspect and seq decided.
var (
	// inspectionInsertCols are the columns a device-authored record sets,
	// in inspectionValues order; review stays NULL until a leader decides.
	inspectionInsertCols = []string{"id", "venue_id", "squad_id", "device_id", "author_id", "checklist_version", "status", "inspectors",
		"started_at", "finished_at", "hlc", "time_suspect", "received_at", "updated_at", "seq", "version", "recheck_of", "complaint_id", "record", "record_number"}
	itemInsertCols  = []string{"inspection_id", "item_id", "position", "result", "note", "severity"}
	photoInsertCols = []string{"inspection_id", "item_id", "position", "sha256", "size", "media_type", "captured_at", "lat", "lng",
		"captured_by", "time_suspect", "squad_id", "device_id", "claim"}
	sigInsertCols = []string{"inspection_id", "amendment", "sha256", "size", "media_type", "captured_at", "squad_id", "device_id", "claim"}

	inspectionInsert = insertStatement("inspections", inspectionInsertCols)
	// inspectionReplace writes a newer version of a stored inspection from
	// the same values, keeping its author, receipt time and review.
	inspectionReplace = inspectionInsert + ` ON CONFLICT (id) DO UPDATE SET ` + excludedSet(inspectionInsertCols, "id", "author_id", "received_at")
	itemInsert        = insertStatement("inspection_items", itemInsertCols)
	photoInsert       = insertStatement("inspection_photos", photoInsertCols)
	sigInsert         = insertStatement("record_signatures", sigInsertCols)
	// versionInsertCols record each accepted version (versionValues).
	versionInsertCols = []string{"inspection_id", "version", "hlc", "record", "device_id", "received_at"}
	versionInsert     = insertStatement("inspection_versions", versionInsertCols)
)

// insertStatement is the INSERT of one row of cols into table.
func insertStatement(table string, cols []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES (", table, strings.Join(cols, ", "))
	for i := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+1)
	}
	b.WriteString(")")
	return b.String()
}

// excludedSet is the SET list of an upsert that takes every column but
// keep from the proposed row.
func excludedSet(cols []string, keep ...string) string {
	var parts []string
	for _, c := range cols {
		if !slices.Contains(keep, c) {
			parts = append(parts, c+" = excluded."+c)
		}
	}
	return strings.Join(parts, ", ")
}

// inspectionValues are r's values of inspectionInsertCols, received and
// updated at now.
func inspectionValues(r *inspectionRow, now string) []any {
	inspectors, _ := json.Marshal(r.Inspectors) // strings only: never fails
	return []any{r.ID, r.VenueID, r.SquadID, r.DeviceID, r.AuthorID, r.ChecklistVersion, r.Status, string(inspectors),
		schema.FormatTime(r.StartedAt), finishedArg(r.FinishedAt), r.HLC, r.TimeSuspect, now, now, r.Seq, int32(max(r.Version, 1)), r.RecheckOf, r.ComplaintID,
		store.RecordArg(r.Record), store.RecordNumber(r.Record)}
}

// versionValues are r's values of versionInsertCols: the record as stored,
// received at now.
func versionValues(r *inspectionRow, now string) []any {
	return []any{r.ID, int32(max(r.Version, 1)), r.HLC, versionRecord(r.Inspection), r.DeviceID, now}
}

// versionRecord is the JSON of a version as the device made it and the
// server stored it, without review or read-side decorations.
func versionRecord(in schema.Inspection) string {
	in.Review, in.Venue, in.MissingPhotos, in.PhotosComplete, in.Flags = nil, nil, nil, nil, nil
	in.Version = max(in.Version, 1)
	b, _ := json.Marshal(in) // plain data: never fails
	return string(b)
}

// itemValues are the inspection_items rows of r, each with the severity
// of its item in cl, r's checklist version ("" when the server does not
// know the version).
func itemValues(rows [][]any, r *inspectionRow, cl *schema.Checklist) [][]any {
	for i := range r.Items {
		it := &r.Items[i]
		severity := ""
		if cl != nil {
			if ci, ok := cl.Item(it.ItemID); ok {
				severity = ci.Severity
			}
		}
		rows = append(rows, []any{r.ID, it.ItemID, int32(i), it.Result, it.Note, severity})
	}
	return rows
}

// photoValues are the inspection_photos rows of r, one per photo
// reference, with its claim. Whether a photo arrived is not part of the
// record: reads work it out.
func photoValues(rows [][]any, r *inspectionRow) [][]any {
	for i := range r.Items {
		it := &r.Items[i]
		for j := range it.Photos {
			p := &it.Photos[j]
			claim := schema.ClaimPending
			if r.Claims[p.SHA256] == schema.ClaimProven {
				claim = schema.ClaimProven
			}
			rows = append(rows, []any{r.ID, it.ItemID, int32(j), p.SHA256, p.Size, p.MediaType, schema.FormatTime(p.CapturedAt), p.Lat, p.Lng,
				p.DeviceID, p.TimeSuspect, r.SquadID, r.DeviceID, claim})
		}
	}
	return rows
}

// signatureValues are the record_signatures rows of r, one per signature
// image of its on-site record, with its claim.
func signatureValues(rows [][]any, r *inspectionRow) [][]any {
	for _, sig := range store.Signatures(r.Record) {
		claim := schema.ClaimPending
		if r.Claims[sig.Ref.SHA256] == schema.ClaimProven {
			claim = schema.ClaimProven
		}
		rows = append(rows, []any{r.ID, int32(sig.Amendment), sig.Ref.SHA256, sig.Ref.Size, sig.Ref.MediaType, schema.FormatTime(sig.Ref.CapturedAt),
			r.SquadID, r.DeviceID, claim})
	}
	return rows
}

func finishedArg(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := schema.FormatTime(*t)
	return &s
}

// inspectionQueues hold the rows of new inspections until they are
// written together, each table after the one its rows refer to: with COPY
// when there are many, as one batch of INSERTs when few.
type inspectionQueues struct {
	insp, items, photos, sigs, versions [][]any
}

// add queues the rows of the new inspection r (of checklist cl), received
// at now.
func (q *inspectionQueues) add(r *inspectionRow, cl *schema.Checklist, now string) {
	q.insp = append(q.insp, inspectionValues(r, now))
	q.versions = append(q.versions, versionValues(r, now))
	q.addAnswers(r, cl)
}

// addAnswers queues the item and photo rows of r alone.
func (q *inspectionQueues) addAnswers(r *inspectionRow, cl *schema.Checklist) {
	q.items = itemValues(q.items, r, cl)
	q.photos = photoValues(q.photos, r)
	q.sigs = signatureValues(q.sigs, r)
}

// tables are the queues with where their rows go, in insertion order.
func (q *inspectionQueues) tables() []queuedTable {
	return []queuedTable{{"inspections", inspectionInsertCols, inspectionInsert, &q.insp},
		{"inspection_items", itemInsertCols, itemInsert, &q.items}, {"inspection_photos", photoInsertCols, photoInsert, &q.photos},
		{"record_signatures", sigInsertCols, sigInsert, &q.sigs}, {"inspection_versions", versionInsertCols, versionInsert, &q.versions}}
}

// queuedTable is rows waiting for table, with its columns and the INSERT
// of one row.
type queuedTable struct {
	table string
	cols  []string
	stmt  string
	rows  *[][]any
}

// copyThreshold is the number of rows from which COPY beats a batch of
// INSERTs (COPY costs a round trip of its own per table).
const copyThreshold = 32

// writeQueued writes the queued rows of each table in order, and empties
// the queues.
func writeQueued(ctx context.Context, tx pgx.Tx, tables []queuedTable) error {
	small := &pgx.Batch{}
	for _, q := range tables {
		rows := *q.rows
		if len(rows) == 0 {
			continue
		}
		if len(rows) >= copyThreshold {
			// The batch so far goes first: this COPY's rows may refer to its rows.
			if small.Len() > 0 {
				if err := tx.SendBatch(ctx, small).Close(); err != nil {
					return err
				}
				small = &pgx.Batch{}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{q.table}, q.cols, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("copy %d rows into %s: %w", len(rows), q.table, err)
			}
		} else {
			for _, r := range rows {
				small.Queue(q.stmt, r...)
			}
		}
		clear(rows)
		*q.rows = rows[:0]
	}
	if small.Len() > 0 {
		return tx.SendBatch(ctx, small).Close()
	}
	return nil
}

// replaceInspection overwrites a stored inspection with a newer version of
// the same inspector, keeping its review state and receipt time; its
// answers are replaced with it. Anything q holds is written first.
func (w *writer) replaceInspection(ctx context.Context, q *inspectionQueues, r *inspectionRow, cl *schema.Checklist) error {
	if err := writeQueued(ctx, w.tx, q.tables()); err != nil {
		return err
	}
	r.Seq = w.nextSeq()
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM inspection_photos WHERE inspection_id = $1`, r.ID)
	b.Queue(`DELETE FROM inspection_items WHERE inspection_id = $1`, r.ID)
	b.Queue(`DELETE FROM record_signatures WHERE inspection_id = $1`, r.ID)
	b.Queue(inspectionReplace, inspectionValues(r, w.nowText())...)
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("replace inspection %s: %w", r.ID, err)
	}
	q.versions = append(q.versions, versionValues(r, w.nowText()))
	q.addAnswers(r, cl)
	return nil
}

// fillItems reads the answers and photo references of the inspections in
// list from their rows, both tables in one batch.
func fillItems(ctx context.Context, tx pgx.Tx, list []*inspectionRow) error {
	return fillAnswers(ctx, tx, list, false)
}

// briefAnswers is the condition on inspection_items of a brief read
// (store.InspectionFilter.Brief).
const briefAnswers = ` AND (result = '` + schema.ResultFail + `' OR note <> '')`

// fillAnswers is fillItems, of only the answers that failed or carry a
// note when brief; the photos of the other answers go to Unshown.
func fillAnswers(ctx context.Context, tx pgx.Tx, list []*inspectionRow, brief bool) error {
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
	itemWhere := ``
	if brief {
		itemWhere = briefAnswers
	}
	type photoKey struct{ inspection, item string }
	photos := map[photoKey][]schema.PhotoRef{}
	b := &pgx.Batch{}
	// Ordered by position: the rows come back as the device sent them.
	b.Queue(`SELECT inspection_id, item_id, result, note FROM inspection_items WHERE inspection_id = ANY($1)`+itemWhere+`
		ORDER BY inspection_id, position`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var it schema.ItemResult
			if err := rows.Scan(&id, &it.ItemID, &it.Result, &it.Note); err != nil {
				return err
			}
			r := byID[id]
			r.Items = append(r.Items, it)
		}
		return rows.Err()
	})
	b.Queue(`SELECT inspection_id, item_id, sha256, size, media_type, captured_at, lat, lng, captured_by, time_suspect, claim
		FROM inspection_photos WHERE inspection_id = ANY($1) ORDER BY inspection_id, item_id, position`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k photoKey
			var p schema.PhotoRef
			var captured, claim string
			if err := rows.Scan(&k.inspection, &k.item, &p.SHA256, &p.Size, &p.MediaType, &captured, &p.Lat, &p.Lng, &p.DeviceID, &p.TimeSuspect,
				&claim); err != nil {
				return err
			}
			r := byID[k.inspection]
			if r.Claims == nil {
				r.Claims = map[string]string{}
			}
			if r.Claims[p.SHA256] != schema.ClaimPending { // one pending reference makes the photo's claim pending
				r.Claims[p.SHA256] = claim
			}
			p.CapturedAt = parseTime(captured)
			photos[k] = append(photos[k], p)
		}
		return rows.Err()
	})
	// The claims to the record's signature images, evidence like photos.
	b.Queue(`SELECT inspection_id, sha256, claim FROM record_signatures WHERE inspection_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
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
		}
		return rows.Err()
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("inspection items: %w", err)
	}
	for k, ps := range photos {
		r := byID[k.inspection]
		shown := false
		for i := range r.Items {
			if it := &r.Items[i]; it.ItemID == k.item {
				it.Photos, shown = ps, true
			}
		}
		if !shown {
			r.Unshown = append(r.Unshown, ps...)
		}
	}
	return nil
}

// ListInspections returns inspections newest first, each with its venue and
// photo completeness.
func (s *Store) ListInspections(ctx context.Context, f store.InspectionFilter) ([]schema.Inspection, error) {
	q := `SELECT ` + inspectionCols + ` FROM inspections WHERE true`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(cond, len(args))
	}
	if f.SquadID != nil {
		add(` AND squad_id = $%d`, *f.SquadID)
	}
	if f.Status != "" {
		add(` AND status = $%d`, f.Status)
	}
	if !f.Since.IsZero() {
		add(` AND started_at >= $%d`, schema.FormatTime(f.Since))
	}
	if f.DeviceID != "" {
		add(` AND device_id = $%d`, f.DeviceID)
	}
	if f.VenueID != "" {
		add(` AND venue_id = $%d`, f.VenueID)
	}
	if f.After != "" {
		c, err := store.DecodeInspectionCursor(f.After)
		if err != nil {
			return nil, err
		}
		args = append(args, c.Key, c.ID)
		q += fmt.Sprintf(` AND (started_at < $%[1]d OR started_at = $%[1]d AND id > $%[2]d)`, len(args)-1, len(args))
	}
	add(` ORDER BY started_at DESC, id LIMIT $%d`, clampLimit(f.Limit, 500, 5000))
	var out []schema.Inspection
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		var list []*inspectionRow
		for rows.Next() {
			r, err := scanInspection(rows)
			if err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		out, err = decorateAnswers(ctx, tx, list, f.Brief)
		return err
	})
	if err != nil {
		return nil, wrap("list inspections", err)
	}
	return out, nil
}

// InspectionsByID reads the inspections of ids in one read transaction,
// one query per table for the whole list.
func (s *Store) InspectionsByID(ctx context.Context, ids []string, brief bool) ([]schema.Inspection, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > store.MaxInspectionsByID {
		return nil, schema.Errorf(schema.CodeInvalid, "%d inspections asked for at once; at most %d", len(ids), store.MaxInspectionsByID)
	}
	out := []schema.Inspection{}
	if len(ids) == 0 {
		return out, nil
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		var list []*inspectionRow
		for rows.Next() {
			r, err := scanInspection(rows)
			if err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		out, err = decorateAnswers(ctx, tx, list, brief)
		return err
	})
	if err != nil {
		return nil, wrap("inspections by id", err)
	}
	return out, nil
}

// Inspection returns one inspection with its venue and photo state.
func (s *Store) Inspection(ctx context.Context, id string) (schema.Inspection, error) {
	var out []schema.Inspection
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		r, err := scanInspection(tx.QueryRow(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("inspection", id)
		}
		if err != nil {
			return err
		}
		out, err = decorate(ctx, tx, []*inspectionRow{r})
		return err
	})
	if err != nil {
		return schema.Inspection{}, wrap("inspection "+id, err)
	}
	return out[0], nil
}

// decorate adds the venue as the inspection's squad saw it
// (schema.VenueSeenBy), photo received flags, missing photos,
// completeness and flags to API reads, with one query per table for the
// whole list (sent as one batch). A photo counts as received when its
// bytes arrived and the record's claim to them is proven: a pending claim
// is missing evidence.
func decorate(ctx context.Context, tx pgx.Tx, list []*inspectionRow) ([]schema.Inspection, error) {
	return decorateAnswers(ctx, tx, list, false)
}

// decorateAnswers is decorate of a brief read when brief: the photos of
// the answers left out count towards completeness all the same.
func decorateAnswers(ctx context.Context, tx pgx.Tx, list []*inspectionRow, brief bool) ([]schema.Inspection, error) {
	if err := fillAnswers(ctx, tx, list, brief); err != nil {
		return nil, err
	}
	var venueIDs, hashes []string
	// Each venue and squad once, for the copies kept when a venue left
	// the squad of an inspection.
	var pairVenues []string
	var pairSquads []int64
	pairs := map[venueSquadKey]bool{}
	for _, r := range list {
		venueIDs = append(venueIDs, r.VenueID)
		if k := (venueSquadKey{r.VenueID, r.SquadID}); !pairs[k] {
			pairs[k] = true
			pairVenues, pairSquads = append(pairVenues, k.venue), append(pairSquads, k.squad)
		}
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
	received := map[string]bool{}
	left := map[venueSquadKey]*schema.Venue{}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+venueCols+` FROM venues WHERE id = ANY($1)`, venueIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			v, err := scanVenue(rows)
			if err != nil {
				return err
			}
			venues[v.ID] = v
		}
		return rows.Err()
	})
	b.Queue(`SELECT sha256 FROM photos WHERE sha256 = ANY($1)`, hashes).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			received[h] = true
		}
		return rows.Err()
	})
	// The copy kept when the venue last left the inspection's squad (nil
	// for a departure recorded before copies were kept), for the pairs
	// whose venue is in another squad now: what schema.VenueSeenBy shows.
	b.Queue(`SELECT h.venue_id, h.squad_id, h.venue FROM venue_squad_history h
		JOIN unnest($1::text[], $2::bigint[]) AS k (venue_id, squad_id) ON k.venue_id = h.venue_id AND k.squad_id = h.squad_id
		JOIN venues v ON v.id = h.venue_id AND v.squad_id <> h.squad_id
		WHERE h.to_at IS NOT NULL ORDER BY h.left_seq`, pairVenues, pairSquads).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k venueSquadKey
			var body *string
			if err := rows.Scan(&k.venue, &k.squad, &body); err != nil {
				return err
			}
			left[k] = nil
			if body != nil {
				v := new(schema.Venue)
				if err := json.Unmarshal([]byte(*body), v); err != nil {
					return fmt.Errorf("venue %s as it left squad %d: %w", k.venue, k.squad, err)
				}
				left[k] = v
			}
		}
		return rows.Err()
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
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
