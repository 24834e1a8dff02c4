package mobilesync

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

// ZoneNearFactor is how far, as a multiple of a rule's distance, ZonesAt
// still reports a school: an inspector 230 m from a campus under a 200 m
// rule wants to know the zone is a few steps away (inside_zone false), not
// that there is nothing.
const ZoneNearFactor = 2

// MaxZoneSearchM bounds the radius of VenuesInZonesNear: a phone asks about
// the streets around it, not the district.
const MaxZoneSearchM = 5000

// bureauZone is the bureau's day: a rule's dates are days in Beijing. China
// has kept UTC+8 without daylight saving since 1991, so a fixed zone is
// exact and needs no tz database on the phone.
var bureauZone = time.FixedZone("CST", 8*3600)

// zoneData is what zone checks read, built from the device's schools and
// rules once per pulled change of either, not once per query.
type zoneData struct {
	gen     uint64
	schools map[string]schema.School
	rules   []schema.ZoneRule          // as published
	byID    map[string]schema.ZoneRule // rules by id
	near    []schema.ZoneRule          // the same rules at ZoneNearFactor × their distance
	ix      *geo.Index                 // every measurable campus, grown by the near distances
}

// VenueInZone is a venue the device knows that stands in the zone of a
// school, with the zones it enters (nearest campus first) and how far it
// is from the position asked about.
type VenueInZone struct {
	Venue     schema.Venue     `json:"venue"`
	Zones     []schema.ZoneHit `json:"zones"`
	DistanceM float64          `json:"distance_m"`
}

// invalidateZones makes the next zone check rebuild its index: called after
// a pull changed schools or rules.
func (d *Device) invalidateZones() { d.zoneGen.Add(1) }

// zoneData returns the index of the device's schools, building it when the
// data changed since the last build. A build that raced with a pull is
// stamped with the generation it started from, so it is rebuilt on the
// next call instead of serving stale campuses.
func (d *Device) zoneData(ctx context.Context) (*zoneData, error) {
	gen := d.zoneGen.Load()
	if zd := d.zones.Load(); zd != nil && zd.gen == gen {
		return zd, nil
	}
	zd := &zoneData{gen: gen, schools: map[string]schema.School{}, byID: map[string]schema.ZoneRule{}}
	rows, err := d.db.R.QueryContext(ctx, `SELECT body FROM zone_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read zone rules: %w", err)
	}
	for rows.Next() {
		var body string
		var r schema.ZoneRule
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read zone rules: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.ID == "" || !(r.DistanceM > 0) || math.IsInf(r.DistanceM, 0) {
			d.log.Warn("zone rule ignored: unreadable or without a distance", "body", truncateText(body, 80))
			continue
		}
		zd.rules = append(zd.rules, r)
		zd.byID[r.ID] = r
		n := r
		n.DistanceM = r.DistanceM * ZoneNearFactor
		zd.near = append(zd.near, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read zone rules: %w", err)
	}
	rows, err = d.db.R.QueryContext(ctx, `SELECT body FROM schools ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read schools: %w", err)
	}
	defer rows.Close()
	var campuses []geo.School
	for rows.Next() {
		var body string
		var s schema.School
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("read schools: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &s); err != nil || s.ID == "" {
			d.log.Warn("school ignored: unreadable", "body", truncateText(body, 80))
			continue
		}
		g := schema.SchoolGeometry(s)
		if err := geo.Validate(g); err != nil {
			// One badly drawn campus must not stop the check of the others.
			d.log.Warn("school ignored: its campus cannot be measured", "school", s.ID, "err", err)
			continue
		}
		zd.schools[s.ID] = s
		campuses = append(campuses, geo.School{ID: s.ID, Kind: s.Kind, Geom: g})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schools: %w", err)
	}
	zd.ix = geo.NewIndex(campuses, zd.near)
	d.zones.Store(zd)
	return zd, nil
}

// zoneDay is the day whose rules are in force here: the device's clock as
// corrected by the server's, read in Beijing.
func (d *Device) zoneDay() time.Time { return d.Clock().Physical().In(bureauZone) }

