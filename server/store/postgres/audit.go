package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const auditCols = `seq, at, actor, address, entity_kind, entity_id, squad_id, action, from_state, to_state, reason, prev_hash, hash`

// appendAudit appends e to the log inside tx, the transaction of the
// change it records. The chain head, the one audit_head row, is locked
// FOR UPDATE: appends of every replica follow one another in commit order
// and a rolled-back append leaves no gap. It must be the last lock the
// transaction takes (the counter row, when taken, comes first; rows of
// the change come before), so that no transaction waits for another
// lock while holding the head. An empty Actor (and Address) comes from the
// context; At must be set.
func appendAudit(ctx context.Context, tx pgx.Tx, e schema.AuditEntry) (schema.AuditEntry, error) {
	if e.Actor == "" {
		e.Actor, e.Address = store.Auditor(ctx)
	}
	if e.At.IsZero() {
		return schema.AuditEntry{}, errors.New("audit: entry without a time")
	}
	var last int64
	var prev string
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&last, &prev); err != nil {
		return schema.AuditEntry{}, fmt.Errorf("audit: head: %w", err)
	}
	e = store.ChainAudit(last, prev, []schema.AuditEntry{e})[0]
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO audit_log (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.Seq, schema.FormatTime(e.At), e.Actor, e.Address, e.EntityKind, e.EntityID, e.SquadID, e.Action, e.From, e.To, e.Reason,
		e.PrevHash, e.Hash)
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, e.Seq, e.Hash)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return schema.AuditEntry{}, fmt.Errorf("audit: append: %w", err)
	}
	return e, nil
}

// audit records an entry of a change of the writer's transaction; it is
// appended when the transaction commits.
func (w *writer) audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error {
	w.queueAudit(ctx, store.AuditOf(ctx, w.now, kind, id, squad, action, from, to, reason))
	return nil
}

// queueAudit holds e until the writer's transaction commits. An empty
// Actor (and Address) comes from the context, a zero At is the writer's now.
func (w *writer) queueAudit(ctx context.Context, e schema.AuditEntry) {
	if e.Actor == "" {
		e.Actor, e.Address = store.Auditor(ctx)
	}
	if e.At.IsZero() {
		e.At = w.now
	}
	w.audits = append(w.audits, e)
}

// flushAudit appends the transaction's audit entries in the order they
// were recorded, each chained to the one before, as the transaction's
// last lock (audit_head, see appendAudit): the head is locked and read
// once and the rows and the new head go in one round trip, so that a push
// of a thousand inspections pays for its thousand entries once.
func (w *writer) flushAudit(ctx context.Context) error {
	if len(w.audits) == 0 {
		return nil
	}
	var last int64
	var prev string
	if err := w.tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&last, &prev); err != nil {
		return fmt.Errorf("audit: head: %w", err)
	}
	b := &pgx.Batch{}
	chain := store.ChainAudit(last, prev, w.audits)
	for _, e := range chain {
		b.Queue(`INSERT INTO audit_log (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.Seq, schema.FormatTime(e.At), e.Actor, e.Address, e.EntityKind, e.EntityID, e.SquadID, e.Action, e.From, e.To, e.Reason,
			e.PrevHash, e.Hash)
	}
	head := chain[len(chain)-1]
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, head.Seq, head.Hash)
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	w.audits = w.audits[:0]
	return nil
}

func scanAudit(row pgx.Row) (schema.AuditEntry, error) {
	var e schema.AuditEntry
	var at string
	if err := row.Scan(&e.Seq, &at, &e.Actor, &e.Address, &e.EntityKind, &e.EntityID, &e.SquadID, &e.Action, &e.From, &e.To, &e.Reason,
		&e.PrevHash, &e.Hash); err != nil {
		return schema.AuditEntry{}, err
	}
	t, err := schema.ParseTime(at)
	if err != nil {
		return schema.AuditEntry{}, fmt.Errorf("audit entry %d: time %q: %w", e.Seq, at, err)
	}
	e.At = t.UTC()
	return e, nil
}

// AppendAudit appends an entry of an event that writes nothing else, in a
// transaction that takes the chain head only (not the change counter).
func (s *Store) AppendAudit(ctx context.Context, e schema.AuditEntry) (schema.AuditEntry, error) {
	if e.EntityKind == "" || e.Action == "" {
		return schema.AuditEntry{}, schema.Errorf(schema.CodeInvalid, "an audit entry needs an entity kind and an action")
	}
	var out schema.AuditEntry
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if e.At.IsZero() {
			e.At = s.now()
		}
		var err error
		out, err = appendAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return schema.AuditEntry{}, wrap("append audit", err)
	}
	return out, nil
}

// AuditEntries lists entries that match f (store.AuditConditions),
// newest first.
func (s *Store) AuditEntries(ctx context.Context, f store.AuditFilter) ([]schema.AuditEntry, error) {
	conds, args := store.AuditConditions(f)
	q := `SELECT ` + auditCols + ` FROM audit_log`
	for i, c := range conds {
		if i == 0 {
			q += ` WHERE `
		} else {
			q += ` AND `
		}
		q += fmt.Sprintf("%s $%d", c, i+1)
	}
	args = append(args, f.AuditLimit())
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	out, err := s.readAudit(ctx, q, args...)
	return out, wrap("audit entries", err)
}

// ScanAudit calls fn with every entry after afterSeq in seq order, a batch
// of store.AuditBatch entries read at a time. Entries appear in the log in
// seq order (the head lock), so a batch never skips one committed late.
func (s *Store) ScanAudit(ctx context.Context, afterSeq int64, fn func(schema.AuditEntry) error) error {
	return store.ScanAuditBatches(ctx, afterSeq, func(ctx context.Context, after int64, limit int) ([]schema.AuditEntry, error) {
		batch, err := s.readAudit(ctx, `SELECT `+auditCols+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
		return batch, wrap("scan audit", err)
	}, fn)
}

// readAudit collects the entries a query returns.
func (s *Store) readAudit(ctx context.Context, q string, args ...any) ([]schema.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []schema.AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CountAudit counts the entries.
func (s *Store) CountAudit(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		return 0, wrap("count audit", err)
	}
	return n, nil
}

// userState is a user's state as the audit log names it.
func userState(u store.User) string {
	if u.Disabled {
		return "disabled"
	}
	return "active"
}

// reviewReason is the decision and note of a review, as the audit log
// keeps it.
func reviewReason(rv schema.Review) string {
	if rv.Note == "" {
		return rv.Decision
	}
	return rv.Decision + ": " + rv.Note
}
