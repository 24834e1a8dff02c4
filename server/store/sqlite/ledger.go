package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// change is one state change of the lifecycle or the ledger, as the
// audit log will record it: recordChange is called with each, inside the
// transaction that makes it.
type change = store.Change

// recordChange appends the audit entry of one lifecycle or ledger change
// inside its transaction. The actor and address are the request's
// (store.WithAuditor): the leader whose approval opened a finding, the
// device that pushed a version; c.Actor names who acted only when the
// request names no one.
func recordChange(ctx context.Context, w *writer, c change) error {
	e := store.AuditOf(ctx, w.now, c.EntityKind, c.EntityID, c.SquadID, c.Action, c.From, c.To, c.Reason)
	if e.Actor == schema.AuditSystem && c.Actor != "" {
		e.Actor = c.Actor
	}
	w.queueAudit(ctx, e)
	return nil
}

// findingCols is the column list every finding read uses, in scanFinding
// order; findingWrite writes the same columns.
const findingCols = `id, inspection_id, venue_id, squad_id, item_id, title_zh, severity, critical, status, note, opened_at,
	deadline, repeat, order_number, order_action, order_legal_basis, order_comment, ordered_by, ordered_at,
	recheck_inspection_id, rechecked_at, closed_at, closed_by, close_note, escalated_at, escalated_by, escalation_reason, case_id,
	updated_at, seq`

// findingWrite inserts a finding or overwrites every column of it.
var findingWrite = `INSERT INTO findings (` + findingCols + `) VALUES ` + valuesRow(findingCols) +
	` ON CONFLICT (id) DO UPDATE SET ` + excludedSet(findingCols, "id")

// findingRow is a finding with its change seq.
type findingRow struct {
	schema.Finding
	Seq int64
}

func scanFinding(row interface{ Scan(...any) error }) (*findingRow, error) {
	var r findingRow
	var critical int
	var opened, updated string
	var deadline, number, orderedAt, recheckedAt, closedAt, escalatedAt sql.NullString
	var action, basis, comment, orderedBy string
	if err := row.Scan(&r.ID, &r.InspectionID, &r.VenueID, &r.SquadID, &r.ItemID, &r.TitleZH, &r.Severity, &critical, &r.Status, &r.Note,
		&opened, &deadline, &r.Repeat, &number, &action, &basis, &comment, &orderedBy, &orderedAt,
		&r.RecheckInspectionID, &recheckedAt, &closedAt, &r.ClosedBy, &r.CloseNote, &escalatedAt, &r.EscalatedBy, &r.EscalationReason, &r.CaseID,
		&updated, &r.Seq); err != nil {
		return nil, err
	}
	r.Critical = critical != 0
	r.OpenedAt, r.UpdatedAt = parseTime(opened), parseTime(updated)
	r.Deadline = nullTime(deadline)
	r.RecheckedAt, r.ClosedAt, r.EscalatedAt = nullTime(recheckedAt), nullTime(closedAt), nullTime(escalatedAt)
	if number.Valid || orderedAt.Valid {
		o := &schema.Order{Number: number.String, Action: action, LegalBasis: basis, Comment: comment, OrderedBy: orderedBy}
		if t := nullTime(orderedAt); t != nil {
			o.OrderedAt = *t
		}
		if r.Deadline != nil {
			o.Deadline = *r.Deadline
		}
		r.Order = o
	}
	return &r, nil
}

