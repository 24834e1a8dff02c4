package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// discoveryRow is one field discovery as the page lists it, with the
// names of the schools its violations stand at.
type discoveryRow struct {
	schema.Discovery
	Zones []zoneRow
}

// discoveriesData is the page of a squad's field discoveries.
type discoveriesData struct {
	Squad     int64
	Squads    []int64 // admins choose among them
	Notice    string
	Pending   []discoveryRow
	Confirmed []schema.Discovery
	// Cases are the open cases of the confirmed black cafés, by venue id.
	Cases map[string]*schema.Case
}

var discoveryNotices = map[string]string{
	"confirmed": "已确认：该场所作为现场发现的无证经营场所记入台账，待立案。",
	"merged":    "已合并：重复记录的检查、问题和禁设区域记录都归入所选场所。",
}

// discoveriesPage lists the venues devices recorded in the field that
// wait for the leader, and those confirmed for the later case.
func (w *Web) discoveriesPage(c echo.Context, p *auth.Principal) error {
	ctx := c.Request().Context()
	squad, err := pageSquad(c, p, "您只能查看本中队的现场发现。")
	if err != nil {
		return err
	}
	pending, err := w.st.Discoveries(ctx, store.DiscoveryFilter{SquadID: &squad})
	if err != nil {
		return err
	}
	confirmed, err := w.st.Discoveries(ctx, store.DiscoveryFilter{SquadID: &squad, State: schema.DiscoveryConfirmed})
	if err != nil {
		return err
	}
	d := discoveriesData{Squad: squad, Notice: discoveryNotices[c.QueryParam("ok")], Confirmed: confirmed, Cases: map[string]*schema.Case{}}
	for _, x := range confirmed {
		page, err := w.st.ListCases(ctx, store.CaseFilter{SquadID: &squad, VenueID: x.Venue.ID})
		if err != nil {
			return err
		}
		for i, k := range page.Cases {
			if k.Source == schema.CaseFromBlackCafe && k.SourceID == x.Venue.ID && k.Status != schema.CaseClosed {
				d.Cases[x.Venue.ID] = &page.Cases[i]
			}
		}
	}
	if p.IsAdmin() {
		d.Squads = []int64{1, 2, 3, 4, 5, 6}
	}
	if len(pending) > 0 {
		rules, err := w.st.ZoneRules(ctx)
		if err != nil {
			return err
		}
		var ids []string
		for _, x := range pending {
			for _, v := range x.Violations {
				ids = append(ids, v.SchoolID)
			}
		}
		names := map[string]string{}
		if len(ids) > 0 {
			sq, err := w.st.SquadBounds(ctx, squad)
			if err != nil {
				return err
			}
			schools, err := w.st.SchoolsIn(ctx, schema.ZoneSearchBox(sq.Bounds, schema.MaxZoneDistance(rules)))
			if err != nil {
				return err
			}
			for _, s := range schools {
				names[s.ID] = s.Name
			}
		}
		for _, x := range pending {
			standing, _ := zoneRows(x.Violations, map[string]string{x.Venue.ID: x.Venue.Name}, names, rules)
			d.Pending = append(d.Pending, discoveryRow{Discovery: x, Zones: standing})
		}
	}
	return w.render(c, http.StatusOK, "discoveries", "现场发现 · "+squadName(&squad), d)
}

// pageSquad is the squad a page shows: a leader's own, or the one an
// admin chose (?squad=, squad 1 by default).
func pageSquad(c echo.Context, p *auth.Principal, notYours string) (int64, error) {
	switch {
	case p.IsAdmin():
		if q := c.QueryParam("squad"); q != "" {
			n, err := strconv.ParseInt(q, 10, 64)
			if err != nil {
				return 0, Fail(schema.CodeInvalid, "中队编号无效。", "squad not a number")
			}
			return n, nil
		}
		return 1, nil
	case p.SquadID != nil:
		if q := c.QueryParam("squad"); q != "" && q != strconv.FormatInt(*p.SquadID, 10) {
			return 0, Fail(schema.CodeForbidden, notYours, "page of another squad")
		}
		return *p.SquadID, nil
	}
	return 0, Fail(schema.CodeForbidden, "您的账号不属于任何中队。请联系局管理员。", "leader without a squad")
}

// decideDiscovery confirms a discovery (/discoveries/{id}/confirm) or
// merges it into the venue the form names (/discoveries/{id}/merge).
func (w *Web) decideDiscovery(c echo.Context, p *auth.Principal) error {
	id := c.Param("id")
	if uuid.Validate(id) != nil {
		return Fail(schema.CodeNotFound, "没有这个场所。", "venue id not a uuid")
	}
	ctx := c.Request().Context()
	back := "/discoveries"
	if !p.IsAdmin() && p.Role != schema.RoleLeader {
		return Fail(schema.CodeForbidden, "只有中队长和管理员可以处理现场发现。", "not a leader")
	}
	var err error
	var ok string
	switch c.Param("act") {
	case "confirm":
		_, err = w.st.ConfirmVenue(ctx, id, p.Username, p.Scope())
		ok = "confirmed"
	case "merge":
		into := strings.TrimSpace(c.Request().PostForm.Get("into"))
		if uuid.Validate(into) != nil {
			return &PageError{Code: schema.CodeInvalid, Title: "请选择要合并到的场所", Back: back,
				Message: "合并须从附近的已知场所中选择一个。", Detail: "no venue to merge into"}
		}
		_, err = w.st.MergeVenue(ctx, id, into, p.Username, p.Scope())
		ok = "merged"
	default:
		return Fail(schema.CodeNotFound, "没有这个操作。", "unknown discovery action")
	}
	if err != nil {
		if code := schema.ErrorCode(err); code == schema.CodeGone || code == schema.CodeForbidden {
			return &PageError{Code: code, Title: "操作未执行", Back: back, Message: "这个场所现在不能这样处理：" + err.Error(), Detail: "discovery refused"}
		}
		return Refused(err, "操作未执行", "这个场所现在不能这样处理，原因如下。请返回查看它的当前状态。", back)
	}
	return c.Redirect(http.StatusSeeOther, back+"?ok="+ok)
}
