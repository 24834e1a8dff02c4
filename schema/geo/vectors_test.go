package geo_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/patrolhq/patrol/schema/geo"
)

// vectors is testdata/vectors.json, written by testdata/gen/gen.mjs with
// GeographicLib (Karney's JavaScript port), the reference implementation of
// geodesics on the ellipsoid.
type vectors struct {
	Inverse []struct {
		P1, P2          geo.Point
		S12, Azi1, Azi2 float64
	} `json:"inverse"`
	Polygons []struct {
		City   string           `json:"city"`
		Kind   string           `json:"kind"`
		School geo.MultiPolygon `json:"school"`
		Points []struct {
			P      geo.Point `json:"p"`
			Why    string    `json:"why"`
			Dist   float64   `json:"dist"`
			Inside bool      `json:"inside"`
		} `json:"points"`
		Venues []struct {
			Venue geo.MultiPolygon `json:"venue"`
			Why   string           `json:"why"`
			Dist  float64          `json:"dist"`
		} `json:"venues"`
	} `json:"polygons"`
	Segments []struct {
		A, B   geo.Point
		Points []struct {
			P    geo.Point `json:"p"`
			Dist float64   `json:"dist"`
		} `json:"points"`
	} `json:"segments"`
	Antipodal []struct {
		P1, P2 geo.Point
		S12    float64
	} `json:"antipodal"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Inverse) == 0 || len(v.Polygons) == 0 {
		t.Fatal("vectors.json holds no vectors")
	}
	return v
}

func angleDiff(a, b float64) float64 {
	d := math.Mod(a-b+540, 360) - 180
	return math.Abs(d)
}

func TestInverse_GeographicLibVectors(t *testing.T) {
	worst := 0.0
	defer func() { t.Logf("worst difference %.2e m", worst) }()
	for _, c := range loadVectors(t).Inverse {
		s, a1, a2 := geo.Inverse(c.P1, c.P2)
		worst = math.Max(worst, math.Abs(s-c.S12))
		if math.Abs(s-c.S12) > 1e-3 {
			t.Errorf("Inverse(%v, %v) = %.6f m, GeographicLib %.6f m", c.P1, c.P2, s, c.S12)
		}
		// An azimuth is only meaningful to the length it moves the far end.
		if c.S12 > 1 && (angleDiff(a1, c.Azi1)*math.Pi/180*c.S12 > 1e-3 || angleDiff(a2, c.Azi2)*math.Pi/180*c.S12 > 1e-3) {
			t.Errorf("Inverse(%v, %v) azimuths %.9f %.9f, GeographicLib %.9f %.9f", c.P1, c.P2, a1, a2, c.Azi1, c.Azi2)
		}
	}
}

func TestDirect_RoundTripsInverse(t *testing.T) {
	for _, c := range loadVectors(t).Inverse {
		if c.S12 < 1 {
			continue
		}
		got := geo.Direct(c.P1, c.Azi1, c.S12)
		if d, _, _ := geo.Inverse(got, c.P2); d > 1e-3 {
			t.Errorf("Direct(%v, %.6f, %.3f) misses %v by %.6f m", c.P1, c.Azi1, c.S12, c.P2, d)
		}
	}
}

func TestDistance_PointVectors(t *testing.T) {
	n, worst := 0, 0.0
	for _, pg := range loadVectors(t).Polygons {
		for _, c := range pg.Points {
			got := geo.Distance(c.P, pg.School)
			worst = math.Max(worst, math.Abs(got-c.Dist))
			if math.Abs(got-c.Dist) > 0.5 {
				t.Errorf("%s/%s %s %v: Distance %.4f m, GeographicLib %.4f m", pg.City, pg.Kind, c.Why, c.P, got, c.Dist)
			}
			n++
		}
	}
	t.Logf("%d point vectors, worst difference %.2e m", n, worst)
}

func TestDistance_FootprintVectors(t *testing.T) {
	n, worst := 0, 0.0
	for _, pg := range loadVectors(t).Polygons {
		for _, c := range pg.Venues {
			got := geo.Distance(c.Venue, pg.School)
			worst = math.Max(worst, math.Abs(got-c.Dist))
			if math.Abs(got-c.Dist) > 0.5 {
				t.Errorf("%s/%s %s: Distance %.4f m, GeographicLib %.4f m", pg.City, pg.Kind, c.Why, got, c.Dist)
			}
			// Distance is symmetric: the school is as far from the venue.
			if back := geo.Distance(pg.School, c.Venue); math.Abs(back-got) > 1e-3 {
				t.Errorf("%s/%s %s: Distance not symmetric: %.4f vs %.4f", pg.City, pg.Kind, c.Why, got, back)
			}
			n++
		}
	}
	t.Logf("%d footprint vectors, worst difference %.2e m", n, worst)
}

// TestSegmentDistance_GeographicLibVectors checks single edges of 0.5–5 km
// at latitudes 20–45°, with points before, along and past them.
func TestSegmentDistance_GeographicLibVectors(t *testing.T) {
	n, worst := 0, 0.0
	for _, sg := range loadVectors(t).Segments {
		for _, c := range sg.Points {
			got := geo.SegmentDistance(c.P, sg.A, sg.B)
			worst = math.Max(worst, math.Abs(got-c.Dist))
			if math.Abs(got-c.Dist) > 0.5 {
				t.Errorf("SegmentDistance(%v, %v→%v) = %.4f m, GeographicLib %.4f m", c.P, sg.A, sg.B, got, c.Dist)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no segment vectors")
	}
	t.Logf("%d segment vectors, worst difference %.2e m", n, worst)
}

// TestInverse_NearlyAntipodalFallsBack: Vincenty's iteration fails for these;
// the fallback must still agree with GeographicLib to a centimetre.
func TestInverse_NearlyAntipodalFallsBack(t *testing.T) {
	worst := 0.0
	for _, c := range loadVectors(t).Antipodal {
		s, _, _ := geo.Inverse(c.P1, c.P2)
		if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s-c.S12) > 0.01 {
			t.Errorf("Inverse(%v, %v) = %.1f m, GeographicLib %.1f m", c.P1, c.P2, s, c.S12)
		}
		worst = math.Max(worst, math.Abs(s-c.S12))
	}
	t.Logf("worst difference %.2e m", worst)
}
