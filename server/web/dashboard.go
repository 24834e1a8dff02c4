package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
)

// trendMonths is how many months the dashboard's trend reaches back.
const trendMonths = 12

// rankRow is one squad's line of a month's ranking.
type rankRow struct {
	Rank           int
	SquadID        int64
	Name           string
	Coverage       float64
	Cafes          int
	CafesInspected int
	Overdue        int
	Open           int
	Median         *float64
	Score          float64
	Zones          int // standing zone violations, now
	AtRisk         []store.RollupVenue
	DaysLeft       int
	Mine           bool
	// Cases (立案) not closed, and those past their 90-day limit, named.
	CasesOpen    int
	CasesOverdue int
	OverdueCases []store.RollupCase
}

// monthReport is what the dashboard and the bulletin both read: the
// month's record of every squad, best first, with its zone violations.
type monthReport struct {
	Month     time.Time
	Key       string // YYYY-MM
	Frozen    bool
	AsOf      string // the last day rolled up, YYYY-MM-DD
	Squads    []rankRow
	ZoneTotal int
	// CasesOpen and CasesOverdue are the totals over the squads.
	CasesOpen    int
	CasesOverdue int
	records      []jobs.SquadMonth // as stored, for the trend's last month
}

// pickMonth reads ?month=; without it, the month of the last day rolled
// up (on the 1st the month before is what there is to see), else today's.
func (w *Web) pickMonth(c echo.Context) (time.Time, error) {
	q := c.QueryParam("month")
	if q == "" {
		last, err := w.st.LastRollupDay(c.Request().Context())
		if err != nil {
			return time.Time{}, err
		}
		if d, err := jobs.ParseDay(last, w.cfg.Zone); err == nil {
			return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, w.cfg.Zone), nil
		}
		now := w.cfg.Now().In(w.cfg.Zone)
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, w.cfg.Zone), nil
	}
	m, err := jobs.ParseMonth(q, w.cfg.Zone)
	if err != nil || m.Year() < 2000 || m.Year() > 2200 {
		return time.Time{}, Fail(schema.CodeInvalid, "月份应写作“年-月”，例如 2026-11。", "month not YYYY-MM")
	}
	return m, nil
}

// report builds the month's ranking; p marks the leader's own squad.
func (w *Web) report(ctx context.Context, month time.Time, p *auth.Principal) (*monthReport, error) {
	list, err := jobs.StoredMonth(ctx, w.st, month.Format(jobs.MonthLayout))
	if err != nil {
		return nil, err
	}
	return w.reportOf(ctx, month, list, p)
}

// reportOf builds the month's ranking from its record, list.
func (w *Web) reportOf(ctx context.Context, month time.Time, list []jobs.SquadMonth, p *auth.Principal) (*monthReport, error) {
	r := &monthReport{Month: month, Key: month.Format(jobs.MonthLayout), records: list}
	for _, m := range list {
		r.Frozen = m.Frozen
		if m.Day > r.AsOf {
			r.AsOf = m.Day
		}
		id := m.SquadID
		zv, err := w.st.ZoneViolations(ctx, store.ZoneViolationFilter{SquadID: &id, Limit: 5000})
		if err != nil {
			return nil, err
		}
		row := rankRow{Rank: m.Rank, SquadID: id, Name: squadName(&id), Coverage: m.Coverage, Cafes: m.Cafes,
			CafesInspected: m.CafesInspected, Overdue: m.FindingsOverdue, Open: m.FindingsOpen, Median: m.MedianCloseOutDays,
			Score: m.Score, Zones: len(zv), AtRisk: m.AtRisk, DaysLeft: m.DaysLeft,
			Mine:      p != nil && !p.IsAdmin() && p.SquadID != nil && *p.SquadID == id,
			CasesOpen: m.CasesOpen, CasesOverdue: m.CasesOverdue, OverdueCases: m.OverdueCases}
		r.ZoneTotal += row.Zones
		r.CasesOpen += row.CasesOpen
		r.CasesOverdue += row.CasesOverdue
		r.Squads = append(r.Squads, row)
	}
	sort.Slice(r.Squads, func(i, j int) bool { return r.Squads[i].Rank < r.Squads[j].Rank })
	return r, nil
}

