package geo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

var linyi = geo.Point{118.3, 35.1}

// campus is a star-shaped (often concave) campus of 6–11 walls, 60–250 m
// from its centre, with a hole in every tenth.
func campus(r *rand.Rand, c geo.Point, i int) geo.Polygon {
	n := 6 + r.IntN(6)
	ring := make(geo.Ring, 0, n+1)
	for k := 0; k < n; k++ {
		az := (float64(k) + r.Float64()*0.6) * 360 / float64(n)
		ring = append(ring, geo.Direct(c, az, 60+r.Float64()*190))
	}
	ring = append(ring, ring[0])
	pg := geo.Polygon{ring}
	if i%10 == 0 {
		h := geo.Ring{geo.Direct(c, 0, 25), geo.Direct(c, 120, 25), geo.Direct(c, 240, 25)}
		pg = append(pg, append(h, h[0]))
	}
	return pg
}

// footprint is a venue's 20 m × 14 m rectangle at c.
func footprint(c geo.Point, az float64) geo.Polygon {
	r := geo.Ring{geo.Direct(c, az+35, 12.2), geo.Direct(c, az+145, 12.2), geo.Direct(c, az+215, 12.2), geo.Direct(c, az+325, 12.2)}
	return geo.Polygon{append(r, r[0])}
}

// town scatters schools and venues over a square of side km kilometres
// around Linyi: the shape of a district's data.
func town(seed uint64, nSchools, nVenues int, km float64) ([]geo.School, []geo.Venue) {
	r := rand.New(rand.NewPCG(seed, 1))
	at := func() geo.Point {
		return geo.Direct(geo.Direct(linyi, 0, (r.Float64()-0.5)*km*1000), 90, (r.Float64()-0.5)*km*1000)
	}
	kinds := []string{"primary", "primary", "secondary", "kindergarten"}
	schools := make([]geo.School, nSchools)
	for i := range schools {
		schools[i] = geo.School{ID: fmt.Sprintf("s%04d", i), Kind: kinds[i%len(kinds)], Geom: campus(r, at(), i)}
	}
	vkinds := []string{schema.KindNetCafe, schema.KindNetCafe, schema.KindArcade, schema.KindKTV, schema.KindBookshop}
	venues := make([]geo.Venue, nVenues)
	for i := range venues {
		var g geo.Geometry = at()
		if i%3 == 0 {
			g = footprint(g.(geo.Point), r.Float64()*90)
		}
		venues[i] = geo.Venue{ID: fmt.Sprintf("v%05d", i), Kind: vkinds[i%len(vkinds)], Geom: g}
	}
	return schools, venues
}

// bruteForce is Evaluate without the index, to check the index loses nothing.
func bruteForce(v geo.Venue, schools []geo.School, rules []geo.Rule) []geo.Violation {
	var out []geo.Violation
	for _, s := range schools {
		r, ok := geo.RuleFor(rules, v.Kind, s.Kind, date(2024, 6, 1))
		if !ok {
			continue
		}
		if d := geo.Distance(v.Geom, s.Geom); d <= r.DistanceM {
			out = append(out, geo.Violation{SchoolID: s.ID, DistanceM: d, RuleID: r.ID, Inside: d == 0})
		}
	}
	return out
}

func TestEvaluate_IndexFindsWhatBruteForceFinds(t *testing.T) {
	schools, venues := town(7, 150, 600, 6)
	rules := []geo.Rule{national, kinder}
	ix := geo.NewIndex(schools, rules)
	hits := 0
	for _, v := range venues {
		got := geo.Evaluate(v, ix, rules, date(2024, 6, 1))
		want := bruteForce(v, schools, rules)
		if len(got) != len(want) {
			t.Fatalf("%s: index found %d violations, brute force %d", v.ID, len(got), len(want))
		}
		for _, w := range want {
			i := slices.IndexFunc(got, func(g geo.Violation) bool { return g.SchoolID == w.SchoolID })
			if i < 0 || math.Abs(got[i].DistanceM-w.DistanceM) > 1e-6 || got[i].RuleID != w.RuleID || got[i].Inside != w.Inside {
				t.Fatalf("%s: %+v not found as %+v", v.ID, w, got)
			}
		}
		if !slices.IsSortedFunc(got, func(a, b geo.Violation) int { return int(math.Copysign(1, a.DistanceM-b.DistanceM)) }) {
			t.Fatalf("%s: violations not nearest first: %+v", v.ID, got)
		}
		hits += len(got)
	}
	if hits == 0 {
		t.Fatal("no venue was in any zone: the test proves nothing")
	}
	t.Logf("%d violations among %d venues", hits, len(venues))
}

