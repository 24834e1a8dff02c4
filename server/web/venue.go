package web

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// venueData is a venue's record over time (store.VenueLedger).
type venueData struct {
	store.VenueLedger
	Items       []venueItem
	Inspections []queueItem
	AuditLink   string
	Zones       *venueZones
}

// venueItem is how often one checklist item failed at the venue.
type venueItem struct {
	store.ItemRecord
	Title    string
	Critical bool
}

func (w *Web) venuePage(c echo.Context, p *auth.Principal) error {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return Fail(schema.CodeNotFound, "没有这个场所。", "venue id not a uuid")
	}
	ctx := c.Request().Context()
	v, err := w.st.Venue(ctx, id)
	if err != nil {
		return err
	}
	if !p.CanSupervise(v.SquadID) {
		return Fail(schema.CodeNotFound, "没有这个场所，或它不属于您的中队。", "venue of another squad")
	}
	vl, err := w.st.VenueLedger(ctx, id)
	if err != nil {
		return err
	}
	d := venueData{VenueLedger: vl, AuditLink: auditQuery(schema.AuditVenue, id, "")}
	titles := map[string]schema.ChecklistItem{}
	if cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion); err == nil {
		for _, it := range cl.Items {
			titles[it.ID] = it
		}
	}
	for _, r := range vl.Items {
		ci := titles[r.ItemID]
		d.Items = append(d.Items, venueItem{ItemRecord: r, Title: ci.TitleZH, Critical: ci.Severity == schema.SeverityCritical})
	}
	for _, in := range vl.Inspections {
		d.Inspections = append(d.Inspections, withNotes(in))
	}
	if d.Zones, err = w.venueZones(ctx, v); err != nil {
		return err
	}
	return w.render(c, http.StatusOK, "venue", "场所 · "+shown(v.Name), d)
}

// auditData is a list of audit entries with its filter and export links.
type auditData struct {
	Kind, ID, Actor string
	Entries         []schema.AuditEntry
	Query           string // the filter, for the export links
	Next            string
}

// auditPageLimit is how many entries one audit page shows.
const auditPageLimit = 100

// auditPage lists the audit log of one record (?entity=&id=), one user
// (?actor=) or, without either, the squad's: a leader sees the whole
// history of a record of their squad, and what their squad's people did
// in their squad; a record or person of another squad is not found.
func (w *Web) auditPage(c echo.Context, p *auth.Principal) error {
	q := c.QueryParams()
	d := auditData{Kind: q.Get("entity"), ID: q.Get("id"), Actor: q.Get("actor")}
	f := store.AuditFilter{EntityKind: d.Kind, EntityID: d.ID, Actor: d.Actor, Limit: auditPageLimit}
	ctx := c.Request().Context()
	if !p.IsAdmin() {
		f.SquadID = p.SquadID
		if p.SquadID == nil {
			return Fail(schema.CodeForbidden, "您的账号不属于任何中队。请联系局管理员。", "leader without a squad")
		}
	}
	switch {
	case d.ID != "":
		squad, err := w.entitySquad(c, d.Kind, d.ID)
		if err != nil || !p.CanSupervise(squad) {
			return Fail(schema.CodeNotFound, "没有这条记录，或它不属于您的中队。", "audit of an entity out of scope")
		}
		f.SquadID = nil // the whole history of a record the leader supervises
	case d.Kind != "":
		return Fail(schema.CodeInvalid, "请同时给出记录的类型和编号。", "entity without id")
	}
	if d.Actor != "" && !p.IsAdmin() && d.Actor != p.Username {
		u, err := w.st.UserByUsername(ctx, d.Actor)
		if err != nil || u.SquadID == nil || !p.CanSupervise(*u.SquadID) {
			return Fail(schema.CodeNotFound, "您的中队没有这个用户。", "audit of a user out of scope")
		}
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return Fail(schema.CodeInvalid, "翻页参数无效，请从第一页重新开始。", "before not a seq")
		}
		f.BeforeSeq = n
	}
	list, err := w.st.AuditEntries(ctx, f)
	if err != nil {
		return err
	}
	d.Entries = list
	d.Query = auditQuery(d.Kind, d.ID, d.Actor)
	if len(list) == auditPageLimit {
		next := d.Query
		if next != "" {
			next += "&"
		}
		d.Next = "/audit?" + next + "before=" + strconv.FormatInt(list[len(list)-1].Seq, 10)
	}
	title := "审计日志"
	switch {
	case d.ID != "":
		title += " · " + entityKindName(d.Kind)
	case d.Actor != "":
		title += " · " + shown(d.Actor)
	}
	return w.render(c, http.StatusOK, "audit", title, d)
}

// entitySquad is the squad a record of the audit log belongs to now.
func (w *Web) entitySquad(c echo.Context, kind, id string) (int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return 0, Fail(schema.CodeNotFound, "没有这条记录。", "id not a uuid")
	}
	ctx := c.Request().Context()
	switch kind {
	case schema.AuditInspection:
		in, err := w.st.Inspection(ctx, id)
		return in.SquadID, err
	case schema.AuditFinding:
		f, err := w.st.Finding(ctx, id)
		return f.SquadID, err
	case schema.AuditVenue:
		v, err := w.st.Venue(ctx, id)
		return v.SquadID, err
	case schema.AuditConflict:
		cf, err := w.st.Conflict(ctx, id)
		return cf.SquadID, err
	case store.AuditCase:
		x, err := w.st.Case(ctx, id, schema.AllSquads())
		return x.SquadID, err
	}
	return 0, Fail(schema.CodeNotFound, "没有这类记录。", "audit entity kind")
}
