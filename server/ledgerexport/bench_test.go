package ledgerexport_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/ledgerexport"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// Size of the benchmark's month: four squads, 20,000 approved
// inspections, five findings each.
const (
	benchSquads      = 4
	benchVenues      = 2000
	benchInspections = 20000
	benchFailed      = 5
)

// benchMonth is the month of the benchmark's findings, in China.
var benchMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, store.ChinaTime)

// benchDataset is a district whose November holds 100,000 findings in
// every state of the ledger, each of an inspection by two inspectors with
// badges, the first failed answer of each with a photo.
func benchDataset() store.Dataset {
	var d store.Dataset
	var users []store.User
	for s := int64(1); s <= benchSquads; s++ {
		sq := s
		d.Squads = append(d.Squads, store.Squad{ID: s, Name: fmt.Sprintf("Squad %d", s), Bounds: [4]float64{35, 118, 36, 119}})
		for k := range 2 {
			users = append(users, store.User{ID: uuid.NewString(), Username: fmt.Sprintf("inspector%d%d", s, k), DisplayName: fmt.Sprintf("检查员%d%d", s, k),
				BadgeNo: fmt.Sprintf("JX-%d%03d", s, k), Role: schema.RoleInspector, SquadID: &sq, PasswordHash: "x"})
		}
	}
	d.Users = users
	for i := range benchVenues {
		d.Venues = append(d.Venues, schema.Venue{ID: uuid.NewString(), SquadID: int64(i%benchSquads) + 1, Kind: schema.KindNetCafe,
			Name: fmt.Sprintf("网吧 %04d", i), Address: fmt.Sprintf("兰山区 %d 号", i), Licensed: true, LicenceNo: fmt.Sprintf("LIC-%05d", i),
			OpenState: schema.OpenStateOpen, Lat: 35.5, Lng: 118.5, UpdatedAt: benchMonth.AddDate(-1, 0, 0)})
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	states := []string{schema.FindingOpen, schema.FindingOrdered, schema.FindingOrdered, schema.FindingRechecked, schema.FindingClosed, schema.FindingEscalated}
	span := 29 * 24 * time.Hour
	for i := range benchInspections {
		v := d.Venues[i%benchVenues]
		a, b := users[2*(v.SquadID-1)], users[2*(v.SquadID-1)+1]
		at := benchMonth.Add(time.Duration(i) * (span / benchInspections))
		fin := at.Add(40 * time.Minute)
		in := schema.Inspection{ID: uuid.NewString(), VenueID: v.ID, SquadID: v.SquadID, Status: schema.StatusApproved,
			ChecklistVersion: cl.Version, StartedAt: at, FinishedAt: &fin, Version: 1,
			Inspectors: []schema.Inspector{{Username: a.Username, Name: a.DisplayName, BadgeNo: a.BadgeNo}, {Username: b.Username, Name: b.DisplayName, BadgeNo: b.BadgeNo}},
			Review:     &schema.Review{ReviewedBy: "leader", ReviewedAt: fin.Add(time.Hour), Decision: schema.StatusApproved, Version: 1}}
		for k, it := range cl.Items {
			r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
			if k < benchFailed {
				r.Result, r.Note = schema.ResultFail, "现场发现问题，已拍照取证, \"见照片\"。"
				if k == 0 {
					r.Photos = []schema.PhotoRef{{SHA256: fmt.Sprintf("%064x", i), Size: 1000, MediaType: "image/jpeg", CapturedAt: at, DeviceID: "bench"}}
				}
			}
			in.Items = append(in.Items, r)
		}
		d.Inspections = append(d.Inspections, store.ImportedInspection{Inspection: in, AuthorID: a.ID, ReceivedAt: fin})
		for k := range benchFailed {
			item := cl.Items[k]
			opened := in.Review.ReviewedAt
			n := i*benchFailed + k
			f := schema.Finding{ID: uuid.NewString(), InspectionID: in.ID, VenueID: in.VenueID, SquadID: in.SquadID, ItemID: item.ID, TitleZH: item.TitleZH,
				Severity: item.Severity, Critical: item.Severity == schema.SeverityCritical, Status: states[n%len(states)],
				Note: in.Items[k].Note, OpenedAt: opened, UpdatedAt: opened}
			if f.Status != schema.FindingOpen {
				dl := opened.AddDate(0, 0, 15)
				f.Deadline = &dl
				f.Order = &schema.Order{Number: schema.OrderNumber(2026, n+1), Deadline: dl, Action: "限期整改", LegalBasis: item.LegalBasis,
					OrderedBy: "leader", OrderedAt: opened}
			}
			switch f.Status {
			case schema.FindingRechecked:
				t := opened.AddDate(0, 0, 10)
				f.RecheckedAt = &t
			case schema.FindingClosed:
				t := opened.AddDate(0, 0, 20)
				f.RecheckedAt, f.ClosedAt, f.ClosedBy, f.CloseNote = &t, &t, "leader", "复查合格"
			case schema.FindingEscalated:
				t := opened.AddDate(0, 0, 1)
				f.EscalatedAt, f.EscalatedBy, f.EscalationReason = &t, "leader", "情节严重"
			}
			d.Findings = append(d.Findings, f)
		}
	}
	return d
}

// countingWriter counts what an export wrote.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// heapPeak samples HeapInuse until stop is called, and returns the highest.
func heapPeak() (stop func() uint64) {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// BenchmarkLedgerExport writes November's 100,000 findings of every squad
// to XLSX from SQLite, and reports rows/s, the workbook's size and the
// heap: the peak HeapInuse sampled while it ran (and the heap in use
// before, the store's and the benchmark's own) and the bytes allocated.
func BenchmarkLedgerExport(b *testing.B) {
	ctx := context.Background()
	now := benchMonth.AddDate(0, 1, 5)
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "patrol.db"), func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d := benchDataset()
	rows := len(d.Findings)
	if err := st.Import(ctx, d); err != nil {
		b.Fatal(err)
	}
	d = store.Dataset{}
	q := ledgerexport.Query{Month: benchMonth, Zone: store.ChinaTime, Now: now}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	b.ResetTimer()
	var size int64
	for range b.N {
		w := &countingWriter{}
		if err := ledgerexport.WriteXLSX(ctx, w, st, q); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.StopTimer()
	peak := stop()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MiB/op")
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
}

// TestLedgerExport_EveryRowOnce keeps the benchmark's export honest on a small
// scale: every finding of the month is a row, and none of another month.
func TestLedgerExport_EveryRowOnce(t *testing.T) {
	ctx := context.Background()
	now := benchMonth.AddDate(0, 1, 5)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := benchDataset()
	// Keep 2,600 inspections (13,000 findings: several keyset pages), the
	// last 100 a month earlier.
	d.Inspections = d.Inspections[:2600]
	d.Findings = d.Findings[:2600*benchFailed]
	for i := 2500; i < 2600; i++ {
		in := &d.Inspections[i].Inspection
		in.StartedAt = in.StartedAt.AddDate(0, -1, 0)
		for k := range benchFailed {
			f := &d.Findings[i*benchFailed+k]
			f.OpenedAt = f.OpenedAt.AddDate(0, -1, -2)
		}
	}
	if err := st.Import(ctx, d); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	err = ledgerexport.Each(ctx, st, ledgerexport.Query{Month: benchMonth, Zone: store.ChinaTime, Now: now}, func(r ledgerexport.Row) error {
		seen[r.Finding.ID]++
		if r.VenueName == "" || !strings.Contains(r.Inspectors, "（JX-") || r.LegalBasis == "" {
			t.Fatalf("row without its inspection's facts: %+v", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2500*benchFailed {
		t.Errorf("%d rows; want %d", len(seen), 2500*benchFailed)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("finding %s exported %d times", id, n)
		}
	}
	// The newest finding is squad 4's: its sheet is made first, and still
	// comes after squads 1 to 3.
	var buf bytes.Buffer
	if err := ledgerexport.WriteXLSX(ctx, &buf, st, ledgerexport.Query{Month: benchMonth, Zone: store.ChinaTime, Now: now}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{ledgerexport.SummarySheet, "第1中队", "第2中队", "第3中队", "第4中队"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Errorf("sheets %q; want %q", got, want)
	}
	total := 0
	for _, name := range want[1:] {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(rows) - 1
	}
	if sum, _ := f.GetCellValue(ledgerexport.SummarySheet, "B6"); total != len(seen) || sum != strconv.Itoa(total) {
		t.Errorf("%d rows in the squad sheets, summary total %s; want %d", total, sum, len(seen))
	}
}
