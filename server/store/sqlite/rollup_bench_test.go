package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// rollupBench sizes one store of the nightly rollup benchmark: the
// inspections started in the rolled-up month up to the night, and all the
// inspections of the history (the month's included); findings are three
// in ten inspections throughout.
type rollupBench struct {
	month, total int
}

// Squads, inspectors and licensed cafés of the benchmark's district.
const (
	rollupBenchSquads     = 6
	rollupBenchInspectors = 10  // a squad
	rollupBenchCafes      = 400 // a squad
)

// rollupBenchNight is the night rolled up: the 20th of the month in the
// bureau's zone, so the month holds twenty days of its data and the night
// freezes nothing.
func rollupBenchNight(b *testing.B) time.Time {
	loc, err := time.LoadLocation(jobs.DefaultTimezone)
	if err != nil {
		b.Fatal(err)
	}
	return time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
}

// rollupBenchStore is a store of six squads whose history holds sz.total
// inspections and 0.3 × sz.total findings, sz.month of the inspections in
// the rolled-up month's first twenty days and the rest, at the same rate
// a day, in the days before it. Squads, users and cafés come through
// Import; inspections and findings are inserted in bulk through DB() (the
// columns the store writes, 500 rows a statement, 100,000 rows a
// transaction), without their answers (inspection_items), which the
// rollup does not read.
func rollupBenchStore(b *testing.B, sz rollupBench) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	night := rollupBenchNight(b)
	monthStart := time.Date(night.Year(), night.Month(), 1, 0, 0, 0, 0, night.Location())
	dayEnd := night.AddDate(0, 0, 1)
	importAt := monthStart.AddDate(-3, 0, 0)
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "patrol.db"), func() time.Time { return importAt })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		b.Fatal(err)
	}

	var d store.Dataset
	for s := int64(1); s <= rollupBenchSquads; s++ {
		lat := 35 + float64(s)*0.2
		d.Squads = append(d.Squads, store.Squad{ID: s, Name: fmt.Sprint("中队 ", s), Bounds: [4]float64{lat, 118, lat + 0.2, 118.4}})
		for u := 0; u < rollupBenchInspectors; u++ {
			squad := s
			d.Users = append(d.Users, store.User{ID: fmt.Sprintf("u%d-%d", s, u), Username: fmt.Sprintf("inspector%d-%d", s, u),
				DisplayName: "I", BadgeNo: fmt.Sprintf("3713%02d%02d", s, u), Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"})
		}
		for v := 0; v < rollupBenchCafes; v++ {
			d.Venues = append(d.Venues, schema.Venue{ID: uuid.NewString(), SquadID: s, Kind: schema.KindNetCafe, Licensed: true,
				OpenState: schema.OpenStateOpen, Name: fmt.Sprintf("网吧 %d-%03d", s, v), Lat: lat + 0.1, Lng: 118.2, Clocks: map[string]string{}})
		}
	}
	if err := st.Import(ctx, d); err != nil {
		b.Fatal(err)
	}

	// Inspections start evenly over the history at the month's rate a day,
	// the last one just before the night's end; each is received half an
	// hour after it started. A finding opens an hour after its inspection,
	// is ordered a day later (two in three), and closes ten days after it
	// opened unless that is after the night; one in a hundred of the older
	// ones still stands.
	perDay := float64(sz.month) / float64(night.Sub(monthStart)/(24*time.Hour)+1)
	step := time.Duration(float64(24*time.Hour) / perDay)
	first := dayEnd.Add(-time.Duration(sz.total) * step)
	insCols := strings.Split(strings.Join(strings.Fields(`id venue_id squad_id device_id author_id checklist_version status inspectors
		started_at finished_at hlc time_suspect received_at updated_at seq version recheck_of`), ","), ",")
	finCols := strings.Split(strings.Join(strings.Fields(`id inspection_id venue_id squad_id item_id title_zh severity critical status note
		opened_at deadline repeat order_number order_action order_legal_basis order_comment ordered_by ordered_at closed_at closed_by
		close_note updated_at seq`), ","), ",")
	ins := newBulkInsert("inspections", insCols)
	fin := newBulkInsert("findings", finCols)
	fin.after = ins // a finding's inspection goes in first
	statuses := []string{schema.StatusApproved, schema.StatusApproved, schema.StatusApproved, schema.StatusApproved,
		schema.StatusApproved, schema.StatusApproved, schema.StatusApproved, schema.StatusSubmitted, schema.StatusSubmitted, schema.StatusReturned}
	const perTx = 100_000
	seq, findings := int64(10_000_000), 0
	for off := 0; off < sz.total; off += perTx {
		err := st.DB().WriteTx(ctx, func(tx *sql.Tx) error {
			for i := off; i < min(off+perTx, sz.total); i++ {
				squad := int64(i%rollupBenchSquads + 1)
				venue := d.Venues[int(squad-1)*rollupBenchCafes+(i/rollupBenchSquads)%rollupBenchCafes]
				author := (i / rollupBenchSquads / rollupBenchCafes) % rollupBenchInspectors
				start := first.Add(time.Duration(i) * step)
				end, recv := start.Add(20*time.Minute), start.Add(30*time.Minute)
				inspectors, _ := json.Marshal([]schema.Inspector{{Username: fmt.Sprintf("inspector%d-%d", squad, author), BadgeNo: "37130001"}})
				id := uuid.Must(uuid.NewV7()).String()
				seq++
				if err := ins.add(ctx, tx, id, venue.ID, squad, fmt.Sprintf("dev-%d-%d", squad, author), fmt.Sprintf("u%d-%d", squad, author),
					cl.Version, statuses[i%len(statuses)], string(inspectors), schema.FormatTime(start), schema.FormatTime(end),
					fmt.Sprintf("%016x:0000:dev", start.UnixMilli()), 0, schema.FormatTime(recv), schema.FormatTime(recv), seq, 1, ""); err != nil {
					return err
				}
				if i%10 >= 3 {
					continue
				}
				findings++
				it := cl.Items[i%len(cl.Items)]
				opened := start.Add(time.Hour)
				status, updated := schema.FindingOpen, opened
				var deadline, number, orderedAt, closedAt, orderedBy, closedBy any = nil, nil, nil, nil, "", ""
				if findings%3 != 0 && opened.Add(24*time.Hour).Before(dayEnd) {
					o := opened.Add(24 * time.Hour)
					status, updated, orderedBy = schema.FindingOrdered, o, fmt.Sprintf("leader%d", squad)
					deadline, number, orderedAt = schema.FormatTime(o.AddDate(0, 0, 15)), fmt.Sprintf("鲁公（网）责改字〔%d〕%07d号", o.Year(), findings),
						schema.FormatTime(o)
				}
				if c := opened.AddDate(0, 0, 10); c.Before(dayEnd) && findings%100 != 0 {
					status, updated, closedBy, closedAt = schema.FindingClosed, c, fmt.Sprintf("leader%d", squad), schema.FormatTime(c)
				}
				seq++
				if err := fin.add(ctx, tx, uuid.Must(uuid.NewV7()).String(), id, venue.ID, squad, it.ID, it.TitleZH, it.Severity,
					0, status, "现场发现问题", schema.FormatTime(opened), deadline, findings%7/6, number, "责令限期改正", "《互联网上网服务营业场所管理条例》",
					"", orderedBy, orderedAt, closedAt, closedBy, "", schema.FormatTime(updated), seq); err != nil {
					return err
				}
			}
			if err := ins.flush(ctx, tx); err != nil {
				return err
			}
			return fin.flush(ctx, tx)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.DB().W.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return st
}

// bulkInsert gathers rows of one table and inserts them 500 a statement,
// after flushing the rows of the table its rows refer to (after).
type bulkInsert struct {
	head, row string
	cols      int
	args      []any
	after     *bulkInsert
}

const bulkGroup = 500

func newBulkInsert(table string, cols []string) *bulkInsert {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	return &bulkInsert{head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ", row: row, cols: len(cols)}
}

// add queues one row, inserting the group once it is full.
func (bi *bulkInsert) add(ctx context.Context, tx *sql.Tx, values ...any) error {
	bi.args = append(bi.args, values...)
	if len(bi.args) < bulkGroup*bi.cols {
		return nil
	}
	return bi.flush(ctx, tx)
}

// flush inserts the queued rows in one statement.
func (bi *bulkInsert) flush(ctx context.Context, tx *sql.Tx) error {
	n := len(bi.args) / bi.cols
	if n == 0 {
		return nil
	}
	if bi.after != nil {
		if err := bi.after.flush(ctx, tx); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, bi.head+strings.TrimSuffix(strings.Repeat(bi.row+", ", n), ", "), bi.args...)
	bi.args = bi.args[:0]
	return err
}

// BenchmarkRollup rolls up one night (the 20th of the month, six squads)
// over histories of 200,000 and 1,000,000 inspections (with 60,000 and
// 300,000 findings), the month holding 80,000 of them in both: the
// seconds a night should stay the same, for the rollup reads the month's
// rows and the standing ledger, not the history. With -short the sizes
// are a tenth. Run it with -benchtime=1x; building the large history
// takes a few minutes.
func BenchmarkRollup(b *testing.B) {
	sizes := []rollupBench{{month: 80_000, total: 200_000}, {month: 80_000, total: 1_000_000}}
	if testing.Short() {
		sizes = []rollupBench{{month: 8_000, total: 20_000}, {month: 8_000, total: 100_000}}
	}
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("month=%d/history=%d", sz.month, sz.total), func(b *testing.B) {
			st := rollupBenchStore(b, sz)
			night := rollupBenchNight(b)
			now := night.Add(26 * time.Hour)
			b.ResetTimer()
			for range b.N {
				days, err := jobs.RollupDay(context.Background(), st, night, now)
				if err != nil || len(days) != rollupBenchSquads {
					b.Fatalf("RollupDay = %d squads, %v", len(days), err)
				}
				if days[0].Inspections.Total == 0 || days[0].CafesInspected == 0 || days[0].FindingsOpen == 0 {
					b.Fatalf("an empty night: %+v", days[0])
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/night")
		})
	}
}
