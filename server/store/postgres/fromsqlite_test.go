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

// sqliteDeployment is a SQLite store with two squads, two inspectors of
// squad 1, a co-inspector from squad 2, a venue with one pushed inspection
// naming two photos (one whose bytes its device sent, a proven claim, and
// one still pending) and a venue moved to squad 2 (its history row keeps
// the venue as squad 1 saw it).
func sqliteDeployment(t *testing.T) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	squad, other := int64(1), int64(2)
	u := store.User{ID: uuid.NewString(), Username: "inspector", DisplayName: "Inspector", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}
	colleague := store.User{ID: uuid.NewString(), Username: "colleague", DisplayName: "Colleague", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}
	borrowed := store.User{ID: uuid.NewString(), Username: "borrowed", DisplayName: "Borrowed", Role: schema.RoleInspector, SquadID: &other, PasswordHash: "x"}
	v := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: "Venue", Licensed: true, OpenState: schema.OpenStateOpen, Lat: 35.1, Lng: 118.1}
	moved := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindKTV, Name: "Moved", Licensed: true, OpenState: schema.OpenStateOpen, Lat: 35.1, Lng: 118.15}
	if err := s.Import(ctx, store.Dataset{Squads: []store.Squad{{ID: squad, Name: "Squad", Bounds: [4]float64{35, 118, 35.2, 118.2}},
		{ID: other, Name: "Other", Bounds: [4]float64{35, 118, 35.2, 118.2}}},
		Users: []store.User{u, colleague, borrowed}, Venues: []schema.Venue{v, moved}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCoInspector(ctx, squad, borrowed.Username, "admin", schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveVenue(ctx, moved.ID, other); err != nil {
		t.Fatal(err)
	}
	start, end := time.Now().Add(-time.Hour), time.Now().Add(-time.Minute)
	in := &schema.Inspection{ID: uuid.NewString(), VenueID: v.ID, Status: schema.StatusSubmitted, ChecklistVersion: schema.DefaultChecklistVersion,
		Inspectors: []schema.Inspector{{Username: "inspector"}, {Username: "colleague"}}, StartedAt: start, FinishedAt: &end}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for _, it := range cl.Items {
		in.Items = append(in.Items, schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass})
	}
	device := uuid.NewString()
	in.Items[3].Result = schema.ResultFail
	in.Items[0].Photos = []schema.PhotoRef{
		{SHA256: sentPhoto, Size: 2048, MediaType: "image/jpeg", CapturedAt: start, DeviceID: device},
		{SHA256: awaitedPhoto, Size: 4096, MediaType: "image/jpeg", CapturedAt: start, DeviceID: device},
	}
	res, err := s.Push(ctx, store.PushInput{DeviceID: device, UserID: u.ID, SquadID: &squad, ReceivedAt: time.Now(),
		Request: &schema.PushRequest{Mutations: []schema.Mutation{{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert,
			HLC: schema.NewClock("d", time.Now).Tick().String(), Inspection: in}}}})
	if err != nil || res[0].Outcome != schema.OutcomeApplied {
		t.Fatalf("push: %+v %v", res, err)
	}
	if err := s.RecordPhoto(ctx, store.Photo{SHA256: sentPhoto, Size: 2048, MediaType: "image/jpeg", ReceivedAt: time.Now()},
		store.Uploader{DeviceID: device, UserID: u.ID, SquadID: squad}); err != nil {
		t.Fatal(err)
	}
	// Approved, its failed item is a finding ordered corrected: the ledger
	// and the year's order number move with the deployment.
	if _, err := s.ReviewInspection(ctx, in.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader"}, schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	page, err := s.Findings(ctx, store.FindingFilter{})
	if err != nil || len(page.Findings) != 1 {
		t.Fatalf("findings %+v, %v", page.Findings, err)
	}
	if _, err := s.ActOnFinding(ctx, page.Findings[0].ID, schema.FindingAction{Action: schema.FindingActOrder, By: "leader",
		Deadline: time.Now().Add(24 * time.Hour), Text: "register every user"}, schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	return s
}

// The photos sqliteDeployment's inspection names.
var (
	sentPhoto    = strings.Repeat("5e", 32)
	awaitedPhoto = strings.Repeat("a7", 32)
)

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
	if rows["inspections"] != 1 || rows["inspection_items"] == 0 || rows["applied_mutations"] != 1 || rows["counters"] != 1 ||
		rows["squad_co_inspectors"] != 1 || rows["inspection_photos"] != 2 || rows["photos"] != 1 || rows["photo_receipts"] != 1 {
		t.Errorf("copied %v; want the inspection, its answers and photo references, its recorded answer, the co-inspector, "+
			"the photo sent with its receipt and the counter", rows)
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
	// The claims came along: the sent photo is proven, the other pending.
	for sha, want := range map[string]string{sentPhoto: schema.ClaimProven, awaitedPhoto: schema.ClaimPending} {
		var claim string
		if err := pool.QueryRow(ctx, `SELECT claim FROM inspection_photos WHERE sha256 = $1`, sha).Scan(&claim); err != nil || claim != want {
			t.Errorf("claim to photo %s on PostgreSQL: %q (%v); want %q", sha[:8], claim, err, want)
		}
	}
	// The audit log came along with its hashes, and appends chain on.
	nAudit := rows["audit_log"]
	if nAudit != 6 {
		t.Errorf("copied %d audit entries; want the enrollment's three, the pushed inspection's, the co-inspector's and the move's", nAudit)
	}
	pg, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if next, err := pg.AppendAudit(ctx, schema.AuditEntry{EntityKind: schema.AuditUser, EntityID: "u", Action: "login"}); err != nil || next.Seq != int64(nAudit)+1 {
		t.Errorf("append after the copy: %+v %v; want seq %d", next, err, nAudit+1)
	}
	if n, brk, err := store.VerifyAudit(ctx, pg); n != int64(nAudit)+1 || brk != nil || err != nil {
		t.Errorf("audit chain on PostgreSQL: %d entries, %v, %v; want %d intact", n, brk, err, nAudit+1)
	}
	// The moved venue's copy as squad 1 saw it came along.
	var seen string
	if err := pool.QueryRow(ctx, `SELECT venue FROM venue_squad_history WHERE squad_id = 1 AND to_at IS NOT NULL`).Scan(&seen); err != nil ||
		!strings.Contains(seen, `"Moved"`) {
		t.Errorf("moved venue's history row on PostgreSQL holds %q (%v); want the venue as squad 1 saw it", seen, err)
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
