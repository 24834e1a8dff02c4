package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// queueLimit is how many inspections a queue page shows: a screenful or
// two; older work is on the pages the "next" link leads to.
const queueLimit = 50

// conflictLimit bounds the open conflicts the queue lists.
const conflictLimit = 200

// queueData is the leader's queue: inspections waiting for review and
// open conflicts, of one squad or (admins) all.
type queueData struct {
	Squad       *int64 // nil: every squad
	Squads      []int64
	Status      string // the inspections shown: submitted (the default), returned or approved
	Statuses    []string
	Admin       bool
	Inspections []queueItem
	Next        string // the next page's URL, "" on the last
	Conflicts   []schema.Conflict
}

// queueItem is an inspection with the notes of its items, titled.
type queueItem struct {
	schema.Inspection
	Notes  []itemNote
	Failed int
}

type itemNote struct {
	ItemID, Title, Result, Note string
}

// squadFilter is the squad a page covers: a leader's own, or for an admin
// the ?squad= asked for (none: every squad).
func squadFilter(c echo.Context, p *auth.Principal) (*int64, error) {
	if !p.IsAdmin() {
		if p.SquadID == nil {
			return nil, Fail(schema.CodeForbidden, "您的账号不属于任何中队，无法查看队列。请联系局管理员。", "leader without a squad")
		}
		return p.SquadID, nil
	}
	q := c.QueryParam("squad")
	if q == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n <= 0 {
		return nil, Fail(schema.CodeInvalid, "中队编号应为正整数。", "squad not a number")
	}
	return &n, nil
}

func (w *Web) queue(c echo.Context, p *auth.Principal) error {
	sq, err := squadFilter(c, p)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status == "" {
		status = schema.StatusSubmitted
	}
	if !slices.Contains(schema.Statuses, status) {
		return Fail(schema.CodeInvalid, "请选择待审核、已退回或已通过。", "status not a status")
	}
	ctx := c.Request().Context()
	after := c.QueryParam("after")
	ins, err := w.st.ListInspections(ctx, store.InspectionFilter{SquadID: sq, Status: status, After: after, Brief: true, Limit: queueLimit + 1})
	if err != nil {
		if schema.ErrorCode(err) == schema.CodeInvalid {
			return Refused(err, "翻页链接已失效", "请从第一页重新开始。", "/")
		}
		return err
	}
	cfs, err := w.st.ListConflicts(ctx, store.ConflictFilter{SquadID: sq, OpenOnly: true, Limit: conflictLimit})
	if err != nil {
		return err
	}
	d := queueData{Squad: sq, Admin: p.IsAdmin(), Conflicts: cfs, Status: status, Statuses: schema.Statuses}
	if len(ins) > queueLimit {
		ins = ins[:queueLimit]
		next := url.Values{}
		if sq != nil && p.IsAdmin() {
			next.Set("squad", strconv.FormatInt(*sq, 10))
		}
		next.Set("status", status)
		next.Set("after", store.InspectionCursorOf(ins[queueLimit-1]))
		d.Next = "/?" + next.Encode()
	}
	for _, in := range ins {
		d.Inspections = append(d.Inspections, withNotes(in))
	}
	if p.IsAdmin() {
		if d.Squads, err = w.squads(c); err != nil {
			return err
		}
	}
	return w.render(c, http.StatusOK, "queue", "待审队列", d)
}

