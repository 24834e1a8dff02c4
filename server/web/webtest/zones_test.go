package webtest_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// campusAround is a campus w by h metres centred on c.
func campusAround(id, name, kind string, c geo.Point, w, h float64) schema.School {
	n, s := geo.Direct(c, 0, h/2)[1], geo.Direct(c, 180, h/2)[1]
	e, wst := geo.Direct(c, 90, w/2)[0], geo.Direct(c, 270, w/2)[0]
	return schema.School{ID: id, Name: name, Kind: kind, Polygon: [][2]float64{{wst, s}, {e, s}, {e, n}, {wst, n}, {wst, s}}}
}

func TestWorkbench_SchoolZonesMap(t *testing.T) {
	centre := geo.Point{118.345, 35.064}
	school := campusAround(uuid.NewString(), "兰山区实验小学", "primary", centre, 240, 160)
	kg := campusAround(uuid.NewString(), "阳光幼儿园", "kindergarten", geo.Point{118.352, 35.066}, 80, 60)
	e := webtest.Start(t, servertest.Options{Schools: []schema.School{school, kg}})
	admin := e.Admin()
	// 150 m east of the campus's east wall: 270 m from its centre.
	edge := geo.Point{geo.Direct(centre, 90, 120)[0], centre[1]}
	at := geo.Direct(edge, 90, 150)
	cafe, err := admin.CreateVenue(schema.Venue{ID: uuid.NewString(), SquadID: 1, Kind: schema.KindNetCafe, Name: "校旁<b>黑网吧</b>",
		Lat: at[1], Lng: at[0]})
	if err != nil {
		t.Fatal(err)
	}
	far := geo.Direct(centre, 200, 700)
	if _, err := admin.CreateVenue(schema.Venue{ID: uuid.NewString(), SquadID: 1, Kind: schema.KindNetCafe, Name: "远处网吧", Licensed: false,
		Lat: far[1], Lng: far[0]}); err != nil {
		t.Fatal(err)
	}
	shut := geo.Direct(centre, 0, 170)
	closed, err := admin.CreateVenue(schema.Venue{ID: uuid.NewString(), SquadID: 1, Kind: schema.KindArcade, Name: "已关闭游艺厅", Licensed: true,
		LicenceNo: "L-9", Lat: shut[1], Lng: shut[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.EditVenue(closed.ID, map[string]string{schema.FieldOpenState: schema.OpenStateClosed}); err != nil {
		t.Fatal(err)
	}

	e.Login("leader1")
	e.Open("/zones")
	main := e.Text("main")
	for _, want := range []string{"校园周边禁设区域", "校旁<b>黑网吧</b>", "兰山区实验小学", "距离 150 米", "cn-2002-art9", "自何时", "已解除", "场所已关闭"} {
		if !strings.Contains(main, want) {
			t.Fatalf("/zones lacks %q:\n%.3000s", want, main)
		}
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("svg .map-venue.violating").length`); n != 1 {
		t.Fatalf("%d violating venues on the map; want 1", n)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("svg .map-zone").length`); n != 1 {
		t.Fatalf("%d zones on the map; want 1 (no rule covers the kindergarten)", n)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("svg b, svg script").length`); n != 0 {
		t.Fatal("hostile venue name became markup on the map")
	}
	if o := e.Overflow(); o != 0 {
		t.Fatalf("/zones is %d px wider than the tablet", o)
	}
	e.Screenshot("zones")

	e.Open("/venues/" + cafe.ID)
	main = e.Text("main")
	if !strings.Contains(main, "校园周边禁设区域") || !strings.Contains(main, "距离 150 米") || !strings.Contains(main, "违反规定") {
		t.Fatalf("venue page:\n%.3000s", main)
	}
	// The zone is drawn 2 × 200 m wide: at the venue page's scale the
	// stroke is wider than the campus is tall.
	w := webtest.Eval[float64](e, `parseFloat(document.querySelector("svg .map-zone").getAttribute("stroke-width"))`)
	h := webtest.Eval[float64](e, `document.querySelector("svg .map-school").getBBox().height`)
	if w < 2*h {
		t.Fatalf("zone stroke %v px against a campus %v px tall; want 400 m against 160 m", w, h)
	}
	if o := e.Overflow(); o != 0 {
		t.Fatalf("the venue page is %d px wider than the tablet", o)
	}
	e.Screenshot("venue")
}