// monthText is a month as Chinese text says it: 2026年11月.
func monthText(m time.Time) string { return fmt.Sprintf("%d年%d月", m.Year(), m.Month()) }

// dayText is a stored day (YYYY-MM-DD) as Chinese text says it.
func (w *Web) dayText(day string) string {
	d, err := jobs.ParseDay(day, w.cfg.Zone)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d月%d日", d.Month(), d.Day())
}

// dashboardData is the dashboard page.
type dashboardData struct {
	*monthReport
	MonthText string
	AsOfText  string
	Prev      string
	Next      string // "" for a month after the current one
	Admin     bool
	Coverage  *barChart
	Items     *barChart
	ItemsOf   string // whose findings the item chart counts
	Zones     *barChart
	// Complaints are each squad's open and overdue complaints.
	Complaints complaintSummary
	Trend      *lineChart
	AtRisk     []rankRow // the squads whose list the user may read
	Months     []monthOption
}

// monthOption is a month the picker offers.
type monthOption struct {
	Key, Text string
}

// pickerMonths are the months to choose from: two years up to this one,
// and month itself if it lies outside them.
func (w *Web) pickerMonths(month time.Time) []monthOption {
	now := w.cfg.Now().In(w.cfg.Zone)
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, w.cfg.Zone)
	var out []monthOption
	seen := false
	for i := 0; i < 24; i++ {
		m := cur.AddDate(0, -i, 0)
		seen = seen || m.Equal(month)
		out = append(out, monthOption{Key: m.Format(jobs.MonthLayout), Text: monthText(m)})
	}
	if !seen {
		out = append([]monthOption{{Key: month.Format(jobs.MonthLayout), Text: monthText(month)}}, out...)
	}
	return out
}

// dashboardPage shows a month's compliance: coverage, the cafés still to
// inspect, findings by item, the ranking, the trend of a year and the
// standing zone violations. Leaders see the bureau's comparison with
// their squad marked, but only their own squad's venues and findings.
func (w *Web) dashboardPage(c echo.Context, p *auth.Principal) error {
	ctx := c.Request().Context()
	if !p.IsAdmin() && p.SquadID == nil {
		return Fail(schema.CodeForbidden, "您的账号不属于任何中队。请联系局管理员。", "leader without a squad")
	}
	month, err := w.pickMonth(c)
	if err != nil {
		return err
	}
	list, items, err := jobs.MonthWithItems(ctx, w.st, month.Format(jobs.MonthLayout))
	if err != nil {
		return err
	}
	r, err := w.reportOf(ctx, month, list, p)
	if err != nil {
		return err
	}
	d := dashboardData{monthReport: r, MonthText: monthText(month), AsOfText: w.dayText(r.AsOf), Admin: p.IsAdmin(),
		Prev: month.AddDate(0, -1, 0).Format(jobs.MonthLayout), Months: w.pickerMonths(month)}
	now := w.cfg.Now().In(w.cfg.Zone)
	if next := month.AddDate(0, 1, 0); !next.After(now) {
		d.Next = next.Format(jobs.MonthLayout)
	}
	var cov, zones []barItem
	for _, s := range r.Squads {
		cov = append(cov, barItem{Label: s.Name, Value: s.Coverage, Text: num(s.Coverage) + "%", Highlight: s.Mine})
		zones = append(zones, barItem{Label: s.Name, Value: float64(s.Zones), Highlight: s.Mine})
		if p.IsAdmin() || s.Mine {
			d.AtRisk = append(d.AtRisk, s)
		}
	}
	if len(r.Squads) > 0 {
		d.Coverage = newBarChart("coverage-chart", "各中队本月检查覆盖率（"+d.MonthText+"，截至"+d.AsOfText+"）", cov, 100, 4, "%")
		d.Zones = newBarChart("zones-chart", "各中队现存校园周边禁设区域违规（处）", zones, 0, 0, "")
	}
	d.ItemsOf = "全局"
	if !p.IsAdmin() {
		d.ItemsOf = squadName(p.SquadID)
	}
	if len(r.Squads) > 0 {
		d.Items = newBarChart("items-chart", d.MonthText+"新发现问题（按检查项目，"+d.ItemsOf+"）", itemBars(items, p), 0, 0, "")
	}
	d.Complaints = complaintsOf(r, p)
	if d.Trend, err = w.trend(ctx, month, r.records, p); err != nil {
		return err
	}
	return w.render(c, http.StatusOK, "dashboard", "统计看板 · "+d.MonthText, d)
}

