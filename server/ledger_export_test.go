package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/ledgerexport"
	"github.com/patrolhq/patrol/server/store"
)

// Notes a device may write that a spreadsheet must show as they are.
const (
	trickyNote  = "exit blocked, by \"boxes\"\nsecond line"
	formulaNote = `=HYPERLINK("http://x.invalid","click")`
)

// ledgerFixture is one approved inspection of a squad-1 venue in the
// ledger: three failed items, one ordered corrected, one with two photos.
type ledgerFixture struct {
	venue   schema.Venue
	in      *schema.Inspection
	orderNo string
}

func (e *env) ledgerFixture() ledgerFixture {
	e.t.Helper()
	d := e.enroll("inspector1")
	leader := e.login("leader1")
	v := e.quietVenue(leader)
	in := d.inspection(v.ID)
	in.Items[0].Result, in.Items[0].Note = schema.ResultFail, trickyNote
	in.Items[1].Result, in.Items[1].Note = schema.ResultFail, formulaNote
	in.Items[2].Result, in.Items[2].Note = schema.ResultFail, "two photos"
	in.Items[2].Photos = []schema.PhotoRef{
		{SHA256: strings.Repeat("ab", 32), Size: 100, MediaType: "image/jpeg", CapturedAt: in.StartedAt, DeviceID: d.id},
		{SHA256: strings.Repeat("cd", 32), Size: 100, MediaType: "image/jpeg", CapturedAt: in.StartedAt, DeviceID: d.id},
	}
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		e.t.Fatalf("push: %+v", r)
	}
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	var page store.FindingPage
	leader.must(200, "GET", schema.PathFindings+"?venue="+v.ID, nil, &page)
	fx := ledgerFixture{venue: v, in: in}
	for _, f := range page.Findings {
		if f.ItemID == in.Items[0].ItemID {
			var got schema.Finding
			leader.must(200, "POST", schema.PathFindings+"/"+f.ID+"/order",
				server.OrderRequest{Deadline: "2026-03-20", Action: "clear the exit"}, &got)
			fx.orderNo = got.Order.Number
		}
	}
	if fx.orderNo == "" {
		e.t.Fatalf("no finding of item %s: %+v", in.Items[0].ItemID, page.Findings)
	}
	return fx
}

// storeCounts counts, per squad, the findings opened in March 2026 (in
// China) by state and overdue, straight from the store.
func (e *env) storeCounts() map[int64][]int {
	e.t.Helper()
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, store.ChinaTime)
	out := map[int64][]int{}
	f := store.FindingFilter{From: from, To: from.AddDate(0, 1, 0), Limit: 1000}
	for {
		page, err := e.srv.Store().Findings(context.Background(), f)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, fd := range page.Findings {
			c := out[fd.SquadID]
			if c == nil {
				c = make([]int, 2+len(schema.FindingStates))
				out[fd.SquadID] = c
			}
			c[0]++
			c[1+slices.Index(schema.FindingStates, fd.Status)]++
			if schema.IsOverdue(fd, e.clock.Now()) {
				c[len(c)-1]++
			}
		}
		if page.Next == "" {
			return out
		}
		f.After = page.Next
	}
}

func TestLedgerExport_CSV(t *testing.T) {
	e := newEnv(t)
	fx := e.ledgerFixture()
	r := e.login("leader1").raw("GET", schema.PathLedgerCSV+"?month=2026-03", nil, nil)
	if r.status != 200 {
		t.Fatalf("ledger.csv: %d %s", r.status, truncate(r.body))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	cd := r.header.Get("Content-Disposition")
	if want := `attachment; filename="ledger-2026-03-squad1.csv"; filename*=UTF-8''` + url.PathEscape("台账-2026-03-第1中队.csv"); cd != want {
		t.Errorf("Content-Disposition %q\nwant %q", cd, want)
	}
	if !bytes.HasPrefix(r.body, []byte("\xef\xbb\xbf")) {
		t.Fatalf("no byte order mark: %q", truncate(r.body))
	}
	if !bytes.Contains(r.body, []byte("\r\n")) || bytes.Count(r.body, []byte("\n")) != bytes.Count(r.body, []byte("\r\n")) {
		t.Errorf("a line ends in a bare LF: records end in CRLF, and so do the breaks inside a quoted note")
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], ledgerexport.Headers) {
		t.Fatalf("headers %q", rows[0])
	}
	col := func(name string) int { return slices.Index(ledgerexport.Headers, name) }
	var tricky, formula []string
	for _, row := range rows[1:] {
		if row[col("中队")] != "第1中队" {
			t.Errorf("a leader of squad 1 got a row of %s", row[0])
		}
		switch row[col("检查记录")] {
		case trickyNote:
			tricky = row
		case "'" + formulaNote:
			formula = row
		case formulaNote:
			t.Errorf("a note starting with = went out unguarded: %q", row)
		}
	}
	if tricky == nil || formula == nil {
		t.Fatalf("the fixture's notes did not round-trip; rows %q", rows[1:])
	}
	if tricky[col("检查记录")] != trickyNote {
		t.Errorf("note %q; want %q", tricky[col("检查记录")], trickyNote)
	}
	if tricky[col("场所名称")] != fx.venue.Name || tricky[col("许可证号")] != fx.venue.LicenceNo || tricky[col("责令文号")] != fx.orderNo ||
		tricky[col("状态")] != "已责令整改" || tricky[col("整改期限")] != "2026-03-20" || tricky[col("发现日期")] != "2026-03-02" ||
		tricky[col("责令日期")] != "2026-03-02" || !strings.HasPrefix(tricky[col("检查项目")], fx.in.Items[0].ItemID+" ") ||
		tricky[col("法律依据")] == "" || !strings.Contains(tricky[col("检查人员（执法证号）")], "（") {
		t.Errorf("ordered row %q", tricky)
	}
	if formula[col("状态")] != "待整改" || formula[col("责令文号")] != "" || formula[col("照片数")] != "0" {
		t.Errorf("open row %q", formula)
	}
}

