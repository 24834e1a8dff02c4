// Package postgres is the implementation of store.Store for several
// stateless patrold replicas sharing one PostgreSQL database. It holds its
// own SQL (PostgreSQL dialect, pgx's native API) and calls the same
// domain functions of package schema as the SQLite adapter; it passes the
// same contract suite (store/storetest).
//
// Change sequences. A pull cursor is a change seq, and a device that has
// pulled up to seq N never asks for N or below again. PostgreSQL commits
// concurrent transactions in any order, so seqs taken from a sequence
// would let a transaction holding seq 7 commit after one holding seq 8
// had been pulled: 7 would be skipped for good. Every write transaction
// that assigns seqs therefore takes them from the one counters row 'seq',
// locked (UPDATE … RETURNING) as the transaction's first statement and
// held until it commits or rolls back. A second such transaction waits on
// that row, then reads the counter the first committed: seq order is
// commit order, and a reader's snapshot that holds seq N holds every seq
// below it. The cost is that seq-assigning writers serialise on the row,
// one at a time, like SQLite's one writer; reads, logins and clock samples
// do not take it, and a device's delivery of photo bytes holds it shared
// (it proves claims that pushes write: RecordPhoto). Taking the lock
// first, before any other row, keeps it out of every deadlock: no writer
// ever holds another row lock while it waits for the counter.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Store is the PostgreSQL store: a connection pool, the replica's hybrid
// logical clock and its idea of the time.
type Store struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	clock *schema.Clock
	// checklists caches parsed stored checklists for pushes.
	checklists checklistCache
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (postgres://user@host/db or the
// key=value form), applies the migrations it lacks and makes sure the
// embedded checklists and the national zone rule are in it. Several
// replicas may open one database at once.
func Open(ctx context.Context, dsn string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	pool, err := openPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open %s: %w", redactDSN(dsn), translate(err))
	}
	if _, err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s := &Store{pool: pool, now: now, clock: schema.NewClock("server", now)}
	if err := s.seedReferenceData(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// openPool opens a pool on dsn with the store's session settings, unless
// the DSN sets them itself:
//
//   - plan_cache_mode force_custom_plan: the statements are prepared once
//     per connection, but each execution is planned for its arguments. A
//     generic plan made while a table was small (a seq scan) would
//     otherwise stay cached while the table grows, and a push's lookup by
//     a list of ids would read the whole table.
//   - pool_max_conns: 4 per core, at least 8. Seq-assigning writers take
//     one connection each and queue on the counter row, and pulls and
//     reads must not queue behind them for a connection.
func openPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, schema.Errorf(schema.CodeInvalid, "database %s: %v", redactDSN(dsn), err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", redactDSN(dsn), translate(err))
	}
	return pool, nil
}

// Pool is the connection pool under the store, for tests and the copy
// from SQLite that look at rows directly; the server only ever sees the
// store.Store interface.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Clock is the server's hybrid logical clock (node "server").
func (s *Store) Clock() *schema.Clock { return s.clock }

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", translate(err))
	}
	return nil
}

// Stats counts unresolved conflicts and photos still awaited.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM conflicts WHERE resolved_at IS NULL),
		(SELECT count(*) FROM (SELECT sha256 FROM inspection_photos UNION SELECT sha256 FROM record_signatures) ip
		  LEFT JOIN photos p ON p.sha256 = ip.sha256 WHERE p.sha256 IS NULL)`).
		Scan(&st.ConflictsPending, &st.PhotosAwaited)
	if err != nil {
		return store.Stats{}, fmt.Errorf("store: stats: %w", translate(err))
	}
	return st, nil
}

// NationalZoneRuleID is the id of the national 200 m school-zone rule seeded
// into an empty database.
const NationalZoneRuleID = "cn-2002-art9"

// NationalZoneRule is the rule of 《互联网上网服务营业场所管理条例》 art. 9 as read
// by the State Council legal office: 200 m in a straight line from the
// school's boundary. It is the SQLite store's, so both seed the same row.
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

// seedReferenceData writes the embedded checklists whose stored body
// differs and the national zone rule into a database without rules. It
// reads first and takes the counter only when something is to be written,
// so that replicas starting together do not queue on each other.
func (s *Store) seedReferenceData(ctx context.Context) error {
	type pending struct{ version, body string }
	var todo []pending
	for _, c := range schema.Checklists() {
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		var old string
		err = s.pool.QueryRow(ctx, `SELECT body FROM checklists WHERE version = $1`, c.Version).Scan(&old)
		if err == nil && old == string(body) {
			continue
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("store: seed reference data: %w", translate(err))
		}
		todo = append(todo, pending{c.Version, string(body)})
	}
	var rules int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM zone_rules`).Scan(&rules); err != nil {
		return fmt.Errorf("store: seed reference data: %w", translate(err))
	}
	if len(todo) == 0 && rules > 0 {
		return nil
	}
	err := s.writeTx(ctx, func(w *writer) error {
		for _, p := range todo {
			// Another replica may have written it while this one waited.
			var old string
			err := w.tx.QueryRow(ctx, `SELECT body FROM checklists WHERE version = $1`, p.version).Scan(&old)
			if err == nil && old == p.body {
				continue
			}
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			seq := w.nextSeq()
			if _, err := w.tx.Exec(ctx, `INSERT INTO checklists (version, body, seq) VALUES ($1, $2, $3)
				ON CONFLICT (version) DO UPDATE SET body = excluded.body, seq = excluded.seq`, p.version, p.body, seq); err != nil {
				return err
			}
		}
		var n int
		if err := w.tx.QueryRow(ctx, `SELECT count(*) FROM zone_rules`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		r := NationalZoneRule()
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = w.tx.Exec(ctx, `INSERT INTO zone_rules (id, body, effective_from, seq) VALUES ($1, $2, $3, $4)`,
			r.ID, string(body), schema.FormatTime(r.EffectiveFrom), w.nextSeq())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: seed reference data: %w", err)
	}
	return nil
}

// notFound builds the error every lookup returns for a missing or invisible
// object, so callers never get (nil, nil).
func notFound(what, id string) error {
	return schema.Errorf(schema.CodeNotFound, "%s %s not found", what, id)
}

func nullTime(s *string) *time.Time {
	if s == nil || *s == "" {
		return nil
	}
	t, err := schema.ParseTime(*s)
	if err != nil {
		return nil
	}
	return &t
}

func parseTime(s string) time.Time {
	t, _ := schema.ParseTime(s)
	return t
}

func clampLimit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	if n > max {
		return max
	}
	return n
}

// wrap prefixes an operation to err, translated, leaving nil alone.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, translate(err))
}
