package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// caseCols is the column list every case read uses, in scanCase order;
// caseWrite writes the same columns.
var caseCols = []string{"id", "number", "squad_id", "venue_id", "source", "source_id", "source_key", "summary", "status", "opened_by",
	"opened_at", "decide_by", "handlers", "decision_type", "decision", "decided_at", "closed_by", "closed_at", "close_note", "updated_at"}

var (
	caseSelect = `SELECT ` + strings.Join(caseCols, ", ") + ` FROM cases`
	caseWrite  = insertStatement("cases", caseCols) + ` ON CONFLICT (id) DO UPDATE SET ` + excludedSet(caseCols, "id")
)

// caseQuerier is a pool or a transaction, as case reads need them.
type caseQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func scanCase(row pgx.Row) (schema.Case, error) {
	var c schema.Case
	var key, opened, decideBy, handlers, decisionType, updated string
	var decision, decidedAt, closed *string
	if err := row.Scan(&c.ID, &c.Number, &c.SquadID, &c.VenueID, &c.Source, &c.SourceID, &key, &c.Summary, &c.Status, &c.OpenedBy,
		&opened, &decideBy, &handlers, &decisionType, &decision, &decidedAt, &c.ClosedBy, &closed, &c.CloseNote, &updated); err != nil {
		return c, err
	}
	c.OpenedAt, c.DecideBy, c.UpdatedAt, c.ClosedAt = parseTime(opened), parseTime(decideBy), parseTime(updated), nullTime(closed)
	c.Handlers, c.Evidence = []schema.Inspector{}, []schema.CaseEvidence{}
	if err := json.Unmarshal([]byte(handlers), &c.Handlers); err != nil {
		return c, fmt.Errorf("handlers of case %s: %w", c.ID, err)
	}
	if decision != nil && *decision != "" {
		c.Decision = new(schema.CaseDecision)
		if err := json.Unmarshal([]byte(*decision), c.Decision); err != nil {
			return c, fmt.Errorf("decision of case %s: %w", c.ID, err)
		}
	}
	return c, nil
}

func caseArgs(c *schema.Case) ([]any, error) {
	handlers, err := json.Marshal(c.Handlers)
	if err != nil {
		return nil, err
	}
	var decision, decidedAt *string
	decisionType := ""
	if c.Decision != nil {
		b, err := json.Marshal(c.Decision)
		if err != nil {
			return nil, err
		}
		s, at := string(b), schema.FormatTime(c.Decision.DecidedAt)
		decision, decisionType, decidedAt = &s, c.Decision.Type, &at
	}
	return []any{c.ID, c.Number, c.SquadID, c.VenueID, c.Source, c.SourceID, schema.CaseSourceKey(c.Source, c.SourceID), c.Summary, c.Status,
		c.OpenedBy, schema.FormatTime(c.OpenedAt), schema.FormatTime(c.DecideBy), string(handlers), decisionType, decision, decidedAt,
		c.ClosedBy, finishedArg(c.ClosedAt), c.CloseNote, schema.FormatTime(c.UpdatedAt)}, nil
}

