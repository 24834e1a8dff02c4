package webtest_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// logout signs the tab's user out through the menu's form.
func logout(e *webtest.Env) {
	e.Click("form[action='/logout'] button[type=submit]")
}

// complaintID is the id of the complaint page the tab shows.
func complaintID(t *testing.T, e *webtest.Env) string {
	t.Helper()
	u, err := url.Parse(e.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(u.Path, "/complaints/")
	if id == u.Path || uuid.Validate(id) != nil {
		t.Fatalf("not on a complaint page: %s: %.500q", u, webtest.Eval[string](e, `document.querySelector("main").textContent`))
	}
	return id
}

// takeIn fills the intake form and submits it.
func takeIn(e *webtest.Env, fields map[string]string, replyWanted bool) {
	e.Open("/complaints/new")
	if replyWanted {
		e.Do(chromedp.Click(chromedp.CSS("input[name=reply_wanted]")))
	}
	e.Submit("form[action='/complaints/new']", fields)
}

// TestComplaints_OfficeTakesInLeaderHandles: the office takes a complaint
// about a squad-2 venue in; it goes to squad 2, whose leader sees the
// contact and takes it through every step with the forms, while the
// leader of squad 1 neither lists nor opens it and the office sees no
// contact and no other page of the workbench.
func TestComplaints_OfficeTakesInLeaderHandles(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	if err := e.Admin().Do("POST", schema.PathUsers, server.CreateUserRequest{Username: "office1", DisplayName: "王静",
		BadgeNo: "BG-0900", Role: schema.RoleOffice, Password: servertest.Password}, nil); err != nil {
		t.Fatal(err)
	}
	zone, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(zone)

	e.Login("office1")
	if loc := e.Location(); !strings.HasSuffix(loc, "/complaints") {
		t.Fatalf("office lands on %s, want the complaints list", loc)
	}
	if nav := e.Text("header.top nav"); strings.Contains(nav, "待审队列") || strings.Contains(nav, "问题台账") || strings.Contains(nav, "统计看板") {
		t.Fatalf("office menu shows more than complaints: %q", nav)
	}
	// One complaint received 20 days ago and never accepted: past its
	// 15 days of acceptance.
	takeIn(e, map[string]string{"select[name=channel]": schema.Channel12318, "select[name=category]": schema.CategoryArcade,
		"input[name=received_at]": now.AddDate(0, 0, -20).Format("2006-01-02T15:04"),
		"select[name=venue]":      "01900000-0000-7000-8000-000000000005",
		"textarea[name=content]":  "游艺厅内设有赌博机，晚上人很多。"}, false)
	late := complaintID(t, e)

	e.Open("/complaints/new")
	e.Screenshot("intake-form")
	takeIn(e, map[string]string{"select[name=channel]": schema.Channel12345, "select[name=category]": schema.CategoryCafe,
		"input[name=contact]": "张先生 13800001234", "select[name=venue]": blueSeaBar,
		"textarea[name=content]": "蓝海网吧晚上十点后仍有未成年人上网，\n前台不核验身份证。"}, true)
	id := complaintID(t, e)
	if got := e.Text("dl.facts"); !strings.Contains(got, "第2中队") || !strings.Contains(got, "Blue Sea Net Bar") {
		t.Fatalf("the complaint is not squad 2's Blue Sea Net Bar: %q", got)
	}
	if got := e.Text("#contact"); got != "（仅分管中队长可见）" || strings.Contains(e.Text("main"), "13800001234") {
		t.Fatalf("office sees the contact: %q", got)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("main form[action^='/complaints/']").length`); n != 0 {
		t.Fatalf("office sees %d action forms", n)
	}
	for _, path := range []string{"/findings", "/", "/dashboard", "/inspections/" + id, "/admin/devices"} {
		e.Open(path)
		if st := e.Status(); st != 403 {
			t.Fatalf("office on %s: %d, want 403", path, st)
		}
	}

	// Hostile text: a complaint longer than intake keeps is refused with
	// what was typed kept, inert; a long hostile one within bounds is kept
	// and shown as text.
	long := hostile[0] + "\u202E" + strings.Repeat("长", 10000)
	takeIn(e, map[string]string{"select[name=venue]": blueSeaBar, "textarea[name=content]": long}, false)
	if st := e.Status(); st != 400 || !strings.Contains(e.Text(".alert"), "投诉内容过长") {
		t.Fatalf("10,000 characters: status %d, %q", st, e.Text(".alert"))
	}
	if got := webtest.Eval[string](e, `document.querySelector("textarea[name=content]").value`); got != long {
		t.Fatalf("the refused content was not kept whole in the form (%d of %d bytes)", len(got), len(long))
	}
	e.Screenshot("intake-refused")
	word := strings.Repeat("W", 3000)
	takeIn(e, map[string]string{"select[name=venue]": "", "textarea[name=place]": hostile[1] + " 某路口",
		"input[name=lat]": "35.05", "input[name=lng]": "118.33", "select[name=squad]": "1",
		"textarea[name=content]": strings.Join(hostile, "\n") + "\n" + word}, false)
	hostileID := complaintID(t, e)
	for _, path := range []string{"/complaints", "/complaints/" + hostileID} {
		e.Open(path)
		if n := webtest.Eval[int](e, `document.querySelectorAll("script, img").length`); n != 0 {
			t.Fatalf("%s: hostile text made %d elements", path, n)
		}
		if !strings.Contains(webtest.Eval[string](e, `document.querySelector("main").textContent`), "[U+202E]") {
			t.Fatalf("%s: the RTL override is not shown as [U+202E]: %.600q", path, webtest.Eval[string](e, `document.querySelector("main").textContent`))
		}
		if o := e.Overflow(); o > 0 {
			e.Screenshot("overflow")
			t.Fatalf("%s: the page is %d px wider than the tablet", path, o)
		}
	}
	e.Open("/complaints")
	if got := e.Text("#complaint-" + late + " .limit.over"); !strings.Contains(got, "受理超期") {
		t.Fatalf("the complaint past its acceptance limit reads %q", got)
	}
	e.Screenshot("list-office")
	if d := e.Dialogs(); len(d) > 0 {
		t.Fatalf("hostile text ran script: %v", d)
	}
	logout(e)

	// Squad 1's leader: not listed, not found; the hostile complaint at
	// 35.05,118.33 is squad 1's.
	e.Login("leader1")
	e.Open("/complaints")
	if n := webtest.Eval[int](e, `document.querySelectorAll("#complaint-`+id+`").length`); n != 0 {
		t.Fatal("leader1 lists squad 2's complaint")
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("#complaint-`+hostileID+`").length`); n != 1 {
		t.Fatal("leader1 does not list the complaint placed in squad 1's area")
	}
	e.Open("/complaints/" + id)
	if st := e.Status(); st != 404 {
		t.Fatalf("leader1 on squad 2's complaint: %d, want 404", st)
	}
	logout(e)

	// Squad 2's leader takes it through every step.
	e.Login("leader2")
	e.Open("/complaints")
	if n := webtest.Eval[int](e, `document.querySelectorAll("#complaint-`+id+`").length`); n != 1 {
		t.Fatal("leader2 does not list the complaint")
	}
	e.Screenshot("list-leader2")
	e.Open("/complaints/" + id)
	if got := e.Text("#contact"); got != "张先生 13800001234" {
		t.Fatalf("leader2 reads the contact as %q", got)
	}
	e.Submit("#form-accept", nil)
	if !strings.Contains(e.Text(".notice"), "已受理") {
		t.Fatalf("after accept: %q", e.Text("main"))
	}
	e.Submit("#form-extend", map[string]string{"input[name=days]": "10", "textarea[name=reason]": "需协调公安部门联合检查"})
	e.Submit("#form-handle", map[string]string{"textarea[name=text]": "经现场检查属实，已责令整改并立案。"})
	e.Submit("#form-answer", map[string]string{"select[name=method]": "phone", "textarea[name=text]": "已电话告知投诉人查处结果。"})
	e.Submit("#form-close", nil)
	if got := e.Text(".head"); !strings.Contains(got, "已办结") {
		t.Fatalf("after close the complaint reads %q", got)
	}
	tl := e.Text("#timeline")
	for _, step := range []string{"登记投诉", "受理", "延期", "办理", "答复投诉人", "办结", "需协调公安部门联合检查"} {
		if !strings.Contains(tl, step) {
			t.Fatalf("the timeline lacks %q: %q", step, tl)
		}
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("main form[action^='/complaints/']").length`); n != 0 {
		t.Fatalf("a closed complaint offers %d forms", n)
	}
	e.Screenshot("detail-closed")
	e.Open("/complaints/" + late)
	if st := e.Status(); st != 200 {
		t.Fatalf("leader2 on the late complaint: %d", st)
	}
	e.Screenshot("detail-overdue")
}

// TestComplaints_DashboardAndBulletin: a complaint left unaccepted past
// its 15 days counts as open and overdue in the day's rollup; the
// dashboard shows each squad's figures and the bulletin names it with
// the limit it passed and the days over.
func TestComplaints_DashboardAndBulletin(t *testing.T) {
	zone, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 3, 16, 9, 0, 0, 0, zone)
	e := webtest.Start(t, servertest.Options{Now: func() time.Time { return now }})
	admin := e.Admin()
	var late, fresh schema.Complaint
	for _, c := range []struct {
		out   *schema.Complaint
		venue string
		at    time.Time
	}{{&late, blueSeaBar, time.Date(2026, 2, 20, 10, 0, 0, 0, zone)}, {&fresh, starNetCafe, time.Date(2026, 3, 10, 10, 0, 0, 0, zone)}} {
		if err := admin.Do("POST", schema.PathComplaints, schema.ComplaintIntake{Channel: schema.Channel12318, Category: schema.CategoryCafe,
			ReceivedAt: c.at, VenueID: c.venue, Content: "未成年人进入网吧"}, c.out); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.Do("POST", schema.PathRollups+"/run", server.RollupRunRequest{Date: "2026-03-15"}, nil); err != nil {
		t.Fatal(err)
	}

	e.Login("leader2")
	e.Open("/dashboard?month=2026-03")
	row := e.Text("#complaints tr[data-squad='2']")
	if !strings.Contains(row, "1 件") || webtest.Eval[int](e, `document.querySelectorAll("#complaints tr[data-squad='2'] .over").length`) != 1 ||
		!strings.Contains(row, "查看超期投诉") {
		t.Fatalf("squad 2's complaints on the dashboard: %q", row)
	}
	if one := e.Text("#complaints tr[data-squad='1']"); strings.Contains(one, "查看超期投诉") || !strings.Contains(one, "1 件\t0 件") {
		t.Fatalf("squad 1's complaints on the dashboard: %q", one)
	}
	e.Screenshot("dashboard-complaints")
	e.Open("/bulletin?month=2026-03")
	got := e.Text("#overdue-complaints")
	for _, want := range []string{late.Number, "第2中队", "受理时限", "8 天"} {
		if !strings.Contains(strings.ReplaceAll(got, "\u00a0", " "), want) {
			t.Fatalf("the bulletin's overdue complaints lack %q: %q", want, got)
		}
	}
	if strings.Contains(got, fresh.Number) {
		t.Fatalf("the bulletin names a complaint within its limits: %q", got)
	}
	if p := strings.ReplaceAll(e.Text("#complaints"), "\u00a0", " "); !strings.Contains(p, "在办投诉举报 2 件") || !strings.Contains(p, "超过办理时限 1 件") {
		t.Fatalf("the bulletin's complaint paragraph: %q", p)
	}
	e.Screenshot("bulletin-complaints")
}

// TestComplaints_DemoDistrict: the demo district's complaints, in every
// state, list and open within the tablet's width for an admin, overdue
// ones marked with the limit they passed.
func TestComplaints_DemoDistrict(t *testing.T) {
	e := demoEnv(t)
	e.Login("admin")
	e.Open("/complaints")
	shot(t, e, "demo-list")
	if n := webtest.Eval[int](e, `document.querySelectorAll("tr.overdue .limit.over").length`); n == 0 {
		t.Fatal("the demo district lists no overdue complaint")
	}
	e.Click("tr.overdue td a")
	shot(t, e, "demo-overdue-complaint")
	if got := e.Text(".head"); !strings.Contains(got, "超期") {
		t.Fatalf("an overdue complaint's page heads %q", got)
	}
	e.Open("/complaints?overdue=1&status=accepted")
	shot(t, e, "demo-overdue-accepted")
}
