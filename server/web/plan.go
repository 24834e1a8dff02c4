package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// planRow is one venue of the plan's form: a candidate café (or a venue a
// saved visit names), with the day and pair of inspectors chosen for it.
type planRow struct {
	VenueID string
	Name    string
	AtRisk  bool
	Reasons []string
	Day     string // "" : not planned
	Pair    string // "a|b"
}

// planPair is one choice of two inspectors.
type planPair struct {
	Value, Label string
}

// planData is the plan page of a squad's month.
type planData struct {
	Squad       int64
	Squads      []int64
	Month       string
	Today, End  string
	Notice      string
	Checked     bool // the flags are of the form's plan, not yet saved
	Days        []string
	Pairs       []planPair
	Rows        []planRow
	Done        []schema.PlanVisit
	Flags       []schema.PlanFlag
	Names       map[string]string
	NoInspector bool
}

// maxPlanRows bounds the venues one form may plan.
const maxPlanRows = 2000

// planMonth reads ?month= (default this month) in the bureau's zone.
func (w *Web) planMonth(c echo.Context) (store.PlanMonth, error) {
	m, err := store.NewPlanMonth(truncateRunes(c.QueryParam("month"), 10), w.cfg.Now(), w.cfg.Location)
	if err != nil {
		return m, Fail(schema.CodeInvalid, "月份无效，请使用 YYYY-MM 格式。", "month not YYYY-MM")
	}
	return m, nil
}

// planPage shows the squad's cafés not inspected yet this month riskiest
// first, each with a day and a pair of inspectors to choose, and the
// warnings the saved plan leaves (at-risk cafés no visit covers).
func (w *Web) planPage(c echo.Context, p *auth.Principal) error {
	squad, err := pageSquad(c, p, "您只能安排本中队的巡查计划。")
	if err != nil {
		return err
	}
	m, err := w.planMonth(c)
	if err != nil {
		return err
	}
	d, cands, err := w.planBase(c, p, squad, m)
	if err != nil {
		return err
	}
	visits, err := w.st.PlanVisits(c.Request().Context(), squad, m)
	if err != nil {
		return err
	}
	var open []schema.PlanVisit
	for _, v := range visits {
		switch {
		case v.DoneInspectionID != "":
			d.Done = append(d.Done, v)
		case v.Day >= m.Today:
			open = append(open, v)
		}
	}
	d.Rows = w.planRows(c, cands, open)
	d.Flags = schema.CheckPlan(cands, open, m.Today, m.End)
	if c.QueryParam("ok") == "saved" {
		d.Notice = "计划已保存，两名检查人员的设备下次同步时收到检查任务。"
	}
	return w.render(c, http.StatusOK, "plan", "巡查计划 · "+squadName(&squad)+" · "+m.Month, d)
}

// planBase reads what every plan page shows: the candidates, the days and
// the pairs of inspectors.
func (w *Web) planBase(c echo.Context, p *auth.Principal, squad int64, m store.PlanMonth) (planData, []schema.PlanCandidate, error) {
	ctx := c.Request().Context()
	cands, err := w.st.PlanCandidates(ctx, squad, m)
	if err != nil {
		return planData{}, nil, err
	}
	inspectors, err := w.st.PlanInspectors(ctx, squad)
	if err != nil {
		return planData{}, nil, err
	}
	d := planData{Squad: squad, Month: m.Month, Today: m.Today, End: m.End, Names: map[string]string{}}
	if p.IsAdmin() {
		d.Squads = []int64{1, 2, 3, 4, 5, 6}
	}
	for day := max(m.Today, m.Month+"-01"); day <= m.End; {
		d.Days = append(d.Days, day)
		t, err := m.DayStart(day)
		if err != nil {
			break
		}
		day = t.AddDate(0, 0, 1).Format("2006-01-02")
	}
	for i, a := range inspectors {
		for _, b := range inspectors[i+1:] {
			label := a.Name + " + " + b.Name
			if a.CoInspector || b.CoInspector {
				label += "（含协查人员）"
			}
			d.Pairs = append(d.Pairs, planPair{Value: a.Username + "|" + b.Username, Label: label})
		}
	}
	d.NoInspector = len(d.Pairs) == 0
	for _, cd := range cands {
		d.Names[cd.VenueID] = cd.Name
	}
	return d, cands, nil
}