// TestEvaluate_FenceVectors puts every GeographicLib point vector next to its
// school as a net café: in the zone exactly when the reference distance is
// at most 200 m (the 199 m / 201 m points included).
func TestEvaluate_FenceVectors(t *testing.T) {
	checked := 0
	for _, pg := range loadVectors(t).Polygons {
		ix := geo.NewIndex([]geo.School{{ID: "s", Kind: "primary", Geom: pg.School}}, []geo.Rule{national})
		for _, c := range pg.Points {
			if math.Abs(c.Dist-200) < 0.01 {
				continue
			}
			got := geo.ZonesAt(c.P, schema.KindNetCafe, ix, []geo.Rule{national}, date(2024, 6, 1))
			if in := len(got) == 1; in != (c.Dist <= 200) {
				t.Errorf("%s/%s %s %v: reference %.3f m, zone hit %v", pg.City, pg.Kind, c.Why, c.P, c.Dist, in)
			}
			if c.Inside && (len(got) != 1 || !got[0].Inside) {
				t.Errorf("%s/%s %s: Inside = %v for a point inside", pg.City, pg.Kind, c.Why, got[0].Inside)
			}
			checked++
		}
	}
	t.Logf("%d fence vectors", checked)
}

func TestEvaluate_KindergartenRuleAndUnmeasuredMethod(t *testing.T) {
	kg := geo.School{ID: "kg", Kind: "kindergarten", Geom: campus(rand.New(rand.NewPCG(1, 2)), linyi, 1)}
	b := kg.Geom.Bound()
	// 150 m east of the box's east side: outside a 100 m zone, in a 200 m one.
	p := geo.Direct(geo.Point{b.MaxLng, (b.MinLat + b.MaxLat) / 2}, 90, 150)
	ix := geo.NewIndex([]geo.School{kg}, []geo.Rule{kinder})
	if got := geo.ZonesAt(p, schema.KindNetCafe, ix, []geo.Rule{kinder}, date(2024, 6, 1)); len(got) != 0 {
		t.Errorf("100 m kindergarten rule flagged a café %.1f m away", got[0].DistanceM)
	}
	// A rule wider than the index was grown by is still found.
	walking := geo.Rule{ID: "gd-walk", DistanceM: 200, Method: geo.MethodDoorWalking,
		SchoolKinds: []string{"kindergarten"}, VenueKinds: []string{schema.KindNetCafe}, EffectiveFrom: date(2016, 1, 1)}
	ix = geo.NewIndex([]geo.School{kg}, []geo.Rule{{DistanceM: 50}})
	got := geo.ZonesAt(p, schema.KindNetCafe, ix, []geo.Rule{kinder, walking}, date(2024, 6, 1))
	if len(got) != 1 || got[0].RuleID != "gd-walk" || !got[0].Unmeasured || got[0].Inside {
		t.Fatalf("door-walking rule: %+v", got)
	}
	if got[0].DistanceM < 150 || got[0].DistanceM > 200 {
		t.Errorf("distance %.1f m", got[0].DistanceM)
	}
}

func TestEvaluate_InsideCampusAndHole(t *testing.T) {
	outer := geo.Ring{geo.Direct(linyi, 0, 300), geo.Direct(linyi, 90, 300), geo.Direct(linyi, 180, 300), geo.Direct(linyi, 270, 300)}
	hole := geo.Ring{geo.Direct(linyi, 45, 250), geo.Direct(linyi, 135, 250), geo.Direct(linyi, 225, 250), geo.Direct(linyi, 315, 250)}
	s := geo.School{ID: "s", Kind: "primary", Geom: geo.Polygon{outer, hole}}
	ix := geo.NewIndex([]geo.School{s}, []geo.Rule{national})
	day := date(2024, 6, 1)
	// In the hole: outside the campus, but within 200 m of its walls.
	got := geo.ZonesAt(linyi, schema.KindNetCafe, ix, []geo.Rule{national}, day)
	if len(got) != 1 || got[0].Inside || got[0].DistanceM < 170 || got[0].DistanceM > 180 {
		t.Fatalf("a café in the hole: %+v", got)
	}
	// Between the hole and the outer wall: inside the campus.
	got = geo.ZonesAt(geo.Direct(linyi, 0, 260), schema.KindNetCafe, ix, []geo.Rule{national}, day)
	if len(got) != 1 || !got[0].Inside || got[0].DistanceM != 0 {
		t.Fatalf("a café on campus: %+v", got)
	}
	// A footprint straddling the outer wall with no vertex of either inside
	// the other's ring would still overlap: checked by edge crossing.
	wall := geo.Direct(linyi, 45, 300*math.Sqrt2/2)
	fp := footprint(wall, 45)
	if d := geo.Distance(fp, s.Geom); d != 0 {
		t.Errorf("a footprint across the wall is %.2f m away", d)
	}
}
