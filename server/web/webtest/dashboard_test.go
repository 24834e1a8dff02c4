package webtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// demoEnv is the demo district, its history rolled up, in a browser.
func demoEnv(t *testing.T) *webtest.Env {
	t.Helper()
	return webtest.Start(t, servertest.Options{Demo: &demo.Options{}})
}

// cjkRenders reports whether the page's font draws Chinese: two different
// characters drawn on a canvas differ, where missing glyphs draw the same
// box.
func cjkRenders(t *testing.T, e *webtest.Env) bool {
	t.Helper()
	return webtest.Eval[bool](e, `(() => {
		const draw = ch => { const c = document.createElement("canvas"); c.width = 40; c.height = 40;
			const x = c.getContext("2d"); x.font = "32px " + getComputedStyle(document.body).fontFamily;
			x.fillText(ch, 2, 32); return Array.from(x.getImageData(0, 0, 40, 40).data).join(","); };
		return draw("中") !== draw("队");
	})()`)
}

// monthShown is the month the dashboard shows.
func monthShown(t *testing.T, e *webtest.Env) string {
	t.Helper()
	return webtest.Eval[string](e, `document.getElementById("month").dataset.month`)
}

// The dashboard draws its charts as inline SVG, one coverage bar per
// squad, in Chinese, and holds the tablet's width.
func TestDashboard_DemoAdmin(t *testing.T) {
	e := demoEnv(t)
	e.Login("admin")
	e.Open("/dashboard")
	shot(t, e, "dashboard-admin-this-month")
	// The month before is whole whatever day the test runs.
	e.Click("a[href^='/dashboard?month=']")
	shot(t, e, "dashboard-admin-last-month")
	month := monthShown(t, e)
	var api server.RollupMonthResponse
	if err := e.Server.Admin().Do("GET", "/api/v1/rollups/monthly?month="+month, nil, &api); err != nil {
		t.Fatal(err)
	}
	if bars := webtest.Eval[int](e, `document.querySelectorAll("#coverage-chart svg rect.bar").length`); bars != len(api.Squads) || bars == 0 {
		t.Fatalf("the coverage chart has %d bars for %d squads", bars, len(api.Squads))
	}
	for _, id := range []string{"items-chart", "trend-chart", "zones-chart"} {
		if n := webtest.Eval[int](e, `document.querySelectorAll("#`+id+` svg title").length`); n == 0 {
			t.Errorf("%s: no SVG with titles", id)
		}
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("#trend-chart polyline").length`); n != len(api.Squads) {
		t.Errorf("the trend draws %d lines for %d squads", n, len(api.Squads))
	}
	main := e.Text("main")
	for _, want := range []string{"检查覆盖率", "月度排名", "未检查网吧", "亮证经营", "第1中队"} {
		wantIn(t, "the dashboard", main, want)
	}
	if !cjkRenders(t, e) {
		t.Error("Chinese characters render as missing glyphs (no CJK font?)")
	}
	// The ranking is the API's.
	for _, s := range api.Squads {
		got := webtest.Eval[string](e, fmt.Sprintf(`document.querySelector("table.ranking tr[data-squad='%d'] td").textContent`, s.SquadID))
		if got != fmt.Sprint(s.Rank) {
			t.Errorf("squad %d: rank %q on the page, %d in the API", s.SquadID, got, s.Rank)
		}
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("#at-risk details").length`); n != len(api.Squads) {
		t.Errorf("an admin sees the at-risk lists of %d squads, want %d", n, len(api.Squads))
	}
	e.Open("/dashboard?month=2026-13")
	if st := e.Status(); st != http.StatusBadRequest {
		t.Errorf("a month 13: HTTP %d", st)
	}
}

// A leader sees the bureau's comparison with their squad marked, but only
// their own squad's cafés still to inspect.
func TestDashboard_LeaderSeesOwnAtRisk(t *testing.T) {
	e := demoEnv(t)
	e.Login("leader2")
	e.Open("/dashboard")
	e.Click("a[href^='/dashboard?month=']")
	shot(t, e, "dashboard-leader2")
	squads := webtest.Eval[[]string](e, `Array.from(document.querySelectorAll("#at-risk details")).map(d => d.dataset.squad)`)
	if len(squads) != 1 || squads[0] != "2" {
		t.Fatalf("leader2 sees the at-risk lists of squads %v", squads)
	}
	if mine := webtest.Eval[string](e, `document.querySelector("table.ranking tr.mine").dataset.squad`); mine != "2" {
		t.Errorf("the ranking marks squad %s as leader2's", mine)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("#coverage-chart .row.mine").length`); n != 1 {
		t.Errorf("%d highlighted coverage bars", n)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("#at-risk a[href^='/venues/']").length`); n > 0 {
		e.Click("#at-risk a[href^='/venues/']")
		if st := e.Status(); st != http.StatusOK {
			t.Errorf("an at-risk café of leader2's list: HTTP %d", st)
		}
	}
}

// The bulletin names the squad the API ranks last, with its figures, and
// prints without the menu.
func TestBulletin_NamesTheLastRanked(t *testing.T) {
	e := demoEnv(t)
	e.Login("leader1")
	e.Open("/bulletin")
	shot(t, e, "bulletin")
	month := webtest.Eval[string](e, `new URL(document.querySelector("a[href^='/dashboard?month=']").href).searchParams.get("month")`)
	var api server.RollupMonthResponse
	if err := e.Server.Admin().Do("GET", "/api/v1/rollups/monthly?month="+month, nil, &api); err != nil {
		t.Fatal(err)
	}
	last, first := api.Squads[0], api.Squads[0]
	for _, s := range api.Squads {
		if s.Rank > last.Rank {
			last = s
		}
		if s.Rank < first.Rank {
			first = s
		}
	}
	named := e.Text("#named")
	want := fmt.Sprintf("第%d中队本月排名第%d位，检查覆盖率\u00a0", last.SquadID, last.Rank)
	wantIn(t, "the criticised squads", named, want)
	wantIn(t, "the criticised squads", named, fmt.Sprintf("逾期未整改 %d\u00a0项", last.FindingsOverdue))
	wantIn(t, "the praised squads", e.Text("#praised"), fmt.Sprintf("第%d中队本月排名第1位", first.SquadID))
	if strings.Contains(e.Text("#praised"), fmt.Sprintf("第%d中队", last.SquadID)) {
		t.Error("the last-ranked squad is praised")
	}
	wantIn(t, "the bulletin", e.Text("main"), "予以通报批评")
	if n := webtest.Eval[int](e, `document.querySelectorAll("header.top, nav").length`); n != 0 {
		t.Errorf("the bulletin shows the menu (%d elements)", n)
	}
	if !cjkRenders(t, e) {
		t.Error("Chinese characters render as missing glyphs")
	}
}
