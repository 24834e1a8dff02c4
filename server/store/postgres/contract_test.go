package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/server/store/storetest"
)

// open opens a store on a fresh database of its own.
func open(t *testing.T, now func() time.Time) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.DSN(t), now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestPostgres_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store { return open(t, now) })
}
