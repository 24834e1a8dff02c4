package geo_test

import (
	"math"
	"testing"

	"github.com/patrolhq/patrol/schema/geo"
)

// metres is the geodesic distance between two points, for tolerances a
// person can read.
func metres(a, b geo.Point) float64 {
	d, _, _ := geo.Inverse(a, b)
	return d
}

// The published pairs below are the examples of the README of
// wandergis/coordtransform (the JavaScript library most Chinese projects copy
// their conversions from), for the input (116.404, 39.915) near Tiananmen;
// the same numbers appear in the test suites of its ports to other languages
// (for example hutool's CoordinateUtilTest, Java). Its gcj02towgs84 and
// bd09togcj02 are one-step approximations: ours iterate, so they are checked
// to the approximation's error and, exactly, by round trip.
var in = geo.Point{116.404, 39.915}

func TestWGS84ToGCJ02_PublishedPair(t *testing.T) {
	got := geo.WGS84ToGCJ02(in)
	want := geo.Point{116.41024449916938, 39.91640428150164}
	if math.Abs(got[0]-want[0]) > 1e-12 || math.Abs(got[1]-want[1]) > 1e-12 {
		t.Fatalf("WGS84ToGCJ02(%v) = %v, want %v", in, got, want)
	}
}

func TestGCJ02ToBD09_PublishedPair(t *testing.T) {
	got := geo.GCJ02ToBD09(in)
	want := geo.Point{116.41036949371029, 39.92133699351021}
	if math.Abs(got[0]-want[0]) > 1e-12 || math.Abs(got[1]-want[1]) > 1e-12 {
		t.Fatalf("GCJ02ToBD09(%v) = %v, want %v", in, got, want)
	}
}

func TestWGS84ToBD09_PublishedPair(t *testing.T) {
	got := geo.WGS84ToBD09(in)
	want := geo.Point{116.41662724378733, 39.922699552216216}
	if math.Abs(got[0]-want[0]) > 1e-12 || math.Abs(got[1]-want[1]) > 1e-12 {
		t.Fatalf("WGS84ToBD09(%v) = %v, want %v", in, got, want)
	}
}

func TestGCJ02ToWGS84_PublishedOneStepPair(t *testing.T) {
	got := geo.GCJ02ToWGS84(in)
	oneStep := geo.Point{116.39775550083061, 39.91359571849836}
	if d := metres(got, oneStep); d > 5 {
		t.Fatalf("GCJ02ToWGS84(%v) = %v, %.2f m from the published one-step value", in, got, d)
	}
	if d := metres(geo.WGS84ToGCJ02(got), in); d > 0.01 {
		t.Fatalf("GCJ02ToWGS84(%v) does not invert WGS84ToGCJ02: off by %.4f m", in, d)
	}
}

func TestBD09ToGCJ02_PublishedOneStepPair(t *testing.T) {
	got := geo.BD09ToGCJ02(in)
	oneStep := geo.Point{116.39762729119315, 39.90865673957631}
	if d := metres(got, oneStep); d > 2 {
		t.Fatalf("BD09ToGCJ02(%v) = %v, %.2f m from the published one-step value", in, got, d)
	}
	if d := metres(geo.GCJ02ToBD09(got), in); d > 0.01 {
		t.Fatalf("BD09ToGCJ02(%v) does not invert GCJ02ToBD09: off by %.4f m", in, d)
	}
}

// TestDatum_RoundTrips converts a grid over China both ways: every inverse
// must bring a point back within 1 cm, and the offsets must be of the size
// the maps show (GCJ-02 tens to hundreds of metres, BD-09 more).
func TestDatum_RoundTrips(t *testing.T) {
	for lng := 74.0; lng <= 134; lng += 2.5 {
		for lat := 18.0; lat <= 53; lat += 2.5 {
			w := geo.Point{lng, lat}
			g := geo.WGS84ToGCJ02(w)
			if d := metres(geo.GCJ02ToWGS84(g), w); d > 0.01 {
				t.Errorf("GCJ-02 round trip at %v: %.4f m", w, d)
			}
			if d := metres(w, g); d < 1 || d > 1000 {
				t.Errorf("GCJ-02 offset at %v is %.1f m", w, d)
			}
			b := geo.WGS84ToBD09(w)
			if d := metres(geo.BD09ToWGS84(b), w); d > 0.01 {
				t.Errorf("BD-09 round trip at %v: %.4f m", w, d)
			}
			if d := metres(geo.BD09ToGCJ02(geo.GCJ02ToBD09(g)), g); d > 0.01 {
				t.Errorf("BD-09 → GCJ-02 round trip at %v: %.4f m", g, d)
			}
		}
	}
}

func TestGCJ02_OutsideChinaIsWGS84(t *testing.T) {
	for _, p := range []geo.Point{{139.767, 35.681}, {2.35, 48.86}, {-74.0, 40.7}, {151.21, -33.87}} {
		if got := geo.WGS84ToGCJ02(p); got != p {
			t.Errorf("WGS84ToGCJ02(%v) = %v outside China", p, got)
		}
		if got := geo.GCJ02ToWGS84(p); got != p {
			t.Errorf("GCJ02ToWGS84(%v) = %v outside China", p, got)
		}
	}
}

func TestConvertToWGS84_PolygonAndUnknownDatum(t *testing.T) {
	sq := geo.Polygon{geo.Ring{{118.3, 35.1}, {118.301, 35.1}, {118.301, 35.101}, {118.3, 35.1}}}
	gcj := geo.Polygon{geo.Ring{}}
	for _, p := range sq[0] {
		gcj[0] = append(gcj[0], geo.WGS84ToGCJ02(p))
	}
	back, ok := geo.ConvertToWGS84(gcj, geo.GCJ02)
	if !ok {
		t.Fatal("GCJ-02 not converted")
	}
	for i, p := range back.(geo.Polygon)[0] {
		if d := metres(p, sq[0][i]); d > 0.01 {
			t.Errorf("vertex %d off by %.4f m", i, d)
		}
	}
	if _, ok := geo.ConvertToWGS84(sq, geo.Datum("cgcs2000?")); ok {
		t.Error("an unknown datum was accepted")
	}
}
