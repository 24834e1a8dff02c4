package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

const (
	benchInspections = 10_000
	benchPushBatch   = 1000
	benchVenues      = 10_000
	benchRawTx       = 1_000
)

// benchInspectionSet builds n submitted inspections of the given venues,
// each answering all 16 items with a note, the way a device sends them.
func benchInspectionSet(b *testing.B, n int, venueIDs []string, username string, now time.Time) []*schema.Inspection {
	b.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]*schema.Inspection, n)
	for i := range out {
		start := now.Add(-time.Duration(n-i) * time.Minute)
		end := start.Add(20 * time.Minute)
		in := &schema.Inspection{ID: uuid.Must(uuid.NewV7()).String(), VenueID: venueIDs[i%len(venueIDs)], Status: schema.StatusSubmitted,
			ChecklistVersion: cl.Version, Inspectors: []schema.Inspector{{Username: username, BadgeNo: "37130001"}, {Username: "co-inspector", BadgeNo: "37130002"}},
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

// benchServer is a fresh server on a loopback listener with one squad, its
// venues and one enrolled device.
type benchServer struct {
	srv      *server.Server
	http     *httptest.Server
	token    string
	username string
	venueIDs []string
}

func newBenchServer(b *testing.B, venues int) *benchServer {
	b.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	db := srv.Store().(*sqlite.Store).DB()
	now := time.Now().UTC()
	ids := make([]string, venues)
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 'Squad 1', 35.0, 118.2, 35.2, 118.4)`); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRow(`SELECT value FROM counters WHERE name = 'seq'`).Scan(&seq); err != nil {
			return err
		}
		st, err := tx.Prepare(`INSERT INTO venues (id, squad_id, kind, name, address, licence_no, licensed, phone, open_state, lat, lng, clocks, created_at, updated_at, seq)
			VALUES (?, 1, 'net_cafe', ?, ?, ?, 1, '0539-8888888', 'open', ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		hst, err := tx.Prepare(`INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES (?, 1, ?)`)
		if err != nil {
			return err
		}
		defer hst.Close()
		ts := schema.FormatTime(now)
		hlc := schema.HLC{WallMS: now.UnixMilli(), Node: "server"}.String()
		clocks, _ := json.Marshal(map[string]string{"name": hlc, "address": hlc, "licence_no": hlc, "licensed": hlc, "phone": hlc, "open_state": hlc})
		for i := range ids {
			ids[i] = uuid.NewString()
			seq++
			if _, err := st.Exec(ids[i], fmt.Sprintf("网吧 %05d", i), fmt.Sprintf("兰山区 沂蒙路 %d 号", i), fmt.Sprintf("37130210%06d", i),
				35.0+float64(i%1000)*0.0002, 118.2+float64(i/1000)*0.02, string(clocks), ts, ts, seq); err != nil {
				return err
			}
			if _, err := hst.Exec(ids[i], ts); err != nil {
				return err
			}
		}
		_, err = tx.Exec(`UPDATE counters SET value = ? WHERE name = 'seq'`, seq)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	hash, err := auth.HashPassword("bench")
	if err != nil {
		b.Fatal(err)
	}
	squad := int64(1)
	for _, u := range []store.User{
		{Username: "inspector1", DisplayName: "Inspector 1", BadgeNo: "37130001", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: hash},
		{Username: "co-inspector", DisplayName: "Inspector 2", BadgeNo: "37130002", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: hash},
	} {
		if _, err := srv.Store().CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	code, err := srv.EnrollmentCode(ctx, "inspector1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	bs := &benchServer{srv: srv, http: hs, username: "inspector1", venueIDs: ids}
	var er schema.EnrollResponse
	bs.post(b, schema.PathEnroll, schema.EnrollRequest{Code: code, DeviceName: "bench"}, &er)
	bs.token = er.Token
	return bs
}

func (bs *benchServer) close() { bs.http.Close(); bs.srv.Close() }

func (bs *benchServer) post(b *testing.B, path string, v, out any) {
	body, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	bs.postRaw(b, path, body, out)
}

func (bs *benchServer) postRaw(b *testing.B, path string, body []byte, out any) {
	req, _ := http.NewRequest("POST", bs.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bs.token != "" {
		req.Header.Set("Authorization", "Bearer "+bs.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(res.Body)
		b.Fatalf("POST %s: %d %s", path, res.StatusCode, msg)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPushInspections(b *testing.B) {
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bs := newBenchServer(b, 100)
		set := benchInspectionSet(b, benchInspections, bs.venueIDs, bs.username, time.Now())
		// The device's outbox holds each mutation already serialized, so
		// request bodies are built before the clock starts.
		clock := schema.NewClock("bench-device", nil)
		var bodies [][]byte
		for off := 0; off < len(set); off += benchPushBatch {
			req := schema.PushRequest{ClientTime: time.Now(), HLC: clock.Tick().String()}
			for _, in := range set[off : off+benchPushBatch] {
				id, _ := uuid.NewV7()
				req.Mutations = append(req.Mutations, schema.Mutation{ID: id.String(), Kind: schema.MutInspectionUpsert, HLC: clock.Tick().String(), Inspection: in})
			}
			body, err := json.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			bodies = append(bodies, body)
		}
		b.StartTimer()
		start := time.Now()
		for _, body := range bodies {
			var pr schema.PushResponse
			bs.postRaw(b, schema.PathPush, body, &pr)
			for _, r := range pr.Results {
				if r.Outcome != schema.OutcomeApplied {
					b.Fatalf("push answered %+v", r)
				}
			}
		}
		elapsed += time.Since(start)
		b.StopTimer()
		bs.close()
	}
	b.ReportMetric(float64(benchInspections*b.N)/elapsed.Seconds(), "inspections/s")
}

// BenchmarkInitialPullVenues has a fresh device of the real device library
// pull 10,000 venues of its squad over loopback HTTP (gzip pages), applying
// every page and its cursor to its own SQLite store in one transaction.
func BenchmarkInitialPullVenues(b *testing.B) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bs := newBenchServer(b, benchVenues)
		code, err := bs.srv.EnrollmentCode(ctx, bs.username, "bench")
		if err != nil {
			b.Fatal(err)
		}
		dev, err := mobilesync.Open(ctx, mobilesync.Options{Path: filepath.Join(b.TempDir(), "device.db"), Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		if err := dev.Enroll(ctx, bs.http.URL, code, "bench"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := dev.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		vs, err := dev.Venues(ctx)
		if err != nil || len(vs) != benchVenues {
			b.Fatalf("device holds %d venues (%v); want %d", len(vs), err, benchVenues)
		}
		dev.Close()
		bs.close()
	}
	b.ReportMetric(float64(benchVenues*b.N)/elapsed.Seconds(), "venues/s")
}

func BenchmarkRawSQLiteUpsert(b *testing.B) {
	venueIDs := make([]string, 100)
	for i := range venueIDs {
		venueIDs[i] = uuid.NewString()
	}
	set := benchInspectionSet(b, benchInspections, venueIDs, "inspector1", time.Now())
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := schema.Open(filepath.Join(b.TempDir(), "raw.db"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.W.Exec(`CREATE TABLE inspections (id TEXT PRIMARY KEY, venue_id TEXT NOT NULL, status TEXT NOT NULL,
			started_at TEXT NOT NULL, finished_at TEXT, items TEXT NOT NULL, updated_at TEXT NOT NULL)`); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		for off := 0; off < len(set); off += benchRawTx {
			err := db.WriteTx(ctx, func(tx *sql.Tx) error {
				st, err := tx.Prepare(`INSERT INTO inspections (id, venue_id, status, started_at, finished_at, items, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, status = excluded.status, started_at = excluded.started_at,
					finished_at = excluded.finished_at, items = excluded.items, updated_at = excluded.updated_at`)
				if err != nil {
					return err
				}
				defer st.Close()
				now := schema.FormatTime(time.Now())
				for _, in := range set[off : off+benchRawTx] {
					items, err := json.Marshal(in.Items)
					if err != nil {
						return err
					}
					if _, err := st.Exec(in.ID, in.VenueID, in.Status, schema.FormatTime(in.StartedAt), schema.FormatTime(*in.FinishedAt), string(items), now); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		b.StopTimer()
		db.Close()
	}
	b.ReportMetric(float64(benchInspections*b.N)/elapsed.Seconds(), "rows/s")
}

// BenchmarkRawSQLiteUpsertItems is the floor once answers are rows: the
// same 10,000 inspections upserted into a fresh SQLite file with the same
// pragmas, each with its 16 item rows, plain prepared statements in
// transactions of 1,000 inspections, no secondary indexes.
func BenchmarkRawSQLiteUpsertItems(b *testing.B) {
	venueIDs := make([]string, 100)
	for i := range venueIDs {
		venueIDs[i] = uuid.NewString()
	}
	set := benchInspectionSet(b, benchInspections, venueIDs, "inspector1", time.Now())
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := schema.Open(filepath.Join(b.TempDir(), "raw.db"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.W.Exec(`CREATE TABLE inspections (id TEXT PRIMARY KEY, venue_id TEXT NOT NULL, status TEXT NOT NULL,
			started_at TEXT NOT NULL, finished_at TEXT, updated_at TEXT NOT NULL);
			CREATE TABLE inspection_items (inspection_id TEXT NOT NULL, item_id TEXT NOT NULL,
			result TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (inspection_id, item_id)) WITHOUT ROWID`); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		for off := 0; off < len(set); off += benchRawTx {
			err := db.WriteTx(ctx, func(tx *sql.Tx) error {
				st, err := tx.Prepare(`INSERT INTO inspections (id, venue_id, status, started_at, finished_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
					ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, status = excluded.status, started_at = excluded.started_at,
					finished_at = excluded.finished_at, updated_at = excluded.updated_at`)
				if err != nil {
					return err
				}
				defer st.Close()
				ist, err := tx.Prepare(`INSERT INTO inspection_items (inspection_id, item_id, result, note) VALUES (?, ?, ?, ?)`)
				if err != nil {
					return err
				}
				defer ist.Close()
				now := schema.FormatTime(time.Now())
				for _, in := range set[off : off+benchRawTx] {
					if _, err := st.Exec(in.ID, in.VenueID, in.Status, schema.FormatTime(in.StartedAt), schema.FormatTime(*in.FinishedAt), now); err != nil {
						return err
					}
					for _, it := range in.Items {
						if _, err := ist.Exec(in.ID, it.ItemID, it.Result, it.Note); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		b.StopTimer()
		db.Close()
	}
	b.ReportMetric(float64(benchInspections*b.N)/elapsed.Seconds(), "inspections/s")
}
