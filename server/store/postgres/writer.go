package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
)

// writer is one write transaction that assigns change seqs. It holds the
// counters row 'seq' locked from its first statement to its end (see the
// package comment): top is the last seq it handed out, counter the value
// the row holds in the transaction.
type writer struct {
	tx      pgx.Tx
	now     time.Time
	nowStr  string
	top     int64
	counter int64
	// audits are the audit entries of the transaction's changes, appended
	// in order, chained, just before it commits (flushAudit).
	audits []schema.AuditEntry
}

// writeTx runs fn in a transaction that first locks the counter row and
// reserves one seq (nearly every such write uses one), then commits; any
// error rolls it back. The time is read once the lock is held, so that
// writers' times follow their commit order as their seqs do.
func (s *Store) writeTx(ctx context.Context, fn func(w *writer) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		w := &writer{tx: tx}
		if err := tx.QueryRow(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value`).Scan(&w.counter); err != nil {
			return fmt.Errorf("take seq: %w", err)
		}
		w.top = w.counter - 1
		w.now = s.now()
		if err := fn(w); err != nil {
			return err
		}
		if err := w.flushAudit(ctx); err != nil {
			return err
		}
		return w.flushSeq(ctx)
	})
	return translate(err)
}

// nextSeq hands out the transaction's next change seq.
func (w *writer) nextSeq() int64 {
	w.top++
	return w.top
}

// flushSeq writes back the seqs handed out beyond the reserved one.
func (w *writer) flushSeq(ctx context.Context) error {
	if w.top <= w.counter {
		return nil
	}
	if _, err := w.tx.Exec(ctx, `UPDATE counters SET value = $1 WHERE name = 'seq'`, w.top); err != nil {
		return fmt.Errorf("write seq: %w", err)
	}
	w.counter = w.top
	return nil
}

// nowText is the transaction's time as the database stores times.
func (w *writer) nowText() string {
	if w.nowStr == "" {
		w.nowStr = schema.FormatTime(w.now)
	}
	return w.nowStr
}

// squadExists answers invalid for a squad the store does not hold.
func (w *writer) squadExists(ctx context.Context, id int64) error {
	var ok bool
	if err := w.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM squads WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return schema.Errorf(schema.CodeInvalid, "squad %d does not exist", id)
	}
	return nil
}

// txn is a write transaction as the store's decision functions see it
// (store.ImportWriter, store.LedgerWriter, store.ZoneRuleWriter,
// store.RelocateWriter): its methods are only this dialect's SQL.
type txn struct {
	s *Store
	w *writer
}
