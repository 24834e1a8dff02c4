package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// TestRecordPhoto_WaitsForAPushInProgress: bytes delivered while a push
// that names them with a pending claim is still open wait for it, and then
// prove the claim it wrote; otherwise the delivery would prove nothing and
// the push, which read no receipt, would leave its claim pending for good.
func TestRecordPhoto_WaitsForAPushInProgress(t *testing.T) {
	ctx := context.Background()
	st := open(t, nil)
	defer st.Close()
	pool := st.Pool()
	for _, q := range []string{
		`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's', 35, 118, 35.2, 118.4)`,
		`INSERT INTO venues (id, squad_id, kind, name, lat, lng, created_at, updated_at, seq) VALUES ('v1', 1, 'net_cafe', 'n', 35.1, 118.3, '', '', 1)`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	sha := strings.Repeat("c3", 32)
	// The push: it holds the counter row and has written its pending claim.
	push, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer push.Rollback(ctx)
	for _, q := range []string{
		`UPDATE counters SET value = value + 1 WHERE name = 'seq'`,
		`INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, hlc,
			received_at, updated_at, seq) VALUES ('i1', 'v1', 1, 'dev-1', 'u1', 'nc16-2018.1', 'submitted', '[]', '', 'h', '', '', 2)`,
		`INSERT INTO inspection_items (inspection_id, item_id, position, result) VALUES ('i1', 'NC12', 0, 'fail')`,
		`INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, squad_id, device_id, claim)
			VALUES ('i1', 'NC12', 0, '` + sha + `', 10, 'image/jpeg', '', 1, 'dev-1', 'pending')`,
	} {
		if _, err := push.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- st.RecordPhoto(ctx, store.Photo{SHA256: sha, Size: 10, MediaType: "image/jpeg", ReceivedAt: time.Unix(0, 0)},
			store.Uploader{DeviceID: "dev-1", UserID: "u1", SquadID: 1})
	}()
	var early error
	finishedEarly := false
	for waiting := false; !waiting && !finishedEarly; {
		select {
		case early = <-done:
			finishedEarly = true
		case <-time.After(5 * time.Millisecond):
			if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := push.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !finishedEarly {
		early = <-done
	}
	if early != nil {
		t.Fatal(early)
	}
	if claim, err := st.DevicePhotoClaim(ctx, "dev-1", "u1", sha); err != nil || claim != schema.ClaimProven {
		t.Fatalf("claim after the delivery (finished before the push committed: %v): %q, %v; want proven", finishedEarly, claim, err)
	}
}
