package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
)

// The benchmarks push and pull 10,000 inspections of 16 answered items in
// batches (and pages) of 1,000, and measure in the same run the limit of
// the database itself: the same inspections written with COPY, and read
// with plain queries, in transactions of 1,000. ratio is the store's rate
// over that limit.
const (
	benchInspections = 10_000
	benchBatch       = 1_000
)

// benchEnv is a store holding one squad, its inspector, 100 venues and a
// device id.
type benchEnv struct {
	s        *postgres.Store
	user     store.User
	device   string
	venueIDs []string
	clock    *schema.Clock
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	squad := int64(1)
	e := &benchEnv{s: s, device: uuid.Must(uuid.NewV7()).String(), clock: schema.NewClock("bench-device", time.Now),
		user: store.User{ID: uuid.NewString(), Username: "inspector", DisplayName: "Inspector", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}}
	d := store.Dataset{Squads: []store.Squad{{ID: squad, Name: "Squad", Bounds: [4]float64{35, 118, 35.2, 118.2}}}, Users: []store.User{e.user}}
	for i := 0; i < 100; i++ {
		v := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: fmt.Sprintf("Venue %d", i), Licensed: true,
			OpenState: schema.OpenStateOpen, Lat: 35.1, Lng: 118.1}
		d.Venues = append(d.Venues, v)
		e.venueIDs = append(e.venueIDs, v.ID)
	}
	if err := s.Import(ctx, d); err != nil {
		b.Fatal(err)
	}
	return e
}

// inspections builds n submitted inspections answering every item of the
// default checklist, a fifth of them failed with a note, as a device
// sends them.
func (e *benchEnv) inspections(b *testing.B, n int) []*schema.Inspection {
	b.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	out := make([]*schema.Inspection, n)
	for i := range out {
		start := now.Add(-time.Duration(n-i) * time.Second)
		end := start.Add(20 * time.Minute)
		in := &schema.Inspection{ID: uuid.Must(uuid.NewV7()).String(), VenueID: e.venueIDs[i%len(e.venueIDs)], Status: schema.StatusSubmitted,
			ChecklistVersion: cl.Version, Inspectors: []schema.Inspector{{Username: e.user.Username, BadgeNo: "37130001"}, {Username: "co-inspector", BadgeNo: "37130002"}},
			StartedAt: start, FinishedAt: &end}
		for j, it := range cl.Items {
			r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
			if j%5 == 0 {
				r.Result, r.Note = schema.ResultFail, "现场发现问题，已责令改正 (finding noted on site)"
			}
			in.Items = append(in.Items, r)
		}
		out[i] = in
	}
	return out
}

// push pushes the inspections in batches of benchBatch.
func (e *benchEnv) push(b *testing.B, list []*schema.Inspection) {
	b.Helper()
	ctx := context.Background()
	for lo := 0; lo < len(list); lo += benchBatch {
		muts := make([]schema.Mutation, 0, benchBatch)
		for _, in := range list[lo:min(lo+benchBatch, len(list))] {
			muts = append(muts, schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert, HLC: e.clock.Tick().String(), Inspection: in})
		}
		res, err := e.s.Push(ctx, store.PushInput{DeviceID: e.device, UserID: e.user.ID, SquadID: e.user.SquadID, ReceivedAt: time.Now(),
			Request: &schema.PushRequest{Mutations: muts}})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Outcome != schema.OutcomeApplied {
				b.Fatalf("mutation %s: %+v", r.ID, r)
			}
		}
	}
}

// rawWrite writes the inspections as the store stores them, each as its
// row and 16 answer rows, with COPY in transactions of benchBatch, into a
// database of its own: the limit.
func rawWrite(b *testing.B, pool *pgxpool.Pool, e *benchEnv, list []*schema.Inspection, seq *int64) {
	b.Helper()
	ctx := context.Background()
	now := schema.FormatTime(time.Now())
	for lo := 0; lo < len(list); lo += benchBatch {
		rows := make([][]any, 0, benchBatch)
		var items [][]any
		for _, in := range list[lo:min(lo+benchBatch, len(list))] {
			*seq++
			inspectors, _ := json.Marshal(in.Inspectors)
			rows = append(rows, []any{in.ID, in.VenueID, *e.user.SquadID, e.device, e.user.ID, in.ChecklistVersion, in.Status, string(inspectors),
				schema.FormatTime(in.StartedAt), schema.FormatTime(*in.FinishedAt), e.clock.Tick().String(), false, now, now, *seq})
			for i, it := range in.Items {
				items = append(items, []any{in.ID, it.ItemID, int32(i), it.Result, it.Note, ""})
			}
		}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"inspections"}, []string{"id", "venue_id", "squad_id", "device_id", "author_id",
				"checklist_version", "status", "inspectors", "started_at", "finished_at", "hlc", "time_suspect", "received_at",
				"updated_at", "seq"}, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"inspection_items"}, []string{"inspection_id", "item_id", "position", "result", "note", "severity"},
				pgx.CopyFromRows(items))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// rawRead reads the device's inspections back in pages of benchBatch with
