// Package ledgerexport writes the findings ledger (台账) as the bureau
// keeps it on paper: one row per finding with its venue, item, order and
// outcome, as a spreadsheet (XLSX, one sheet per squad and a summary) or
// as CSV. It reads the ledger page by page (keyset, never an offset) and
// loads the inspections a page names in one call, so an export of any
// size holds one page of rows at a time.
package ledgerexport

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Source is what an export reads: the ledger and the inspections its
// findings come from. A store.Store is one.
type Source interface {
	Findings(ctx context.Context, f store.FindingFilter) (store.FindingPage, error)
	InspectionsByID(ctx context.Context, ids []string, brief bool) ([]schema.Inspection, error)
}

// Query is which findings an export holds: those of one squad (nil:
// every squad) opened in the month that starts at Month, in Zone. Now
// decides which ordered findings are overdue.
type Query struct {
	SquadID *int64
	Month   time.Time
	Zone    *time.Location
	Now     time.Time
}

// MonthIn parses a month as YYYY-MM and returns its first instant in zone;
// "" is the month of now.
func MonthIn(s string, zone *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		l := now.In(zone)
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, zone), nil
	}
	t, err := time.ParseInLocation("2006-01", s, zone)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, schema.Errorf(schema.CodeInvalid, "month %q is not a month like 2026-11", truncate(s, 20))
	}
	return t, nil
}

// Row is one line of the ledger as the paper keeps it.
type Row struct {
	Finding    schema.Finding
	VenueName  string
	LicenceNo  string
	Item       string // id and Chinese title
	LegalBasis string
	Inspectors string // names with badge numbers
	Photos     int    // photos of the failed answer
	Overdue    bool
}

// State is the row's state as the ledger writes it, with the overdue mark.
func (r Row) State() string {
	s := StateZH(r.Finding.Status)
	if r.Overdue {
		s += "（已逾期）"
	}
	return s
}

// StateZH is a finding state in the ledger's words.
func StateZH(status string) string {
	switch status {
	case schema.FindingOpen:
		return "待整改"
	case schema.FindingOrdered:
		return "已责令整改"
	case schema.FindingRechecked:
		return "已复查"
	case schema.FindingClosed:
		return "已销号"
	case schema.FindingEscalated:
		return "已移送立案"
	}
	return status
}

// Headers are the column titles of the ledger, in Fields order.
var Headers = []string{"中队", "场所名称", "许可证号", "检查项目", "法律依据", "发现日期", "责令日期", "责令文号", "整改期限", "复查日期", "销号日期",
	"状态", "检查人员（执法证号）", "照片数", "检查记录"}

// Fields are the row's cells as text, dates as days in zone, in Headers
// order; the photo count is the one number.
func (r Row) Fields(zone *time.Location) []any {
	f := r.Finding
	day := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.In(zone).Format(time.DateOnly)
	}
	ordered, deadline, orderNo := (*time.Time)(nil), f.Deadline, ""
	if f.Order != nil {
		ordered, deadline, orderNo = &f.Order.OrderedAt, &f.Order.Deadline, f.Order.Number
	}
	return []any{SquadName(f.SquadID), r.VenueName, r.LicenceNo, r.Item, r.LegalBasis, day(&f.OpenedAt), day(ordered), orderNo, day(deadline),
		day(f.RecheckedAt), day(f.ClosedAt), r.State(), r.Inspectors, r.Photos, f.Note}
}

// SquadName is how the ledger names a squad: 第N中队.
func SquadName(id int64) string { return fmt.Sprintf("第%d中队", id) }

// pageSize is how many findings one read brings: the most a ledger page
// holds, whose inspections InspectionsByID reads in one call.
const pageSize = store.MaxFindingLimit

// Each calls fn with every row of q, newest opened first, one ledger page
// at a time: the page's inspections (with their venues) are read in one
// call, never one per row.
func Each(ctx context.Context, src Source, q Query, fn func(Row) error) error {
	f := store.FindingFilter{SquadID: q.SquadID, From: q.Month, To: q.Month.AddDate(0, 1, 0), Sort: store.SortOpened, Limit: pageSize}
	checklists := map[string]*schema.Checklist{}
	for {
		page, err := src.Findings(ctx, f)
		if err != nil {
			return fmt.Errorf("ledger export: findings: %w", err)
		}
		ids := make([]string, 0, len(page.Findings))
		for _, fd := range page.Findings {
			ids = append(ids, fd.InspectionID)
		}
		ins, err := src.InspectionsByID(ctx, ids, true)
		if err != nil {
			return fmt.Errorf("ledger export: inspections: %w", err)
		}
		byID := make(map[string]*schema.Inspection, len(ins))
		for i := range ins {
			byID[ins[i].ID] = &ins[i]
		}
		for _, fd := range page.Findings {
			if err := fn(row(fd, byID[fd.InspectionID], checklists, q.Now)); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		f.After = page.Next
	}
}

// row puts a finding beside its inspection (nil when it could not be
// read) and its checklist item.
func row(f schema.Finding, in *schema.Inspection, checklists map[string]*schema.Checklist, now time.Time) Row {
	r := Row{Finding: f, Overdue: schema.IsOverdue(f, now), Item: f.ItemID}
	title := f.TitleZH
	if f.Order != nil {
		r.LegalBasis = f.Order.LegalBasis
	}
	if in != nil {
		if in.Venue != nil {
			r.VenueName, r.LicenceNo = in.Venue.Name, in.Venue.LicenceNo
		}
		names := make([]string, 0, len(in.Inspectors))
		for _, p := range in.Inspectors {
			n := p.Name
			if n == "" {
				n = p.Username
			}
			if p.BadgeNo != "" {
				n += "（" + p.BadgeNo + "）"
			}
			names = append(names, n)
		}
		r.Inspectors = strings.Join(names, "、")
		for _, it := range in.Items {
			if it.ItemID == f.ItemID && it.Result == schema.ResultFail {
				r.Photos = len(it.Photos)
			}
		}
		cl, ok := checklists[in.ChecklistVersion]
		if !ok {
			if c, err := schema.ChecklistByVersion(in.ChecklistVersion); err == nil {
				cl = &c
			}
			checklists[in.ChecklistVersion] = cl
		}
		if cl != nil {
			if ci, ok := cl.Item(f.ItemID); ok {
				if title == "" {
					title = ci.TitleZH
				}
				if r.LegalBasis == "" {
					r.LegalBasis = ci.Basis()
				}
			}
		}
	}
	if title != "" {
		r.Item += " " + title
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
