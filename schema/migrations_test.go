package schema_test

import (
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// TestMigrations_PostgresMirrorsServer: every server migration has its
// PostgreSQL twin under the same number and name, so that a change of the
// server schema cannot land for one store and be forgotten for the other.
func TestMigrations_PostgresMirrorsServer(t *testing.T) {
	server, err := schema.Migrations(schema.MigrationsServer)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := schema.Migrations(schema.MigrationsPostgres)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < max(len(server), len(pg)); i++ {
		var s, p string
		if i < len(server) {
			s = server[i].Name
		}
		if i < len(pg) {
			p = pg[i].Name
		}
		if s != p {
			t.Errorf("migration %d: server has %q, postgres has %q; write both", i+1, s, p)
		}
	}
}