// wherePoint checks a position given by a person or a GPS fix.
func wherePoint(lat, lng float64) (geo.Point, error) {
	p := geo.Point{lng, lat}
	if err := geo.Validate(p); err != nil {
		return p, schema.Errorf(schema.CodeInvalid, "position %v,%v is not a latitude,longitude in degrees (WGS-84): %v", lat, lng, err)
	}
	return p, nil
}

// ZonesAt lists the school zones a position lies in, and those it lies
// near (within ZoneNearFactor times the rule's distance, InsideZone false),
// nearest campus first, for a venue of venueKind ("" reads as net_cafe,
// the kind the national rule was written for). It works offline, from the
// schools and rules the device pulled, with the rules in force on today's
// date in Beijing. A rule measured by walking distance (door_walking) is
// read conservatively: a straight line within its distance counts as
// inside, since no walk is shorter.
func (d *Device) ZonesAt(ctx context.Context, lat, lng float64, venueKind string) ([]schema.ZoneHit, error) {
	hits, err := d.zonesAt(ctx, lat, lng, venueKind)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: zones at %v,%v: %w", lat, lng, err)
	}
	return hits, nil
}

func (d *Device) zonesAt(ctx context.Context, lat, lng float64, venueKind string) ([]schema.ZoneHit, error) {
	p, err := wherePoint(lat, lng)
	if err != nil {
		return nil, err
	}
	kind := strings.TrimSpace(venueKind)
	if kind == "" {
		kind = schema.KindNetCafe
	}
	if !slices.Contains(schema.VenueKinds, kind) {
		return nil, schema.Errorf(schema.CodeInvalid, "venue kind %q is not one of %s", truncateText(kind, 40), strings.Join(schema.VenueKinds, ", "))
	}
	zd, err := d.zoneData(ctx)
	if err != nil {
		return nil, err
	}
	out := []schema.ZoneHit{}
	for _, v := range geo.ZonesAt(p, kind, zd.ix, zd.near, d.zoneDay()) {
		out = append(out, zd.hit(v))
	}
	return out, nil
}

// hit turns a violation measured against the near rules into what the
// device reports, inside or not by the rule as published.
func (zd *zoneData) hit(v geo.Violation) schema.ZoneHit {
	return schema.ZoneHit{
		SchoolID:   v.SchoolID,
		SchoolName: zd.schools[v.SchoolID].Name,
		RuleID:     v.RuleID,
		DistanceM:  math.Round(v.DistanceM*10) / 10,
		InsideZone: v.DistanceM <= zd.byID[v.RuleID].DistanceM,
	}
}

// ZoneRule returns a zone rule the device holds, or a *schema.Error with
// CodeNotFound: a warning names the rule's distance.
func (d *Device) ZoneRule(ctx context.Context, id string) (schema.ZoneRule, error) {
	zd, err := d.zoneData(ctx)
	if err != nil {
		return schema.ZoneRule{}, fmt.Errorf("mobilesync: zone rule %s: %w", id, err)
	}
	r, ok := zd.byID[id]
	if !ok {
		return schema.ZoneRule{}, fmt.Errorf("mobilesync: %w", schema.Errorf(schema.CodeNotFound, "no zone rule %s on this device (run `patrol sync`)", truncateText(id, 60)))
	}
	return r, nil
}

// VenuesInZonesNear lists the venues the device knows that stand inside
// the zone of a school whose campus is within radiusM of the position —
// what to look at on this street — nearest to the position first. A venue
// is measured by its footprint when the device has one, else by its point.
func (d *Device) VenuesInZonesNear(ctx context.Context, lat, lng, radiusM float64) ([]VenueInZone, error) {
	out, err := d.venuesInZonesNear(ctx, lat, lng, radiusM)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: venues in zones near %v,%v: %w", lat, lng, err)
	}
	return out, nil
}

