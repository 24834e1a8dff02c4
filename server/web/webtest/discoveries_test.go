package webtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// TestWorkbench_Discoveries: two inspectors record black cafés in the
// field (one of them twice, 10 m apart, one under a hostile name) with
// photos; the leader sees them on /discoveries with thumbnails, the finder
// and the venues nearby, confirms one and merges the duplicate into the
// other, and leader2 cannot act on them.
func TestWorkbench_Discoveries(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	d1, d2 := e.Enroll("inspector1"), e.Enroll("inspector2")
	const lat, lng = 35.0612, 118.3412 // about 150 m from Star Net Café
	create := func(d *webtest.Device, name string, dlng float64) schema.Venue {
		v := schema.Venue{ID: uuid.NewString(), Kind: schema.KindNetCafe, Name: name, Licensed: false, Lat: lat, Lng: lng + dlng}
		if r := d.Push(t, schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutVenueCreate, HLC: d.Tick(), Venue: &v})[0]; r.Outcome != schema.OutcomeApplied {
			t.Fatalf("venue.create: %+v", r)
		}
		return v
	}
	first := create(d1, "无名网吧", 0)
	dup := create(d2, hostile[0], 0.00011)
	shot := time.Now().Add(-20 * time.Minute)
	for i, x := range []struct {
		d *webtest.Device
		v schema.Venue
	}{{d1, first}, {d2, dup}} {
		in := inspection(t, x.v.ID, []string{"inspector1", "inspector2"}, nil)
		jpg, p := webtest.JPEG(t, 320, 240, uint8(40+100*i), shot, lat, lng)
		withPhoto(in, "NC01", p)
		pushInspection(t, e, x.d, in)
		x.d.UploadPhoto(t, jpg)
	}

	e.Login("leader1")
	e.Open("/discoveries")
	main := e.Text("main")
	for _, want := range []string{"现场发现", "待处理（2）", "无名网吧", hostile[0], "Li Wei", "Wang Fang", "无证（黑网吧）", "35.061200, 118.341200",
		"确认", "合并到…", "Star Net Café"} {
		wantIn(t, "/discoveries", main, want)
	}
	waitThumbnails(t, e, 2)
	if n := webtest.Eval[int](e, `document.querySelectorAll("main script, main img[src=x]").length`); n != 0 {
		t.Fatal("a hostile venue name became markup")
	}
	// The duplicate offers the first café first: it is 10 m away.
	opt := webtest.Eval[string](e, `document.querySelector("#d-`+dup.ID+` select[name=into] option").value`)
	if opt != first.ID {
		t.Fatalf("the nearest venue offered is %s; want %s", opt, first.ID)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("form[action^='/discoveries/'] input[name=csrf]").length`); n != 4 {
		t.Fatalf("%d of the 4 forms carry the CSRF token", n)
	}
	if o := e.Overflow(); o != 0 {
		t.Fatalf("/discoveries is %d px wider than the tablet", o)
	}
	e.Screenshot("discoveries-pending")

	e.Click("form[action='/discoveries/" + first.ID + "/confirm'] button[type=submit]")
	main = e.Text("main")
	wantIn(t, "after confirm", main, "已确认")
	wantIn(t, "after confirm", main, "待处理（1）")
	wantIn(t, "after confirm", main, "已确认（1）")
	e.Submit("form[action='/discoveries/"+dup.ID+"/merge']", map[string]string{"select[name=into]": first.ID})
	main = e.Text("main")
	wantIn(t, "after merge", main, "已合并")
	wantIn(t, "after merge", main, "没有待处理的现场发现")
	if strings.Contains(main, hostile[0]) {
		t.Fatal("the merged duplicate is still listed")
	}
	e.Screenshot("discoveries-decided")

	e.Open("/venues/" + first.ID)
	wantIn(t, "the survivor's page", e.Text("main"), "无名网吧")

	// Another squad's leader: the list is their own, the forms refused.
	e.Click("form[action='/logout'] button[type=submit]")
	e.Login("leader2")
	e.Open("/discoveries?squad=1")
	if st := e.Status(); st != 403 {
		t.Fatalf("leader2 opens squad 1's discoveries: HTTP %d", st)
	}
}
