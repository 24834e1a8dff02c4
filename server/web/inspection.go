package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// inspectionData is one inspection as a leader reviews it: the record,
// its device, every version with what changed, its findings and history.
type inspectionData struct {
	schema.Inspection
	Items    []itemView
	Device   deviceView
	Versions []versionView
	Findings []schema.Finding
	// Recheck is the finding the inspection set out to re-check
	// (RecheckOf), when the leader may see it: whoever approves a
	// re-check must know which order it answers.
	Recheck *schema.Finding
	// Complaint is the complaint the inspection investigated
	// (ComplaintID), when the leader may read it.
	Complaint  *schema.Complaint
	Audit      []schema.AuditEntry
	AuditLink  string
	CanReview  bool
	Notice     string
	MinDay     string // the order form's date bounds (YYYY-MM-DD in the zone)
	MaxDay     string
	DefaultDay string
}

// itemView is one checklist item with its answer.
type itemView struct {
	schema.ChecklistItem
	Answer   schema.ItemResult
	Answered bool
}

// deviceView is the device that sent the inspection, with its clock.
type deviceView struct {
	ID, Name   string
	Offset     *int64
	LastSync   *time.Time
	ServerSide bool // made on the server (import), not by a device
}

// versionView is one accepted version and what changed from the one
// before it.
type versionView struct {
	store.InspectionVersion
	Changes []schema.VersionChange
}

// notices of the inspection and finding pages after a form.
var reviewNotices = map[string]string{
	"approved":  "已审核通过。不合格项已记入问题台账。",
	"returned":  "已退回检查员修改；修改后的版本会重新进入待审队列。",
	"ordered":   "已责令整改，整改通知书编号已生成。",
	"closed":    "问题已销号。",
	"escalated": "问题已转立案，案件已生成（见“案件”）。",
}

// visible is the record of the route's id, read with get, if the user
// supervises its squad; another squad's is not found, like a missing one
// or an id that is no uuid. what names the record to the user
// ("这条检查记录"), kind to the log.
func visible[T any](c echo.Context, p *auth.Principal, get func(context.Context, string) (T, error), squad func(T) int64,
	what, kind string) (T, error) {
	var zero T
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return zero, Fail(schema.CodeNotFound, "没有"+what+"。", kind+" id not a uuid")
	}
	x, err := get(c.Request().Context(), id)
	if err != nil {
		return zero, err
	}
	if !p.CanSupervise(squad(x)) {
		return zero, Fail(schema.CodeNotFound, "没有"+what+"，或它不属于您的中队。", kind+" of another squad")
	}
	return x, nil
}

// visibleInspection is the inspection of the route, if the user
// supervises its squad; another squad's is not found, like a missing one.
func (w *Web) visibleInspection(c echo.Context, p *auth.Principal) (schema.Inspection, error) {
	return visible(c, p, w.st.Inspection, func(x schema.Inspection) int64 { return x.SquadID }, "这条检查记录", "inspection")
}

