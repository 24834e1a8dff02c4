package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// casesLimit is the number of cases on one page of the list.
const casesLimit = 50

// casesData is one page of the case list with its filters.
type casesData struct {
	Admin        bool
	Squad        *int64
	Squads       []int64
	Status       string
	Overdue      bool
	States       []string
	Cases        []caseRow
	Next         string
	OverdueCount int // how many of the page are overdue
}

// caseRow is a case with its venue's name.
type caseRow struct {
	schema.Case
	VenueName string
}

var caseNotices = map[string]string{
	"opened":      "已立案，案件编号已生成。请开始调查、附上证据并指定承办人。",
	"existing":    "该来源已有未结案件，已打开该案件。",
	"investigate": "已开始调查。",
	"attach":      "证据已附上。",
	"handlers":    "承办人已更新。",
	"decide":      "已作出处罚决定。",
	"close":       "案件已结案。",
}

func (w *Web) casesPage(c echo.Context, p *auth.Principal) error {
	sq, err := squadFilter(c, p)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	d := casesData{Admin: p.IsAdmin(), Squad: sq, Status: q.Get("status"), Overdue: q.Get("overdue") == "1", States: schema.CaseStates}
	f := store.CaseFilter{SquadID: sq, Status: d.Status, Overdue: d.Overdue, After: q.Get("after"), Limit: casesLimit}
	ctx := c.Request().Context()
	page, err := w.st.ListCases(ctx, f)
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeInvalid {
			return Refused(err, "筛选条件有误", "请检查筛选条件；翻页链接失效时请从第一页重新开始。", "/cases")
		}
		return err
	}
	names, err := w.venueNames(c, sq)
	if err != nil {
		return err
	}
	for _, x := range page.Cases {
		d.Cases = append(d.Cases, caseRow{Case: x, VenueName: names[x.VenueID]})
		if x.Overdue {
			d.OverdueCount++
		}
	}
	if page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			if k != "after" && len(v) > 0 && v[0] != "" {
				next.Set(k, v[0])
			}
		}
		next.Set("after", page.Next)
		d.Next = "/cases?" + next.Encode()
	}
	if p.IsAdmin() {
		if d.Squads, err = w.squads(c); err != nil {
			return err
		}
	}
	return w.render(c, http.StatusOK, "cases", "案件", d)
}

// venueNames maps the venue ids of a squad (every squad for nil) to names.
func (w *Web) venueNames(c echo.Context, sq *int64) (map[string]string, error) {
	vs, err := w.st.ListVenues(c.Request().Context(), store.VenueFilter{SquadID: sq, Limit: 20000})
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(vs))
	for _, v := range vs {
		names[v.ID] = v.Name
	}
	return names, nil
}

// caseData is one case with what its page shows beside it.
type caseData struct {
	schema.Case
	Venue    *schema.Venue
	Notice   string
	Timeline []schema.AuditEntry
	Evidence []evidenceRow
	// Candidates are the venue's inspections, findings and photos not
	// attached yet, for the attach form.
	Candidates []evidenceOption
	Inspectors []schema.Inspector // of the squad, for the handlers form
	Handler    map[string]bool
	Decisions  []string
	Undecided  bool
	CanInvest  bool
	CanDecide  bool
	CanClose   bool
	SourceLink string
	// Derived is set when the audit log holds nothing of the case (it was
	// imported): the timeline is read from the case's own times.
	Derived   bool
	AuditLink string
}

// evidenceRow is a piece of evidence with where it can be seen.
type evidenceRow struct {
	schema.CaseEvidence
	Link  string
	Thumb string
}

// evidenceOption is one choice of the attach form: kind:ref.
type evidenceOption struct {
	Value, Label string
}

// visibleCase is the case of the route, if the user supervises its
// squad; another squad's is not found, like a missing one.
func (w *Web) visibleCase(c echo.Context, p *auth.Principal) (schema.Case, error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return schema.Case{}, Fail(schema.CodeNotFound, "没有这个案件。", "case id not a uuid")
	}
	x, err := w.st.Case(c.Request().Context(), id, p.Scope())
	if schema.ErrorCode(err) == schema.CodeNotFound {
		return schema.Case{}, Fail(schema.CodeNotFound, "没有这个案件，或它不属于您的中队。", "case not found or of another squad")
	}
	return x, err
}

