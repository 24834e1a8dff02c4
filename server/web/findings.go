package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// ledgerLimit is the number of findings on one page of the ledger.
const ledgerLimit = 50

// ledgerData is one page of the findings ledger with its filters.
type ledgerData struct {
	Admin    bool
	Squad    *int64
	Squads   []int64
	Filter   ledgerForm
	Items    []schema.ChecklistItem
	Venues   []schema.Venue
	Findings []ledgerRow
	Next     string // the next page's URL, "" on the last
	States   []string
}

// ledgerForm is the filter form as the leader filled it in.
type ledgerForm struct {
	Status, Item, Venue, From, To, Sort string
}

// ledgerRow is a finding with its venue's name.
type ledgerRow struct {
	schema.Finding
	VenueName string
}

func (w *Web) ledgerPage(c echo.Context, p *auth.Principal) error {
	sq, err := squadFilter(c, p)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	form := ledgerForm{Status: q.Get("status"), Item: q.Get("item"), Venue: q.Get("venue"), From: q.Get("from"), To: q.Get("to"), Sort: q.Get("sort")}
	f := store.FindingFilter{SquadID: sq, Status: form.Status, ItemID: form.Item, Sort: form.Sort, After: q.Get("after"), Limit: ledgerLimit}
	if form.Venue != "" {
		if _, err := uuid.Parse(form.Venue); err != nil {
			return Fail(schema.CodeInvalid, "场所编号无效，请从列表中选择场所。", "venue not a uuid")
		}
		f.VenueID = form.Venue
	}
	if f.From, err = w.parseDay(form.From, "起始日期"); err != nil {
		return err
	}
	if f.To, err = w.parseDay(form.To, "截止日期"); err != nil {
		return err
	}
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // the whole last day
	}
	ctx := c.Request().Context()
	page, err := w.st.Findings(ctx, f)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeInvalid {
			return Refused(err, "筛选条件有误", "请检查筛选条件；翻页链接失效时请从第一页重新开始。", "/findings")
		}
		return err
	}
	d := ledgerData{Admin: p.IsAdmin(), Squad: sq, Filter: form, States: append(append([]string{}, schema.FindingStates...), schema.FindingOverdueTag)}
	if cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion); err == nil {
		d.Items = cl.Items
	}
	if d.Venues, err = w.st.ListVenues(ctx, store.VenueFilter{SquadID: sq}); err != nil {
		return err
	}
	names := make(map[string]string, len(d.Venues))
	for _, v := range d.Venues {
		names[v.ID] = v.Name
	}
	for _, fd := range page.Findings {
		d.Findings = append(d.Findings, ledgerRow{Finding: fd, VenueName: names[fd.VenueID]})
	}
	if page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			if k != "after" && len(v) > 0 && v[0] != "" {
				next.Set(k, v[0])
			}
		}
		next.Set("after", page.Next)
		d.Next = "/findings?" + next.Encode()
	}
	if p.IsAdmin() {
		if d.Squads, err = w.squads(c); err != nil {
			return err
		}
	}
	return w.render(c, http.StatusOK, "findings", "问题台账", d)
}

// parseDay reads a date input (YYYY-MM-DD) as the start of that day in
// the bureau's zone; "" is no date.
func (w *Web) parseDay(s, what string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, w.cfg.Zone)
	if err != nil {
		return time.Time{}, Fail(schema.CodeInvalid, what+"应为“年-月-日”格式的日期，例如 2026-12-31。", "date not YYYY-MM-DD")
	}
	return t, nil
}

// findingData is one finding with its venue, inspection and history.
type findingData struct {
	schema.Finding
	Venue     *schema.Venue
	Audit     []schema.AuditEntry
	AuditLink string
	Notice    string
	CanOrder  bool
	CanClose  bool
	CanEscal  bool
	// CaseSource is the source a 立案 form opens a case from ("" when the
	// finding cannot, or has a case already).
	CaseSource string
	MinDay     string
	MaxDay     string
	DefaultDay string
}

