package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/store/storetest"
)

func TestSQLite_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "patrol.db"), now)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}