func (w *Web) casePage(c echo.Context, p *auth.Principal) error {
	x, err := w.visibleCase(c, p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	undecided := x.Status == schema.CaseOpened || x.Status == schema.CaseInvestigating
	d := caseData{Case: x, Notice: caseNotices[c.QueryParam("ok")], Decisions: schema.DecisionTypes, Undecided: undecided,
		CanInvest: x.Status == schema.CaseOpened, CanDecide: x.Status == schema.CaseInvestigating, CanClose: x.Status == schema.CaseDecided,
		Handler: map[string]bool{}}
	if x.Source == schema.CaseFromBlackCafe {
		d.SourceLink = "/venues/" + x.SourceID
	} else {
		d.SourceLink = "/findings/" + x.SourceID
	}
	if v, err := w.st.Venue(ctx, x.VenueID); err == nil {
		d.Venue = &v
	}
	for _, h := range x.Handlers {
		d.Handler[h.Username] = true
	}
	attached := map[string]bool{}
	for _, e := range x.Evidence {
		attached[e.Kind+":"+e.Ref] = true
		r := evidenceRow{CaseEvidence: e}
		switch e.Kind {
		case schema.EvidenceInspection, schema.EvidenceRecord:
			r.Link = "/inspections/" + e.Ref
		case schema.EvidenceFinding:
			r.Link = "/findings/" + e.Ref
		case schema.EvidencePhoto:
			r.Link, r.Thumb = "/api/v1/photos/"+e.Ref, "/api/v1/photos/"+e.Ref+"/thumb"
		}
		d.Evidence = append(d.Evidence, r)
	}
	entries, err := w.st.AuditEntries(ctx, store.AuditFilter{EntityKind: store.AuditCase, EntityID: x.ID, Limit: pageAuditLimit})
	if err != nil {
		return err
	}
	// The timeline reads forward: opened first.
	for i := len(entries) - 1; i >= 0; i-- {
		d.Timeline = append(d.Timeline, entries[i])
	}
	if len(d.Timeline) == 0 {
		d.Timeline, d.Derived = derivedTimeline(x), true
	}
	d.AuditLink = auditQuery(store.AuditCase, x.ID, "")
	if undecided {
		if d.Candidates, err = w.evidenceOptions(c, x, attached); err != nil {
			return err
		}
		users, err := w.st.ListUsers(ctx, store.UserFilter{SquadID: &x.SquadID, Limit: 500})
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Role == schema.RoleInspector && !u.Disabled {
				d.Inspectors = append(d.Inspectors, schema.Inspector{Username: u.Username, Name: u.DisplayName, BadgeNo: u.BadgeNo})
			}
		}
		// A co-inspector named already stays on the form.
		for _, h := range x.Handlers {
			known := false
			for _, in := range d.Inspectors {
				known = known || in.Username == h.Username
			}
			if !known {
				d.Inspectors = append(d.Inspectors, h)
			}
		}
	}
	return w.render(c, http.StatusOK, "case", "案件 · "+x.Number, d)
}

// evidenceOptions lists what the case's venue offers as evidence: the
// squad's inspections of it (newest first), their photos, and the venue's
// findings, leaving out what is attached already.
func (w *Web) evidenceOptions(c echo.Context, x schema.Case, attached map[string]bool) ([]evidenceOption, error) {
	ctx := c.Request().Context()
	var out []evidenceOption
	ins, err := w.st.ListInspections(ctx, store.InspectionFilter{VenueID: x.VenueID, SquadID: &x.SquadID, Limit: 20})
	if err != nil {
		return nil, err
	}
	photos := map[string]bool{}
	for _, in := range ins {
		if !attached[schema.EvidenceInspection+":"+in.ID] {
			out = append(out, evidenceOption{schema.EvidenceInspection + ":" + in.ID, "检查 · " + w.when(in.StartedAt) + " · " + statusName(in.Status)})
		}
		for _, it := range in.Items {
			for _, ph := range it.Photos {
				k := schema.EvidencePhoto + ":" + ph.SHA256
				if !photos[k] && !attached[k] {
					photos[k] = true
					out = append(out, evidenceOption{k, "照片 · " + it.ItemID + " · " + w.when(ph.CapturedAt) + " · " + ph.SHA256[:12]})
				}
			}
		}
	}
	l, err := w.st.VenueLedger(ctx, x.VenueID)
	if err != nil {
		return nil, err
	}
	fs := l.Findings
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].OpenedAt.After(fs[j].OpenedAt) })
	for _, f := range fs {
		k := schema.EvidenceFinding + ":" + f.ID
		if f.SquadID == x.SquadID && !attached[k] {
			out = append(out, evidenceOption{k, "问题 · " + f.ItemID + " " + f.TitleZH + " · " + findingStatusName(f.Status)})
		}
	}
	return out, nil
}