// caseEvidence reads the evidence of a case in the order it was attached.
func caseEvidence(ctx context.Context, q caseQuerier, c *schema.Case) error {
	rows, err := q.Query(ctx, `SELECT kind, ref, note, added_by, added_at FROM case_evidence WHERE case_id = $1 ORDER BY pos`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.Evidence = []schema.CaseEvidence{}
	for rows.Next() {
		var e schema.CaseEvidence
		var at string
		if err := rows.Scan(&e.Kind, &e.Ref, &e.Note, &e.AddedBy, &at); err != nil {
			return err
		}
		e.AddedAt = parseTime(at)
		c.Evidence = append(c.Evidence, e)
	}
	return rows.Err()
}

// readCase reads one case with its evidence; lock adds FOR UPDATE.
func readCase(ctx context.Context, q caseQuerier, id string, lock bool) (schema.Case, error) {
	stmt := caseSelect + ` WHERE id = $1`
	if lock {
		stmt += ` FOR UPDATE`
	}
	c, err := scanCase(q.QueryRow(ctx, stmt, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Case{}, notFound("case", id)
	}
	if err != nil {
		return schema.Case{}, err
	}
	return c, caseEvidence(ctx, q, &c)
}

// OpenCase opens a case in one write transaction (store.OpenCase).
// Write transactions take the seq counter row first, so two openings of
// one source run one after the other and the second finds the first's.
func (s *Store) OpenCase(ctx context.Context, in store.OpenCaseInput, scope schema.Scope) (schema.Case, bool, error) {
	if err := store.CheckOpenCase(in); err != nil {
		return schema.Case{}, false, err
	}
	var out schema.Case
	var created bool
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, created, err = store.OpenCase(ctx, txn{s, w}, in, scope, w.now)
		return err
	})
	if err != nil {
		return schema.Case{}, false, fmt.Errorf("store: open case of %s %s: %w", in.Source, in.SourceID, err)
	}
	return out, created, nil
}

// Case returns one case the scope covers, its clock as of now.
func (s *Store) Case(ctx context.Context, id string, scope schema.Scope) (schema.Case, error) {
	c, err := readCase(ctx, s.pool, id, false)
	if err != nil {
		return schema.Case{}, wrap("case "+id, err)
	}
	if !scope.Covers(c.SquadID) {
		return schema.Case{}, notFound("case", id)
	}
	return schema.CaseClock(c, s.now()), nil
}

// ListCases lists one page of cases, newest opened first.
func (s *Store) ListCases(ctx context.Context, f store.CaseFilter) (store.CasePage, error) {
	if err := store.CheckCaseFilter(&f); err != nil {
		return store.CasePage{}, err
	}
	now := s.now()
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.SquadID != nil {
		where = append(where, `squad_id = `+arg(*f.SquadID))
	}
	if f.Status != "" {
		where = append(where, `status = `+arg(f.Status))
	}
	if f.VenueID != "" {
		where = append(where, `venue_id = `+arg(f.VenueID))
	}
	if f.Overdue {
		where = append(where, `status IN (`+arg(schema.CaseOpened)+`, `+arg(schema.CaseInvestigating)+`) AND decide_by < `+arg(schema.FormatTime(now)))
	}
	if at, id, ok := store.CaseAfter(f); ok {
		a, i := arg(at), arg(id)
		where = append(where, `(opened_at < `+a+` OR opened_at = `+a+` AND id < `+i+`)`)
	}
	q := caseSelect
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY opened_at DESC, id DESC LIMIT ` + arg(f.Limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return store.CasePage{}, wrap("cases", err)
	}
	defer rows.Close()
	var list []schema.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return store.CasePage{}, wrap("cases", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return store.CasePage{}, wrap("cases", err)
	}
	return store.CasePageOf(list, f.Limit, now), nil
}

// ActOnCase applies a leader's action to a case (store.ActOnCase).
func (s *Store) ActOnCase(ctx context.Context, id string, in store.CaseInput, scope schema.Scope) (schema.Case, error) {
	if err := store.CheckCaseInput(in); err != nil {
		return schema.Case{}, err
	}
	err := s.writeTx(ctx, func(w *writer) error {
		_, err := store.ActOnCase(ctx, txn{s, w}, id, in, scope, w.now)
		return err
	})
	if err != nil {
		return schema.Case{}, fmt.Errorf("store: %s case %s: %w", in.Action, id, err)
	}
	return s.Case(ctx, id, scope)
}

var _ store.CaseWriter = txn{}

func (t txn) LoadCase(ctx context.Context, id string) (schema.Case, error) {
	return readCase(ctx, t.w.tx, id, true)
}

func (t txn) CaseOfSource(ctx context.Context, key string) (schema.Case, bool, error) {
	var id string
	err := t.w.tx.QueryRow(ctx, `SELECT id FROM cases WHERE source_key = $1 AND status <> $2`, key, schema.CaseClosed).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Case{}, false, nil
	}
	if err != nil {
		return schema.Case{}, false, err
	}
	c, err := readCase(ctx, t.w.tx, id, true)
	return c, err == nil, err
}

func (t txn) WriteCase(ctx context.Context, c *schema.Case) error {
	args, err := caseArgs(c)
	if err != nil {
		return err
	}
	if _, err := t.w.tx.Exec(ctx, caseWrite, args...); err != nil {
		if isUnique(err, "") {
			return schema.Errorf(schema.CodeConflict, "case %s could not be written: its source holds an open case already", c.Number)
		}
		return fmt.Errorf("write case %s: %w", c.ID, err)
	}
	return nil
}

func (t txn) AddEvidence(ctx context.Context, caseID string, pos int, e schema.CaseEvidence) error {
	_, err := t.w.tx.Exec(ctx, `INSERT INTO case_evidence (case_id, pos, kind, ref, note, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		caseID, int32(pos), e.Kind, e.Ref, e.Note, e.AddedBy, schema.FormatTime(e.AddedAt))
	return err
}

