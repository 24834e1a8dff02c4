package server_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

// beside returns a position dist metres outside the first vertex of a
// school of the demo district, away from the campus's centre.
func (e *env) beside(dist float64) (schema.School, geo.Point) {
	e.t.Helper()
	schools, err := e.srv.Store().SchoolsIn(context.Background(), [4]float64{-90, -180, 90, 180})
	if err != nil || len(schools) == 0 {
		e.t.Fatalf("SchoolsIn: %d schools, %v", len(schools), err)
	}
	sc := schools[0]
	var c geo.Point
	ring := sc.Polygon[:len(sc.Polygon)-1]
	for _, p := range ring {
		c[0] += p[0] / float64(len(ring))
		c[1] += p[1] / float64(len(ring))
	}
	v := geo.Point(sc.Polygon[0])
	_, azi, _ := geo.Inverse(c, v)
	return sc, geo.Direct(v, azi, dist)
}

func TestZoneViolations_LeadersSeeTheirSquadOnly(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	sc, at := e.beside(40)
	var ids [3]string
	for i, squad := range []int64{1, 2, 2} {
		v := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: "近校网吧", Lat: at[1], Lng: at[0]}
		admin.must(201, "POST", schema.PathVenues, v, nil)
		ids[i] = v.ID
	}
	var list []schema.ZoneViolation
	leader1 := e.login("leader1")
	leader1.must(200, "GET", schema.PathZoneViolations, nil, &list)
	mine := 0
	for _, v := range list {
		if v.SquadID != 1 {
			t.Fatalf("leader1 sees a violation of squad %d: %+v", v.SquadID, v)
		}
		if v.VenueID == ids[0] {
			mine++
			if v.SchoolID != sc.ID || v.DistanceM > 41 || v.RuleID == "" || v.Since.IsZero() || v.ClearedAt != nil {
				t.Fatalf("violation = %+v; want school %s within 41 m, standing", v, sc.ID)
			}
		}
	}
	if mine != 1 {
		t.Fatalf("leader1 sees %d violations of its café beside %s: %+v", mine, sc.ID, list)
	}
	admin.must(200, "GET", schema.PathZoneViolations+"?squad=2&include_cleared=true", nil, &list)
	got := map[string]bool{}
	for _, v := range list {
		got[v.VenueID] = true
	}
	if !got[ids[1]] || !got[ids[2]] || got[ids[0]] {
		t.Fatalf("admin's squad 2 list %+v; want the two squad 2 cafés only", list)
	}

	rule := schema.ZoneRule{Name: "幼儿园 100 米", DistanceM: 100, Method: geo.MethodBoundaryStraightLine, SchoolKinds: []string{"kindergarten"},
		VenueKinds: []string{schema.KindNetCafe}, EffectiveFrom: e.clock.Now()}
	inspector := e.login("inspector1")
	d := e.enroll("inspector2")
	for _, tc := range []struct {
		name         string
		c            *client
		method, path string
		body         any
		want         int
	}{
		{"leader reads squad 2", leader1, "GET", schema.PathZoneViolations + "?squad=2", nil, 403},
		{"inspector reads violations", inspector, "GET", schema.PathZoneViolations, nil, 403},
		{"device reads violations", d.client, "GET", schema.PathZoneViolations, nil, 403},
		{"anonymous reads violations", e.anon(), "GET", schema.PathZoneViolations, nil, 401},
		{"bad include_cleared", leader1, "GET", schema.PathZoneViolations + "?include_cleared=maybe", nil, 400},
		{"leader publishes a rule", leader1, "PUT", schema.PathZoneRules + "/kg-100", rule, 403},
		{"ids disagree", admin, "PUT", schema.PathZoneRules + "/kg-100", schema.ZoneRule{ID: "other", DistanceM: 100, EffectiveFrom: rule.EffectiveFrom}, 400},
		{"no distance", admin, "PUT", schema.PathZoneRules + "/kg-100", schema.ZoneRule{EffectiveFrom: rule.EffectiveFrom}, 400},
		{"leader relocates squad 2", leader1, "PUT", schema.PathVenues + "/" + ids[1] + "/position", map[string]float64{"lat": at[1], "lng": at[0] + 0.01}, 404},
		{"inspector relocates", inspector, "PUT", schema.PathVenues + "/" + ids[0] + "/position", map[string]float64{"lat": at[1], "lng": at[0]}, 403},
		{"relocate without lng", admin, "PUT", schema.PathVenues + "/" + ids[0] + "/position", map[string]float64{"lat": at[1]}, 400},
		{"admin publishes", admin, "PUT", schema.PathZoneRules + "/kg-100", rule, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.call(tc.method, tc.path, tc.body, nil); r.status != tc.want {
				t.Fatalf("%s %s: %d (%s); want %d", tc.method, tc.path, r.status, r.err.Message, tc.want)
			}
		})
	}
	var rules []schema.ZoneRule
	leader1.must(200, "GET", schema.PathZoneRules, nil, &rules)
	if len(rules) != 2 {
		t.Fatalf("rules = %+v; want the national one and kg-100", rules)
	}
}