func (w *Web) inspectionPage(c echo.Context, p *auth.Principal) error {
	in, err := w.visibleInspection(c, p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := inspectionData{Inspection: in, Items: checklistItems(in), CanReview: in.Status == schema.StatusSubmitted,
		Notice: reviewNotices[c.QueryParam("ok")]}
	d.Device = w.deviceOf(c, in)

	versions, err := w.st.InspectionVersions(ctx, in.ID)
	if err != nil && schema.ErrorCode(err) != schema.CodeNotFound {
		return err
	}
	for i, v := range versions {
		vv := versionView{InspectionVersion: v}
		if i > 0 {
			vv.Changes = schema.DiffVersions(versions[i-1].Record, v.Record)
		}
		d.Versions = append(d.Versions, vv)
	}
	if in.RecheckOf != "" {
		f, err := w.st.Finding(ctx, in.RecheckOf)
		switch {
		case err == nil && p.CanSupervise(f.SquadID):
			d.Recheck = &f
		case err != nil && schema.ErrorCode(err) != schema.CodeNotFound:
			return err
		}
	}
	if in.ComplaintID != "" {
		x, err := w.st.Complaint(ctx, in.ComplaintID, complaintAccess(p))
		switch {
		case err == nil:
			d.Complaint = &x
		case schema.ErrorCode(err) != schema.CodeNotFound:
			return err
		}
	}
	if in.Status == schema.StatusApproved {
		if d.Findings, err = w.findingsOf(c, in); err != nil {
			return err
		}
		d.MinDay, d.MaxDay, d.DefaultDay = w.orderDays()
	}
	if d.Audit, err = w.st.AuditEntries(ctx, store.AuditFilter{EntityKind: schema.AuditInspection, EntityID: in.ID, Limit: pageAuditLimit}); err != nil {
		return err
	}
	d.AuditLink = auditQuery(schema.AuditInspection, in.ID, "")
	title := "检查记录"
	if in.Venue != nil {
		title = "检查记录 · " + shown(in.Venue.Name)
	}
	return w.render(c, http.StatusOK, "inspection", title, d)
}

// pageAuditLimit is how many audit entries a record's page shows; the
// audit page and the export have the rest.
const pageAuditLimit = 50

// checklistItems pairs the checklist's items, in its order, with the
// inspection's answers; an answer to an item the checklist does not know
// is shown after them with its id.
func checklistItems(in schema.Inspection) []itemView {
	answers := map[string]schema.ItemResult{}
	for _, it := range in.Items {
		answers[it.ItemID] = it
	}
	var out []itemView
	if cl, err := schema.ChecklistByVersion(in.ChecklistVersion); err == nil {
		for _, ci := range cl.Items {
			a, ok := answers[ci.ID]
			delete(answers, ci.ID)
			out = append(out, itemView{ChecklistItem: ci, Answer: a, Answered: ok})
		}
	}
	for _, it := range in.Items {
		if _, ok := answers[it.ItemID]; ok {
			out = append(out, itemView{ChecklistItem: schema.ChecklistItem{ID: it.ItemID}, Answer: it, Answered: true})
		}
	}
	return out
}

// deviceOf names the device that sent in, with its clock offset.
func (w *Web) deviceOf(c echo.Context, in schema.Inspection) deviceView {
	d := deviceView{ID: in.DeviceID}
	if in.DeviceID == "" {
		d.ServerSide = true
		return d
	}
	ctx := c.Request().Context()
	if off, last, err := w.st.DeviceClock(ctx, in.DeviceID); err == nil {
		d.Offset = &off
		if !last.IsZero() {
			d.LastSync = &last
		}
	}
	sq := in.SquadID
	if devs, err := w.st.ListDevices(ctx, store.DeviceFilter{SquadID: &sq}); err == nil {
		for _, dv := range devs {
			if dv.ID == in.DeviceID {
				d.Name = dv.Name + "（" + dv.DisplayName + "）"
			}
		}
	}
	return d
}

// findingsOf lists the findings in opened, and those it re-checked.
func (w *Web) findingsOf(c echo.Context, in schema.Inspection) ([]schema.Finding, error) {
	page, err := w.st.Findings(c.Request().Context(), store.FindingFilter{VenueID: in.VenueID, Limit: store.MaxFindingLimit})
	if err != nil {
		return nil, err
	}
	var out []schema.Finding
	for _, f := range page.Findings {
		if f.InspectionID == in.ID || f.RecheckInspectionID == in.ID {
			out = append(out, f)
		}
	}
	return out, nil
}

// orderDays are the bounds of an order's deadline as dates in the zone:
// tomorrow to MaxOrderDays from now, 15 days by default.
func (w *Web) orderDays() (min, max, def string) {
	now := w.cfg.Now().In(w.cfg.Zone)
	f := func(t time.Time) string { return t.Format(time.DateOnly) }
	return f(now.AddDate(0, 0, 1)), f(now.AddDate(0, 0, schema.MaxOrderDays-1)), f(now.AddDate(0, 0, 15))
}

func (w *Web) reviewInspection(c echo.Context, p *auth.Principal) error {
	in, err := w.visibleInspection(c, p)
	if err != nil {
		return err
	}
	f := c.Request().PostForm
	action := f.Get("action")
	if action != schema.ReviewApprove && action != schema.ReviewReturn {
		return Fail(schema.CodeInvalid, "请选择审核通过或退回修改。", "review action missing")
	}
	version, err := strconv.Atoi(f.Get("version"))
	if err != nil || version < 0 {
		return Fail(schema.CodeInvalid, "表单缺少版本号，请刷新页面后重试。", "version missing")
	}
	comment := strings.TrimSpace(f.Get("comment"))
	back := "/inspections/" + in.ID
	if action == schema.ReviewReturn && comment == "" {
		return &PageError{Code: schema.CodeInvalid, Title: "请填写退回意见", Back: back,
			Message: "退回时须写明需要检查员修改的内容。", Detail: "return without a comment"}
	}
	_, err = w.st.ReviewInspection(c.Request().Context(), in.ID, store.ReviewInput{Action: action, Comment: comment, By: p.Username, Version: version}, p.Scope())
	if err != nil {
		return Refused(err, "审核未执行", "这条检查记录现在不能这样审核，原因如下。请返回查看它的当前状态。", back)
	}
	ok := "approved"
	if action == schema.ReviewReturn {
		ok = "returned"
	}
	return c.Redirect(http.StatusSeeOther, back+"?ok="+ok)
}
