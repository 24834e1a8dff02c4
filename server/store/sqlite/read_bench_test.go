package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// readBenchStore is a store holding n inspections of 16 answers each, a
// fifth of them failed with a note, by one device of squad 1.
func readBenchStore(b *testing.B, n int) *sqlite.Store {
	b.Helper()
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "patrol.db"), func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		b.Fatal(err)
	}
	squad := int64(1)
	d := store.Dataset{Squads: []store.Squad{{ID: squad, Name: "s", Bounds: [4]float64{35, 118, 35.2, 118.4}}},
		Users: []store.User{{ID: "u1", Username: "inspector1", DisplayName: "I", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}}}
	for i := 0; i < 100; i++ {
		d.Venues = append(d.Venues, schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: fmt.Sprint("网吧 ", i),
			Lat: 35.1, Lng: 118.3, Clocks: map[string]string{}})
	}
	for i := 0; i < n; i++ {
		start := now.Add(-time.Duration(n-i) * time.Minute)
		end := start.Add(20 * time.Minute)
		in := schema.Inspection{ID: uuid.Must(uuid.NewV7()).String(), VenueID: d.Venues[i%100].ID, SquadID: squad, DeviceID: "dev-1",
			Status: schema.StatusSubmitted, ChecklistVersion: cl.Version, StartedAt: start, FinishedAt: &end, HLC: "h",
			Inspectors: []schema.Inspector{{Username: "inspector1", BadgeNo: "37130001"}, {Username: "co-inspector", BadgeNo: "37130002"}}}
		for j, it := range cl.Items {
			r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
			if j%5 == 0 {
				r.Result, r.Note = schema.ResultFail, "现场发现问题，已责令改正 (finding noted on site)"
			}
			in.Items = append(in.Items, r)
		}
		d.Inspections = append(d.Inspections, store.ImportedInspection{Inspection: in, AuthorID: "u1", ReceivedAt: end})
	}
	if err := st.Import(context.Background(), d); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkListInspections reads the leader list of 500 inspections with
// their answers, venues and photo state.
func BenchmarkListInspections(b *testing.B) {
	st := readBenchStore(b, 2000)
	squad := int64(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list, err := st.ListInspections(context.Background(), store.InspectionFilter{SquadID: &squad, Limit: 500})
		if err != nil || len(list) != 500 || len(list[0].Items) != 16 {
			b.Fatalf("%d inspections, %v", len(list), err)
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "inspections/s")
}

// BenchmarkPullInspections pulls a device's 2,000 inspections back, pages
// of 1,000 changes.
func BenchmarkPullInspections(b *testing.B) {
	st := readBenchStore(b, 2000)
	squad := int64(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cursor, got := "", 0
		for {
			page, err := st.Pull(context.Background(), store.PullInput{UserID: "u1", DeviceID: "dev-1", SquadID: &squad, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			for _, ch := range page.Changes {
				if ch.Kind == schema.ChangeInspection && len(ch.Inspection.Items) == 16 {
					got++
				}
			}
			cursor = page.Cursor
			if !page.More {
				break
			}
		}
		if got != 2000 {
			b.Fatalf("pulled %d inspections", got)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "inspections/s")
}

// BenchmarkApproveInspection approves submitted inspections of four failed
// answers each, in one write transaction apiece: the review, the version
// row and the ledger (new findings, or repeats on the venue's standing
// ones).
func BenchmarkApproveInspection(b *testing.B) {
	st := readBenchStore(b, b.N)
	list, err := st.ListInspections(context.Background(), store.InspectionFilter{Limit: 5000})
	if err != nil {
		b.Fatal(err)
	}
	for len(list) < b.N { // the list stops at 5,000
		more, err := st.ListInspections(context.Background(), store.InspectionFilter{Status: schema.StatusSubmitted, Limit: 5000})
		if err != nil || len(more) == 0 {
			b.Fatalf("%d more, %v", len(more), err)
		}
		list = append(list, more...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.ReviewInspection(context.Background(), list[i].ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader1"},
			schema.AllSquads()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
}

// BenchmarkFindingsPages reads the whole ledger of 400 findings (100
// venues × 4 items, each repeated 4 times) in keyset pages of 50.
func BenchmarkFindingsPages(b *testing.B) {
	st := readBenchStore(b, 500)
	list, err := st.ListInspections(context.Background(), store.InspectionFilter{Limit: 500})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range list {
		if _, err := st.ReviewInspection(context.Background(), in.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "l"}, schema.AllSquads()); err != nil {
			b.Fatal(err)
		}
	}
	squad := int64(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		after, got := "", 0
		for {
			p, err := st.Findings(context.Background(), store.FindingFilter{SquadID: &squad, Sort: store.SortDeadline, After: after, Limit: 50})
			if err != nil {
				b.Fatal(err)
			}
			got += len(p.Findings)
			if after = p.Next; after == "" {
				break
			}
		}
		if got != 400 {
			b.Fatalf("%d findings", got)
		}
	}
	b.ReportMetric(float64(400*b.N)/b.Elapsed().Seconds(), "findings/s")
}
