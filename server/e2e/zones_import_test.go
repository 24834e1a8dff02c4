package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

// postFile sends a file body to an import route and decodes the answer.
func (c *client) postFile(path string, body []byte, out any) int {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("POST %s: %v in %s", path, err, b)
		}
	}
	if resp.StatusCode/100 != 2 {
		c.t.Logf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// clearSpot is a point of the squad's area at least 1 km from every school
// the district has, so that a campus imported there is the only one near.
func clearSpot(t *testing.T, e *env, squad int64) geo.Point {
	t.Helper()
	ctx := context.Background()
	st := e.srv.Store()
	sq, err := st.SquadBounds(ctx, squad)
	if err != nil {
		t.Fatal(err)
	}
	schools, err := st.SchoolsIn(ctx, [4]float64{-90, -180, 90, 180})
	if err != nil {
		t.Fatal(err)
	}
	b := sq.Bounds
	for i := 1; i < 10; i++ {
		for j := 1; j < 10; j++ {
			p := geo.Point{b[1] + (b[3]-b[1])*float64(j)/10, b[0] + (b[2]-b[0])*float64(i)/10}
			clear := true
			for _, sc := range schools {
				if geo.Distance(p, schema.SchoolGeometry(sc)) < 1000 {
					clear = false
					break
				}
			}
			if clear {
				return p
			}
		}
	}
	t.Fatal("no spot of squad 1 lies 1 km from every school of the seeded district: the import test cannot place its campus")
	return geo.Point{}
}

// TestZones_ImportedDistrictEndToEnd: an admin imports a squad's area, a
// campus drawn on a Chinese map service (GCJ-02) and a venue list; the
// KTV the list places 100 m from the campus is flagged on import; a device
// syncs, finds itself offline inside the zone 150 m from the campus
// boundary (260 m from its centre) and records a café there; the server
// flags it; moved to 210 m, the flag clears; the venue's audit history
// reads the flags and the clear.
func TestZones_ImportedDistrictEndToEnd(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	ctx := context.Background()
	centre := clearSpot(t, e, 1)
	// A 220 m square campus around centre: 110 m from centre to each edge.
	n, s := geo.Direct(centre, 0, 110), geo.Direct(centre, 180, 110)
	nw, ne := geo.Direct(n, 270, 110), geo.Direct(n, 90, 110)
	sw, se := geo.Direct(s, 270, 110), geo.Direct(s, 90, 110)
	ring := []geo.Point{sw, se, ne, nw, sw}
	gcj := make([][2]float64, len(ring))
	for i, p := range ring {
		gcj[i] = geo.WGS84ToGCJ02(p)
	}
	sq, err := e.srv.Store().SquadBounds(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := sq.Bounds
	area := [][2]float64{{b[1], b[0]}, {b[3], b[0]}, {b[3], b[2]}, {b[1], b[2]}, {b[1], b[0]}}
	for i, p := range area {
		area[i] = geo.WGS84ToGCJ02(geo.Point(p))
	}
	feature := func(props string, ring [][2]float64) []byte {
		coords, _ := json.Marshal([][][2]float64{ring})
		return []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":` + props +
			`,"geometry":{"type":"Polygon","coordinates":` + string(coords) + `}}]}`)
	}
	var rep map[string]any
	if st := admin.postFile(schema.PathImport+"/squads?datum=gcj02", feature(`{"id":1,"name":"第一中队"}`, area), &rep); st != 200 {
		t.Fatalf("import squads: %d", st)
	}
	if st := admin.postFile(schema.PathImport+"/schools?datum=gcj02", feature(`{"id":"EDU-9001","name":"兰山实验小学","kind":"primary"}`, gcj), &rep); st != 200 {
		t.Fatalf("import schools: %d", st)
	}
	ktv := geo.Direct(geo.Direct(centre, 90, 110), 90, 100) // 100 m east of the east edge
	csv := fmt.Sprintf("external_id,licence_no,kind,name,address,lat,lng\nKTV-77,,ktv,金嗓子KTV,兰山路1号,%.8f,%.8f\n", ktv[1], ktv[0])
	if st := admin.postFile(schema.PathImport+"/venues?datum=wgs84", []byte(csv), &rep); st != 200 {
		t.Fatalf("import venues: %d", st)
	}
	leader := e.login("leader1")
	var flagged []schema.ZoneViolation
	if st := leader.call("GET", schema.PathZoneViolations+"?squad=1", nil, &flagged); st != 200 {
		t.Fatalf("zone violations: %d", st)
	}
	var ktvFlag *schema.ZoneViolation
	for i := range flagged {
		if math.Abs(flagged[i].DistanceM-100) < 1 {
			ktvFlag = &flagged[i]
		}
	}
	if ktvFlag == nil {
		t.Fatalf("violations after the imports %+v; want the KTV 100 m from the campus", flagged)
	}

	dev := e.newDevice(admin, "inspector1")
	mustSync(t, dev)
	at := geo.Direct(geo.Direct(centre, 270, 110), 270, 150) // 150 m west of the west edge
	if d := geo.Distance(at, geo.Point(centre)); math.Abs(d-260) > 0.5 {
		t.Fatalf("the spot is %.2f m from the campus centre; want 260", d)
	}
	hits, err := dev.ZonesAt(ctx, at[1], at[0], schema.KindNetCafe)
	if err != nil || len(hits) == 0 || !hits[0].InsideZone || hits[0].SchoolName != "兰山实验小学" || math.Abs(hits[0].DistanceM-150) > 0.5 {
		t.Fatalf("zones at the spot, offline: %+v, %v; want inside 兰山实验小学's, 150 m", hits, err)
	}
	cafe, err := dev.AddVenue(ctx, mobilesync.NewVenue{Name: "无名网吧", Kind: schema.KindNetCafe, Lat: at[1], Lng: at[0]})
	if err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, dev); rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("sync of the café: %+v", rep)
	}
	var list []schema.ZoneViolation
	if st := leader.call("GET", schema.PathZoneViolations+"?venue="+cafe.ID, nil, &list); st != 200 || len(list) != 1 ||
		math.Abs(list[0].DistanceM-150) > 0.5 {
		t.Fatalf("the café's violations: %d %+v; want one at 150 m", st, list)
	}
	var stored schema.Venue
	if st := leader.call("GET", schema.PathVenues+"/"+cafe.ID, nil, &stored); st != 200 || stored.FoundInZone == nil ||
		stored.FoundInZone.SchoolName != "兰山实验小学" {
		t.Fatalf("the café as stored: %d %+v; want the zone its device found it in", st, stored.FoundInZone)
	}
	out := geo.Direct(geo.Direct(centre, 270, 110), 270, 210)
	if st := leader.call("PUT", schema.PathVenues+"/"+cafe.ID+"/position", map[string]float64{"lat": out[1], "lng": out[0]}, nil); st != 200 {
		t.Fatalf("relocate: %d", st)
	}
	if st := leader.call("GET", schema.PathZoneViolations+"?venue="+cafe.ID, nil, &list); st != 200 || len(list) != 0 {
		t.Fatalf("standing violations at 210 m: %+v", list)
	}
	var audit []schema.AuditEntry
	if st := leader.call("GET", schema.PathAudit+"?entity=venue&id="+cafe.ID, nil, &audit); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	actions := map[string]int{}
	for _, a := range audit {
		actions[a.Action]++
	}
	if actions["zone_flag"] != 1 || actions["zone_clear"] != 1 {
		t.Fatalf("the café's audit history %v; want one zone_flag and one zone_clear", actions)
	}
}
