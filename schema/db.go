package schema

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed sql/server/*.sql sql/device/*.sql sql/postgres/*.sql
var sqlFS embed.FS

// Migration sets. MigrationsPostgres is the server set in PostgreSQL's
// dialect, for the PostgreSQL store (which runs it itself): it mirrors
// MigrationsServer number for number and name for name.
const (
	MigrationsServer   = "server"
	MigrationsDevice   = "device"
	MigrationsPostgres = "postgres"
)

// DB is one SQLite database opened the one way Patrol opens SQLite: a
// single writer connection (every write transaction starts IMMEDIATE, so
// writers queue on busy_timeout instead of failing on upgrade) beside a
// pool of read-only connections. WAL lets readers run while the writer
// commits; synchronous=FULL fsyncs the WAL on every commit, so a
// transaction that returned from Commit survives power loss.
type DB struct {
	W    *sql.DB // exactly one connection; use for all writes
	R    *sql.DB // read-only pool
	Path string
}

// Pragmas applied to every connection, in this order: busy_timeout first so
// that the others wait instead of failing while another process holds a lock.
var Pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(1)",
	"temp_store(MEMORY)",
	"cache_size(-16000)",
}

// DSN returns the driver connection string for path with the project's
// pragmas; readOnly adds query_only so a reader can never write.
func DSN(p string, readOnly bool) string {
	q := url.Values{}
	for _, pr := range Pragmas {
		q.Add("_pragma", pr)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + p + "?" + q.Encode()
}

// Open opens (creating if needed) the SQLite database at path.
func Open(p string) (*DB, error) {
	w, err := sql.Open("sqlite", DSN(p, false))
	if err != nil {
		return nil, fmt.Errorf("schema: open %s: %w", p, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("schema: open %s: %w", p, err)
	}
	r, err := sql.Open("sqlite", DSN(p, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("schema: open %s for reading: %w", p, err)
	}
	n := runtime.GOMAXPROCS(0) * 2
	if n < 4 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{W: w, R: r, Path: p}
	if err := db.Optimize(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("schema: open %s: %w", p, err)
	}
	return db, nil
}

// Optimize gives the planner statistics to choose indexes by. Without
// them SQLite guesses, and on a ledger of thousands of findings it
// guessed wrong: a filter by venue read the squad's whole ledger index
// instead of the venue's few rows. It analyzes every table with an index
// never analyzed or whose size changed tenfold since (PRAGMA
// optimize=0x10002, SQLite 3.46 semantics: a sampled ANALYZE under a
// temporary analysis_limit, cheap even on a large file). The 0x10000 bit
// looks at every table, not only those this connection queried: the
// writer runs none of the readers' queries. Open runs it; run it again
// after bulk loads and periodically (the hourly clean-up).
func (db *DB) Optimize(ctx context.Context) error {
	if _, err := db.W.ExecContext(ctx, `PRAGMA optimize=0x10002`); err != nil {
		return fmt.Errorf("schema: optimize: %w", err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.R.Close(), db.W.Close())
}

// WriteTx runs fn in an IMMEDIATE write transaction on the writer
// connection and commits it; any error or panic rolls it back.
func (db *DB) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("schema: commit: %w", err)
	}
	return nil
}

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the numbered migrations of a set ("server",
// "device" or "postgres"), in order of their numbers.
func Migrations(set string) ([]Migration, error) {
	dir := path.Join("sql", set)
	entries, err := fs.ReadDir(sqlFS, dir)
	if err != nil {
		return nil, fmt.Errorf("schema: migrations %q: %w", set, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("schema: migration %s/%s: name must start with a number and _", set, name)
		}
		b, err := fs.ReadFile(sqlFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	// Numbers may skip (a number is taken when a change is planned, and
	// changes land in any order), but never repeat: two files of one
	// number would each be recorded as the other.
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("schema: migrations %q: %s and %s share version %d", set, out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies the set's migrations that the database has not recorded
// yet, each in its own transaction together with its record, and returns
// how many it applied.
func Migrate(ctx context.Context, db *DB, set string) (int, error) {
	migs, err := Migrations(set)
	if err != nil {
		return 0, err
	}
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("schema: migrate: %w", err)
	}
	applied := 0
	for _, m := range migs {
		if ForeignKeysOff(m) {
			ok, err := migrateForeignKeysOff(ctx, db, m)
			if err != nil {
				return applied, fmt.Errorf("schema: migrate %s: %w", set, err)
			}
			if ok {
				applied++
			}
			continue
		}
		err := db.WriteTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
			applied++
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("schema: migrate %s: %w", set, err)
		}
	}
	return applied, nil
}

// MarkerForeignKeysOff, as the first line of a migration, runs it with
// foreign key enforcement off: what SQLite's documented rebuild of a table
// (to change a constraint ALTER TABLE cannot) requires, since dropping the
// old table would otherwise fail on, or cascade to, the rows that refer to
// it.
const MarkerForeignKeysOff = "-- migrate: foreign_keys off"

// ForeignKeysOff reports whether m carries MarkerForeignKeysOff.
func ForeignKeysOff(m Migration) bool {
	first, _, _ := strings.Cut(m.SQL, "\n")
	return strings.TrimSpace(first) == MarkerForeignKeysOff
}

// migrateForeignKeysOff applies m the way SQLite documents for a table
// rebuild: foreign keys off on the writer connection (outside any
// transaction, where the pragma has effect), the migration and its record
// in one transaction, PRAGMA foreign_key_check before commit (any row it
// reports rolls everything back), foreign keys on again. It reports
// whether it applied m (false: recorded already).
func migrateForeignKeysOff(ctx context.Context, db *DB, m Migration) (bool, error) {
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("%s: %w", m.Name, err)
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return false, fmt.Errorf("%s: foreign key check: %w", m.Name, err)
	}
	var broken []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			rows.Close()
			return false, fmt.Errorf("%s: foreign key check: %w", m.Name, err)
		}
		broken = append(broken, fmt.Sprintf("%s row %d → %s", table, rowid.Int64, parent))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("%s: foreign key check: %w", m.Name, err)
	}
	if len(broken) > 0 {
		return false, fmt.Errorf("%s: leaves %d broken references (%s); nothing was changed", m.Name, len(broken), strings.Join(broken[:min(len(broken), 5)], "; "))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("%s: commit: %w", m.Name, err)
	}
	return true, nil
}

// OpenMigrated opens the database at path and brings it to the newest
// migration of set.
func OpenMigrated(ctx context.Context, p, set string) (*DB, error) {
	db, err := Open(p)
	if err != nil {
		return nil, err
	}
	n, err := Migrate(ctx, db, set)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n > 0 { // new tables and indexes: statistics for them too
		if err := db.Optimize(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// IsConstraint reports whether err is a SQLite constraint violation
// (unique, primary key, foreign key, check), judged by the driver's error
// code, never by message text.
func IsConstraint(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
	}
	return false
}

// IsBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED.
func IsBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsStorageFault reports whether err is SQLITE_FULL, SQLITE_READONLY,
// SQLITE_IOERR or SQLITE_CANTOPEN: storage faults an operator must fix.
func IsStorageFault(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
	}
	return false
}

// Time formats used in SQLite text columns: RFC 3339 with nanoseconds in UTC
// sorts lexically like the time.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime formats t for storage (UTC, fixed width so text order is time order).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime parses a stored time; the empty string is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
