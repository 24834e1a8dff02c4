package geo

import "math"

// Datum names the coordinate system a boundary was drawn in. Chinese web
// maps publish obfuscated coordinates, offset from GPS by 100–700 m — more
// than the fence itself — so every imported geometry must say which datum it
// is in and be converted to WGS-84 before it is measured.
type Datum string

// The datums of the maps a bureau draws on.
const (
	WGS84 Datum = "wgs84" // GPS, OpenStreetMap, Tianditu (天地图, CGCS2000 ≈ WGS-84 to centimetres)
	GCJ02 Datum = "gcj02" // 国测局 "Mars" coordinates: AMap, Tencent, Google China
	BD09  Datum = "bd09"  // Baidu: GCJ-02 with a further offset
)

// Parameters of the published GCJ-02 formula (the Krasovsky ellipsoid).
const (
	gcjA  = 6378245.0
	gcjEE = 0.00669342162296594323
	bdXPi = math.Pi * 3000.0 / 180.0
)

// OutOfChina reports whether p lies outside the rough box of mainland China
// in which GCJ-02 is applied; outside it GCJ-02 equals WGS-84. The box is the
// one every published implementation uses, so that conversions agree with
// the maps' own; it also covers neighbours (Seoul, Hanoi, Singapore), which
// does not matter for a Chinese bureau's own data.
func OutOfChina(p Point) bool {
	return p[0] < 72.004 || p[0] > 137.8347 || p[1] < 0.8293 || p[1] > 55.8271
}

// WGS84ToGCJ02 converts a GPS position to the coordinates AMap and Tencent
// display, by the published (leaked) GCJ-02 formula.
func WGS84ToGCJ02(p Point) Point {
	if OutOfChina(p) {
		return p
	}
	lng, lat := p[0], p[1]
	dLat := gcjLat(lng-105, lat-35)
	dLng := gcjLng(lng-105, lat-35)
	radLat := lat / 180 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLng = (dLng * 180) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return Point{lng + dLng, lat + dLat}
}

// GCJ02ToWGS84 inverts WGS84ToGCJ02. The formula has no closed inverse; the
// one-step inverse most libraries ship is off by metres, so this iterates
// (w ← w − (gcj(w) − g)) until the forward conversion of the answer lands
// within 1e-10° (about 0.01 mm) of the input.
func GCJ02ToWGS84(g Point) Point {
	if OutOfChina(g) {
		return g
	}
	w := g
	for i := 0; i < 30; i++ {
		f := WGS84ToGCJ02(w)
		dx, dy := f[0]-g[0], f[1]-g[1]
		w = Point{w[0] - dx, w[1] - dy}
		if math.Abs(dx) < 1e-10 && math.Abs(dy) < 1e-10 {
			break
		}
	}
	return w
}

// GCJ02ToBD09 converts AMap/Tencent coordinates to Baidu's, by Baidu's
// published formula.
func GCJ02ToBD09(g Point) Point {
	x, y := g[0], g[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// BD09ToGCJ02 inverts GCJ02ToBD09. It starts from the published approximate
// inverse (good to about a metre) and refines it the same way GCJ02ToWGS84
// does, so that a boundary drawn on Baidu comes back to where it was.
func BD09ToGCJ02(b Point) Point {
	x, y := b[0]-0.0065, b[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	g := Point{z * math.Cos(theta), z * math.Sin(theta)}
	for i := 0; i < 30; i++ {
		f := GCJ02ToBD09(g)
		dx, dy := f[0]-b[0], f[1]-b[1]
		g = Point{g[0] - dx, g[1] - dy}
		if math.Abs(dx) < 1e-10 && math.Abs(dy) < 1e-10 {
			break
		}
	}
	return g
}

// WGS84ToBD09 converts a GPS position to Baidu coordinates (through GCJ-02,
// as Baidu defines BD-09).
func WGS84ToBD09(p Point) Point { return GCJ02ToBD09(WGS84ToGCJ02(p)) }

// BD09ToWGS84 converts Baidu coordinates to GPS.
func BD09ToWGS84(b Point) Point { return GCJ02ToWGS84(BD09ToGCJ02(b)) }

// ToWGS84 converts p from datum d; an unknown datum is an error rather than
// a guess, because a wrong guess moves a school by hundreds of metres.
func ToWGS84(p Point, d Datum) (Point, bool) {
	switch d {
	case WGS84:
		return p, true
	case GCJ02:
		return GCJ02ToWGS84(p), true
	case BD09:
		return BD09ToWGS84(p), true
	}
	return Point{}, false
}

// ConvertToWGS84 converts every vertex of g from datum d to WGS-84.
func ConvertToWGS84(g Geometry, d Datum) (Geometry, bool) {
	if _, ok := ToWGS84(Point{}, d); !ok {
		return nil, false
	}
	conv := func(p Point) Point { q, _ := ToWGS84(p, d); return q }
	switch v := g.(type) {
	case Point:
		return conv(v), true
	case Polygon:
		return convPolygon(v, conv), true
	case MultiPolygon:
		out := make(MultiPolygon, len(v))
		for i, pg := range v {
			out[i] = convPolygon(pg, conv)
		}
		return out, true
	}
	return nil, false
}

func convPolygon(pg Polygon, conv func(Point) Point) Polygon {
	out := make(Polygon, len(pg))
	for i, r := range pg {
		out[i] = make(Ring, len(r))
		for j, p := range r {
			out[i][j] = conv(p)
		}
	}
	return out
}

func gcjLat(x, y float64) float64 {
	ret := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	ret += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	ret += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	ret += (160.0*math.Sin(y/12.0*math.Pi) + 320*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	return ret
}

func gcjLng(x, y float64) float64 {
	ret := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	ret += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	ret += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	ret += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	return ret
}
