package web

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

// zoneMap is a map drawn on the server as plain SVG (no tiles, nothing
// loaded from elsewhere): an equirectangular projection around the area's
// centre, good to a few centimetres over a district. Every number is
// computed here; the template only places them, and names go in <title>
// elements, escaped like any text.
type zoneMap struct {
	W, H    int
	Area    string // path of the area's outline
	Schools []mapSchool
	Venues  []mapVenue
	Scale   mapScale
}

// mapSchool is a campus and its zone: the zone is the campus outline
// stroked with width 2×distance and round joins (the straight-line buffer
// of the boundary), filled so that the campus itself is inside it.
type mapSchool struct {
	Name, Path string
	ZoneWidth  float64 // px; 0 when no rule covers the school's kind
	ZoneLabel  string
}

// mapVenue is a venue's point (and footprint) coloured by its status.
type mapVenue struct {
	X, Y      float64
	Footprint string // path; "" without one
	Class     string // licensed, unlicensed, closed, violating
	Title     string
	Href      string
	Violating bool
}

// mapScale is a 100 m (or longer) bar in the corner.
type mapScale struct {
	X, Y, W float64
	Label   string
}

// projection maps WGS-84 to map pixels.
type projection struct {
	lng0, lat0, k, cos float64 // k: px per metre
	w, h               float64
}

const metresPerDegLat = 111_320.0

// newProjection fits box (min lat, min lng, max lat, max lng) into a map
// width px wide, with a margin.
func newProjection(box [4]float64, width int) projection {
	lat0, lng0 := (box[0]+box[2])/2, (box[1]+box[3])/2
	cos := math.Cos(lat0 * math.Pi / 180)
	wm := math.Max((box[3]-box[1])*metresPerDegLat*cos, 50)
	hm := math.Max((box[2]-box[0])*metresPerDegLat, 50)
	k := float64(width-40) / wm
	h := hm*k + 40
	if h > 900 { // a tall area: fit the height instead
		k = 860 / hm
		h = 900
	}
	return projection{lng0: lng0, lat0: lat0, k: k, cos: cos, w: float64(width), h: h}
}

func (p projection) xy(pt geo.Point) (float64, float64) {
	x := p.w/2 + (pt[0]-p.lng0)*metresPerDegLat*p.cos*p.k
	y := p.h/2 - (pt[1]-p.lat0)*metresPerDegLat*p.k
	return round1(x), round1(y)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// path is the SVG path of every ring of a polygon geometry (holes with
// the even-odd rule); "" for a point.
func (p projection) path(g geo.Geometry) string {
	var polys []geo.Polygon
	switch t := g.(type) {
	case geo.Polygon:
		polys = []geo.Polygon{t}
	case geo.MultiPolygon:
		polys = t
	}
	var b strings.Builder
	for _, pg := range polys {
		for _, ring := range pg {
			for i, pt := range ring {
				x, y := p.xy(pt)
				if i == 0 {
					b.WriteString("M")
				} else {
					b.WriteString(" L")
				}
				b.WriteString(strconv.FormatFloat(x, 'f', 1, 64) + " " + strconv.FormatFloat(y, 'f', 1, 64))
			}
			b.WriteString(" Z ")
		}
	}
	return strings.TrimSpace(b.String())
}

// buildZoneMap draws the area with its schools (zones under the rule in
// force today for internet cafés, the kind the zone rule is about) and
// venues; violating lists the venues that stand in a zone.
func buildZoneMap(box [4]float64, area bool, schools []schema.School, venues []schema.Venue, violating map[string]bool,
	rules []schema.ZoneRule, now time.Time) *zoneMap {
	p := newProjection(box, 880)
	m := &zoneMap{W: int(p.w), H: int(math.Ceil(p.h))}
	if area {
		m.Area = p.path(geo.Polygon{{{box[1], box[0]}, {box[3], box[0]}, {box[3], box[2]}, {box[1], box[2]}, {box[1], box[0]}}})
	}
	day := schema.ZoneDay(now)
	for _, s := range schools {
		ms := mapSchool{Name: s.Name, Path: p.path(schema.SchoolGeometry(s))}
		if r, ok := geo.RuleFor(rules, schema.KindNetCafe, s.Kind, day); ok {
			ms.ZoneWidth = round1(2 * r.DistanceM * p.k)
			ms.ZoneLabel = strconv.FormatFloat(r.DistanceM, 'f', 0, 64) + " 米 · " + r.ID
		}
		m.Schools = append(m.Schools, ms)
	}
	for _, v := range venues {
		x, y := p.xy(geo.Point{v.Lng, v.Lat})
		mv := mapVenue{X: x, Y: y, Href: "/venues/" + v.ID, Title: v.Name + " · " + venueStatusName(v, violating[v.ID])}
		if len(v.Footprint) > 0 {
			mv.Footprint = p.path(v.Footprint)
		}
		mv.Class, mv.Violating = venueStatusClass(v, violating[v.ID]), violating[v.ID]
		m.Venues = append(m.Venues, mv)
	}
	// A scale bar of a round length near a sixth of the width.
	target := (p.w / 6) / p.k
	length := 100.0
	for _, l := range []float64{50, 100, 200, 500, 1000, 2000, 5000, 10000} {
		if l <= target {
			length = l
		}
	}
	m.Scale = mapScale{X: 20, Y: round1(p.h - 16), W: round1(length * p.k), Label: strconv.FormatFloat(length, 'f', 0, 64) + " 米"}
	return m
}

func venueStatusClass(v schema.Venue, violating bool) string {
	switch {
	case violating:
		return "violating"
	case v.OpenState == schema.OpenStateClosed:
		return "closed"
	case !v.Licensed:
		return "unlicensed"
	}
	return "licensed"
}

func venueStatusName(v schema.Venue, violating bool) string {
	switch venueStatusClass(v, violating) {
	case "violating":
		return "位于校园周边禁设区域"
	case "closed":
		return "已关闭"
	case "unlicensed":
		return "无证经营"
	}
	return "持证营业"
}

// boxAround is the box dist metres around a point.
func boxAround(lat, lng, dist float64) [4]float64 {
	return schema.ZoneSearchBox([4]float64{lat, lng, lat, lng}, dist)
}