func TestLedgerExport_XLSX(t *testing.T) {
	e := newEnv(t)
	fx := e.ledgerFixture()
	e.clock.Advance(30 * 24 * time.Hour) // the order's deadline passes: overdue
	r := e.login("admin").raw("GET", schema.PathLedgerXLSX+"?month=2026-03", nil, nil)
	if r.status != 200 {
		t.Fatalf("ledger.xlsx: %d %s", r.status, truncate(r.body))
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="ledger-2026-03-all.xlsx"`) ||
		!strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape("台账-2026-03-全部中队.xlsx")) {
		t.Errorf("Content-Disposition %q", cd)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := e.storeCounts()
	sheets := f.GetSheetList()
	var squads []int64
	for sq := range want {
		squads = append(squads, sq)
	}
	slices.Sort(squads)
	wantSheets := []string{ledgerexport.SummarySheet}
	for _, sq := range squads {
		wantSheets = append(wantSheets, ledgerexport.SquadName(sq))
	}
	if !slices.Equal(sheets, wantSheets) {
		t.Fatalf("sheets %q; want %q", sheets, wantSheets)
	}
	summary, err := f.GetRows(ledgerexport.SummarySheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(summary) != len(squads)+2 || summary[0][0] != "中队" || summary[0][7] != "已逾期" {
		t.Fatalf("summary %q", summary)
	}
	for i, sq := range squads {
		got := summary[i+1]
		line := []string{ledgerexport.SquadName(sq)}
		for _, n := range want[sq] {
			line = append(line, itoa(int64(n)))
		}
		if !slices.Equal(got, line) {
			t.Errorf("summary row %q; want %q", got, line)
		}
	}
	if want[1][len(want[1])-1] < 1 || summary[len(summary)-1][0] != "合计" {
		t.Errorf("squad 1 has no overdue finding, or no total row: %v %q", want[1], summary[len(summary)-1])
	}
	rows, err := f.GetRows(ledgerexport.SquadName(1))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], ledgerexport.Headers) {
		t.Fatalf("headers %q", rows[0])
	}
	if len(rows)-1 != want[1][0] {
		t.Errorf("squad 1 sheet has %d rows; the store has %d findings", len(rows)-1, want[1][0])
	}
	if st, _ := f.GetCellStyle(ledgerexport.SquadName(1), "A1"); st == 0 {
		t.Error("header row without a style")
	} else if s, _ := f.GetStyle(st); s == nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("header style %+v is not bold", s)
	}
	if w, _ := f.GetColWidth(ledgerexport.SquadName(1), "B"); w < 20 {
		t.Errorf("venue column width %v", w)
	}
	col := func(name string) int { return slices.Index(ledgerexport.Headers, name) }
	found := 0
	for _, row := range rows[1:] {
		row = append(row, make([]string, len(ledgerexport.Headers)-len(row))...)
		switch row[col("检查记录")] {
		case trickyNote:
			found++
			if row[col("场所名称")] != fx.venue.Name || row[col("责令文号")] != fx.orderNo || row[col("状态")] != "已责令整改（已逾期）" {
				t.Errorf("ordered row %q", row)
			}
		case formulaNote:
			found++ // inline text in a workbook is never a formula
		case "two photos":
			found++
			if row[col("照片数")] != "2" {
				t.Errorf("photo count %q; want 2", row[col("照片数")])
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of the fixture's 3 rows", found)
	}
}

func TestLedgerExport_Authorization(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{schema.PathLedgerXLSX, schema.PathLedgerCSV} {
		if r := e.login("leader2").raw("GET", p+"?squad=1", nil, nil); r.status != 403 {
			t.Errorf("leader2 asking for squad 1 %s: %d", p, r.status)
		}
		if r := e.login("inspector1").raw("GET", p, nil, nil); r.status != 403 {
			t.Errorf("inspector %s: %d", p, r.status)
		}
		if r := e.anon().raw("GET", p, nil, nil); r.status != 401 {
			t.Errorf("anonymous %s: %d", p, r.status)
		}
		if r := e.login("leader2").raw("GET", p+"?month=2026-13", nil, nil); r.status != 400 || !strings.Contains(r.err.Message, "2026-11") {
			t.Errorf("bad month %s: %d %q", p, r.status, r.err.Message)
		}
		if r := e.login("leader2").raw("GET", p+"?squad=2&month=2026-03", nil, nil); r.status != 200 {
			t.Errorf("leader2 own squad %s: %d", p, r.status)
		}
	}
}
