package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// zoneRow is one violation as the pages list it.
type zoneRow struct {
	schema.ZoneViolation
	VenueName, SchoolName, RuleName string
}

// zonesData is a squad's school-zone page: the map and the violations.
type zonesData struct {
	Squad    store.Squad
	Squads   []int64 // admins choose among them
	Map      *zoneMap
	Standing []zoneRow
	Cleared  []zoneRow
}

// zoneRows names the venues, schools and rules of violations.
func zoneRows(list []schema.ZoneViolation, venues map[string]string, schools map[string]string, rules []schema.ZoneRule) (standing, cleared []zoneRow) {
	names := map[string]string{}
	for _, r := range rules {
		names[r.ID] = r.Name
	}
	for _, v := range list {
		row := zoneRow{ZoneViolation: v, VenueName: venues[v.VenueID], SchoolName: schools[v.SchoolID], RuleName: names[v.RuleID]}
		if row.VenueName == "" {
			row.VenueName = v.VenueID
		}
		if row.SchoolName == "" {
			row.SchoolName = v.SchoolID
		}
		if v.ClearedAt == nil {
			standing = append(standing, row)
		} else {
			cleared = append(cleared, row)
		}
	}
	return standing, cleared
}

// zonesPage shows a squad's area, its schools with their zones and its
// venues on a map, with the violations standing and cleared: a leader
// sees their squad, an admin any (?squad=).
func (w *Web) zonesPage(c echo.Context, p *auth.Principal) error {
	ctx := c.Request().Context()
	var squad int64
	switch {
	case p.IsAdmin():
		squad = 1
		if q := c.QueryParam("squad"); q != "" {
			n, err := strconv.ParseInt(q, 10, 64)
			if err != nil {
				return Fail(schema.CodeInvalid, "中队编号无效。", "squad not a number")
			}
			squad = n
		}
	case p.SquadID != nil:
		squad = *p.SquadID
		if q := c.QueryParam("squad"); q != "" && q != strconv.FormatInt(squad, 10) {
			return Fail(schema.CodeForbidden, "您只能查看本中队的校园周边禁设区域。", "zones of another squad")
		}
	default:
		return Fail(schema.CodeForbidden, "您的账号不属于任何中队。请联系局管理员。", "leader without a squad")
	}
	sq, err := w.st.SquadBounds(ctx, squad)
	if err != nil {
		return err
	}
	rules, err := w.st.ZoneRules(ctx)
	if err != nil {
		return err
	}
	schools, err := w.st.SchoolsIn(ctx, schema.ZoneSearchBox(sq.Bounds, schema.MaxZoneDistance(rules)))
	if err != nil {
		return err
	}
	venues, err := w.st.ListVenues(ctx, store.VenueFilter{SquadID: &squad, Limit: 20000})
	if err != nil {
		return err
	}
	list, err := w.st.ZoneViolations(ctx, store.ZoneViolationFilter{SquadID: &squad, IncludeCleared: true})
	if err != nil {
		return err
	}
	d := zonesData{Squad: sq}
	if p.IsAdmin() {
		d.Squads = []int64{1, 2, 3, 4, 5, 6}
	}
	violating, venueNames, schoolNames := map[string]bool{}, map[string]string{}, map[string]string{}
	for _, v := range list {
		if v.ClearedAt == nil {
			violating[v.VenueID] = true
		}
	}
	for _, v := range venues {
		venueNames[v.ID] = v.Name
	}
	for _, s := range schools {
		schoolNames[s.ID] = s.Name
	}
	d.Standing, d.Cleared = zoneRows(list, venueNames, schoolNames, rules)
	d.Map = buildZoneMap(sq.Bounds, true, schools, venues, violating, rules, w.cfg.Now())
	return w.render(c, http.StatusOK, "zones", "校园周边禁设区域 · "+squadName(&squad), d)
}

// venueZones is the zone part of a venue's page: its violations and a map
// of its surroundings.
type venueZones struct {
	Map      *zoneMap
	Standing []zoneRow
	Cleared  []zoneRow
}

// venueZoneRadius is how far around a venue its map reaches.
const venueZoneRadius = 400

func (w *Web) venueZones(ctx context.Context, v schema.Venue) (*venueZones, error) {
	rules, err := w.st.ZoneRules(ctx)
	if err != nil {
		return nil, err
	}
	list, err := w.st.ZoneViolations(ctx, store.ZoneViolationFilter{VenueID: v.ID, IncludeCleared: true})
	if err != nil {
		return nil, err
	}
	box := boxAround(v.Lat, v.Lng, venueZoneRadius)
	schools, err := w.st.SchoolsIn(ctx, schema.ZoneSearchBox(box, schema.MaxZoneDistance(rules)))
	if err != nil {
		return nil, err
	}
	others, err := w.st.ListVenues(ctx, store.VenueFilter{SquadID: &v.SquadID, Limit: 20000})
	if err != nil {
		return nil, err
	}
	var near []schema.Venue
	for _, o := range others {
		if o.ID != v.ID && o.Lat >= box[0] && o.Lat <= box[2] && o.Lng >= box[1] && o.Lng <= box[3] {
			near = append(near, o)
		}
	}
	near = append(near, v) // drawn last, on top
	violating, schoolNames := map[string]bool{}, map[string]string{}
	for _, s := range schools {
		schoolNames[s.ID] = s.Name
	}
	for _, z := range list {
		if z.ClearedAt == nil {
			violating[z.VenueID] = true
		}
	}
	// The neighbours' own violations colour them too.
	if sq, err := w.st.ZoneViolations(ctx, store.ZoneViolationFilter{SquadID: &v.SquadID}); err == nil {
		for _, z := range sq {
			violating[z.VenueID] = true
		}
	}
	vz := &venueZones{Map: buildZoneMap(box, false, schools, near, violating, rules, w.cfg.Now())}
	vz.Standing, vz.Cleared = zoneRows(list, map[string]string{v.ID: v.Name}, schoolNames, rules)
	return vz, nil
}
