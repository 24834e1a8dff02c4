package postgres_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/server/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestMigrate_ConcurrentReplicasApplyEachOnce: replicas that start
// together on an empty database apply every migration exactly once, and a
// later start applies none.
func TestMigrate_ConcurrentReplicasApplyEachOnce(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	counts := make([]int, 3)
	errs := make([]error, 3)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = postgres.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != len(migs) {
		t.Errorf("replicas applied %v migrations; want %d in all", counts, len(migs))
	}
	var recorded int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil || recorded != len(migs) {
		t.Errorf("%d recorded (err %v); want %d", recorded, err, len(migs))
	}
	if n, err := postgres.Migrate(ctx, pool); err != nil || n != 0 {
		t.Errorf("a later start applied %d (err %v); want 0", n, err)
	}
}

// TestMigration0006_MovesItemsOutOfTheJSONColumn: an inspection stored
// with its answers in the JSON column before 0006 comes out of the
// migration as answer rows (with their checklist severity, in the order
// sent) and whole photo rows, and reads back the same.
func TestMigration0006_MovesItemsOutOfTheJSONColumn(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:5] {
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, '')`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(cl)
	shot := time.Date(2026, 10, 9, 21, 15, 7, 123456789, time.FixedZone("CST", 8*3600))
	lat, lng := 35.0612, 118.3425
	photo := schema.PhotoRef{SHA256: strings.Repeat("a1", 32), Size: 700_000, MediaType: "image/jpeg", CapturedAt: shot, Lat: &lat, Lng: &lng, DeviceID: "dev-1"}
	other := schema.PhotoRef{SHA256: strings.Repeat("b2", 32), Size: 9, MediaType: "image/png", CapturedAt: shot, DeviceID: "dev-0", TimeSuspect: true}
	items := []schema.ItemResult{
		{ItemID: "NC12", Result: schema.ResultFail, Note: "安全出口被锁", Photos: []schema.PhotoRef{photo, other, photo}},
		{ItemID: "NC01", Result: schema.ResultPass},
		{ItemID: "NC99", Result: schema.ResultNA, Note: "item of no known checklist"},
	}
	itemsJSON, _ := json.Marshal(items)
	ts := schema.FormatTime(shot)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's', 35, 118, 35.2, 118.4)`, nil},
		{`INSERT INTO checklists (version, body, seq) VALUES ($1, $2, 1)`, []any{cl.Version, string(body)}},
		{`INSERT INTO venues (id, squad_id, kind, name, lat, lng, created_at, updated_at, seq) VALUES ('v1', 1, 'net_cafe', 'n', 35.1, 118.3, $1, $1, 2)`, []any{ts}},
		{`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, items, hlc,
			received_at, updated_at, seq) VALUES ('i1', 'v1', 1, 'dev-1', 'u1', $1, 'submitted', '[{"username":"a"},{"username":"b"}]', $2, $3, 'h', $2, $2, 3)`,
			[]any{cl.Version, ts, string(itemsJSON)}},
		{`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, items, hlc,
			received_at, updated_at, seq) VALUES ('i2', 'v1', 1, 'dev-1', 'u1', $1, 'draft', '[]', $2, 'null', 'h', $2, $2, 4)`,
			[]any{cl.Version, ts}},
		{`INSERT INTO inspection_photos (inspection_id, item_id, sha256, squad_id, device_id) VALUES ('i1', 'NC12', $1, 1, 'dev-1'), ('i1', 'NC12', $2, 1, 'dev-1')`,
			[]any{photo.SHA256, other.SHA256}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if n, err := postgres.Migrate(ctx, pool); err != nil || n != len(migs)-5 {
		t.Fatalf("migrate from 5: applied %d, %v", n, err)
	}
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Inspection(ctx, "i1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Items {
		for j := range got.Items[i].Photos {
			p := &got.Items[i].Photos[j]
			if !p.CapturedAt.Equal(shot) {
				t.Errorf("capture time %v; want %v to the nanosecond", p.CapturedAt, shot)
			}
			p.CapturedAt, p.Received = shot, false
		}
	}
	if !reflect.DeepEqual(got.Items, items) {
		t.Errorf("migrated items:\n got %+v\nwant %+v", got.Items, items)
	}
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM inspection_items WHERE inspection_id = 'i1'`, 3},
		{`SELECT count(*) FROM inspection_items WHERE item_id = 'NC12' AND severity = 'critical' AND position = 0`, 1},
		{`SELECT count(*) FROM inspection_items WHERE item_id = 'NC01' AND severity = 'major' AND position = 1`, 1},
		{`SELECT count(*) FROM inspection_items WHERE item_id = 'NC99' AND severity = '' AND position = 2`, 1},
		{`SELECT count(*) FROM inspection_items WHERE inspection_id = 'i2'`, 0},
		{`SELECT count(*) FROM inspection_photos WHERE inspection_id = 'i1' AND squad_id = 1 AND device_id = 'dev-1'`, 3},
		{`SELECT count(*) FROM information_schema.columns WHERE table_name = 'inspections' AND column_name = 'items'`, 0},
	} {
		var n int
		if err := pool.QueryRow(ctx, c.q).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s = %d (%v); want %d", c.q, n, err, c.want)
		}
	}
}

// TestMigration0008_MoveWithoutCopyShowsOnlyWhatNeverChanges: a venue
// that left a squad before 0008 has no copy of how the squad saw it; the
// squad's inspections then show only what never changes, not the new
// squad's phone and address.
func TestMigration0008_MoveWithoutCopyShowsOnlyWhatNeverChanges(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:7] {
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, '')`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	ts := schema.FormatTime(time.Date(2026, 10, 9, 9, 0, 0, 0, time.UTC))
	for _, q := range []string{
		`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's1', 35, 118, 35.2, 118.4), (2, 's2', 36, 117, 36.2, 117.4)`,
		`INSERT INTO venues (id, squad_id, kind, name, address, phone, licence_no, lat, lng, created_at, updated_at, seq)
			VALUES ('v1', 2, 'net_cafe', 'New name', 'squad 2''s address', 'squad 2''s phone', 'L-2', 35.1, 118.3, $1, $1, 5)`,
		`INSERT INTO venue_squad_history (venue_id, squad_id, from_at, to_at, left_seq) VALUES ('v1', 1, $1, $1, 4)`,
		`INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES ('v1', 2, $1)`,
		`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, hlc,
			received_at, updated_at, seq) VALUES ('i1', 'v1', 1, 'dev-1', 'u1', 'nc16-2018.1', 'submitted', '[{"username":"a"}]', $1, 'h', $1, $1, 3)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{ts}
		}
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Inspection(ctx, "i1")
	if err != nil {
		t.Fatal(err)
	}
	v := got.Venue
	if v == nil || v.ID != "v1" || v.SquadID != 1 || v.Kind != schema.KindNetCafe || v.Lat != 35.1 || v.Lng != 118.3 ||
		v.Name != "" || v.Address != "" || v.Phone != "" || v.LicenceNo != "" {
		t.Fatalf("squad 1's inspection shows venue %+v; want only its id, kind and position", v)
	}
}

// migrateTo applies the first n PostgreSQL migrations to the empty
// database behind pool, recording them as Migrate does.
func migrateTo(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx := context.Background()
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:n] {
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, '')`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigration0009_ExistingReferencesBecomeProven: photo references
// written before claims existed are trusted as they were (proven), no
// receipt is invented for them, and a reference written without a claim
// is pending.
func TestMigration0009_ExistingReferencesBecomeProven(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migrateTo(t, pool, 8)
	received, awaited := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	for _, q := range []string{
		`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's', 35, 118, 35.2, 118.4)`,
		`INSERT INTO venues (id, squad_id, kind, name, lat, lng, created_at, updated_at, seq) VALUES ('v1', 1, 'net_cafe', 'n', 35.1, 118.3, '', '', 1)`,
		`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, hlc,
			received_at, updated_at, seq) VALUES ('i1', 'v1', 1, 'dev-1', 'u1', 'nc16-2018.1', 'submitted', '[]', '', 'h', '', '', 2)`,
		`INSERT INTO inspection_items (inspection_id, item_id, position, result) VALUES ('i1', 'NC12', 0, 'fail')`,
		`INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, squad_id, device_id)
			VALUES ('i1', 'NC12', 0, '` + received + `', 10, 'image/jpeg', '', 1, 'dev-1'), ('i1', 'NC12', 1, '` + awaited + `', 20, 'image/jpeg', '', 1, 'dev-1')`,
		`INSERT INTO photos (sha256, size, media_type, received_at) VALUES ('` + received + `', 10, 'image/jpeg', '')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM inspection_photos WHERE claim = 'proven'`, 2},
		{`SELECT count(*) FROM photo_receipts`, 0}, // nothing says who sent the photo
	} {
		var n int
		if err := pool.QueryRow(ctx, c.q).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s = %d (%v); want %d", c.q, n, err, c.want)
		}
	}
	if squads, err := st.SquadsReferencingPhoto(ctx, received); err != nil || len(squads) != 1 || squads[0] != 1 {
		t.Fatalf("squads reading the migrated photo: %v, %v; want squad 1 as before", squads, err)
	}
	got, err := st.Inspection(ctx, "i1")
	if err != nil {
		t.Fatal(err)
	}
	if ps := got.Items[0].Photos; len(ps) != 2 || !ps[0].Received || ps[1].Received || len(got.MissingPhotos) != 1 || got.MissingPhotos[0] != awaited {
		t.Fatalf("migrated inspection: photos %+v, missing %v; want the stored one received and the other missing", ps, got.MissingPhotos)
	}
	// A reference written without a claim is pending: the column fails closed.
	if _, err := pool.Exec(ctx, `INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, squad_id, device_id)
		VALUES ('i1', 'NC12', 2, $1, 10, 'image/jpeg', '', 1, 'dev-9')`, received); err != nil {
		t.Fatal(err)
	}
	var claim string
	if err := pool.QueryRow(ctx, `SELECT claim FROM inspection_photos WHERE device_id = 'dev-9'`).Scan(&claim); err != nil || claim != schema.ClaimPending {
		t.Fatalf("claim of a reference written without one: %q, %v; want pending", claim, err)
	}
}

// TestMigration0013_ReviewsBecomeApprovalsAndFindings: the single review
// state of before becomes approved, its correction orders and cases
// findings, numbered per year in China, every inspection version 1.
func TestMigration0013_ReviewsBecomeApprovalsAndFindings(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	migs, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	before := 0
	for before < len(migs) && migs[before].Version < 13 {
		before++
	}
	migrateTo(t, pool, before)
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(cl)
	for _, q := range storetest.ReviewedRows(string(body)) {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st, err := postgres.Open(ctx, dsn, func() time.Time { return storetest.MigratedNow })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM findings WHERE seq = 11`).Scan(&n); err != nil || n != 4 {
		t.Errorf("findings at seq 11: %d, %v", n, err)
	}
	storetest.CheckReviewMigrated(t, st, storetest.MigratedNow)
}