// openCase is the 立案 form of the finding and discovery pages.
func (w *Web) openCase(c echo.Context, p *auth.Principal) error {
	form := c.Request().PostForm
	in := store.OpenCaseInput{Source: form.Get("source"), SourceID: form.Get("source_id"), Summary: strings.TrimSpace(form.Get("summary")), By: p.Username}
	back := "/cases"
	if uuid.Validate(in.SourceID) == nil {
		if in.Source == schema.CaseFromBlackCafe {
			back = "/discoveries"
		} else {
			back = "/findings/" + in.SourceID
		}
	}
	x, created, err := w.st.OpenCase(c.Request().Context(), in, p.Scope())
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeNotFound {
			return Fail(schema.CodeNotFound, "没有这个立案来源，或它不属于您的中队。", err.Error())
		}
		return Refused(err, "未能立案", "这个来源现在不能立案，原因如下。", back)
	}
	ok := "opened"
	if !created {
		ok = "existing"
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+x.ID+"?ok="+ok)
}

// actOnCase is the forms of a case's page.
func (w *Web) actOnCase(c echo.Context, p *auth.Principal) error {
	x, err := w.visibleCase(c, p)
	if err != nil {
		return err
	}
	form := c.Request().PostForm
	back := "/cases/" + x.ID
	in := store.CaseInput{Action: c.Param("act"), By: p.Username, Note: strings.TrimSpace(form.Get("note"))}
	switch in.Action {
	case schema.CaseActInvestigate, schema.CaseActClose:
	case schema.CaseActAttach:
		for _, v := range form["evidence"] {
			kind, ref, _ := strings.Cut(v, ":")
			in.Evidence = append(in.Evidence, schema.CaseEvidence{Kind: kind, Ref: ref, Note: in.Note})
		}
		if len(in.Evidence) == 0 {
			return &PageError{Code: schema.CodeInvalid, Title: "请选择证据", Back: back, Message: "请在列表中选择要附上的检查、照片或问题。", Detail: "no evidence chosen"}
		}
		in.Note = ""
	case schema.CaseActHandlers:
		in.Handlers = append(in.Handlers, form["handler"]...)
		for _, u := range strings.FieldsFunc(form.Get("more"), func(r rune) bool { return r == ',' || r == '，' || r == ' ' }) {
			in.Handlers = append(in.Handlers, u)
		}
	case schema.CaseActDecide:
		in.Decision = schema.CaseDecision{Type: form.Get("type"), Note: in.Note}
		in.Note = ""
		if s := strings.TrimSpace(form.Get("fine_yuan")); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return &PageError{Code: schema.CodeInvalid, Title: "罚款金额有误", Back: back, Message: "罚款金额应为整数（元），例如 5000。", Detail: "fine not a number"}
			}
			if in.Decision.Type == schema.DecisionFine {
				in.Decision.FineYuan = n
			}
		}
	default:
		return Fail(schema.CodeNotFound, "没有这个操作。", "unknown case action")
	}
	if _, err := w.st.ActOnCase(c.Request().Context(), x.ID, in, p.Scope()); err != nil {
		if schema.ErrorCode(err) == schema.CodeNotFound {
			return &PageError{Code: schema.CodeNotFound, Title: "证据未找到", Back: back, Message: "所选证据不存在，或不属于本中队、本场所。", Detail: err.Error(), Reason: err.Error()}
		}
		return Refused(err, "操作未执行", "这个案件现在不能这样处理，原因如下。请返回查看它的当前状态。", back)
	}
	return c.Redirect(http.StatusSeeOther, back+"?ok="+in.Action)
}

// caseStatusName is a case state in Chinese.
func caseStatusName(s string) string {
	switch s {
	case schema.CaseOpened:
		return "已立案"
	case schema.CaseInvestigating:
		return "调查中"
	case schema.CaseDecided:
		return "已决定"
	case schema.CaseClosed:
		return "已结案"
	}
	return shown(s)
}

// caseSourceName says in Chinese what a case was opened from.
func caseSourceName(s string) string {
	switch s {
	case schema.CaseFromCriticalFinding:
		return "严重问题"
	case schema.CaseFromEscalatedFinding:
		return "问题转立案"
	case schema.CaseFromBlackCafe:
		return "无证经营（黑网吧）"
	}
	return shown(s)
}