// planRows are the form's rows: every candidate, then the venues of open
// visits that are no candidate, each with the first open visit's choice.
func (w *Web) planRows(c echo.Context, cands []schema.PlanCandidate, open []schema.PlanVisit) []planRow {
	chosen := map[string]schema.PlanVisit{}
	var extra []string
	seen := map[string]bool{}
	for _, cd := range cands {
		seen[cd.VenueID] = true
	}
	for _, v := range open {
		if _, ok := chosen[v.VenueID]; !ok {
			chosen[v.VenueID] = v
			if !seen[v.VenueID] {
				extra = append(extra, v.VenueID)
				seen[v.VenueID] = true
			}
		}
	}
	rows := make([]planRow, 0, len(cands)+len(extra))
	for _, cd := range cands {
		r := planRow{VenueID: cd.VenueID, Name: cd.Name, AtRisk: cd.AtRisk, Reasons: cd.Reasons}
		if v, ok := chosen[cd.VenueID]; ok {
			r.Day, r.Pair = v.Day, v.Inspectors[0]+"|"+v.Inspectors[1]
		}
		rows = append(rows, r)
	}
	for _, id := range extra {
		v := chosen[id]
		name := id
		if venue, err := w.st.Venue(c.Request().Context(), id); err == nil {
			name = venue.Name
		}
		rows = append(rows, planRow{VenueID: id, Name: name, Reasons: []string{"本月已检查或非网吧，已有计划"},
			Day: v.Day, Pair: v.Inspectors[0] + "|" + v.Inspectors[1]})
	}
	return rows
}

// savePlan checks (op=check) or saves the plan the form holds: every row
// with a day is a visit by the pair chosen for it. A check shows the
// warnings of the form's plan without saving; a save goes ahead whatever
// the warnings, and the page shows those of the saved plan.
func (w *Web) savePlan(c echo.Context, p *auth.Principal) error {
	squad, err := pageSquad(c, p, "您只能安排本中队的巡查计划。")
	if err != nil {
		return err
	}
	m, err := w.planMonth(c)
	if err != nil {
		return err
	}
	form := c.Request().PostForm
	venues := form["venue"]
	if len(venues) > maxPlanRows {
		return Fail(schema.CodeTooLarge, "一次提交的场所过多。", "too many plan rows")
	}
	var visits []schema.PlanVisit
	var rows []planRow
	for _, id := range venues {
		day, pair := form.Get("day_"+id), form.Get("pair_"+id)
		rows = append(rows, planRow{VenueID: id, Day: day, Pair: pair})
		if day == "" {
			continue
		}
		a, b, ok := strings.Cut(pair, "|")
		if !ok || a == "" || b == "" {
			return Fail(schema.CodeInvalid, "已选日期的场所必须同时选择两名检查人员。", "visit without a pair")
		}
		visits = append(visits, schema.PlanVisit{VenueID: id, Day: day, Inspectors: [2]string{a, b}})
	}
	if form.Get("op") != "check" {
		if _, err := w.st.SavePlan(c.Request().Context(), squad, m, visits, p.Username); err != nil {
			if schema.ErrorCode(err) == schema.CodeInvalid {
				return Fail(schema.CodeInvalid, "计划无法保存："+shown(err.Error()), err.Error())
			}
			return err
		}
		q := url.Values{"squad": {fmt.Sprint(squad)}, "month": {m.Month}, "ok": {"saved"}}
		return c.Redirect(http.StatusSeeOther, "/plan?"+q.Encode())
	}
	d, cands, err := w.planBase(c, p, squad, m)
	if err != nil {
		return err
	}
	byID := map[string]schema.PlanCandidate{}
	for _, cd := range cands {
		byID[cd.VenueID] = cd
	}
	for i := range rows {
		cd := byID[rows[i].VenueID]
		rows[i].Name, rows[i].AtRisk, rows[i].Reasons = cd.Name, cd.AtRisk, cd.Reasons
		if rows[i].Name == "" {
			rows[i].Name = rows[i].VenueID
		}
	}
	d.Rows, d.Checked = rows, true
	d.Flags = schema.CheckPlan(cands, visits, m.Today, m.End)
	return w.render(c, http.StatusOK, "plan", "巡查计划 · "+squadName(&squad)+" · "+m.Month, d)
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
