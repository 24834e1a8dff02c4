package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const auditCols = `seq, at, actor, address, entity_kind, entity_id, squad_id, action, from_state, to_state, reason, prev_hash, hash`

// appendAudit appends e to the log inside tx, the transaction of the
// change it records: the one writer connection serialises the chain, so
// reading the last entry in tx and appending the next seq chained to its
// hash cannot race another append. An empty Actor (and Address) comes
// from the context, a zero At is now.
func appendAudit(ctx context.Context, tx *sql.Tx, e schema.AuditEntry) (schema.AuditEntry, error) {
	if e.Actor == "" {
		e.Actor, e.Address = store.Auditor(ctx)
	}
	if e.At.IsZero() {
		return schema.AuditEntry{}, errors.New("audit: entry without a time")
	}
	var last int64
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return schema.AuditEntry{}, fmt.Errorf("audit: head: %w", err)
	}
	e = store.ChainAudit(last, prev, []schema.AuditEntry{e})[0]
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, schema.FormatTime(e.At), e.Actor, e.Address, e.EntityKind, e.EntityID, e.SquadID, e.Action, e.From, e.To, e.Reason,
		e.PrevHash, e.Hash); err != nil {
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

// auditChunk is how many entries one INSERT of flushAudit carries.
const auditChunk = 100

// flushAudit appends the transaction's audit entries in the order they
// were recorded, each chained to the one before: the head is read once
// and the rows go in a few multi-row INSERTs, so that a push of a
// thousand inspections pays for its thousand entries once, not a
// thousand times. The one writer connection serialises the chain.
func (w *writer) flushAudit(ctx context.Context) error {
	if len(w.audits) == 0 {
		return nil
	}
	var last int64
	var prev string
	err := w.tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: head: %w", err)
	}
	chain := store.ChainAudit(last, prev, w.audits)
	for start := 0; start < len(chain); start += auditChunk {
		chunk := chain[start:min(start+auditChunk, len(chain))]
		args := make([]any, 0, 13*len(chunk))
		for _, e := range chunk {
			args = append(args, e.Seq, schema.FormatTime(e.At), e.Actor, e.Address, e.EntityKind, e.EntityID, e.SquadID, e.Action,
				e.From, e.To, e.Reason, e.PrevHash, e.Hash)
		}
		q := `INSERT INTO audit_log (` + auditCols + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),`, len(chunk)), ",")
		if _, err := w.tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
	}
	w.audits = w.audits[:0]
	return nil
}

func scanAudit(row interface{ Scan(...any) error }) (schema.AuditEntry, error) {
	var e schema.AuditEntry
	var at string
	var squad sql.NullInt64
	if err := row.Scan(&e.Seq, &at, &e.Actor, &e.Address, &e.EntityKind, &e.EntityID, &squad, &e.Action, &e.From, &e.To, &e.Reason,
		&e.PrevHash, &e.Hash); err != nil {
		return schema.AuditEntry{}, err
	}
	t, err := schema.ParseTime(at)
	if err != nil {
		return schema.AuditEntry{}, fmt.Errorf("audit entry %d: time %q: %w", e.Seq, at, err)
	}
	e.At = t.UTC()
	if squad.Valid {
		v := squad.Int64
		e.SquadID = &v
	}
	return e, nil
}

// AppendAudit appends an entry of an event that writes nothing else.
func (s *Store) AppendAudit(ctx context.Context, e schema.AuditEntry) (schema.AuditEntry, error) {
	if e.EntityKind == "" || e.Action == "" {
		return schema.AuditEntry{}, schema.Errorf(schema.CodeInvalid, "an audit entry needs an entity kind and an action")
	}
	var out schema.AuditEntry
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
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
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " ? AND ") + ` ?`
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.AuditLimit())
	out, err := s.readAudit(ctx, q, args...)
	return out, wrap("audit entries", err)
}

// ScanAudit calls fn with every entry after afterSeq in seq order, a batch
// of store.AuditBatch entries read at a time (each batch its own read, so
// no read transaction stays open for the whole log).
func (s *Store) ScanAudit(ctx context.Context, afterSeq int64, fn func(schema.AuditEntry) error) error {
	return store.ScanAuditBatches(ctx, afterSeq, func(ctx context.Context, after int64, limit int) ([]schema.AuditEntry, error) {
		batch, err := s.readAudit(ctx, `SELECT `+auditCols+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
		return batch, wrap("scan audit", err)
	}, fn)
}

// readAudit collects the entries a query returns.
func (s *Store) readAudit(ctx context.Context, q string, args ...any) ([]schema.AuditEntry, error) {
	rows, err := s.db.R.QueryContext(ctx, q, args...)
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
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		return 0, wrap("count audit", err)
	}
	return n, nil
}

// userState is a user's state as the audit log names it.
func userState(u User) string {
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