// squads lists the squads that have people, for the admin's filter.
func (w *Web) squads(c echo.Context) ([]int64, error) {
	users, err := w.st.ListUsers(c.Request().Context(), store.UserFilter{})
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, u := range users {
		if u.SquadID != nil && !slices.Contains(out, *u.SquadID) {
			out = append(out, *u.SquadID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// withNotes titles the items of in that carry a note or failed.
func withNotes(in schema.Inspection) queueItem {
	qi := queueItem{Inspection: in}
	titles := map[string]string{}
	if cl, err := schema.ChecklistByVersion(in.ChecklistVersion); err == nil {
		for _, it := range cl.Items {
			titles[it.ID] = it.TitleZH
		}
	}
	for _, it := range in.Items {
		if it.Result == schema.ResultFail {
			qi.Failed++
		}
		if it.Note != "" {
			qi.Notes = append(qi.Notes, itemNote{ItemID: it.ItemID, Title: titles[it.ItemID], Result: it.Result, Note: it.Note})
		}
	}
	return qi
}

// conflictData is one conflict with what the page says about each side.
type conflictData struct {
	schema.Conflict
	Subject     string // the venue's name, or the inspection's venue
	DeviceName  string // who sent the device's side
	DeviceUser  string
	ServerSide  string // who or what holds the server's side
	CanOverturn bool
	Decided     bool
}

func (w *Web) conflictPage(c echo.Context, p *auth.Principal) error {
	cf, err := w.visibleConflict(c, p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := conflictData{Conflict: cf, CanOverturn: schema.CanOverturn(cf) == nil, Decided: c.QueryParam("ok") == "decided"}
	d.ServerSide = "服务器上的记录"
	switch cf.EntityKind {
	case "venue":
		if v, err := w.st.Venue(ctx, cf.EntityID); err == nil {
			d.Subject = v.Name
		}
	case "inspection":
		if in, err := w.st.Inspection(ctx, cf.EntityID); err == nil && in.Venue != nil {
			d.Subject = in.Venue.Name
		}
		d.ServerSide = "已审核的检查记录"
	}
	if owner, err := w.st.DeviceOwner(ctx, cf.DeviceID); err == nil {
		d.DeviceUser = owner.DisplayName + "（" + owner.Username + "）"
		if devs, err := w.st.ListDevices(ctx, store.DeviceFilter{SquadID: owner.SquadID}); err == nil {
			for _, dv := range devs {
				if dv.ID == cf.DeviceID {
					d.DeviceName = dv.Name
				}
			}
		}
	} else if by, ok := cutPrefix(cf.DeviceID, "server:"); ok {
		d.DeviceUser = by + "（工作台）"
	}
	return w.render(c, http.StatusOK, "conflict", "冲突详情", d)
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// visibleConflict is the conflict of the route, if the user supervises
// its squad; another squad's conflict is not found, like a missing one.
func (w *Web) visibleConflict(c echo.Context, p *auth.Principal) (schema.Conflict, error) {
	return visible(c, p, w.st.Conflict, func(x schema.Conflict) int64 { return x.SquadID }, "这条冲突记录", "conflict")
}

func (w *Web) decideConflict(c echo.Context, p *auth.Principal) error {
	cf, err := w.visibleConflict(c, p)
	if err != nil {
		return err
	}
	winner := c.Request().PostForm.Get("winner")
	if winner != schema.WinnerServer && winner != schema.WinnerDevice {
		return Fail(schema.CodeInvalid, "请选择采用服务器的值还是设备的值。", "winner missing")
	}
	actor := store.Actor{MutationID: uuid.Must(uuid.NewV7()).String(), DeviceID: "server:" + p.Username}
	if _, err := w.st.DecideConflict(c.Request().Context(), cf.ID, winner, actor, p.Username, p.Scope()); err != nil {
		switch schema.ErrorCode(err) {
		case schema.CodeConflict:
			return Fail(schema.CodeConflict, "该字段在此冲突之后又被修改过，两边的值都已过时。请到场所页面直接修改。", err.Error())
		case schema.CodeInvalid:
			return Fail(schema.CodeInvalid, "这类冲突只能保留服务器当前的记录；设备发来的内容已记录在此，供核对。", err.Error())
		case schema.CodeGone:
			return Fail(schema.CodeGone, "该场所已删除，无法再修改。", err.Error())
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/conflicts/"+cf.ID+"?ok=decided")
}