// decisionName is a decision type in Chinese.
func decisionName(s string) string {
	switch s {
	case schema.DecisionWarning:
		return "警告"
	case schema.DecisionFine:
		return "罚款"
	case schema.DecisionSuspension:
		return "责令停业整顿"
	case schema.DecisionRevocation:
		return "吊销许可证"
	case schema.DecisionClosure:
		return "取缔"
	}
	return shown(s)
}

// evidenceKindName is an evidence kind in Chinese.
func evidenceKindName(s string) string {
	switch s {
	case schema.EvidenceInspection:
		return "检查记录"
	case schema.EvidencePhoto:
		return "照片"
	case schema.EvidenceFinding:
		return "问题"
	case schema.EvidenceRecord:
		return "现场检查笔录"
	}
	return shown(s)
}

// caseActionName is a case audit action in Chinese.
func caseActionName(a string) string {
	switch a {
	case store.AuditCaseOpened:
		return "立案"
	case store.AuditCaseInvestigating:
		return "开始调查"
	case store.AuditCaseEvidence:
		return "附上证据"
	case store.AuditCaseHandlers:
		return "指定承办人"
	case store.AuditCaseDecided:
		return "作出决定"
	case store.AuditCaseClosed:
		return "结案"
	}
	return ""
}

// daysLeftText says how long a case has to its decision limit.
func daysLeftText(x schema.Case) string {
	switch {
	case x.Status == schema.CaseDecided || x.Status == schema.CaseClosed:
		return "已决定"
	case x.Overdue:
		return "已超期 " + strconv.Itoa(-x.DaysLeft) + " 天"
	case x.DaysLeft == 0:
		return "今天到期"
	}
	return "剩 " + strconv.Itoa(x.DaysLeft) + " 天"
}

// caseReasonText is an audit reason of a case as the timeline shows it:
// evidence and decisions in Chinese words, anything else as recorded.
func caseReasonText(action, reason string) string {
	switch action {
	case store.AuditCaseEvidence:
		var parts []string
		for _, p := range strings.Split(reason, "; ") {
			kind, ref, ok := strings.Cut(p, " ")
			if !ok {
				return reason
			}
			if len(ref) > 12 {
				ref = ref[:12]
			}
			parts = append(parts, evidenceKindName(kind)+" "+ref)
		}
		return strings.Join(parts, "、")
	case store.AuditCaseDecided:
		typ, rest, _ := strings.Cut(reason, " ")
		if !strings.HasPrefix(rest, "¥") {
			typ, rest, _ = strings.Cut(reason, ":")
			if typ == reason {
				return decisionName(reason)
			}
			return decisionName(typ) + "：" + strings.TrimSpace(rest)
		}
		amount, note, _ := strings.Cut(rest, ":")
		n, err := strconv.ParseInt(strings.TrimPrefix(amount, "¥"), 10, 64)
		if err != nil {
			return reason
		}
		out := decisionName(typ) + " ¥" + groupDigits(n)
		if note = strings.TrimSpace(note); note != "" {
			out += "：" + note
		}
		return out
	}
	return reason
}

// derivedTimeline is the steps a case's own fields record, for a case the
// audit log knows nothing of (an imported one), in the timeline's form.
func derivedTimeline(x schema.Case) []schema.AuditEntry {
	out := []schema.AuditEntry{{At: x.OpenedAt, Actor: x.OpenedBy, Action: store.AuditCaseOpened, To: schema.CaseOpened, Reason: x.Number + " · " + x.Summary}}
	for _, e := range x.Evidence {
		out = append(out, schema.AuditEntry{At: e.AddedAt, Actor: e.AddedBy, Action: store.AuditCaseEvidence, Reason: e.Kind + " " + e.Ref})
	}
	if d := x.Decision; d != nil {
		r := d.Type
		if d.FineYuan > 0 {
			r += " ¥" + strconv.FormatInt(d.FineYuan, 10)
		}
		if d.Note != "" {
			r += ": " + d.Note
		}
		out = append(out, schema.AuditEntry{At: d.DecidedAt, Actor: d.DecidedBy, Action: store.AuditCaseDecided, To: schema.CaseDecided, Reason: r})
	}
	if x.ClosedAt != nil {
		out = append(out, schema.AuditEntry{At: *x.ClosedAt, Actor: x.ClosedBy, Action: store.AuditCaseClosed, To: schema.CaseClosed, Reason: x.CloseNote})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