// findingArgs are the values of findingCols for f at seq.
func findingArgs(f *schema.Finding, seq int64) []any {
	var number, orderedAt any
	var action, basis, comment, orderedBy string
	if o := f.Order; o != nil {
		number, orderedAt = nullString(o.Number), schema.FormatTime(o.OrderedAt)
		action, basis, comment, orderedBy = o.Action, o.LegalBasis, o.Comment, o.OrderedBy
	}
	return []any{f.ID, f.InspectionID, f.VenueID, f.SquadID, f.ItemID, f.TitleZH, f.Severity, boolInt(f.Critical), f.Status, f.Note,
		schema.FormatTime(f.OpenedAt), finishedArg(f.Deadline), f.Repeat, number, action, basis, comment, orderedBy, orderedAt,
		f.RecheckInspectionID, finishedArg(f.RecheckedAt), finishedArg(f.ClosedAt), f.ClosedBy, f.CloseNote, finishedArg(f.EscalatedAt),
		f.EscalatedBy, f.EscalationReason, f.CaseID, schema.FormatTime(f.UpdatedAt), seq}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeFinding writes f with the next change seq, so that the devices of
// its squad receive it.
func (w *writer) writeFinding(ctx context.Context, f *schema.Finding) error {
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	if _, err := w.exec(ctx, findingWrite, findingArgs(f, seq)...); err != nil {
		if schema.IsConstraint(err) {
			return schema.Errorf(schema.CodeConflict, "finding %s could not be written: %v", f.ID, err)
		}
		return fmt.Errorf("write finding %s: %w", f.ID, err)
	}
	return nil
}

func (w *writer) loadFinding(ctx context.Context, id string) (*findingRow, error) {
	r, err := scanFinding(w.tx.QueryRowContext(ctx, `SELECT `+findingCols+` FROM findings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("finding", id)
	}
	return r, err
}

// InspectionVersions lists the accepted versions of an inspection, oldest
// first.
func (s *Store) InspectionVersions(ctx context.Context, id string) ([]store.InspectionVersion, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT version, hlc, record, device_id, received_at, review FROM inspection_versions
		WHERE inspection_id = ? ORDER BY version`, id)
	if err != nil {
		return nil, wrap("inspection versions", err)
	}
	defer rows.Close()
	var out []store.InspectionVersion
	for rows.Next() {
		v := store.InspectionVersion{InspectionID: id}
		var record, received string
		var review sql.NullString
		if err := rows.Scan(&v.Version, &v.HLC, &record, &v.DeviceID, &received, &review); err != nil {
			return nil, wrap("inspection versions", err)
		}
		v.ReceivedAt = parseTime(received)
		if err := json.Unmarshal([]byte(record), &v.Record); err != nil {
			return nil, wrap("inspection versions", fmt.Errorf("version %d of %s: %w", v.Version, id, err))
		}
		if review.Valid && review.String != "" {
			v.Review = new(schema.Review)
			if err := json.Unmarshal([]byte(review.String), v.Review); err != nil {
				return nil, wrap("inspection versions", fmt.Errorf("review of version %d of %s: %w", v.Version, id, err))
			}
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("inspection versions", err)
	}
	if len(out) == 0 {
		return nil, notFound("inspection", id)
	}
	return out, nil
}

// Findings lists one page of the ledger, keyset by the sort key and id.
func (s *Store) Findings(ctx context.Context, f store.FindingFilter) (store.FindingPage, error) {
	if err := store.CheckFindingFilter(&f); err != nil {
		return store.FindingPage{}, err
	}
	now := s.now()
	q, args := findingsQuery(f, now)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return store.FindingPage{}, wrap("findings", err)
	}
	defer rows.Close()
	page := store.FindingPage{Findings: []schema.Finding{}}
	for rows.Next() {
		r, err := scanFinding(rows)
		if err != nil {
			return store.FindingPage{}, wrap("findings", err)
		}
		r.Overdue = schema.IsOverdue(r.Finding, now)
		page.Findings = append(page.Findings, r.Finding)
	}
	if err := rows.Err(); err != nil {
		return store.FindingPage{}, wrap("findings", err)
	}
	if len(page.Findings) > f.Limit {
		page.Findings = page.Findings[:f.Limit]
		last := page.Findings[f.Limit-1]
		c := store.FindingCursor{Sort: f.Sort, Key: schema.FormatTime(last.OpenedAt), ID: last.ID}
		if f.Sort == store.SortDeadline {
			c.Key = store.NoDeadlineKey
			if last.Deadline != nil {
				c.Key = schema.FormatTime(*last.Deadline)
			}
		}
		page.Next = c.Encode()
	}
	return page, nil
}

// Finding returns one finding, its overdue mark as of now.
func (s *Store) Finding(ctx context.Context, id string) (schema.Finding, error) {
	r, err := scanFinding(s.db.R.QueryRowContext(ctx, `SELECT `+findingCols+` FROM findings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Finding{}, notFound("finding", id)
	}
	if err != nil {
		return schema.Finding{}, wrap("finding "+id, err)
	}
	r.Overdue = schema.IsOverdue(r.Finding, s.now())
	return r.Finding, nil
}

// VenueLedger is a venue's inspections and findings over time.
func (s *Store) VenueLedger(ctx context.Context, venueID string) (store.VenueLedger, error) {
	v, err := s.Venue(ctx, venueID)
	if err != nil {
		return store.VenueLedger{}, err
	}
	out := store.VenueLedger{Venue: v, Findings: []schema.Finding{}}
	if out.Inspections, err = s.ListInspections(ctx, store.InspectionFilter{VenueID: venueID, Limit: 5000}); err != nil {
		return store.VenueLedger{}, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+findingCols+` FROM findings WHERE venue_id = ? ORDER BY opened_at, id`, venueID)
	if err != nil {
		return store.VenueLedger{}, wrap("venue ledger", err)
	}
	defer rows.Close()
	now := s.now()
	for rows.Next() {
		r, err := scanFinding(rows)
		if err != nil {
			return store.VenueLedger{}, wrap("venue ledger", err)
		}
		r.Overdue = schema.IsOverdue(r.Finding, now)
		out.Findings = append(out.Findings, r.Finding)
	}
	if err := rows.Err(); err != nil {
		return store.VenueLedger{}, wrap("venue ledger", err)
	}
	out.Items = store.ItemRecords(out.Findings)
	return out, nil
}

// findings yields the findings of the squad's venues changed in range.
func (p *puller) findings(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT `+findingCols+` FROM findings WHERE squad_id = ? AND seq > ? AND seq <= ?
		ORDER BY seq LIMIT ?`, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		r, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		// Overdue is left to the device (schema.IsOverdue on its own
		// clock): a pulled row is the same whenever it is pulled.
		f := r.Finding
		out = append(out, schema.Change{Seq: r.Seq, Kind: schema.ChangeFinding, ID: f.ID, Finding: &f})
	}
	return out, rows.Err()
}

// findingsMovedOut yields removals of the findings of venues that left the
// squad after lo, at the seq the venue left.
func (p *puller) findingsMovedOut(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT f.id, h.left_seq FROM venue_squad_history h JOIN findings f ON f.venue_id = h.venue_id
		WHERE h.squad_id = ? AND h.left_seq > ? AND h.left_seq <= ? AND f.squad_id <> h.squad_id
		ORDER BY h.left_seq LIMIT ?`, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("moved findings: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		c := schema.Change{Kind: schema.ChangeFinding, Removed: true}
		if err := rows.Scan(&c.ID, &c.Seq); err != nil {
			return nil, fmt.Errorf("moved findings: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// findingsQuery is the statement of a ledger page of the checked filter f
// (one row more than the page, to tell whether another follows) as of now.
func findingsQuery(f store.FindingFilter, now time.Time) (string, []any) {
	var where []string
	var args []any
	if f.SquadID != nil {
		where, args = append(where, `squad_id = ?`), append(args, *f.SquadID)
	}
	if f.Status != "" {
		where, args = append(where, `status = ?`), append(args, f.Status)
	}
	if f.ItemID != "" {
		where, args = append(where, `item_id = ?`), append(args, f.ItemID)
	}
	if f.VenueID != "" {
		where, args = append(where, `venue_id = ?`), append(args, f.VenueID)
	}
	if f.Overdue {
		where, args = append(where, `status = ? AND deadline < ?`), append(args, schema.FindingOrdered, schema.FormatTime(now))
	}
	if !f.From.IsZero() {
		where, args = append(where, `opened_at >= ?`), append(args, schema.FormatTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, `opened_at < ?`), append(args, schema.FormatTime(f.To))
	}
	key, order := `opened_at`, `opened_at DESC, id DESC`
	cmp := `<`
	if f.Sort == store.SortDeadline {
		key, order, cmp = `coalesce(deadline, '`+store.NoDeadlineKey+`')`, `coalesce(deadline, '`+store.NoDeadlineKey+`'), id`, `>`
		if f.Overdue {
			// Every overdue finding has a deadline: sort by the column, so
			// the page is a range of findings_squad_status_deadline.
			key, order = `deadline`, `deadline, id`
		}
	}
	if f.After != "" {
		c, _ := store.DecodeFindingCursor(f.After, f.Sort)
		where = append(where, `(`+key+` `+cmp+` ? OR `+key+` = ? AND id `+cmp+` ?)`)
		args = append(args, c.Key, c.Key, c.ID)
	}
	q := `SELECT ` + findingCols + ` FROM findings`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY ` + order + ` LIMIT ?`
	return q, append(args, f.Limit+1)
}

// ReviewInspection approves or returns a submitted inspection
// (store.ReviewInspection) and bumps its seq so the author's device
// receives the decision.
func (s *Store) ReviewInspection(ctx context.Context, id string, in store.ReviewInput, scope schema.Scope) (schema.Inspection, error) {
	err := s.writeTx(ctx, func(w *writer) error {
		return store.ReviewInspection(ctx, txn{s, w}, id, in, scope, w.now)
	})
	if err != nil {
		return schema.Inspection{}, fmt.Errorf("store: review inspection %s: %w", id, err)
	}
	return s.Inspection(ctx, id)
}

// ActOnFinding orders, closes or escalates a finding (store.ActOnFinding).
func (s *Store) ActOnFinding(ctx context.Context, id string, a schema.FindingAction, scope schema.Scope) (schema.Finding, error) {
	if err := store.CheckFindingAction(a); err != nil {
		return schema.Finding{}, err
	}
	var out schema.Finding
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, err = store.ActOnFinding(ctx, txn{s, w}, id, a, scope, w.now)
		return err
	})
	if err != nil {
		return schema.Finding{}, fmt.Errorf("store: %s finding %s: %w", a.Action, id, err)
	}
	return out, nil
}

var _ store.LedgerWriter = txn{}

func (t txn) LoadFinding(ctx context.Context, id string) (schema.Finding, error) {
	r, err := t.w.loadFinding(ctx, id)
	if err != nil {
		return schema.Finding{}, err
	}
	return r.Finding, nil
}

func (t txn) WriteFinding(ctx context.Context, f *schema.Finding) error {
	return t.w.writeFinding(ctx, f)
}

func (t txn) RecordChange(ctx context.Context, c store.Change) error {
	return recordChange(ctx, t.w, c)
}

func (t txn) Checklists(ctx context.Context) (schema.ChecklistLookup, error) {
	return t.s.checklistSet(ctx, t.w.tx)
}

func (t txn) ChecklistVersion(ctx context.Context, inspectionID string) (string, error) {
	var version string
	err := t.w.tx.QueryRowContext(ctx, `SELECT checklist_version FROM inspections WHERE id = ?`, inspectionID).Scan(&version)
	return version, err
}

func (t txn) NextOrderNumber(ctx context.Context, year int) (int, error) {
	var n int
	err := t.w.tx.QueryRowContext(ctx, `INSERT INTO order_numbers (year, last_n) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last_n = last_n + 1 RETURNING last_n`, year).Scan(&n)
	return n, err
}

func (t txn) UnresolvedFindings(ctx context.Context, venueID string) ([]schema.Finding, error) {
	rows, err := t.w.tx.QueryContext(ctx, `SELECT `+findingCols+` FROM findings WHERE venue_id = ? AND status IN (?, ?) ORDER BY opened_at, id`,
		venueID, schema.FindingOpen, schema.FindingOrdered)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []schema.Finding
	for rows.Next() {
		f, err := scanFinding(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f.Finding)
	}
	return out, rows.Err()
}

func (t txn) ReviewTarget(ctx context.Context, id string) (schema.Inspection, bool, error) {
	r, err := scanInspection(t.w.tx.QueryRowContext(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Inspection{}, false, nil
	}
	if err != nil {
		return schema.Inspection{}, false, err
	}
	return r.Inspection, true, nil
}

func (t txn) WriteReview(ctx context.Context, id, status string, review []byte, version int) error {
	seq, err := t.w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	if _, err := t.w.exec(ctx, `UPDATE inspections SET status = ?, review = ?, updated_at = ?, seq = ? WHERE id = ?`,
		status, string(review), t.w.nowText(), seq, id); err != nil {
		return err
	}
	_, err = t.w.exec(ctx, `UPDATE inspection_versions SET review = ? WHERE inspection_id = ? AND version = ?`, string(review), id, version)
	return err
}

func (t txn) FillItems(ctx context.Context, in *schema.Inspection) error {
	r := &inspectionRow{Inspection: *in}
	if err := fillItems(ctx, t.w.tx, []*inspectionRow{r}); err != nil {
		return err
	}
	in.Items = r.Items
	return nil
}
