package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// writer is one write transaction with its seq allocator, its time and a
// cache of prepared statements, so that a push of hundreds of mutations
// prepares each statement once.
type writer struct {
	tx     *sql.Tx
	seq    *seqAlloc
	now    time.Time
	nowStr string // now as stored, formatted once
	stmts  map[string]*sql.Stmt
	// audits are the audit entries of the transaction's changes, appended
	// in order, chained, just before it commits (flushAudit).
	audits []schema.AuditEntry
}

// nowText is the transaction's time as the database stores times.
func (w *writer) nowText() string {
	if w.nowStr == "" {
		w.nowStr = schema.FormatTime(w.now)
	}
	return w.nowStr
}

// stmt prepares a statement once per transaction.
func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, ok := w.stmts[query]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		w.stmts[query] = st
	}
	return st, nil
}

// exec runs a statement, preparing it once per transaction.
func (w *writer) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a query, preparing it once per transaction.
func (w *writer) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// rowQueue gathers the rows of one INSERT so that a statement writes
// group of them at once: the per-statement cost of the driver is paid once
// per group instead of once per row.
type rowQueue struct {
	head, row string // the statement up to VALUES, and one row's placeholders
	width     int    // arguments per row
	group     int
	groupStmt string // the statement of group rows
	args      []any
}

func newRowQueue(head, row string, group int) *rowQueue {
	return &rowQueue{head: head, row: row, width: strings.Count(row, "?"), group: group, groupStmt: multiRow(head, row, group)}
}

// add queues one row's arguments and reports whether a group is full.
func (q *rowQueue) add(args ...any) bool {
	q.args = append(q.args, args...)
	return q.full()
}

// full reports whether a group of rows is queued.
func (q *rowQueue) full() bool { return len(q.args) >= q.group*q.width }

// flush inserts every queued row.
func (q *rowQueue) flush(ctx context.Context, w *writer) error {
	for off := 0; off < len(q.args); {
		n := min((len(q.args)-off)/q.width, q.group)
		stmt := q.groupStmt
		if n != q.group {
			stmt = multiRow(q.head, q.row, n)
		}
		if _, err := w.exec(ctx, stmt, q.args[off:off+n*q.width]...); err != nil {
			return err
		}
		off += n * q.width
	}
	clear(q.args)
	q.args = q.args[:0]
	return nil
}

// multiRow returns head followed by n comma-separated copies of row, an
// INSERT of n rows in one statement.
func multiRow(head, row string, n int) string {
	var b strings.Builder
	b.Grow(len(head) + n*(len(row)+2))
	b.WriteString(head)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// jsonList encodes ids as a JSON array, the one argument of an
// `IN (SELECT value FROM json_each(?))` lookup: one statement text for any
// number of ids, prepared once per transaction.
func jsonList(ids []string) (string, error) {
	b, err := json.Marshal(ids)
	return string(b), err
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// writeTx runs fn in one IMMEDIATE write transaction and commits it
// (synchronous=FULL: durable once this returns nil).
func (s *Store) writeTx(ctx context.Context, fn func(w *writer) error) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		w := &writer{tx: tx, seq: &seqAlloc{tx: tx}, now: s.now(), stmts: map[string]*sql.Stmt{}}
		defer w.close()
		if err := fn(w); err != nil {
			return err
		}
		if err := w.flushAudit(ctx); err != nil {
			return err
		}
		return w.seq.flush(ctx)
	})
}

// dedupe returns ids without repeats, in first-seen order.
func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// columns splits a column list of a statement.
func columns(list string) []string {
	cols := strings.Split(list, ",")
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
	}
	return cols
}

// valuesRow returns the VALUES row "(?, ?, …)" of a column list.
func valuesRow(list string) string {
	return "(" + placeholders(len(columns(list))) + ")"
}

// excludedSet returns the SET clause of an upsert that takes every column
// of list from the row it tried to insert, except keep.
func excludedSet(list string, keep ...string) string {
	var set []string
	for _, c := range columns(list) {
		if !slices.Contains(keep, c) {
			set = append(set, c+" = excluded."+c)
		}
	}
	return strings.Join(set, ", ")
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// inChunks calls fn with slices of at most 500 ids, the size of one IN
// list, so a bulk lookup never runs into SQLite's variable limit.
func inChunks(ids []string, fn func(chunk []any) error) error {
	const max = 500
	for len(ids) > 0 {
		n := len(ids)
		if n > max {
			n = max
		}
		args := make([]any, n)
		for i := range args {
			args[i] = ids[i]
		}
		if err := fn(args); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// wrap prefixes an operation to err, leaving nil alone.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// txn is a write transaction as the store's decision functions see it
// (store.ImportWriter, store.LedgerWriter, store.ZoneRuleWriter,
// store.RelocateWriter): its methods are only this dialect's SQL.
type txn struct {
	s *Store
	w *writer
}