func (t txn) NextCaseNumber(ctx context.Context, year int) (int, error) {
	var n int
	err := t.w.tx.QueryRow(ctx, `INSERT INTO case_numbers (year, last_n) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last_n = case_numbers.last_n + 1 RETURNING last_n`, int32(year)).Scan(&n)
	return n, err
}

func (t txn) SquadMembers(ctx context.Context, squad int64) ([]schema.Member, error) {
	m, _, err := squadRoster(ctx, t.w.tx, squad, "")
	return m, err
}

func (t txn) InspectionTarget(ctx context.Context, id string) (store.EvidenceTarget, error) {
	var r store.EvidenceTarget
	err := t.w.tx.QueryRow(ctx, `SELECT squad_id, venue_id FROM inspections WHERE id = $1`, id).Scan(&r.SquadID, &r.VenueID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("inspection", id)
	}
	return r, err
}

func (t txn) FindingTarget(ctx context.Context, id string) (store.EvidenceTarget, error) {
	var r store.EvidenceTarget
	err := t.w.tx.QueryRow(ctx, `SELECT squad_id, venue_id FROM findings WHERE id = $1`, id).Scan(&r.SquadID, &r.VenueID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("finding", id)
	}
	return r, err
}

func (t txn) PhotoProven(ctx context.Context, sha, venueID string, squad int64) (bool, error) {
	var ok bool
	err := t.w.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inspection_photos p JOIN inspections i ON i.id = p.inspection_id
		WHERE p.sha256 = $1 AND p.claim = $2 AND i.venue_id = $3 AND i.squad_id = $4)`, sha, schema.ClaimProven, venueID, squad).Scan(&ok)
	return ok, err
}

// importCases writes imported cases with their evidence and moves each
// year's case numbers past theirs.
func importCases(ctx context.Context, t txn, list []schema.Case) error {
	for i := range list {
		c := &list[i]
		if err := t.WriteCase(ctx, c); err != nil {
			return err
		}
		for pos, e := range c.Evidence {
			if err := t.AddEvidence(ctx, c.ID, pos, e); err != nil {
				return fmt.Errorf("evidence of case %s: %w", c.ID, err)
			}
		}
	}
	for year, n := range store.CaseNumbersUsed(list) {
		if _, err := t.w.tx.Exec(ctx, `INSERT INTO case_numbers (year, last_n) VALUES ($1, $2)
			ON CONFLICT (year) DO UPDATE SET last_n = GREATEST(case_numbers.last_n, excluded.last_n)`, int32(year), int32(n)); err != nil {
			return fmt.Errorf("case numbers of %d: %w", year, err)
		}
	}
	return nil
}
