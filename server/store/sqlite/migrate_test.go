package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// migrateTo applies the server migrations up to and including version
// last, recorded as schema.Migrate records them.
func migrateTo(t *testing.T, db *schema.DB, last int) {
	t.Helper()
	migs, err := schema.Migrations(schema.MigrationsServer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:last] {
		err := db.WriteTx(context.Background(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '')`, m.Version, m.Name)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
	}
}

func TestMigration0006_MovesItemsOutOfTheJSONColumn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "patrol.db")
	db, err := schema.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	migrateTo(t, db, 5)
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(cl)
	cst := time.FixedZone("CST", 8*3600)
	shot := time.Date(2026, 10, 9, 21, 15, 7, 123456789, cst)
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
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's', 35, 118, 35.2, 118.4)`, nil},
			{`INSERT INTO checklists (version, body, seq) VALUES (?, ?, 1)`, []any{cl.Version, string(body)}},
			{`INSERT INTO venues (id, squad_id, kind, name, lat, lng, created_at, updated_at, seq) VALUES ('v1', 1, 'net_cafe', 'n', 35.1, 118.3, ?, ?, 2)`, []any{ts, ts}},
			{`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, items, hlc,
				received_at, updated_at, seq) VALUES ('i1', 'v1', 1, 'dev-1', 'u1', ?, 'submitted', '[{"username":"a"},{"username":"b"}]', ?, ?, 'h', ?, ?, 3)`,
				[]any{cl.Version, ts, string(itemsJSON), ts, ts}},
			{`INSERT INTO inspection_photos (inspection_id, item_id, sha256, squad_id, device_id) VALUES ('i1', 'NC12', ?, 1, 'dev-1'), ('i1', 'NC12', ?, 1, 'dev-1')`,
				[]any{photo.SHA256, other.SHA256}},
		} {
			if _, err := tx.Exec(q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Inspection(ctx, "i1")
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, "migrated", got.Items, items)
	if !got.Items[0].Photos[0].CapturedAt.Equal(shot) {
		t.Fatalf("capture time %v; want %v to the nanosecond", got.Items[0].Photos[0].CapturedAt, shot)
	}
	r := st.DB().R
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM inspection_items WHERE inspection_id = 'i1'`, 3},
		{`SELECT count(*) FROM inspection_items WHERE item_id = 'NC12' AND severity = 'critical' AND position = 0`, 1},
		{`SELECT count(*) FROM inspection_items WHERE item_id = 'NC01' AND severity = 'major' AND position = 1`, 1},
		{`SELECT count(*) FROM inspection_items WHERE item_id = 'NC99' AND severity = '' AND position = 2`, 1},
		{`SELECT count(*) FROM inspection_photos WHERE inspection_id = 'i1' AND squad_id = 1 AND device_id = 'dev-1'`, 3},
		{`SELECT count(*) FROM pragma_table_info('inspections') WHERE name = 'items'`, 0},
	} {
		var n int
		if err := r.QueryRow(c.q).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s = %d (%v); want %d", c.q, n, err, c.want)
		}
	}
}

// A venue that left a squad before 0008 has no copy of how the squad saw
// it: the squad's inspections then show only what never changes, not the
// new squad's phone and address.
func TestMigration0008_MoveWithoutCopyShowsOnlyWhatNeverChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "patrol.db")
	db, err := schema.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	migrateTo(t, db, 7)
	ts := schema.FormatTime(time.Date(2026, 10, 9, 9, 0, 0, 0, time.UTC))
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's1', 35, 118, 35.2, 118.4), (2, 's2', 36, 117, 36.2, 117.4)`,
			`INSERT INTO venues (id, squad_id, kind, name, address, phone, licence_no, lat, lng, created_at, updated_at, seq)
				VALUES ('v1', 2, 'net_cafe', 'New name', 'squad 2''s address', 'squad 2''s phone', 'L-2', 35.1, 118.3, '` + ts + `', '` + ts + `', 5)`,
			`INSERT INTO venue_squad_history (venue_id, squad_id, from_at, to_at, left_seq) VALUES ('v1', 1, '` + ts + `', '` + ts + `', 4)`,
			`INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES ('v1', 2, '` + ts + `')`,
			`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, hlc,
				received_at, updated_at, seq) VALUES ('i1', 'v1', 1, 'dev-1', 'u1', 'nc16-2018.1', 'submitted', '[{"username":"a"}]', '` + ts + `', 'h', '` + ts + `', '` + ts + `', 3)`,
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := sqlite.Open(ctx, path, nil)
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

func TestMigration0009_ExistingReferencesBecomeProven(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "patrol.db")
	db, err := schema.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	migrateTo(t, db, 8)
	received, awaited := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
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
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := sqlite.Open(ctx, path, nil)
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
		if err := st.DB().R.QueryRow(c.q).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s = %d (%v); want %d", c.q, n, err, c.want)
		}
	}
	if squads, err := st.SquadsReferencingPhoto(ctx, received); err != nil || len(squads) != 1 || squads[0] != 1 {
		t.Fatalf("squads reading the migrated photo: %v, %v; want squad 1 as before", squads, err)
	}
	// A reference written without a claim is pending: the column fails closed.
	if _, err := st.DB().W.Exec(`INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, squad_id, device_id)
		VALUES ('i1', 'NC12', 2, ?, 10, 'image/jpeg', '', 1, 'dev-9')`, received); err != nil {
		t.Fatal(err)
	}
	var claim string
	if err := st.DB().R.QueryRow(`SELECT claim FROM inspection_photos WHERE device_id = 'dev-9'`).Scan(&claim); err != nil || claim != schema.ClaimPending {
		t.Fatalf("claim of a reference written without one: %q, %v; want pending", claim, err)
	}
}
