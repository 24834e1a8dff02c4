package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
var findingCols = []string{"id", "inspection_id", "venue_id", "squad_id", "item_id", "title_zh", "severity", "critical", "status", "note",
	"opened_at", "deadline", "repeat", "order_number", "order_action", "order_legal_basis", "order_comment", "ordered_by", "ordered_at",
	"recheck_inspection_id", "rechecked_at", "closed_at", "closed_by", "close_note", "escalated_at", "escalated_by", "escalation_reason",
	"case_id", "updated_at", "seq"}

var (
	findingSelect = `SELECT ` + strings.Join(findingCols, ", ") + ` FROM findings`
	// findingWrite inserts a finding or overwrites every column of it.
	findingWrite = insertStatement("findings", findingCols) + ` ON CONFLICT (id) DO UPDATE SET ` + excludedSet(findingCols, "id")
)

// findingRow is a finding with its change seq.
type findingRow struct {
	schema.Finding
	Seq int64
}

func scanFinding(row pgx.Row) (*findingRow, error) {
	var r findingRow
	var opened, updated string
	var deadline, number, orderedAt, recheckedAt, closedAt, escalatedAt *string
	var action, basis, comment, orderedBy string
	if err := row.Scan(&r.ID, &r.InspectionID, &r.VenueID, &r.SquadID, &r.ItemID, &r.TitleZH, &r.Severity, &r.Critical, &r.Status, &r.Note,
		&opened, &deadline, &r.Repeat, &number, &action, &basis, &comment, &orderedBy, &orderedAt,
		&r.RecheckInspectionID, &recheckedAt, &closedAt, &r.ClosedBy, &r.CloseNote, &escalatedAt, &r.EscalatedBy, &r.EscalationReason, &r.CaseID,
		&updated, &r.Seq); err != nil {
		return nil, err
	}
	r.OpenedAt, r.UpdatedAt = parseTime(opened), parseTime(updated)
	r.Deadline = nullTime(deadline)
	r.RecheckedAt, r.ClosedAt, r.EscalatedAt = nullTime(recheckedAt), nullTime(closedAt), nullTime(escalatedAt)
	if number != nil || orderedAt != nil {
		o := &schema.Order{Action: action, LegalBasis: basis, Comment: comment, OrderedBy: orderedBy}
		if number != nil {
			o.Number = *number
		}
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
	var number, orderedAt *string
	var action, basis, comment, orderedBy string
	if o := f.Order; o != nil {
		if o.Number != "" {
			number = &o.Number
		}
		t := schema.FormatTime(o.OrderedAt)
		orderedAt = &t
		action, basis, comment, orderedBy = o.Action, o.LegalBasis, o.Comment, o.OrderedBy
	}
	return []any{f.ID, f.InspectionID, f.VenueID, f.SquadID, f.ItemID, f.TitleZH, f.Severity, f.Critical, f.Status, f.Note,
		schema.FormatTime(f.OpenedAt), finishedArg(f.Deadline), int32(f.Repeat), number, action, basis, comment, orderedBy, orderedAt,
		f.RecheckInspectionID, finishedArg(f.RecheckedAt), finishedArg(f.ClosedAt), f.ClosedBy, f.CloseNote, finishedArg(f.EscalatedAt),
		f.EscalatedBy, f.EscalationReason, f.CaseID, schema.FormatTime(f.UpdatedAt), seq}
}

// writeFinding writes f with the next change seq, so that the devices of
// its squad receive it.
func (w *writer) writeFinding(ctx context.Context, f *schema.Finding) error {
	if _, err := w.tx.Exec(ctx, findingWrite, findingArgs(f, w.nextSeq())...); err != nil {
		if isUnique(err, "") {
			return schema.Errorf(schema.CodeConflict, "finding %s could not be written: it repeats a unique value", f.ID)
		}
		return fmt.Errorf("write finding %s: %w", f.ID, err)
	}
	return nil
}

// loadFinding reads a finding in the transaction, locking its row.
func (w *writer) loadFinding(ctx context.Context, id string) (*findingRow, error) {
	r, err := scanFinding(w.tx.QueryRow(ctx, findingSelect+` WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("finding", id)
	}
	return r, err
}

// queryFindings collects the findings a query returns.
func queryFindings(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]*findingRow, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*findingRow
	for rows.Next() {
		f, err := scanFinding(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// readTx runs fn in a REPEATABLE READ, READ ONLY transaction.
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// InspectionVersions lists the accepted versions of an inspection, oldest
// first.
func (s *Store) InspectionVersions(ctx context.Context, id string) ([]store.InspectionVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, hlc, record, device_id, received_at, review FROM inspection_versions
		WHERE inspection_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, wrap("inspection versions", err)
	}
	defer rows.Close()
	var out []store.InspectionVersion
	for rows.Next() {
		v := store.InspectionVersion{InspectionID: id}
		var record, received string
		var review *string
		if err := rows.Scan(&v.Version, &v.HLC, &record, &v.DeviceID, &received, &review); err != nil {
			return nil, wrap("inspection versions", err)
		}
		v.ReceivedAt = parseTime(received)
		if err := json.Unmarshal([]byte(record), &v.Record); err != nil {
			return nil, wrap("inspection versions", fmt.Errorf("version %d of %s: %w", v.Version, id, err))
		}
		if review != nil && *review != "" {
			v.Review = new(schema.Review)
			if err := json.Unmarshal([]byte(*review), v.Review); err != nil {
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
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.SquadID != nil {
		where = append(where, `squad_id = `+arg(*f.SquadID))
	}
	if f.Status != "" {
		where = append(where, `status = `+arg(f.Status))
	}
	if f.ItemID != "" {
		where = append(where, `item_id = `+arg(f.ItemID))
	}
	if f.VenueID != "" {
		where = append(where, `venue_id = `+arg(f.VenueID))
	}
	if f.Overdue {
		where = append(where, `status = `+arg(schema.FindingOrdered)+` AND deadline < `+arg(schema.FormatTime(now)))
	}
	if !f.From.IsZero() {
		where = append(where, `opened_at >= `+arg(schema.FormatTime(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, `opened_at < `+arg(schema.FormatTime(f.To)))
	}
	key, order, cmp := `opened_at`, `opened_at DESC, id DESC`, `<`
	if f.Sort == store.SortDeadline {
		key = `coalesce(deadline, '` + store.NoDeadlineKey + `')`
		if f.Overdue {
			// Every overdue finding has a deadline: sort by the column, so
			// the page is a range of findings_squad_status_deadline.
			key = `deadline`
		}
		order, cmp = key+`, id`, `>`
	}
	if f.After != "" {
		c, _ := store.DecodeFindingCursor(f.After, f.Sort)
		where = append(where, `(`+key+`, id) `+cmp+` (`+arg(c.Key)+`::text COLLATE "C", `+arg(c.ID)+`::text COLLATE "C")`)
	}
	q := findingSelect
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY ` + order + ` LIMIT ` + arg(f.Limit+1)
	page := store.FindingPage{Findings: []schema.Finding{}}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		list, err := queryFindings(ctx, tx, q, args...)
		for _, r := range list {
			r.Overdue = schema.IsOverdue(r.Finding, now)
			page.Findings = append(page.Findings, r.Finding)
		}
		return err
	})
	if err != nil {
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
	r, err := scanFinding(s.pool.QueryRow(ctx, findingSelect+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	now := s.now()
	err = s.readTx(ctx, func(tx pgx.Tx) error {
		list, err := queryFindings(ctx, tx, findingSelect+` WHERE venue_id = $1 ORDER BY opened_at, id`, venueID)
		for _, r := range list {
			r.Overdue = schema.IsOverdue(r.Finding, now)
			out.Findings = append(out.Findings, r.Finding)
		}
		return err
	})
	if err != nil {
		return store.VenueLedger{}, wrap("venue ledger", err)
	}
	out.Items = store.ItemRecords(out.Findings)
	return out, nil
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
	err := t.w.tx.QueryRow(ctx, `SELECT checklist_version FROM inspections WHERE id = $1`, inspectionID).Scan(&version)
	return version, err
}

func (t txn) NextOrderNumber(ctx context.Context, year int) (int, error) {
	var n int
	err := t.w.tx.QueryRow(ctx, `INSERT INTO order_numbers (year, last_n) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last_n = order_numbers.last_n + 1 RETURNING last_n`, int32(year)).Scan(&n)
	return n, err
}

func (t txn) UnresolvedFindings(ctx context.Context, venueID string) ([]schema.Finding, error) {
	rows, err := queryFindings(ctx, t.w.tx, findingSelect+` WHERE venue_id = $1 AND status IN ($2, $3) ORDER BY opened_at, id FOR UPDATE`,
		venueID, schema.FindingOpen, schema.FindingOrdered)
	if err != nil {
		return nil, err
	}
	var out []schema.Finding
	for _, f := range rows {
		out = append(out, f.Finding)
	}
	return out, nil
}

func (t txn) ReviewTarget(ctx context.Context, id string) (schema.Inspection, bool, error) {
	r, err := scanInspection(t.w.tx.QueryRow(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Inspection{}, false, nil
	}
	if err != nil {
		return schema.Inspection{}, false, err
	}
	return r.Inspection, true, nil
}

func (t txn) WriteReview(ctx context.Context, id, status string, review []byte, version int) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE inspections SET status = $1, review = $2, updated_at = $3, seq = $4 WHERE id = $5`,
		status, string(review), t.w.nowText(), t.w.nextSeq(), id)
	b.Queue(`UPDATE inspection_versions SET review = $1 WHERE inspection_id = $2 AND version = $3`, string(review), id, int32(version))
	return t.w.tx.SendBatch(ctx, b).Close()
}

func (t txn) FillItems(ctx context.Context, in *schema.Inspection) error {
	r := &inspectionRow{Inspection: *in}
	if err := fillItems(ctx, t.w.tx, []*inspectionRow{r}); err != nil {
		return err
	}
	in.Items = r.Items
	return nil
}
