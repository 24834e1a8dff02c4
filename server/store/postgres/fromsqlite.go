package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
)

// copyOrder is every table of the server schema in an order that inserts
// a row only after the rows it refers to. A table the PostgreSQL schema
// has and this list lacks stops the copy: a new table must be placed here
// before a deployment can move with it.
var copyOrder = []string{
	"counters", "squads", "users", "squad_co_inspectors", "devices", "tokens", "enrollment_codes", "device_clock_samples",
	"venues", "venue_squad_history", "schools", "zone_rules", "zone_violations", "checklists",
	"inspections", "inspection_items", "inspection_photos", "record_signatures", "applied_mutations", "conflicts", "photos", "photo_receipts", "hlc_restamps",
	"audit_log",
	"inspection_versions", "findings", "order_numbers", "cases", "case_evidence", "case_numbers",
	"rollup_days", "rollup_months", "late_arrivals", "plan_visits",
	"complaints", "complaint_squad_left", "complaint_inspections", "complaint_numbers",
}

// notCopied are the tables of state a moved deployment does without: the
// partial uploads (their pieces are on the old server's disk; the devices
// resume them from byte 0), and the failed-login counts and known login
// addresses a lone SQLite server keeps in memory rather than in its tables.
// audit_head has no SQLite counterpart: the copy sets it to the last entry
// of the audit log it copied (hashes kept), so appends chain on.
var notCopied = []string{"photo_uploads", "attempt_failures", "known_logins", "audit_head"}

// TableCopy is what the copy of one table wrote and verified.
type TableCopy struct {
	Table    string
	Rows     int64
	Checksum string // of the rows' values, the same on both sides
}

