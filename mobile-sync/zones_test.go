package mobilesync_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
)

// demoServer starts the server with the demo district: schools with
// campus polygons among the venues.
func demoServer(t testing.TB) (*servertest.Server, *testClock) {
	t.Helper()
	clock := &testClock{t: serverNow}
	return servertest.Start(t, servertest.Options{Now: clock.Now, Demo: &demo.Options{MonthsHistory: 1}}), clock
}

// newDemoEnv enrols a device as inspector1 of the demo's squad 1, not yet
// synced.
func newDemoEnv(t *testing.T) *env {
	t.Helper()
	srv, clock := demoServer(t)
	return newEnvOn(t, srv, clock)
}

// outside is a point dist metres outside a convex campus, straight out from
// the middle of its first edge: its distance to the campus is dist exactly.
func outside(t *testing.T, s schema.School, dist float64) (lat, lng float64) {
	t.Helper()
	a, b := geo.Point(s.Polygon[0]), geo.Point(s.Polygon[1])
	_, azi, _ := geo.Inverse(a, b)
	mid := geo.Direct(a, azi, func() float64 { d, _, _ := geo.Inverse(a, b); return d / 2 }())
	pg := schema.SchoolGeometry(s).(geo.Polygon)
	out := azi + 90
	if pg.Contains(geo.Direct(mid, out, 1)) {
		out = azi - 90
	}
	p := geo.Direct(mid, out, dist)
	return p[1], p[0]
}

// hitFor is the hit of school id among hits.
func hitFor(hits []schema.ZoneHit, id string) (schema.ZoneHit, bool) {
	for _, h := range hits {
		if h.SchoolID == id {
			return h, true
		}
	}
	return schema.ZoneHit{}, false
}

// demoSchool is a primary or secondary school the synced device holds.
func demoSchool(t *testing.T, d *mobilesync.Device) schema.School {
	t.Helper()
	schools, err := d.Schools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range schools {
		if s.Kind == "primary" || s.Kind == "secondary" {
			return s
		}
	}
	t.Fatalf("the device holds no primary or secondary school (%d schools)", len(schools))
	return schema.School{}
}

func TestZonesAt_PulledDemoSchools(t *testing.T) {
	e := newDemoEnv(t)
	ctx := context.Background()
	// Before the first sync the device knows no school: the index built
	// now must not outlive the pull.
	if hits, err := e.dev.ZonesAt(ctx, 35.06, 118.30, ""); err != nil || len(hits) != 0 {
		t.Fatalf("before sync: %v, %v", hits, err)
	}
	mustSync(t, e.dev)
	s := demoSchool(t, e.dev)

	lat, lng := outside(t, s, 150)
	hits, err := e.dev.ZonesAt(ctx, lat, lng, schema.KindNetCafe)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := hitFor(hits, s.ID)
	if !ok || !h.InsideZone || math.Abs(h.DistanceM-150) > 1 || h.RuleID != "cn-2002-art9" || h.SchoolName != s.Name {
		t.Fatalf("150 m from %s (%s): %+v in %+v", s.Name, s.ID, h, hits)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].DistanceM < hits[i-1].DistanceM {
			t.Fatalf("not nearest first: %+v", hits)
		}
	}

	lat, lng = outside(t, s, 210)
	hits, err = e.dev.ZonesAt(ctx, lat, lng, schema.KindNetCafe)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := hitFor(hits, s.ID); !ok || h.InsideZone || math.Abs(h.DistanceM-210) > 1 {
		t.Fatalf("210 m from %s: %+v in %+v, want near but outside", s.Name, h, hits)
	}

	lat, lng = outside(t, s, 450) // beyond twice the rule's distance
	hits, err = e.dev.ZonesAt(ctx, lat, lng, schema.KindNetCafe)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := hitFor(hits, s.ID); ok {
		t.Fatalf("450 m from %s still reported: %+v", s.Name, h)
	}

	// No rule covers bookshops near schools.
	lat, lng = outside(t, s, 150)
	if hits, err := e.dev.ZonesAt(ctx, lat, lng, schema.KindBookshop); err != nil || len(hits) != 0 {
		t.Fatalf("bookshop: %v, %v", hits, err)
	}
	if _, err := e.dev.ZonesAt(ctx, 135, 118, ""); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("latitude 135: %v", err)
	}
	if _, err := e.dev.ZonesAt(ctx, lat, lng, "casino"); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("kind casino: %v", err)
	}
}

