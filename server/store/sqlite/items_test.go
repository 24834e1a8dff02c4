package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// itemsEnv is a store with one squad, two inspectors and one venue.
type itemsEnv struct {
	t     *testing.T
	st    *sqlite.Store
	now   time.Time
	squad int64
	venue string
	clock *schema.Clock
}

func newItemsEnv(t *testing.T) *itemsEnv {
	t.Helper()
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "patrol.db"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	squad := int64(1)
	venue := uuid.NewString()
	err = st.Import(context.Background(), store.Dataset{
		Squads: []store.Squad{{ID: squad, Name: "一中队", Bounds: [4]float64{35, 118, 35.2, 118.4}}},
		Users: []store.User{
			{ID: "u1", Username: "inspector1", DisplayName: "Li Wei", BadgeNo: "37130001", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"},
			{ID: "u2", Username: "inspector2", DisplayName: "Wang Fang", BadgeNo: "37130002", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"},
		},
		Venues: []schema.Venue{schema.Venue{ID: venue, SquadID: squad, Kind: schema.KindNetCafe, Name: "网吧", Lat: 35.1, Lng: 118.3}.Stamped("000000000000001.00000.server")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &itemsEnv{t: t, st: st, now: now, squad: squad, venue: venue, clock: schema.NewClock("dev-1", func() time.Time { return now })}
}

// inspection is a submitted record answering every item of the default
// checklist, in reverse checklist order, NC03 failed with a note and two
// photos (one of them named twice).
func (e *itemsEnv) inspection() *schema.Inspection {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		e.t.Fatal(err)
	}
	start, end := e.now.Add(-time.Hour), e.now.Add(-30*time.Minute)
	lat, lng := 35.0612, 118.3425
	in := &schema.Inspection{ID: uuid.NewString(), VenueID: e.venue, Status: schema.StatusSubmitted, ChecklistVersion: cl.Version,
		Inspectors: []schema.Inspector{{Username: "inspector1", BadgeNo: "37130001"}, {Username: "inspector2"}}, StartedAt: start, FinishedAt: &end}
	for i := len(cl.Items) - 1; i >= 0; i-- {
		r := schema.ItemResult{ItemID: cl.Items[i].ID, Result: schema.ResultPass}
		if r.ItemID == "NC03" {
			shot := start.Add(90*time.Second + 123456789)
			r.Result, r.Note = schema.ResultFail, "两名未成年人在场"
			r.Photos = []schema.PhotoRef{
				{SHA256: strings.Repeat("a1", 32), Size: 700_000, MediaType: "image/jpeg", CapturedAt: shot, Lat: &lat, Lng: &lng, DeviceID: "dev-1"},
				{SHA256: strings.Repeat("b2", 32), Size: 90_000, MediaType: "image/heic", CapturedAt: shot, DeviceID: "dev-0", TimeSuspect: true},
				{SHA256: strings.Repeat("a1", 32), Size: 700_000, MediaType: "image/jpeg", CapturedAt: shot, Lat: &lat, Lng: &lng, DeviceID: "dev-1"},
			}
		}
		in.Items = append(in.Items, r)
	}
	return in
}

func (e *itemsEnv) push(ins ...*schema.Inspection) []schema.MutationResult {
	e.t.Helper()
	req := &schema.PushRequest{ClientTime: e.now}
	for _, in := range ins {
		req.Mutations = append(req.Mutations, schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert,
			HLC: e.clock.Tick().String(), Inspection: in})
	}
	res, err := e.st.Push(context.Background(), store.PushInput{DeviceID: "dev-1", UserID: "u1", SquadID: &e.squad, Request: req, ReceivedAt: e.now})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != schema.OutcomeApplied {
			e.t.Fatalf("push answered %+v", r)
		}
	}
	return res
}

// rows counts rows of a query with one argument.
func (e *itemsEnv) rows(q string, arg any) int {
	e.t.Helper()
	var n int
	if err := e.st.DB().R.QueryRow(q, arg).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// sameItems compares items as the wire carries them (times as instants).
func sameItems(t *testing.T, what string, got, want []schema.ItemResult) {
	t.Helper()
	norm := func(items []schema.ItemResult) []schema.ItemResult {
		out := make([]schema.ItemResult, len(items))
		for i, it := range items {
			out[i] = it
			out[i].Photos = nil
			for _, p := range it.Photos {
				p.CapturedAt = p.CapturedAt.UTC()
				p.Received = false
				out[i].Photos = append(out[i].Photos, p)
			}
		}
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s items differ:\n got %+v\nwant %+v", what, g, w)
	}
}

func TestInspectionItems_WrittenAsRowsAndReadBack(t *testing.T) {
	e := newItemsEnv(t)
	in := e.inspection()
	e.push(in)
	if n := e.rows(`SELECT count(*) FROM inspection_items WHERE inspection_id = ?`, in.ID); n != 16 {
		t.Fatalf("%d item rows; want 16", n)
	}
	if n := e.rows(`SELECT count(*) FROM inspection_items WHERE inspection_id = ? AND item_id = 'NC03' AND result = 'fail'
		AND severity = 'critical' AND note = '两名未成年人在场'`, in.ID); n != 1 {
		t.Fatalf("NC03 row: %d matching; want one failed, critical, with its note", n)
	}
	if n := e.rows(`SELECT count(*) FROM inspection_items WHERE inspection_id = ? AND item_id = 'NC16' AND severity = 'minor'`, in.ID); n != 1 {
		t.Fatal("NC16 does not carry its checklist severity")
	}
	if n := e.rows(`SELECT count(*) FROM inspection_photos WHERE inspection_id = ?`, in.ID); n != 3 {
		t.Fatalf("%d photo rows; want 3 (one named twice)", n)
	}
	got, err := e.st.Inspection(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, "API read", got.Items, in.Items)
	if len(got.MissingPhotos) != 2 || !slices.Contains(got.Flags, schema.FlagPhotosMissing) {
		t.Fatalf("missing %v, flags %v; want both photos missing and flagged", got.MissingPhotos, got.Flags)
	}
	page, err := e.st.Pull(context.Background(), store.PullInput{UserID: "u1", DeviceID: "dev-1", SquadID: &e.squad})
	if err != nil {
		t.Fatal(err)
	}
	pulled := 0
	for _, ch := range page.Changes {
		if ch.Kind == schema.ChangeInspection && ch.ID == in.ID {
			pulled++
			sameItems(t, "pull", ch.Inspection.Items, in.Items)
		}
	}
	if pulled != 1 {
		t.Fatalf("the device pulled its inspection %d times", pulled)
	}
}

func TestInspectionItems_ReplacedWithTheInspection(t *testing.T) {
	e := newItemsEnv(t)
	in := e.inspection()
	e.push(in)
	amended := *in
	amended.Items = nil
	for _, it := range in.Items {
		if it.ItemID == "NC03" {
			it.Result, it.Note, it.Photos = schema.ResultPass, "复查已整改", it.Photos[1:2]
		}
		if it.ItemID == "NC12" {
			it.Result = schema.ResultFail
		}
		amended.Items = append(amended.Items, it)
	}
	e.push(&amended)
	if n := e.rows(`SELECT count(*) FROM inspection_items WHERE inspection_id = ?`, in.ID); n != 16 {
		t.Fatalf("%d item rows after the amendment; want 16", n)
	}
	if n := e.rows(`SELECT count(*) FROM inspection_items WHERE inspection_id = ? AND result = 'fail'`, in.ID); n != 1 {
		t.Fatalf("%d failed items after the amendment; want NC12 only", n)
	}
	if n := e.rows(`SELECT count(*) FROM inspection_photos WHERE inspection_id = ?`, in.ID); n != 1 {
		t.Fatalf("%d photo rows after the amendment; want 1", n)
	}
	got, err := e.st.Inspection(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, "amended", got.Items, amended.Items)
}

// failingStream yields muts, then fails.
type failingStream struct {
	muts []schema.Mutation
	next int
}

func (f *failingStream) Next(m *schema.Mutation) (bool, error) {
	if f.next == len(f.muts) {
		return false, errors.New("body cut short")
	}
	*m = f.muts[f.next]
	f.next++
	return true, nil
}

func TestInspectionItems_InTheInspectionsTransaction(t *testing.T) {
	e := newItemsEnv(t)
	// Past the first chunk and many insert groups: rows were written
	// before the stream failed.
	src := &failingStream{}
	for i := 0; i < 300; i++ {
		src.muts = append(src.muts, schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert,
			HLC: e.clock.Tick().String(), Inspection: e.inspection()})
	}
	_, err := e.st.Push(context.Background(), store.PushInput{DeviceID: "dev-1", UserID: "u1", SquadID: &e.squad, Stream: src, ReceivedAt: e.now})
	if err == nil {
		t.Fatal("a push whose body fails was applied")
	}
	for _, table := range []string{"inspections", "inspection_items", "inspection_photos", "applied_mutations"} {
		if n := e.rows(`SELECT count(*) FROM `+table+` WHERE ? = 1`, 1); n != 0 {
			t.Errorf("%s holds %d rows of a push that failed", table, n)
		}
	}
}

// TestInspectionItems_LedgerQueriesUseIndexes holds the claim of migration
// 0006: the findings ledger and per-item rollups read through indexes,
// never a scan of every answer.
func TestInspectionItems_LedgerQueriesUseIndexes(t *testing.T) {
	e := newItemsEnv(t)
	e.push(e.inspection(), e.inspection())
	for _, q := range []struct {
		name, sql string
		args      []any
	}{
		{"findings of an item", `SELECT inspection_id, severity, note FROM inspection_items WHERE item_id = ? AND result = 'fail'`, []any{"NC03"}},
		{"findings of a venue", `SELECT i.id, it.item_id, it.severity FROM inspections i JOIN inspection_items it ON it.inspection_id = i.id
			WHERE i.venue_id = ? AND it.result = 'fail' ORDER BY i.started_at DESC`, []any{e.venue}},
		{"answers of a squad's month by item and result", `SELECT it.item_id, it.result, count(*) FROM inspections i
			JOIN inspection_items it ON it.inspection_id = i.id
			WHERE i.squad_id = ? AND i.status = ? AND i.started_at >= ? AND i.started_at < ? GROUP BY it.item_id, it.result`,
			[]any{1, schema.StatusSubmitted, "2026-11-01", "2026-12-01"}},
	} {
		rows, err := e.st.DB().R.Query(`EXPLAIN QUERY PLAN `+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN") {
				t.Errorf("%s scans: %v", q.name, plan)
			}
		}
	}
}