// their answers, scanning every column: the limit of a pull.
func rawRead(b *testing.B, pool *pgxpool.Pool, device string) int {
	b.Helper()
	ctx := context.Background()
	var after int64
	n := 0
	for {
		got := 0
		err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at,
				finished_at, hlc, time_suspect, review, seq FROM inspections WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
				device, after, benchBatch)
			if err != nil {
				return err
			}
			var id, venue, dev, author, cv, status, inspectors, started, hlc string
			var squad, seq int64
			var finished, review *string
			var suspect bool
			var ids []string
			for rows.Next() {
				if err := rows.Scan(&id, &venue, &squad, &dev, &author, &cv, &status, &inspectors, &started, &finished, &hlc,
					&suspect, &review, &seq); err != nil {
					return err
				}
				got++
				after = seq
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			rows, err = tx.Query(ctx, `SELECT inspection_id, item_id, result, note FROM inspection_items WHERE inspection_id = ANY($1)
				ORDER BY inspection_id, position`, ids)
			if err != nil {
				return err
			}
			defer rows.Close()
			var item, result, note string
			for rows.Next() {
				if err := rows.Scan(&id, &item, &result, &note); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		if err != nil {
			b.Fatal(err)
		}
		n += got
		if got < benchBatch {
			return n
		}
	}
}

// BenchmarkPostgresPush pushes 10,000 inspections through the store in
// pushes of 1,000, and writes the same inspections with COPY in
// transactions of 1,000 into a second database.
func BenchmarkPostgresPush(b *testing.B) {
	e := newBenchEnv(b)
	raw := newBenchEnv(b)
	var seq int64 = 1 << 40 // above every seq of the store's own rows
	var storeTime, rawTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		list := e.inspections(b, benchInspections)
		rawList := raw.inspections(b, benchInspections)
		b.StartTimer()
		t0 := time.Now()
		rawWrite(b, raw.s.Pool(), raw, rawList, &seq)
		t1 := time.Now()
		e.push(b, list)
		storeTime += time.Since(t1)
		rawTime += t1.Sub(t0)
	}
	n := float64(b.N * benchInspections)
	b.ReportMetric(n/storeTime.Seconds(), "inspections/s")
	b.ReportMetric(n/rawTime.Seconds(), "raw-inspections/s")
	b.ReportMetric(rawTime.Seconds()/storeTime.Seconds(), "ratio")
}

// BenchmarkPostgresPull pulls everything a device holds (its 10,000
// inspections, the squad's venues, members and the checklists) from an
// empty cursor in pages of 1,000, and reads the same inspections with
// plain queries in pages of 1,000.
func BenchmarkPostgresPull(b *testing.B) {
	e := newBenchEnv(b)
	e.push(b, e.inspections(b, benchInspections))
	ctx := context.Background()
	var storeTime, rawTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if n := rawRead(b, e.s.Pool(), e.device); n != benchInspections {
			b.Fatalf("raw read %d inspections", n)
		}
		t1 := time.Now()
		cursor, got := "", 0
		for {
			p, err := e.s.Pull(ctx, store.PullInput{UserID: e.user.ID, DeviceID: e.device, SquadID: e.user.SquadID, Cursor: cursor, Limit: benchBatch})
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range p.Changes {
				if c.Kind == schema.ChangeInspection {
					got++
				}
			}
			cursor = p.Cursor
			if !p.More {
				break
			}
		}
		if got != benchInspections {
			b.Fatalf("pulled %d inspections", got)
		}
		storeTime += time.Since(t1)
		rawTime += t1.Sub(t0)
	}
	n := float64(b.N * benchInspections)
	b.ReportMetric(n/storeTime.Seconds(), "inspections/s")
	b.ReportMetric(n/rawTime.Seconds(), "raw-inspections/s")
	b.ReportMetric(rawTime.Seconds()/storeTime.Seconds(), "ratio")
}

// BenchmarkPostgresConcurrentPushes measures what the counter row costs:
// pushes of 10 inspections from 1 and from 8 devices at once. Pushes
// serialise on the row from their first statement to their commit, so 8
// writers reach little more than 1 does, as with SQLite's one writer.
func BenchmarkPostgresConcurrentPushes(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			e := newBenchEnv(b)
			devices := make([]*benchEnv, writers)
			for i := range devices {
				d := *e
				d.device = uuid.Must(uuid.NewV7()).String()
				d.clock = schema.NewClock(d.device, time.Now)
				devices[i] = &d
			}
			const perPush = 10
			lists := make([][]*schema.Inspection, writers)
			for i := range lists {
				lists[i] = e.inspections(b, perPush*b.N)
			}
			b.ResetTimer()
			t0 := time.Now()
			var wg sync.WaitGroup
			for w := range devices {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < b.N; i++ {
						devices[w].pushSmall(b, lists[w][i*perPush:(i+1)*perPush])
					}
				}()
			}
			wg.Wait()
			el := time.Since(t0)
			b.ReportMetric(float64(writers*b.N)/el.Seconds(), "pushes/s")
			b.ReportMetric(float64(writers*b.N*perPush)/el.Seconds(), "inspections/s")
		})
	}
}

// pushSmall pushes one small batch; safe from any goroutine.
func (e *benchEnv) pushSmall(b *testing.B, list []*schema.Inspection) {
	muts := make([]schema.Mutation, 0, len(list))
	for _, in := range list {
		muts = append(muts, schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert, HLC: e.clock.Tick().String(), Inspection: in})
	}
	if _, err := e.s.Push(context.Background(), store.PushInput{DeviceID: e.device, UserID: e.user.ID, SquadID: e.user.SquadID,
		ReceivedAt: time.Now(), Request: &schema.PushRequest{Mutations: muts}}); err != nil {
		b.Error(err)
	}
}