// CopyFromSQLite copies a whole SQLite deployment (src, at the newest
// server migration) into the empty PostgreSQL database at dsn: every
// table, row for row, with its change seqs and the seq counter, so that
// devices keep their tokens, their answers and their pull cursors. It reads
// one SQLite snapshot and writes one PostgreSQL transaction, and before
// committing reads every table back and compares its row count and a
// checksum of its values with the source's; any difference rolls the
// whole copy back. A target that holds any row (beyond the counter at 0)
// is refused, so that nothing is ever merged into a live database.
func CopyFromSQLite(ctx context.Context, src *schema.DB, dsn string) ([]TableCopy, error) {
	pool, err := openPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := Migrate(ctx, pool); err != nil {
		return nil, err
	}
	rtx, err := src.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: copy: read %s: %w", src.Path, err)
	}
	defer rtx.Rollback()
	var out []TableCopy
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Hold off replicas that start on the database while it is filled.
		if _, err := tx.Exec(ctx, `LOCK TABLE counters IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		tables, err := copyTables(ctx, tx)
		if err != nil {
			return err
		}
		if err := refuseNonEmpty(ctx, tx, tables); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM counters`); err != nil {
			return err
		}
		for _, t := range tables {
			tc, err := copyTable(ctx, rtx, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			out = append(out, tc)
		}
		_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = l.seq, hash = l.hash
			FROM (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l WHERE audit_head.id = 1`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: copy to %s: %w", redactDSN(dsn), translate(err))
	}
	// Fresh statistics, so that the first replicas plan with them.
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		return nil, wrap("copy: analyze", err)
	}
	return out, nil
}

// pgTable is a table of the target with its columns in order and their
// kinds (SQLite stores booleans as 0 and 1, and may hand back a REAL
// that is whole as an integer).
type pgTable struct {
	name  string
	cols  []string
	kinds []byte // per column: 'b' boolean, 'f' double precision, 'i' integer, 't' anything else
}

// copyTables lists the target's tables in copyOrder, refusing one the
// order does not place.
func copyTables(ctx context.Context, tx pgx.Tx) ([]pgTable, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*pgTable{}
	for rows.Next() {
		var table, col, typ string
		if err := rows.Scan(&table, &col, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		t := byName[table]
		if t == nil {
			t = &pgTable{name: table}
			byName[table] = t
		}
		t.cols = append(t.cols, col)
		kind := byte('t')
		switch typ {
		case "boolean":
			kind = 'b'
		case "double precision", "real":
			kind = 'f'
		case "bigint", "integer", "smallint":
			kind = 'i'
		}
		t.kinds = append(t.kinds, kind)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []pgTable
	for _, name := range copyOrder {
		if t := byName[name]; t != nil {
			out = append(out, *t)
			delete(byName, name)
		}
	}
	for _, name := range notCopied {
		delete(byName, name)
	}
	for name := range byName {
		return nil, fmt.Errorf("the PostgreSQL schema has a table %s that the copy does not know; place it in copyOrder", name)
	}
	return out, nil
}

func refuseNonEmpty(ctx context.Context, tx pgx.Tx, tables []pgTable) error {
	for _, t := range tables {
		q := `SELECT count(*) FROM ` + pgx.Identifier{t.name}.Sanitize()
		if t.name == "counters" {
			q += ` WHERE value <> 0`
		}
		var n int64
		if err := tx.QueryRow(ctx, q).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return schema.Errorf(schema.CodeConflict, "the target database is not empty (%s holds %d rows); migrate-store copies only into an empty database", t.name, n)
		}
	}
	return nil
}

// copyTable streams one table from SQLite into PostgreSQL with COPY, then
// reads it back and compares count and checksum.
func copyTable(ctx context.Context, rtx *sql.Tx, tx pgx.Tx, t pgTable) (TableCopy, error) {
	list := ""
	for i, c := range t.cols {
		if i > 0 {
			list += ", "
		}
		list += `"` + c + `"`
	}
	rows, err := rtx.QueryContext(ctx, `SELECT `+list+` FROM "`+t.name+`"`)
	if err != nil {
		return TableCopy{}, fmt.Errorf("read from SQLite (do both stores have the same migrations?): %w", err)
	}
	defer rows.Close()
	src := newChecksum()
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var readErr error
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			readErr = rows.Err()
			return nil, readErr
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			// SQLite's affinities are looser than PostgreSQL's types.
			switch x := v.(type) {
			case int64:
				switch t.kinds[i] {
				case 'b':
					v = x != 0
				case 'f':
					v = float64(x)
				}
			case float64:
				if t.kinds[i] == 'i' && x == float64(int64(x)) {
					v = int64(x)
				}
			}
			row[i] = v
		}
		src.add(row)
		return row, nil
	}))
	if err != nil {
		return TableCopy{}, err
	}
	if readErr != nil {
		return TableCopy{}, readErr
	}
	back, err := tx.Query(ctx, `SELECT `+list+` FROM `+pgx.Identifier{t.name}.Sanitize())
	if err != nil {
		return TableCopy{}, err
	}
	dst := newChecksum()
	for back.Next() {
		row, err := back.Values()
		if err != nil {
			back.Close()
			return TableCopy{}, err
		}
		dst.add(row)
	}
	back.Close()
	if err := back.Err(); err != nil {
		return TableCopy{}, err
	}
	got, want := dst.sum(), src.sum()
	if dst.rows != n || src.rows != n || got != want {
		return TableCopy{}, fmt.Errorf("verification failed: SQLite has %d rows (checksum %s), PostgreSQL %d (checksum %s); nothing was copied",
			src.rows, want, dst.rows, got)
	}
	return TableCopy{Table: t.name, Rows: n, Checksum: want}, nil
}

// checksum digests the rows of a table whatever their order: each row's
// values are rendered the same on both sides (booleans as 0 and 1, as
// SQLite stores them; floats exactly) and hashed, and the sorted row
// hashes are hashed again, so a missing, extra or altered row shows.
type checksum struct {
	rows   int64
	hashes [][sha256.Size]byte
	buf    []byte
}

func newChecksum() *checksum { return &checksum{} }

func (c *checksum) add(row []any) {
	b := c.buf[:0]
	for _, v := range row {
		switch v := v.(type) {
		case nil:
			b = append(b, 'N')
		case bool:
			if v {
				b = append(b, "I1"...)
			} else {
				b = append(b, "I0"...)
			}
		case int64:
			b = strconv.AppendInt(append(b, 'I'), v, 10)
		case int32:
			b = strconv.AppendInt(append(b, 'I'), int64(v), 10)
		case int16:
			b = strconv.AppendInt(append(b, 'I'), int64(v), 10)
		case float64:
			b = strconv.AppendFloat(append(b, 'F'), v, 'g', -1, 64)
		case string:
			b = append(strconv.AppendInt(append(b, 'S'), int64(len(v)), 10), ':')
			b = append(b, v...)
		case []byte:
			b = append(strconv.AppendInt(append(b, 'S'), int64(len(v)), 10), ':')
			b = append(b, v...)
		default:
			b = fmt.Appendf(append(b, '?'), "%T:%v", v, v)
		}
		b = append(b, 0)
	}
	c.buf = b
	c.hashes = append(c.hashes, sha256.Sum256(b))
	c.rows++
}

func (c *checksum) sum() string {
	slices.SortFunc(c.hashes, func(a, b [sha256.Size]byte) int {
		for i := range a {
			if a[i] != b[i] {
				return int(a[i]) - int(b[i])
			}
		}
		return 0
	})
	h := sha256.New()
	for _, r := range c.hashes {
		h.Write(r[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
