package postgres_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// sqliteDeployment is a SQLite store with a squad, its inspector, a venue
// and one pushed inspection.
func sqliteDeployment(t *testing.T) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	squad := int64(1)
	u := store.User{ID: uuid.NewString(), Username: "inspector", DisplayName: "Inspector", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}
	v := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: "Venue", Licensed: true, OpenState: schema.OpenStateOpen, Lat: 35.1, Lng: 118.1}
	if err := s.Import(ctx, store.Dataset{Squads: []store.Squad{{ID: squad, Name: "Squad", Bounds: [4]float64{35, 118, 35.2, 118.2}}},
		Users: []store.User{u}, Venues: []schema.Venue{v}}); err != nil {
		t.Fatal(err)
	}
	start, end := time.Now().Add(-time.Hour), time.Now().Add(-time.Minute)
	in := &schema.Inspection{ID: uuid.NewString(), VenueID: v.ID, Status: schema.StatusSubmitted, ChecklistVersion: schema.DefaultChecklistVersion,
		Inspectors: []schema.Inspector{{Username: "inspector"}, {Username: "colleague"}}, StartedAt: start, FinishedAt: &end}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for _, it := range cl.Items {
		in.Items = append(in.Items, schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass})
	}
	res, err := s.Push(ctx, store.PushInput{DeviceID: uuid.NewString(), UserID: u.ID, SquadID: &squad, ReceivedAt: time.Now(),
		Request: &schema.PushRequest{Mutations: []schema.Mutation{{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert,
			HLC: schema.NewClock("d", time.Now).Tick().String(), Inspection: in}}}})
	if err != nil || res[0].Outcome != schema.OutcomeApplied {
		t.Fatalf("push: %+v %v", res, err)
	}
	return s
}

func TestCopyFromSQLite_CopiesEveryRow(t *testing.T) {
	ctx := context.Background()
	src := sqliteDeployment(t)
	dsn := pgtest.DSN(t)
	copied, err := postgres.CopyFromSQLite(ctx, src.DB(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, c := range copied {
		rows[c.Table] = c.Rows
		var want int64
		if err := src.DB().R.QueryRow(`SELECT count(*) FROM "` + c.Table + `"`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if c.Rows != want || len(c.Checksum) != 16 {
			t.Errorf("%s: copied %d rows (checksum %q); SQLite holds %d", c.Table, c.Rows, c.Checksum, want)
		}
	}
	if rows["inspections"] != 1 || rows["inspection_items"] == 0 || rows["applied_mutations"] != 1 || rows["counters"] != 1 {
		t.Errorf("copied %v; want the inspection, its answers, its recorded answer and the counter", rows)
	}
	// The copy's seq counter continues where SQLite's stopped.
	var pgSeq, sqSeq int64
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.QueryRow(ctx, `SELECT value FROM counters WHERE name = 'seq'`).Scan(&pgSeq); err != nil {
		t.Fatal(err)
	}
	if err := src.DB().R.QueryRow(`SELECT value FROM counters WHERE name = 'seq'`).Scan(&sqSeq); err != nil {
		t.Fatal(err)
	}
	if pgSeq != sqSeq || pgSeq == 0 {
		t.Errorf("seq counter %d on PostgreSQL, %d on SQLite", pgSeq, sqSeq)
	}
}

// TestCopyFromSQLite_VerificationCatchesAnAlteredRow: a row the target
// stores other than it was sent (here a trigger renames every venue) fails
// the checksum, and the whole copy is rolled back.
func TestCopyFromSQLite_VerificationCatchesAnAlteredRow(t *testing.T) {
	ctx := context.Background()
	src := sqliteDeployment(t)
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION rename_venue() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.name := NEW.name || ' (altered)'; RETURN NEW; END $$;
		CREATE TRIGGER rename_venue BEFORE INSERT ON venues FOR EACH ROW EXECUTE FUNCTION rename_venue()`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.CopyFromSQLite(ctx, src.DB(), dsn)
	if err == nil || !strings.Contains(err.Error(), "verification failed") || !strings.Contains(err.Error(), "venues") {
		t.Fatalf("copy through an altering trigger: %v; want the venues checksum to fail", err)
	}
	var users int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Fatalf("%d users left after the failed copy (%v); want none", users, err)
	}
}
