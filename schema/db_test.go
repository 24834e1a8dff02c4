package schema_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestMigrate_BothSetsApplyOnceAndAreIdempotent(t *testing.T) {
	for _, set := range []string{schema.MigrationsServer, schema.MigrationsDevice} {
		t.Run(set, func(t *testing.T) {
			ctx := context.Background()
			db, err := schema.Open(filepath.Join(t.TempDir(), "x.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			n, err := schema.Migrate(ctx, db, set)
			if err != nil || n == 0 {
				t.Fatalf("first migrate: n=%d err=%v", n, err)
			}
			n, err = schema.Migrate(ctx, db, set)
			if err != nil || n != 0 {
				t.Fatalf("second migrate applied %d (err %v); want 0", n, err)
			}
			var mode string
			if err := db.R.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				t.Fatalf("journal_mode=%q err=%v", mode, err)
			}
			var fk int
			if err := db.W.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
				t.Fatalf("foreign_keys=%d err=%v", fk, err)
			}
			if _, err := db.R.Exec(`CREATE TABLE nope (x)`); err == nil {
				t.Fatal("reader pool accepted a write")
			}
		})
	}
}

func TestChecklists_EmbeddedNC16HasSixteenItems(t *testing.T) {
	c, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != 16 {
		t.Fatalf("got %d items", len(c.Items))
	}
	if _, ok := c.Item("NC03"); !ok {
		t.Fatal("NC03 missing")
	}
}
