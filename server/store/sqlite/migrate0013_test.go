package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/store/storetest"
)

func TestMigration0013_ReviewsBecomeApprovalsAndFindings(t *testing.T) {
	ctx := context.Background()
	migratedNow := storetest.MigratedNow
	path := filepath.Join(t.TempDir(), "patrol.db")
	db, err := schema.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	migs, err := schema.Migrations(schema.MigrationsServer)
	if err != nil {
		t.Fatal(err)
	}
	before := 0
	for before < len(migs) && migs[before].Version < 13 {
		before++
	}
	migrateTo(t, db, before)
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(cl)
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, q := range storetest.ReviewedRows(string(body)) {
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
	st, err := sqlite.Open(ctx, path, func() time.Time { return migratedNow })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The changed rows take one seq past every earlier one.
	var n int
	if err := st.DB().R.QueryRow(`SELECT count(*) FROM findings WHERE seq = 11`).Scan(&n); err != nil || n != 4 {
		t.Errorf("findings at seq 11: %d, %v", n, err)
	}
	storetest.CheckReviewMigrated(t, st, migratedNow)
}
