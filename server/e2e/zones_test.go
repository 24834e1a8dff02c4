package e2e_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

// zoneSpot finds, in the demo district, a corner of a school campus in
// squad's area from which a ray away from the campus reaches 150 m and
// 210 m from it with no other school within 300 m of either point: where
// a café is unambiguously inside, then outside, exactly one zone.
func zoneSpot(t *testing.T, st store.Store, squad int64) (schema.School, geo.Point, geo.Point) {
	t.Helper()
	ctx := context.Background()
	sq, err := st.SquadBounds(ctx, squad)
	if err != nil {
		t.Fatal(err)
	}
	schools, err := st.SchoolsIn(ctx, [4]float64{-90, -180, 90, 180})
	if err != nil {
		t.Fatal(err)
	}
	inArea := func(p geo.Point) bool {
		b := sq.Bounds
		return p[1] > b[0] && p[1] < b[2] && p[0] > b[1] && p[0] < b[3]
	}
	for _, sc := range schools {
		ring := sc.Polygon[:len(sc.Polygon)-1]
		var c geo.Point
		for _, p := range ring {
			c[0] += p[0] / float64(len(ring))
			c[1] += p[1] / float64(len(ring))
		}
	corners:
		for _, corner := range ring {
			_, azi, _ := geo.Inverse(c, geo.Point(corner))
			in, out := geo.Direct(geo.Point(corner), azi, 150), geo.Direct(geo.Point(corner), azi, 210)
			if !inArea(in) || !inArea(out) {
				continue
			}
			g := schema.SchoolGeometry(sc)
			if math.Abs(geo.Distance(in, g)-150) > 0.5 || math.Abs(geo.Distance(out, g)-210) > 0.5 {
				continue
			}
			for _, other := range schools {
				if other.ID != sc.ID && (geo.Distance(in, schema.SchoolGeometry(other)) < 300 || geo.Distance(out, schema.SchoolGeometry(other)) < 300) {
					continue corners
				}
			}
			return sc, in, out
		}
	}
	t.Fatal("the seeded district has no school corner clear of the others in squad 1: the zone test cannot place its café")
	return schema.School{}, geo.Point{}, geo.Point{}
}

// TestZones_DeviceRecordsCafeBesideSchool: an inspector records an
// unlicensed café offline 150 m from a campus corner; once synced the
// server flags it, the squad leader sees it on the API and on the map page;
// the position is corrected to 210 m (devices cannot edit positions, so
// the leader corrects it through PUT /venues/{id}/position) and the flag
// clears, both steps in the audit log, and the device pulls the new spot.
func TestZones_DeviceRecordsCafeBesideSchool(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	school, in, out := zoneSpot(t, e.srv.Store(), 1)
	dev := e.newDevice(admin, "inspector1")
	mustSync(t, dev)
	ctx := context.Background()
	cafe, err := dev.AddVenue(ctx, mobilesync.NewVenue{Name: "校旁黑网吧", Kind: schema.KindNetCafe, Lat: in[1], Lng: in[0]})
	if err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, dev); rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("sync of the new café: %+v", rep)
	}

	leader := e.login("leader1")
	var list []schema.ZoneViolation
	if st := leader.call("GET", schema.PathZoneViolations+"?venue="+cafe.ID, nil, &list); st != 200 {
		t.Fatalf("zone violations: %d", st)
	}
	if len(list) != 1 || list[0].SchoolID != school.ID || math.Abs(list[0].DistanceM-150) > 1 || list[0].RuleID == "" || list[0].SquadID != 1 {
		t.Fatalf("violations of the café = %+v; want one, 150 m from %s, squad 1", list, school.ID)
	}
	page := e.page(t, leader, "/zones")
	for _, want := range []string{"校园周边禁设区域", "校旁黑网吧", school.Name, "距离 150 米", `class="map-venue violating"`, `class="map-zone"`, "<svg"} {
		if !strings.Contains(page, want) {
			t.Fatalf("/zones lacks %q", want)
		}
	}
	if vp := e.page(t, leader, "/venues/"+cafe.ID); !strings.Contains(vp, "距离 150 米") || !strings.Contains(vp, "<svg") {
		t.Fatal("the venue page shows no violation or map")
	}

	if st := leader.call("PUT", schema.PathVenues+"/"+cafe.ID+"/position", map[string]float64{"lat": out[1], "lng": out[0]}, nil); st != 200 {
		t.Fatalf("relocate: %d", st)
	}
	if st := leader.call("GET", schema.PathZoneViolations+"?venue="+cafe.ID+"&include_cleared=true", nil, &list); st != 200 {
		t.Fatalf("zone violations: %d", st)
	}
	if len(list) != 1 || list[0].ClearedAt == nil || list[0].ClearReason != schema.ZoneClearMovedOut {
		t.Fatalf("after the move to 210 m: %+v; want cleared, %q", list, schema.ZoneClearMovedOut)
	}
	var audit []schema.AuditEntry
	if st := leader.call("GET", schema.PathAudit+"?entity=venue&id="+cafe.ID, nil, &audit); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	var flagged, cleared bool
	for _, a := range audit {
		switch a.Action {
		case store.AuditZoneFlag:
			flagged = strings.HasPrefix(a.Actor, "device:") || a.Actor == "inspector1"
		case store.AuditZoneClear:
			cleared = a.Actor == "leader1" && strings.Contains(a.Reason, schema.ZoneClearMovedOut) && strings.Contains(a.Reason, "210 m")
		}
	}
	if !flagged || !cleared {
		t.Fatalf("audit of the café: %+v; want a flag by the device and a clear by leader1 naming 210 m", audit)
	}
	mustSync(t, dev)
	if v, err := dev.Venue(ctx, cafe.ID); err != nil || math.Abs(v.Lat-out[1]) > 1e-9 || math.Abs(v.Lng-out[0]) > 1e-9 {
		t.Fatalf("the device holds %+v, %v; want the corrected position", v, err)
	}
	if page := e.page(t, leader, "/zones"); strings.Contains(page, `class="map-venue violating"`) && strings.Contains(page, "校旁黑网吧 · 位于") {
		t.Fatal("/zones still marks the café as violating")
	}
}

// page fetches a workbench page with c's session as the browser's cookie.
func (e *env) page(t *testing.T, c *client, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "patrol_session", Value: c.token})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %.500s", path, res.StatusCode, b)
	}
	return string(b)
}
