// Package sqlite is the embedded implementation of store.Store: every SQL
// statement of the server, on one SQLite file opened by schema.Open (one
// writer, a reader pool, WAL, synchronous=FULL). It translates driver
// errors by type and returns schema types and *schema.Error values.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// NationalZoneRuleID is the id of the national 200 m school-zone rule seeded
// into an empty database.
const NationalZoneRuleID = "cn-2002-art9"

// Store is the server's persistence. It owns the database and the server's
// hybrid logical clock, because every write that merges venue fields needs
// both in one place.
type Store struct {
	db    *schema.DB
	now   func() time.Time
	clock *schema.Clock
	ckpt  *checkpointer
	// checklists caches parsed stored checklists for pushes.
	checklists checklistCache
	jobs       jobLocks
}

// Open opens (creating and migrating if needed) the server database at path
// and makes sure the embedded checklists and the national zone rule are in it.
func Open(ctx context.Context, path string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	db, err := schema.OpenMigrated(ctx, path, schema.MigrationsServer)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s := &Store{db: db, now: now, clock: schema.NewClock("server", now)}
	if err := s.seedReferenceData(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.startCheckpointer()
	return s, nil
}

// DB is the database under the store, for tests that look at rows
// directly; the server only ever sees the store.Store interface.
func (s *Store) DB() *schema.DB { return s.db }

// Clock is the server's hybrid logical clock (node "server").
func (s *Store) Clock() *schema.Clock { return s.clock }

// Close closes the database.
func (s *Store) Close() error {
	s.stopCheckpointer()
	return s.db.Close()
}

// seqAlloc hands out change sequence numbers inside one write transaction:
// the counter is read once, advanced in memory, and written back once, so a
// large push pays two statements for all its seqs.
type seqAlloc struct {
	tx    *sql.Tx
	next  int64
	dirty bool
	read  bool
}

// nextSeq returns the next change sequence number of the transaction.
func (a *seqAlloc) nextSeq(ctx context.Context) (int64, error) {
	if !a.read {
		if err := a.tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'seq'`).Scan(&a.next); err != nil {
			return 0, fmt.Errorf("read seq: %w", err)
		}
		a.read = true
	}
	a.next++
	a.dirty = true
	return a.next, nil
}

// flush writes the advanced counter back; call it before commit.
func (a *seqAlloc) flush(ctx context.Context) error {
	if !a.dirty {
		return nil
	}
	if _, err := a.tx.ExecContext(ctx, `UPDATE counters SET value = ? WHERE name = 'seq'`, a.next); err != nil {
		return fmt.Errorf("write seq: %w", err)
	}
	a.dirty = false
	return nil
}

// nextSeq allocates a single seq in tx (read and write of the counter).
func nextSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	a := &seqAlloc{tx: tx}
	n, err := a.nextSeq(ctx)
	if err != nil {
		return 0, err
	}
	return n, a.flush(ctx)
}

// NationalZoneRule is the rule of 《互联网上网服务营业场所管理条例》 art. 9 as read
// by the State Council legal office: 200 m in a straight line from the
// school's boundary.
func NationalZoneRule() schema.ZoneRule {
	return schema.ZoneRule{
		ID:            NationalZoneRuleID,
		Name:          "互联网上网服务营业场所管理条例 第九条 (200 m)",
		DistanceM:     200,
		Method:        "boundary_straight_line",
		SchoolKinds:   []string{"primary", "secondary"},
		VenueKinds:    []string{schema.KindNetCafe, schema.KindArcade, schema.KindKTV},
		EffectiveFrom: time.Date(2002, 11, 15, 0, 0, 0, 0, time.UTC),
		LegalBasis:    "互联网上网服务营业场所管理条例 第九条",
	}
}

func (s *Store) seedReferenceData(ctx context.Context) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		alloc := &seqAlloc{tx: tx}
		for _, c := range schema.Checklists() {
			body, err := json.Marshal(c)
			if err != nil {
				return err
			}
			var old string
			err = tx.QueryRowContext(ctx, `SELECT body FROM checklists WHERE version = ?`, c.Version).Scan(&old)
			if err == nil && old == string(body) {
				continue
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			seq, err := alloc.nextSeq(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO checklists (version, body, seq) VALUES (?, ?, ?)
				ON CONFLICT (version) DO UPDATE SET body = excluded.body, seq = excluded.seq`, c.Version, string(body), seq); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM zone_rules`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			r := NationalZoneRule()
			body, err := json.Marshal(r)
			if err != nil {
				return err
			}
			seq, err := alloc.nextSeq(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO zone_rules (id, body, effective_from, seq) VALUES (?, ?, ?, ?)`,
				r.ID, string(body), schema.FormatTime(r.EffectiveFrom), seq); err != nil {
				return err
			}
		}
		return alloc.flush(ctx)
	})
	if err != nil {
		return fmt.Errorf("store: seed reference data: %w", err)
	}
	return nil
}

// queryer is what *sql.DB and *sql.Tx have in common for reads.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// notFound builds the error every lookup returns for a missing or invisible
// object, so callers never get (nil, nil).
func notFound(what, id string) error {
	return schema.Errorf(schema.CodeNotFound, "%s %s not found", what, id)
}

func nullTime(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t, err := schema.ParseTime(s.String)
	if err != nil {
		return nil
	}
	return &t
}

func parseTime(s string) time.Time {
	t, _ := schema.ParseTime(s)
	return t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
