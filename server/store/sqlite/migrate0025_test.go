package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// before0025 is how many server migrations precede 0025.
func before0025(t *testing.T) int {
	t.Helper()
	migs, err := schema.Migrations(schema.MigrationsServer)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range migs {
		if m.Version < 25 {
			n++
		}
	}
	return n
}

// seedAccounts writes a squad, two users, a device and its token the way
// the tables stood before 0025.
func seedAccounts(t *testing.T, db *schema.DB) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's', 35, 118, 35.2, 118.4)`,
		`INSERT INTO users (id, username, display_name, role, squad_id, password_hash, created_at, seq) VALUES ('u1', 'lead1', 'L', 'leader', 1, 'h', 't', 3)`,
		`INSERT INTO users (id, username, display_name, badge_no, role, squad_id, password_hash, disabled, created_at, seq) VALUES ('u2', 'insp1', 'I', 'B7', 'inspector', 1, 'h', 1, 't', 4)`,
		`INSERT INTO devices (id, user_id, name, created_at) VALUES ('d1', 'u2', 'phone', 't')`,
		`INSERT INTO tokens (token_hash, user_id, device_id, created_at, expires_at) VALUES ('th', 'u2', 'd1', 't', '9999')`,
	} {
		if _, err := db.W.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestMigration0025_RebuildsUsersKeepingReferences(t *testing.T) {
	ctx := context.Background()
	db, err := schema.Open(filepath.Join(t.TempDir(), "patrol.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migrateTo(t, db, before0025(t))
	seedAccounts(t, db)
	if _, err := db.W.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES ('u3', 'clerk', 'C', 'office', 'h', 't')`); err == nil {
		t.Fatal("before 0025 the office role is refused")
	}
	if n, err := schema.Migrate(ctx, db, schema.MigrationsServer); err != nil || n == 0 {
		t.Fatalf("migrate: %d %v", n, err)
	}
	if _, err := db.W.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES ('u3', 'clerk', 'C', 'office', 'h', 't')`); err != nil {
		t.Fatalf("office user after 0025: %v", err)
	}
	if _, err := db.W.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES ('u4', 'x', 'X', 'janitor', 'h', 't')`); err == nil {
		t.Fatal("an unknown role is still refused")
	}
	var fk int
	if err := db.W.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys after the migration = %d (%v); want 1", fk, err)
	}
	if _, err := db.W.Exec(`INSERT INTO devices (id, user_id, name, created_at) VALUES ('d2', 'nobody', 'p', 't')`); err == nil {
		t.Fatal("a device of no user is refused after the rebuild")
	}
	for _, c := range []struct {
		q    string
		want string
	}{
		{`SELECT group_concat(username || ':' || role || ':' || badge_no || ':' || disabled || ':' || seq, ',') FROM (SELECT * FROM users WHERE id IN ('u1','u2') ORDER BY id)`, "lead1:leader::0:3,insp1:inspector:B7:1:4"},
		{`SELECT u.username FROM tokens t JOIN devices d ON d.id = t.device_id JOIN users u ON u.id = d.user_id WHERE t.token_hash = 'th'`, "insp1"},
		{`SELECT count(*) FROM sqlite_master WHERE name = 'users_squad_seq'`, "1"},
		{`SELECT count(*) FROM sqlite_master WHERE name = 'users_0025'`, "0"},
		{`SELECT instr(sql, 'REFERENCES users') > 0 FROM sqlite_master WHERE name = 'devices'`, "1"},
	} {
		var got string
		if err := db.R.QueryRow(c.q).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s = %q (%v); want %q", c.q, got, err, c.want)
		}
	}
}

func TestMigration0025_BrokenReferenceRollsBack(t *testing.T) {
	ctx := context.Background()
	db, err := schema.Open(filepath.Join(t.TempDir(), "patrol.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migrateTo(t, db, before0025(t))
	seedAccounts(t, db)
	// A reference broken before the migration (foreign keys were off for
	// whoever wrote it): the check before commit finds it.
	if _, err := db.W.Exec(`PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`INSERT INTO devices (id, user_id, name, created_at) VALUES ('d9', 'ghost', 'p', 't')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	_, err = schema.Migrate(ctx, db, schema.MigrationsServer)
	if err == nil || !strings.Contains(err.Error(), "broken references") || !strings.Contains(err.Error(), "devices") {
		t.Fatalf("migrate over a broken reference: %v", err)
	}
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = 25`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("0025 recorded %d (%v) after its check failed", n, err)
	}
	if err := db.R.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("users %d (%v) after the rollback", n, err)
	}
}
