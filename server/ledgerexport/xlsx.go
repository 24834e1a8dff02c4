package ledgerexport

import (
	"archive/zip"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/xuri/excelize/v2"

	"github.com/patrolhq/patrol/schema"
)

// SummarySheet is the name of the first sheet: per squad, the findings by
// state and how many are overdue.
const SummarySheet = "汇总"

// summaryHeaders are the columns of the summary sheet.
var summaryHeaders = []any{"中队", "合计", "待整改", "已责令整改", "已复查", "已销号", "已移送立案", "已逾期"}

// colWidths are the widths of the ledger columns, in Headers order, in
// characters (a Chinese character counts about two).
var colWidths = []float64{10, 28, 20, 34, 40, 12, 12, 18, 12, 12, 12, 20, 36, 8, 40}

// squadCount is one squad's row of the summary.
type squadCount struct {
	squad   int64
	byState map[string]int
	total   int
	overdue int
}

// WriteXLSX writes the rows of q as a workbook: a summary sheet first,
// then one sheet per squad (a squad asked for has its sheet even when it
// has no findings), each with a bold header row and set column widths.
// Rows go through excelize's stream writers (which keep up to 16 MiB of a
// sheet in memory and the rest in a temporary file), and the zip is
// written to w as it is made, never whole in memory.
func WriteXLSX(ctx context.Context, w io.Writer, src Source, q Query) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("ledger export: style: %w", err)
	}
	if err := f.SetSheetName("Sheet1", SummarySheet); err != nil {
		return fmt.Errorf("ledger export: %w", err)
	}
	type sheet struct {
		sw   *excelize.StreamWriter
		next int // the next row to write
	}
	sheets := map[int64]*sheet{}
	counts := map[int64]*squadCount{}
	open := func(squad int64) (*sheet, error) {
		if s := sheets[squad]; s != nil {
			return s, nil
		}
		name := SquadName(squad)
		if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return nil, err
		}
		for i, wd := range colWidths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return nil, err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, err
		}
		head := make([]any, len(Headers))
		for i, h := range Headers {
			head[i] = h
		}
		if err := sw.SetRow("A1", head, excelize.RowOpts{StyleID: bold}); err != nil {
			return nil, err
		}
		s := &sheet{sw: sw, next: 2}
		sheets[squad] = s
		counts[squad] = &squadCount{squad: squad, byState: map[string]int{}}
		return s, nil
	}
	if q.SquadID != nil {
		if _, err := open(*q.SquadID); err != nil {
			return fmt.Errorf("ledger export: sheet: %w", err)
		}
	}
	err = Each(ctx, src, q, func(r Row) error {
		s, err := open(r.Finding.SquadID)
		if err != nil {
			return err
		}
		cell, _ := excelize.CoordinatesToCellName(1, s.next)
		// Text goes in as inline strings, which Excel never evaluates:
		// a note that starts with = stays text without a guard.
		vals := r.Fields(q.Zone)
		for i, v := range vals {
			if v == "" {
				vals[i] = nil // no cell at all, rather than an empty one
			}
		}
		if err := s.sw.SetRow(cell, vals); err != nil {
			return err
		}
		s.next++
		c := counts[r.Finding.SquadID]
		c.total++
		c.byState[r.Finding.Status]++
		if r.Overdue {
			c.overdue++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger export: %w", err)
	}
	list := make([]*squadCount, 0, len(counts))
	for _, c := range counts {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *squadCount) int { return cmp.Compare(a.squad, b.squad) })
	// Squad sheets were made as their first finding came; put them in
	// squad order after the summary. This reads every sheet, so it comes
	// before the stream writers flush (a flushed sheet is no longer one
	// excelize can read).
	for i, c := range list {
		if at := f.GetSheetName(i + 1); at != SquadName(c.squad) {
			if err := f.MoveSheet(SquadName(c.squad), at); err != nil {
				return fmt.Errorf("ledger export: %w", err)
			}
		}
	}
	f.SetActiveSheet(0)
	for _, c := range list {
		if err := sheets[c.squad].sw.Flush(); err != nil {
			return fmt.Errorf("ledger export: %w", err)
		}
	}
	if err := writeSummary(f, list, bold); err != nil {
		return fmt.Errorf("ledger export: summary: %w", err)
	}
	zw := zip.NewWriter(w)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	// Write hands excelize a buffer, but the zip goes to w through zw:
	// the buffer stays empty.
	if err := f.Write(io.Discard); err != nil {
		return fmt.Errorf("ledger export: write: %w", err)
	}
	return nil
}

// writeSummary fills the summary sheet: a row per squad and the totals.
func writeSummary(f *excelize.File, list []*squadCount, bold int) error {
	sw, err := f.NewStreamWriter(SummarySheet)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 1, 12); err != nil {
		return err
	}
	if err := sw.SetColWidth(2, len(summaryHeaders), 12); err != nil {
		return err
	}
	if err := sw.SetRow("A1", summaryHeaders, excelize.RowOpts{StyleID: bold}); err != nil {
		return err
	}
	total := &squadCount{byState: map[string]int{}}
	line := func(name string, c *squadCount) []any {
		out := []any{name, c.total}
		for _, s := range schema.FindingStates {
			out = append(out, c.byState[s])
		}
		return append(out, c.overdue)
	}
	for i, c := range list {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, line(SquadName(c.squad), c)); err != nil {
			return err
		}
		total.total += c.total
		total.overdue += c.overdue
		for s, n := range c.byState {
			total.byState[s] += n
		}
	}
	cell, _ := excelize.CoordinatesToCellName(1, len(list)+2)
	if err := sw.SetRow(cell, line("合计", total), excelize.RowOpts{StyleID: bold}); err != nil {
		return err
	}
	return sw.Flush()
}