// visibleFinding is the finding of the route, if the user supervises its
// squad; another squad's is not found, like a missing one.
func (w *Web) visibleFinding(c echo.Context, p *auth.Principal) (schema.Finding, error) {
	return visible(c, p, w.st.Finding, func(x schema.Finding) int64 { return x.SquadID }, "这个问题", "finding")
}

func (w *Web) findingPage(c echo.Context, p *auth.Principal) error {
	f, err := w.visibleFinding(c, p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := findingData{Finding: f, Notice: reviewNotices[c.QueryParam("ok")], CanOrder: f.Status == schema.FindingOpen,
		CanClose: f.Status == schema.FindingRechecked,
		CanEscal: f.Status == schema.FindingOpen || f.Status == schema.FindingOrdered || f.Status == schema.FindingRechecked}
	switch {
	case f.CaseID != "":
	case f.Status == schema.FindingEscalated:
		d.CaseSource = schema.CaseFromEscalatedFinding
	case f.Critical && f.Status != schema.FindingClosed:
		d.CaseSource = schema.CaseFromCriticalFinding
	}
	d.MinDay, d.MaxDay, d.DefaultDay = w.orderDays()
	if v, err := w.st.Venue(ctx, f.VenueID); err == nil {
		d.Venue = &v
	}
	if d.Audit, err = w.st.AuditEntries(ctx, store.AuditFilter{EntityKind: schema.AuditFinding, EntityID: f.ID, Limit: pageAuditLimit}); err != nil {
		return err
	}
	d.AuditLink = auditQuery(schema.AuditFinding, f.ID, "")
	title := "问题 · " + f.ItemID + " " + f.TitleZH
	return w.render(c, http.StatusOK, "finding", title, d)
}

// actOnFinding is the order, close and escalate forms of a finding.
func (w *Web) actOnFinding(c echo.Context, p *auth.Principal) error {
	f, err := w.visibleFinding(c, p)
	if err != nil {
		return err
	}
	form := c.Request().PostForm
	back := "/findings/" + f.ID
	if from := form.Get("from"); from != "" && uuid.Validate(from) == nil && from == f.InspectionID {
		back = "/inspections/" + from
	}
	a := schema.FindingAction{By: p.Username}
	var ok string
	switch c.Param("act") {
	case "order":
		a.Action, ok = schema.FindingActOrder, "ordered"
		a.Text, a.Comment = strings.TrimSpace(form.Get("text")), strings.TrimSpace(form.Get("comment"))
		day, err := w.parseDay(form.Get("deadline"), "整改期限")
		if err != nil {
			return err
		}
		if day.IsZero() {
			return &PageError{Code: schema.CodeInvalid, Title: "请填写整改期限", Back: back, Message: "责令整改须选择整改期限。", Detail: "no deadline"}
		}
		// The venue has the whole of the last day.
		a.Deadline = day.AddDate(0, 0, 1).Add(-time.Second)
	case "close":
		a.Action, ok = schema.FindingActClose, "closed"
		a.Text = strings.TrimSpace(form.Get("note"))
	case "escalate":
		a.Action, ok = schema.FindingActEscalate, "escalated"
		a.Text = strings.TrimSpace(form.Get("reason"))
	default:
		return Fail(schema.CodeNotFound, "没有这个操作。", "unknown finding action")
	}
	if _, err := w.st.ActOnFinding(c.Request().Context(), f.ID, a, p.Scope()); err != nil {
		return Refused(err, "操作未执行", "这个问题现在不能这样处理，原因如下。请返回查看它的当前状态。", back)
	}
	return c.Redirect(http.StatusSeeOther, back+"?ok="+ok)
}

// auditQuery is the query of a filtered audit list (the page adds
// nothing; the export adds format).
func auditQuery(kind, id, actor string) string {
	v := url.Values{}
	if kind != "" {
		v.Set("entity", kind)
	}
	if id != "" {
		v.Set("id", id)
	}
	if actor != "" {
		v.Set("actor", actor)
	}
	return v.Encode()
}