// TestZonesAt_KindergartenRule: the demo's server holds only the national
// rule, so a provincial kindergarten rule and a kindergarten with a
// two-part campus are written into the device's tables as a pull would,
// and the device reopened.
func TestZonesAt_KindergartenRule(t *testing.T) {
	e := newDemoEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	base := demoSchool(t, e.dev)
	// A kindergarten 2 km north of a demo school, two buildings apart.
	shift := func(ring [][2]float64, north float64) geo.Ring {
		r := make(geo.Ring, len(ring))
		for i, p := range ring {
			r[i] = geo.Direct(geo.Point(p), 0, north)
		}
		return r
	}
	kg := schema.School{ID: "kg-1", Name: "兰山区实验幼儿园", Kind: "kindergarten", Polygon: base.Polygon,
		Geometry: geo.MultiPolygon{{shift(base.Polygon, 2000)}, {shift(base.Polygon, 2600)}}}
	kg.Polygon = nil
	for _, p := range kg.Geometry[0][0] {
		kg.Polygon = append(kg.Polygon, [2]float64(p))
	}
	rule := schema.ZoneRule{ID: "sd-kg-100", Name: "幼儿园 100 米", DistanceM: 100, Method: geo.MethodBoundaryStraightLine,
		SchoolKinds: []string{"kindergarten"}, EffectiveFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	err := e.dev.DB().WriteTx(ctx, func(tx *sql.Tx) error {
		sb, _ := json.Marshal(kg)
		rb, _ := json.Marshal(rule)
		if _, err := tx.Exec(`INSERT INTO schools (id, body) VALUES (?, ?)`, kg.ID, string(sb)); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO zone_rules (id, body) VALUES (?, ?)`, rule.ID, string(rb))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	second := schema.School{ID: kg.ID, Polygon: nil}
	for _, p := range kg.Geometry[1][0] {
		second.Polygon = append(second.Polygon, [2]float64(p))
	}
	for _, c := range []struct {
		dist   float64
		inside bool
	}{{60, true}, {150, false}} {
		lat, lng := outside(t, second, c.dist) // measured from the second building
		hits, err := e.dev.ZonesAt(ctx, lat, lng, schema.KindKTV)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := hitFor(hits, kg.ID)
		if !ok || h.InsideZone != c.inside || h.RuleID != rule.ID || math.Abs(h.DistanceM-c.dist) > 1 {
			t.Fatalf("%v m from the kindergarten's second building: %+v in %+v", c.dist, h, hits)
		}
	}
}

func TestVenuesInZonesNear_DemoVenues(t *testing.T) {
	e := newDemoEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	s := demoSchool(t, e.dev)
	// A black café recorded 100 m from the campus is in its zone.
	lat, lng := outside(t, s, 100)
	v, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "无名网吧", Kind: schema.KindNetCafe, Lat: lat, Lng: lng})
	if err != nil {
		t.Fatal(err)
	}
	if v.FoundInZone == nil || v.FoundInZone.SchoolID == "" || !v.FoundInZone.InsideZone {
		t.Fatalf("venue recorded 100 m from %s: FoundInZone %+v", s.Name, v.FoundInZone)
	}
	if got, err := e.dev.Venue(ctx, v.ID); err != nil || got.FoundInZone == nil || *got.FoundInZone != *v.FoundInZone {
		t.Fatalf("stored venue: %+v, %v", got.FoundInZone, err)
	}
	var body string
	if err := e.dev.DB().R.QueryRow(`SELECT body FROM outbox WHERE entity_id = ? AND kind = ?`, v.ID, schema.MutVenueCreate).Scan(&body); err != nil {
		t.Fatal(err)
	}
	var m schema.Mutation
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Venue == nil || m.Venue.FoundInZone == nil || *m.Venue.FoundInZone != *v.FoundInZone {
		t.Fatalf("venue.create carries %s (%v)", body, err)
	}
	near, err := e.dev.VenuesInZonesNear(ctx, lat, lng, 300)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range near {
		if len(n.Zones) == 0 || !n.Zones[0].InsideZone {
			t.Fatalf("listed outside any zone: %+v", n)
		}
		if n.Venue.ID == v.ID {
			found = true
			if n.DistanceM != 0 {
				t.Fatalf("the venue at the position is %v m away", n.DistanceM)
			}
		}
	}
	if !found {
		t.Fatalf("venue %s not listed near its own position: %+v", v.ID, near)
	}
	if _, err := e.dev.VenuesInZonesNear(ctx, lat, lng, -1); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("radius -1: %v", err)
	}
	// Outside every zone: nothing recorded.
	far, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "书店", Kind: schema.KindBookshop, Lat: lat, Lng: lng})
	if err != nil || far.FoundInZone != nil {
		t.Fatalf("bookshop: %+v, %v", far.FoundInZone, err)
	}
	// The server's answer to venue.create does not erase the device's
	// record of the warning it gave.
	mustSync(t, e.dev)
	if got, err := e.dev.Venue(ctx, v.ID); err != nil || got.FoundInZone == nil || *got.FoundInZone != *v.FoundInZone {
		t.Fatalf("after sync: %+v, %v", got.FoundInZone, err)
	}
}

// BenchmarkZonesAtPoint_Device measures zone checks at random positions
// in squad 1's area over what its device pulled from the demo district.
func BenchmarkZonesAtPoint_Device(b *testing.B) {
	srv, _ := demoServer(b)
	ctx := context.Background()
	d, err := mobilesync.Open(ctx, mobilesync.Options{Path: filepath.Join(b.TempDir(), "device.db"), Now: func() time.Time { return serverNow }})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	code, err := srv.Admin().EnrollmentCode("inspector1")
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Enroll(ctx, srv.URL, code, "bench phone"); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	schools, err := d.Schools(ctx)
	if err != nil || len(schools) == 0 {
		b.Fatalf("schools: %d, %v", len(schools), err)
	}
	// Squad 1 of the demo: the south-west sixth of the district.
	rnd := rand.New(rand.NewPCG(1, 2))
	pts := make([][2]float64, 1024)
	for i := range pts {
		pts[i] = [2]float64{35.02 + rnd.Float64()*0.075, 118.24 + rnd.Float64()*0.0567}
	}
	if _, err := d.ZonesAt(ctx, pts[0][0], pts[0][1], ""); err != nil { // builds the index
		b.Fatal(err)
	}
	hits := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pts[i%len(pts)]
		h, err := d.ZonesAt(ctx, p[0], p[1], schema.KindNetCafe)
		if err != nil {
			b.Fatal(err)
		}
		hits += len(h)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	b.ReportMetric(float64(len(schools)), "schools")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/query")
}
