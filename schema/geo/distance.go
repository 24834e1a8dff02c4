package geo

import "math"

// SegmentDistance is the minimum distance in metres from p to the geodesic
// segment a→b on the WGS-84 ellipsoid.
//
// The segment is first projected into the azimuthal-equidistant frame
// centred at p, where distances and azimuths from p are exact (they come
// from Inverse) and a short geodesic is nearly straight; the foot of the
// perpendicular there is the first guess of the nearest point. A
// golden-section search along the true geodesic (walked with Direct and
// measured with Inverse) then refines it to a millimetre along the edge —
// the distance is flat at its minimum, so that is far below a millimetre
// across it. If the minimum lands on the edge of the searched window the
// whole segment is searched, so a bad first guess costs time, not accuracy.
func SegmentDistance(p, a, b Point) float64 {
	dA, azA, _ := Inverse(p, a)
	dB, azB, _ := Inverse(p, b)
	best := math.Min(dA, dB)
	sAB, aziAB, _ := Inverse(a, b)
	if sAB < 1e-4 || math.IsNaN(aziAB) || math.IsNaN(azA) || math.IsNaN(azB) {
		return best
	}
	ax, ay := dA*math.Sin(azA*deg), dA*math.Cos(azA*deg)
	bx, by := dB*math.Sin(azB*deg), dB*math.Cos(azB*deg)
	dx, dy := bx-ax, by-ay
	t0 := -(ax*dx + ay*dy) / (dx*dx + dy*dy)
	w := math.Max(0.02, 2/sAB) // a window of at least ±2 m around the guess
	f := func(t float64) float64 {
		d, _, _ := Inverse(p, Direct(a, aziAB, t*sAB))
		return d
	}
	lo, hi := math.Max(0, t0-w), math.Min(1, t0+w)
	if lo < hi {
		t, v := golden(f, lo, hi, 1e-3/sAB)
		if (t-lo < w/10 && lo > 0) || (hi-t < w/10 && hi < 1) {
			_, v = golden(f, 0, 1, 1e-3/sAB)
		}
		best = math.Min(best, v)
	}
	return best
}

// golden minimises a unimodal f on [lo, hi] to a bracket narrower than tol.
func golden(f func(float64) float64, lo, hi, tol float64) (t, v float64) {
	const g = 0.6180339887498949
	x1, x2 := hi-g*(hi-lo), lo+g*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for hi-lo > tol {
		if f1 < f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - g*(hi-lo)
			f1 = f(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + g*(hi-lo)
			f2 = f(x2)
		}
	}
	if f1 < f2 {
		return x1, f1
	}
	return x2, f2
}

// Distance is the straight-line distance in metres from any part of venue
// to any part of school: 0 when they touch, overlap, or one holds the other
// (a point in a hole is outside), else the minimum over their boundaries.
// This is the State Council reading of the 200 m rule: from any point of the
// campus wall to any part of the premises. A geometry with a non-finite
// coordinate gives NaN (Validate rejects such input where it enters), and an
// empty one +Inf.
func Distance(venue, school Geometry) float64 {
	return distance(venue, school, math.Inf(1))
}

// distance is Distance that may stop early: once every boundary pair is
// certainly farther than cutoff metres it returns a lower bound above cutoff
// instead of the exact value, which is all a zone check needs to say "no".
func distance(venue, school Geometry, cutoff float64) float64 {
	vp, sp := venue.polygons(), school.polygons()
	vv, sv := venue.vertices(), school.vertices()
	if len(vv) == 0 || len(sv) == 0 {
		return math.Inf(1)
	}
	for _, p := range append(vv[:len(vv):len(vv)], sv...) {
		if !finite(p) {
			return math.NaN() // see Validate
		}
	}
	for _, p := range vv {
		if containsAny(sp, p) {
			return 0
		}
	}
	for _, p := range sv {
		if containsAny(vp, p) {
			return 0
		}
	}
	if crosses(vp, sp) {
		return 0
	}
	if len(vp) == 0 && len(sp) == 0 { // two points
		d, _, _ := Inverse(vv[0], sv[0])
		return d
	}

	// Rank every vertex→edge pair in a local plane first (metres in an
	// equirectangular frame at the venue), then measure exactly only the
	// pairs that could be the nearest: the plane is good to a fraction of a
	// percent over a few kilometres, and the margin covers that.
	fr := newFrame(vv[0])
	type pair struct {
		p, a, b Point
		approx  float64
	}
	var pairs []pair
	minApprox := math.Inf(1)
	add := func(pts []Point, pgs []Polygon) {
		for _, p := range pts {
			px, py := fr.xy(p)
			for _, pg := range pgs {
				for _, r := range pg {
					r.edges(func(a, b Point) {
						ax, ay := fr.xy(a)
						bx, by := fr.xy(b)
						d := planeSegDist(px, py, ax, ay, bx, by)
						if d < minApprox {
							minApprox = d
						}
						pairs = append(pairs, pair{p, a, b, d})
					})
				}
			}
		}
	}
	add(vv, sp)
	add(sv, vp)
	if len(pairs) == 0 {
		return math.Inf(1)
	}
	margin := func(d float64) float64 { return 1 + d*(0.005+d/1e6) }
	if minApprox-margin(minApprox) > cutoff {
		return minApprox - margin(minApprox)
	}
	best := math.Inf(1)
	limit := minApprox + margin(minApprox)
	for _, q := range pairs {
		if q.approx <= limit {
			best = math.Min(best, SegmentDistance(q.p, q.a, q.b))
		}
	}
	return best
}

// crosses reports whether an edge of one set of polygons meets an edge of
// the other: two footprints can overlap with no vertex inside the other.
func crosses(a, b []Polygon) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	hit := false
	for _, pa := range a {
		for _, ra := range pa {
			ra.edges(func(p, q Point) {
				if hit {
					return
				}
				for _, pb := range b {
					for _, rb := range pb {
						rb.edges(func(c, d Point) {
							if !hit && segmentsCross(p, q, c, d) {
								hit = true
							}
						})
					}
				}
			})
		}
	}
	return hit
}

// frame is a local equirectangular plane in metres around an origin, using
// the ellipsoid's radii of curvature there.
type frame struct {
	o      Point
	kx, ky float64
}

func newFrame(o Point) frame {
	return frame{o: o, kx: metresPerDegreeLng(o[1]), ky: meridianRadius(o[1]) * deg}
}

func (f frame) xy(p Point) (x, y float64) {
	return remainder(p[0]-f.o[0]) * f.kx, (p[1] - f.o[1]) * f.ky
}

func planeSegDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
	}
	return math.Hypot(px-ax-t*dx, py-ay-t*dy)
}