// itemBars counts the findings opened by checklist item, in the
// checklist's order, over the squads p may read.
func itemBars(items map[int64]map[string]int, p *auth.Principal) []barItem {
	sum := map[string]int{}
	for id, m := range items {
		if !p.IsAdmin() && (p.SquadID == nil || *p.SquadID != id) {
			continue
		}
		for item, n := range m {
			sum[item] += n
		}
	}
	var out []barItem
	known := map[string]bool{}
	if cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion); err == nil {
		for _, it := range cl.Items {
			known[it.ID] = true
			out = append(out, barItem{Label: it.TitleZH, Value: float64(sum[it.ID])})
		}
	}
	var other []string
	for id := range sum {
		if !known[id] {
			other = append(other, id)
		}
	}
	sort.Strings(other)
	for _, id := range other { // an item of another checklist version
		out = append(out, barItem{Label: id, Value: float64(sum[id])})
	}
	return out
}

// trend is each squad's coverage over the months up to month (whose
// records the caller read already) that have figures, at most
// trendMonths of them.
func (w *Web) trend(ctx context.Context, month time.Time, records []jobs.SquadMonth, p *auth.Principal) (*lineChart, error) {
	var labels []string
	cov := map[int64][]float64{}
	var squads []int64
	for i := trendMonths - 1; i >= 0; i-- {
		m := month.AddDate(0, -i, 0)
		var list []jobs.SquadCoverage
		if i == 0 {
			for _, s := range records {
				list = append(list, jobs.SquadCoverage{SquadID: s.SquadID, Coverage: s.Coverage})
			}
		} else {
			var err error
			if list, err = jobs.MonthCoverage(ctx, w.st, m.Format(jobs.MonthLayout)); err != nil {
				return nil, err
			}
		}
		if len(list) == 0 && len(labels) == 0 {
			continue // before the history starts
		}
		labels = append(labels, fmt.Sprintf("%d月", m.Month()))
		for _, s := range list {
			if _, ok := cov[s.SquadID]; !ok {
				squads = append(squads, s.SquadID)
				cov[s.SquadID] = nanFill(len(labels) - 1)
			}
		}
		for id, vals := range cov {
			v := math.NaN()
			for _, s := range list {
				if s.SquadID == id {
					v = s.Coverage
				}
			}
			cov[id] = append(vals, v)
		}
	}
	if len(labels) == 0 {
		return nil, nil
	}
	sort.Slice(squads, func(i, j int) bool { return squads[i] < squads[j] })
	var series []lineSeries
	for _, id := range squads {
		series = append(series, lineSeries{Name: squadName(&id), Values: cov[id],
			Highlight: !p.IsAdmin() && p.SquadID != nil && *p.SquadID == id})
	}
	first := month.AddDate(0, -(len(labels) - 1), 0)
	title := fmt.Sprintf("各中队检查覆盖率月度趋势（%s至%s）", monthText(first), monthText(month))
	return newLineChart("trend-chart", title, labels, series, 100, "%"), nil
}

func nanFill(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}