func (d *Device) venuesInZonesNear(ctx context.Context, lat, lng, radiusM float64) ([]VenueInZone, error) {
	p, err := wherePoint(lat, lng)
	if err != nil {
		return nil, err
	}
	if !(radiusM >= 0 && radiusM <= MaxZoneSearchM) {
		return nil, schema.Errorf(schema.CodeInvalid, "radius %v m: give a distance from 0 to %d m", radiusM, MaxZoneSearchM)
	}
	zd, err := d.zoneData(ctx)
	if err != nil {
		return nil, err
	}
	day := d.zoneDay()
	// A rule without kinds covers every school; so the campuses within
	// radiusM of the position come back, from the same index.
	reach := []geo.Rule{{ID: "radius", DistanceM: radiusM, Method: geo.MethodBoundaryStraightLine}}
	var near []geo.School
	box := geo.Box{MinLng: math.Inf(1), MinLat: math.Inf(1), MaxLng: math.Inf(-1), MaxLat: math.Inf(-1)}
	for _, v := range geo.Evaluate(geo.Venue{Geom: p}, zd.ix, reach, day) {
		s := zd.schools[v.SchoolID]
		g := schema.SchoolGeometry(s)
		near = append(near, geo.School{ID: s.ID, Kind: s.Kind, Geom: g})
		b := g.Bound()
		box = geo.Box{MinLng: min(box.MinLng, b.MinLng), MinLat: min(box.MinLat, b.MinLat), MaxLng: max(box.MaxLng, b.MaxLng), MaxLat: max(box.MaxLat, b.MaxLat)}
	}
	out := []VenueInZone{}
	if len(near) == 0 || len(zd.rules) == 0 {
		return out, nil
	}
	// Venues are selected by their point; a footprint reaches a little
	// beyond it, hence the margin on top of the longest zone.
	box = box.Grow(geo.MaxDistance(zd.rules) + footprintSlackM)
	rows, err := d.db.R.QueryContext(ctx, `SELECT `+venueColumns+` FROM venues
		WHERE lat BETWEEN ? AND ? AND lng BETWEEN ? AND ? ORDER BY id`, box.MinLat, box.MaxLat, box.MinLng, box.MaxLng)
	if err != nil {
		return nil, fmt.Errorf("read venues: %w", err)
	}
	defer rows.Close()
	campuses := geo.NewIndex(near, zd.rules)
	for rows.Next() {
		v, _, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("read venues: %w", err)
		}
		g := schema.VenueGeometry(v)
		if geo.Validate(g) != nil {
			continue
		}
		var zones []schema.ZoneHit
		for _, viol := range geo.Evaluate(geo.Venue{ID: v.ID, Kind: v.Kind, Geom: g}, campuses, zd.rules, day) {
			zones = append(zones, zd.hit(viol))
		}
		if len(zones) > 0 {
			out = append(out, VenueInZone{Venue: v, Zones: zones, DistanceM: math.Round(geo.Distance(g, p)*10) / 10})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read venues: %w", err)
	}
	slices.SortFunc(out, func(a, b VenueInZone) int {
		return cmp.Or(cmp.Compare(a.DistanceM, b.DistanceM), cmp.Compare(a.Venue.ID, b.Venue.ID))
	})
	return out, nil
}

// footprintSlackM is how far a venue's footprint may reach from the point
// it is filed under (a mall's arcade floor).
const footprintSlackM = 300

// foundInZone is the zone of the nearest campus a venue recorded at a
// position lies inside, reported false when it lies in none: what
// venue.create carries up so the bureau sees that the inspector was warned.
func (d *Device) foundInZone(ctx context.Context, lat, lng float64, kind string) (schema.ZoneHit, bool, error) {
	hits, err := d.zonesAt(ctx, lat, lng, kind)
	if err != nil {
		return schema.ZoneHit{}, false, err
	}
	for _, h := range hits {
		if h.InsideZone {
			return h, true, nil
		}
	}
	return schema.ZoneHit{}, false, nil
}

// Schools lists the schools whose campus the device can measure (those
// its squad's zones may reach), by name: what a map of the zones draws.
func (d *Device) Schools(ctx context.Context) ([]schema.School, error) {
	zd, err := d.zoneData(ctx)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: schools: %w", err)
	}
	out := make([]schema.School, 0, len(zd.schools))
	for _, s := range zd.schools {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b schema.School) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}
