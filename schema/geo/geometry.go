package geo

import "math"

// Point is a position as [lng, lat] in degrees (WGS-84), the order GeoJSON
// and schema.School.Polygon use, so that wire data converts without a copy.
type Point [2]float64

// Ring is a closed line of points: the wall of a campus or of a hole in it.
// The closing point may be repeated or left out; both mean the same ring.
type Ring []Point

// Polygon is an outer ring followed by its holes. A point in a hole is
// outside the polygon: a campus may surround land that is not the school's.
type Polygon []Ring

// MultiPolygon is a school (or a venue) made of several separate parts, such
// as a campus split by a public road.
type MultiPolygon []Polygon

// Geometry is what a venue or a school can be: a Point, a Polygon or a
// MultiPolygon. It is closed to these three so that Distance can handle every
// case exactly.
type Geometry interface {
	// Bound is the smallest lng/lat box holding the geometry.
	Bound() Box
	polygons() []Polygon
	vertices() []Point
}

// Box is a lng/lat rectangle, the key of the spatial index.
type Box struct {
	MinLng, MinLat, MaxLng, MaxLat float64
}

// Bound is the point itself as a box.
func (p Point) Bound() Box          { return Box{p[0], p[1], p[0], p[1]} }
func (p Point) polygons() []Polygon { return nil }
func (p Point) vertices() []Point   { return []Point{p} }

// Bound is the box of the outer ring (holes lie inside it).
func (pg Polygon) Bound() Box {
	b := emptyBox()
	if len(pg) > 0 {
		for _, p := range pg[0] {
			b = b.extend(p)
		}
	}
	return b
}
func (pg Polygon) polygons() []Polygon { return []Polygon{pg} }
func (pg Polygon) vertices() []Point   { return MultiPolygon{pg}.vertices() }

// Bound is the box of every part.
func (mp MultiPolygon) Bound() Box {
	b := emptyBox()
	for _, pg := range mp {
		if len(pg) > 0 {
			for _, p := range pg[0] {
				b = b.extend(p)
			}
		}
	}
	return b
}
func (mp MultiPolygon) polygons() []Polygon { return mp }
func (mp MultiPolygon) vertices() []Point {
	var out []Point
	for _, pg := range mp {
		for _, r := range pg {
			out = append(out, r.open()...)
		}
	}
	return out
}

func emptyBox() Box { return Box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)} }

func (b Box) extend(p Point) Box {
	return Box{math.Min(b.MinLng, p[0]), math.Min(b.MinLat, p[1]), math.Max(b.MaxLng, p[0]), math.Max(b.MaxLat, p[1])}
}

// Grow widens the box by m metres on every side. Degrees of longitude are
// measured at the box's latitude farthest from the equator, where they are
// shortest, so the grown box always holds the whole m-metre buffer.
func (b Box) Grow(m float64) Box {
	dLat := m / metresPerDegreeLat(b.MinLat, b.MaxLat)
	edge := math.Min(math.Max(math.Abs(b.MinLat), math.Abs(b.MaxLat))+dLat, 89)
	dLng := m / (metresPerDegreeLng(edge))
	return Box{b.MinLng - dLng, b.MinLat - dLat, b.MaxLng + dLng, b.MaxLat + dLat}
}

// metresPerDegreeLat is a lower bound of the length of a degree of latitude
// between two latitudes (the meridian radius of curvature grows towards the
// poles, so the lower latitude gives the shorter degree).
func metresPerDegreeLat(lat1, lat2 float64) float64 {
	lat := math.Min(math.Abs(lat1), math.Abs(lat2))
	return meridianRadius(lat) * deg
}

func metresPerDegreeLng(lat float64) float64 {
	return primeVerticalRadius(lat) * math.Cos(lat*deg) * deg
}

const e2 = EarthF * (2 - EarthF)

func meridianRadius(lat float64) float64 {
	s := math.Sin(lat * deg)
	w := 1 - e2*s*s
	return EarthA * (1 - e2) / (w * math.Sqrt(w))
}

func primeVerticalRadius(lat float64) float64 {
	s := math.Sin(lat * deg)
	return EarthA / math.Sqrt(1-e2*s*s)
}

// open is the ring without a repeated closing point.
func (r Ring) open() Ring {
	if len(r) > 1 && r[0] == r[len(r)-1] {
		return r[:len(r)-1]
	}
	return r
}

// edges calls fn for every edge of the ring, the closing one included.
func (r Ring) edges(fn func(a, b Point)) {
	o := r.open()
	if len(o) < 2 {
		return
	}
	for i := range o {
		fn(o[i], o[(i+1)%len(o)])
	}
}

// contains reports whether p lies inside the ring, by ray casting in lng/lat.
// A campus edge is at most a few hundred metres long; over that length the
// geodesic and the straight lng/lat line part by millimetres, which only
// matters for a point on the wall, where the distance is zero either way.
func (r Ring) contains(p Point) bool {
	o := r.open()
	in := false
	for i, j := 0, len(o)-1; i < len(o); j, i = i, i+1 {
		a, b := o[i], o[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// Contains reports whether p lies inside the polygon and not in a hole.
func (pg Polygon) Contains(p Point) bool {
	if len(pg) == 0 || !pg[0].contains(p) {
		return false
	}
	for _, h := range pg[1:] {
		if h.contains(p) {
			return false
		}
	}
	return true
}

func containsAny(pgs []Polygon, p Point) bool {
	for _, pg := range pgs {
		if pg.Contains(p) {
			return true
		}
	}
	return false
}

// segmentsCross reports whether segments ab and cd share a point (touching
// counts), by orientation tests in lng/lat.
func segmentsCross(a, b, c, d Point) bool {
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) ||
		(o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b))
}

func orient(a, b, c Point) float64 {
	v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func onSegment(a, b, p Point) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}
