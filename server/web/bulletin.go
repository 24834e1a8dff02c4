package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
)

// bulletinNamed is how many squads a bulletin names at each end of the
// ranking: the last ones are criticised, the first ones praised. With
// fewer than bulletinPairFrom squads it names one at each end, so that no
// squad is both praised and criticised.
const (
	bulletinNamed    = 2
	bulletinPairFrom = 5
)

// bulletinData is the month's bulletin (通报).
type bulletinData struct {
	*monthReport
	// Complaints name the complaints past a limit at the month's end.
	Complaints complaintSummary

	MonthText string
	AsOfText  string
	Issued    string
	Rule      string
	Praised   []bulletinLine
	Named     []bulletinLine
	Admin     bool
	// Overdue names each case past its 90-day limit, squad by squad.
	Overdue []bulletinLine
}

// bulletinLine is one named squad with its figures in words.
type bulletinLine struct {
	rankRow
	Text string
}

// bulletinPage shows the month's bulletin, a page to print on A4 and send
// to the squads: the ranking, the last-ranked squads named with their
// figures, the first ones praised, and the school-zone violations.
func (w *Web) bulletinPage(c echo.Context, p *auth.Principal) error {
	month, err := w.pickMonth(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := w.report(ctx, month, p)
	if err != nil {
		return err
	}
	if c.QueryParam("month") == "" && !r.Frozen {
		// A bulletin is of a month that ended: unasked, the last one.
		prev, err := w.report(ctx, month.AddDate(0, -1, 0), p)
		if err != nil {
			return err
		}
		if len(prev.Squads) > 0 {
			month, r = prev.Month, prev
		}
	}
	if len(r.Squads) == 0 {
		return Fail(schema.CodeNotFound, monthText(month)+"尚无汇总数据，无法生成通报。", "no rollup of the month")
	}
	now := w.cfg.Now().In(w.cfg.Zone)
	d := bulletinData{monthReport: r, MonthText: monthText(month), AsOfText: w.dayText(r.AsOf), Admin: p.IsAdmin(),
		Issued: fmt.Sprintf("%d年%d月%d日", now.Year(), now.Month(), now.Day())}
	d.Complaints = complaintsOf(r, nil)
	n := 1
	if len(r.Squads) >= bulletinPairFrom {
		n = bulletinNamed
	}
	d.Rule = fmt.Sprintf("依据本月排名，对排名前%s位的中队予以通报表扬，对排名末%s位的中队予以通报批评。", cnNum(n), cnNum(n))
	if len(r.Squads) < 2 {
		n = 0
		d.Rule = "本月参加排名的中队不足两个，不作表扬和批评。"
	}
	for _, s := range r.Squads[:n] {
		d.Praised = append(d.Praised, bulletinLine{rankRow: s, Text: fmt.Sprintf("%s本月排名第%d位，检查覆盖率\u00a0%s%%（应检网吧 %d\u00a0家，已检 %d\u00a0家），逾期未整改 %d\u00a0项%s，予以通报表扬。",
			s.Name, s.Rank, num(s.Coverage), s.Cafes, s.CafesInspected, s.Overdue, medianText(s.Median))})
	}
	for _, s := range r.Squads[len(r.Squads)-n:] {
		d.Named = append(d.Named, bulletinLine{rankRow: s, Text: fmt.Sprintf("%s本月排名第%d位，检查覆盖率\u00a0%s%%（应检网吧 %d\u00a0家，已检 %d\u00a0家，尚有 %d\u00a0家未检查），逾期未整改 %d\u00a0项%s，现存校园周边禁设区域违规 %d\u00a0处，予以通报批评。",
			s.Name, s.Rank, num(s.Coverage), s.Cafes, s.CafesInspected, len(s.AtRisk), s.Overdue, medianText(s.Median), s.Zones)})
	}
	for _, s := range r.Squads {
		for _, k := range s.OverdueCases {
			d.Overdue = append(d.Overdue, bulletinLine{rankRow: s, Text: fmt.Sprintf("%s %s（%s）立案后已超过 90 日未作出处理决定（期限 %s）。",
				s.Name, k.Number, shown(k.VenueName), w.day(k.DecideBy))})
		}
	}
	return w.render(c, http.StatusOK, "bulletin", d.MonthText+"文化市场巡查工作情况通报", d)
}

// The figures in the bulletin's sentences are bound to their units with
// no-break spaces, so that a line never ends between "29" and "项".

// medianText is the close-out clause of a squad's figures.
func medianText(m *float64) string {
	if m == nil {
		return "，本月无整改销号问题"
	}
	return "，整改销号中位用时 " + num(*m) + "\u00a0天"
}

// cnNum writes a small count as Chinese counts it (一, 两, 三 … 十).
func cnNum(n int) string {
	if n >= 1 && n <= 10 {
		return []string{"一", "两", "三", "四", "五", "六", "七", "八", "九", "十"}[n-1]
	}
	return fmt.Sprint(n)
}
