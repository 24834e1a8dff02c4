package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// complaintPage is how many complaints one page of the list shows.
const complaintPage = 50

// contactHidden is what a reader who may not see the complainant's
// contact sees in its place.
const contactHidden = "（仅分管中队长可见）"

// complaintAccess is what p may do with complaints (the store applies it).
func complaintAccess(p *auth.Principal) schema.ComplaintAccess {
	return schema.ComplaintAccessOf(p.Role, p.SquadID, p.IsDevice())
}

// mayTakeIn reports whether p may enter a new complaint: the office's
// intake staff, admins, and leaders (a call that reaches a squad).
func mayTakeIn(p *auth.Principal) bool {
	return schema.ComplaintAccessOf(p.Role, p.SquadID, p.IsDevice()).Intake
}

// limitNote is one time limit of a complaint as a list or page shows it.
type limitNote struct {
	Kind  string // accept, finish
	Label string // 受理期限, 办结期限
	At    time.Time
	Over  bool
	Text  string // 受理超期 3 天 / 剩余 5 天 / 今日到期
}

// localDays is the number of the bureau's calendar days from a to b.
func (w *Web) localDays(a, b time.Time) int {
	la, lb := a.In(w.cfg.Zone), b.In(w.cfg.Zone)
	da := time.Date(la.Year(), la.Month(), la.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(lb.Year(), lb.Month(), lb.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// limitNotes are the limits that still bind c at now: acceptance while it
// is received, finishing until it is handled (or rejected).
func (w *Web) limitNotes(c schema.Complaint, now time.Time) []limitNote {
	var out []limitNote
	note := func(kind, label, overLabel string, at time.Time) {
		n := limitNote{Kind: kind, Label: label, At: at, Over: now.After(at)}
		switch days := w.localDays(now, at); {
		case n.Over:
			n.Text = overLabel + " " + strconv.Itoa(max(1, -days)) + "\u00a0天"
		case days == 0:
			n.Text = "今日到期"
		default:
			n.Text = "剩余 " + strconv.Itoa(days) + "\u00a0天"
		}
		out = append(out, n)
	}
	if c.Status == schema.ComplaintReceived {
		note("accept", "受理期限", "受理超期", c.AcceptBy)
	}
	if !schema.ComplaintFinished(c.Status) {
		note("finish", "办结期限", "办结超期", c.Due)
	}
	return out
}

// complaintRow is a complaint of the list with its venue's name and limits.
type complaintRow struct {
	schema.Complaint
	VenueName string
	Limits    []limitNote
}

// complaintListData is one page of the complaints list with its filters.
type complaintListData struct {
	Squads    []int64 // the squad filter's choices; none when the reader sees one squad
	Squad     string
	Status    string
	Overdue   bool
	States    []string
	Rows      []complaintRow
	Next      string
	CanIntake bool
	Notice    string
}

// complaintNotices are shown after a form of the complaint pages.
var complaintNotices = map[string]string{
	"received-elsewhere":      "投诉已登记，并已按场所分派给承办中队（不在您的中队，您不能查看它）。",
	schema.ComplaintActAccept: "已受理。办结期限从受理之日起计算。",
	schema.ComplaintActReject: "已决定不予受理。",
	schema.ComplaintActAssign: "已转交其他中队承办。",
	schema.ComplaintActExtend: "已延期。",
	schema.ComplaintActHandle: "已记录办理结果。",
	schema.ComplaintActAnswer: "已记录对投诉人的答复。",
	schema.ComplaintActClose:  "投诉已办结。",
}

func (w *Web) complaintsPage(c echo.Context, p *auth.Principal) error {
	a := complaintAccess(p)
	q := c.QueryParams()
	d := complaintListData{Status: q.Get("status"), Overdue: q.Get("overdue") != "", States: schema.ComplaintStates,
		CanIntake: mayTakeIn(p), Notice: complaintNotices[q.Get("ok")]}
	f := store.ComplaintFilter{Status: d.Status, Overdue: d.Overdue, After: q.Get("after"), Limit: complaintPage + 1}
	if d.Status != "" && !slices.Contains(schema.ComplaintStates, d.Status) {
		return Fail(schema.CodeInvalid, "请从列表中选择投诉状态。", "status not a complaint state")
	}
	if a.Read.All {
		if s := q.Get("squad"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return Fail(schema.CodeInvalid, "中队编号应为正整数。", "squad not a number")
			}
			f.SquadID, d.Squad = &n, s
		}
		var err error
		if d.Squads, err = w.squads(c); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	list, err := w.st.ListComplaints(ctx, f, a)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeInvalid {
			return Refused(err, "翻页链接已失效", "请从第一页重新开始。", "/complaints")
		}
		return err
	}
	if len(list) > complaintPage {
		list = list[:complaintPage]
		next := url.Values{}
		for k, v := range q {
			if k != "after" && k != "ok" && len(v) > 0 && v[0] != "" {
				next.Set(k, v[0])
			}
		}
		next.Set("after", store.ComplaintCursorOf(list[len(list)-1]))
		d.Next = "/complaints?" + next.Encode()
	}
	now := w.cfg.Now()
	names := map[string]string{}
	for _, x := range list {
		r := complaintRow{Complaint: x, Limits: w.limitNotes(x, now)}
		if x.VenueID != "" {
			name, ok := names[x.VenueID]
			if !ok {
				if v, err := w.st.Venue(ctx, x.VenueID); err == nil {
					name = v.Name
				}
				names[x.VenueID] = name
			}
			r.VenueName = name
		}
		d.Rows = append(d.Rows, r)
	}
	return w.render(c, http.StatusOK, "complaints", "投诉举报", d)
}

// complaintData is one complaint with its venue, limits, timeline and the
// forms of the actions its state and the reader allow.
type complaintData struct {
	schema.Complaint
	Venue         *schema.Venue
	Links         bool // the reader may open venue and inspection pages
	ContactShown  bool
	ContactHidden string
	Limits        []limitNote
	Timeline      []timelineEntry
	Notice        string
	// The forms.
	CanAccept, CanReject, CanAssign, CanExtend, CanHandle, CanAnswer, CanClose bool
	AssignTo                                                                   []int64
	MaxExtension, FinishDays                                                   int
	Methods                                                                    []string
}

// visibleComplaint is the complaint of the route as p reads it; one p may
// not read is not found, like a missing one or an id that is no uuid.
func (w *Web) visibleComplaint(c echo.Context, p *auth.Principal) (schema.Complaint, error) {
	id := c.Param("id")
	if uuid.Validate(id) != nil {
		return schema.Complaint{}, Fail(schema.CodeNotFound, "没有这件投诉。", "complaint id not a uuid")
	}
	x, err := w.st.Complaint(c.Request().Context(), id, complaintAccess(p))
	if schema.ErrorCode(err) == schema.CodeNotFound {
		return x, Fail(schema.CodeNotFound, "没有这件投诉，或它不由您的中队承办。", "complaint not found or not readable")
	}
	return x, err
}

func (w *Web) complaintPage(c echo.Context, p *auth.Principal) error {
	x, err := w.visibleComplaint(c, p)
	if err != nil {
		return err
	}
	a := complaintAccess(p)
	ctx := c.Request().Context()
	lim := w.cfg.ComplaintLimits
	d := complaintData{Complaint: x, Links: p.Role != schema.RoleOffice, ContactShown: a.Contact.Covers(x.SquadID),
		ContactHidden: contactHidden, Limits: w.limitNotes(x, w.cfg.Now()), Notice: complaintNotices[c.QueryParam("ok")],
		MaxExtension: lim.MaxExtensionDays, FinishDays: lim.FinishDays, Methods: schema.ComplaintReplyMethods}
	if x.VenueID != "" {
		if v, err := w.st.Venue(ctx, x.VenueID); err == nil {
			d.Venue = &v
		}
	}
	audit, err := w.st.AuditEntries(ctx, store.AuditFilter{EntityKind: schema.AuditComplaint, EntityID: x.ID, Limit: pageAuditLimit})
	if err != nil {
		return err
	}
	slices.Reverse(audit) // a timeline reads from the intake on
	for _, e := range audit {
		d.Timeline = append(d.Timeline, timelineOf(e, x))
	}
	if a.Act.Covers(x.SquadID) {
		s := x.Status
		d.CanAccept = s == schema.ComplaintReceived
		d.CanReject = s == schema.ComplaintReceived
		d.CanAssign = s == schema.ComplaintReceived || s == schema.ComplaintAccepted
		d.CanExtend = schema.ComplaintOpen(s) && x.Extension == nil && lim.MaxExtensionDays > 0
		d.CanHandle = s == schema.ComplaintAccepted || s == schema.ComplaintInvestigating
		d.CanAnswer = s == schema.ComplaintHandled
		d.CanClose = s == schema.ComplaintAnswered || s == schema.ComplaintHandled && !x.ReplyWanted
		if d.CanAssign {
			squads, err := w.squads(c)
			if err != nil {
				return err
			}
			for _, id := range squads {
				if id != x.SquadID {
					d.AssignTo = append(d.AssignTo, id)
				}
			}
			d.CanAssign = len(d.AssignTo) > 0
		}
	}
	return w.render(c, http.StatusOK, "complaint", x.Number, d)
}

// actOnComplaint is the form of one action on a complaint.
func (w *Web) actOnComplaint(c echo.Context, p *auth.Principal) error {
	x, err := w.visibleComplaint(c, p)
	if err != nil {
		return err
	}
	back := "/complaints/" + x.ID
	act := schema.ComplaintAction{Action: c.Param("act"), By: p.Username}
	if !slices.Contains(schema.ComplaintActions, act.Action) {
		return Fail(schema.CodeNotFound, "没有这个操作。", "unknown complaint action")
	}
	form := c.Request().PostForm
	act.Reason, act.Text, act.Method = formText(form, "reason"), formText(form, "text"), form.Get("method")
	switch act.Action {
	case schema.ComplaintActExtend:
		n, err := strconv.Atoi(strings.TrimSpace(form.Get("days")))
		if err != nil {
			return &PageError{Code: schema.CodeInvalid, Title: "请填写延期天数", Back: back, Message: "延期天数应为整数。", Detail: "days not a number"}
		}
		act.Days = n
	case schema.ComplaintActAssign:
		n, err := strconv.ParseInt(form.Get("squad"), 10, 64)
		if err != nil || n <= 0 {
			return &PageError{Code: schema.CodeInvalid, Title: "请选择承办中队", Back: back, Message: "请从列表中选择接手的中队。", Detail: "squad not a number"}
		}
		act.SquadID = n
	}
	out, err := w.st.ActOnComplaint(c.Request().Context(), x.ID, act, complaintAccess(p), w.cfg.ComplaintLimits)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeForbidden {
			return &PageError{Code: schema.CodeForbidden, Back: back, Message: "只有承办中队的中队长或局管理员可以处理这件投诉。", Detail: err.Error()}
		}
		return Refused(err, "操作未执行", "这件投诉现在不能这样处理，原因如下。请返回查看它的当前状态。", back)
	}
	if !complaintAccess(p).Read.Covers(out.SquadID) {
		return c.Redirect(http.StatusSeeOther, "/complaints?ok="+act.Action) // handed to a squad the leader does not read
	}
	return c.Redirect(http.StatusSeeOther, back+"?ok="+act.Action)
}

// formText is a posted text field trimmed, with a browser's CRLF line
// ends made the LF that stored text uses (a CR is a control character).
func formText(form url.Values, name string) string {
	return strings.TrimSpace(strings.ReplaceAll(form.Get(name), "\r\n", "\n"))
}

// timelineEntry is one step of a complaint's timeline in Chinese.
type timelineEntry struct {
	schema.AuditEntry
	Text string // what the step recorded, in words; people's own words as they wrote them
}

// timelineOf words an audit entry of the complaint: the store records
// its own facts in English ("squad 1 → 2: …", "10 days to …: …"), which
// the page says in Chinese from the complaint, keeping what people wrote.
func timelineOf(e schema.AuditEntry, c schema.Complaint) timelineEntry {
	t := timelineEntry{AuditEntry: e, Text: e.Reason}
	if dev, ok := strings.CutPrefix(e.Actor, "device:"); ok {
		t.Actor = "设备 " + shortID(dev)
	}
	_, rest, found := strings.Cut(e.Reason, ": ")
	switch e.Action {
	case "complaint_received":
		t.Text = channelName(c.Channel) + " · " + categoryName(c.Category)
		if e.SquadID != nil {
			t.Text += "，分派" + squadName(e.SquadID)
		}
	case "complaint_assigned":
		var from, to int64
		if n, _ := fmt.Sscanf(e.Reason, "squad %d → %d:", &from, &to); n == 2 && found {
			t.Text = fmt.Sprintf("第%d中队 → 第%d中队：%s", from, to, rest)
		}
	case "complaint_extended":
		var days int
		if n, _ := fmt.Sscanf(e.Reason, "%d days", &days); n == 1 && found {
			t.Text = fmt.Sprintf("延长 %d 天：%s", days, rest)
		}
	case "complaint_investigating":
		var in string
		if n, _ := fmt.Sscanf(e.Reason, "inspection %s from", &in); n == 1 {
			t.Text = "检查 " + shortID(in) + " 已上传"
		}
	case "complaint_answered":
		if m, ok := strings.CutPrefix(e.Reason, "by "); ok {
			t.Text = "答复方式：" + replyMethodName(m)
		}
	}
	return t
}

// shortID is the first eight characters of an id, as lists show it.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
