package webtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// TestWorkbench_Cases: a critical finding with a photo becomes a case from
// the finding page; the leader carries it through investigation, evidence,
// handlers, a fine and closing with the forms of the case page, reads its
// timeline, and a black café confirmed on the discoveries page becomes a
// case of its own. Device text (a hostile summary) stays text; another
// squad's leader finds neither case.
func TestWorkbench_Cases(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	d := e.Enroll("inspector1")
	in := inspection(t, starNetCafe, []string{"inspector1", "inspector2"}, nil)
	jpg, p := webtest.JPEG(t, 320, 240, 60, in.StartedAt.Add(5*time.Minute), 35.0601, 118.3402)
	setItem(in, "NC04", schema.ResultFail, "未核验上网人员身份证")
	withPhoto(in, "NC04", p)
	pushInspection(t, e, d, in)
	d.UploadPhoto(t, jpg)
	if _, err := e.Leader(1).Review(in.ID, schema.ReviewApprove, ""); err != nil {
		t.Fatal(err)
	}

	e.Login("leader1")
	e.Open("/inspections/" + in.ID)
	nc04 := findingOf(t, e, "NC04")
	e.Open("/findings/" + nc04)
	wantIn(t, "the finding page", e.Text("main"), "立案")
	if n := webtest.Eval[int](e, `document.querySelectorAll("form[action='/cases'] input[name=csrf]").length`); n != 1 {
		t.Fatalf("the 立案 form carries %d CSRF tokens", n)
	}
	e.Submit("form[action='/cases']", map[string]string{"textarea[name=summary]": hostile[0] + " 未核验身份证"})
	text := e.Text("main")
	for _, want := range []string{"已立案，案件编号已生成", "文立〔", "Star Net Café", "严重问题", hostile[0], "剩 ", "尚未指定"} {
		wantIn(t, "the new case", text, want)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("main script, main img[src=x]").length`); n != 0 {
		t.Fatal("a hostile summary became markup")
	}
	caseURL := strings.TrimPrefix(e.Location(), e.URL)
	caseURL = caseURL[:strings.Index(caseURL, "?")]
	shot(t, e, "case-opened")

	e.Submit("form[action$='/investigate']", map[string]string{"input[name=note]": "调取店内监控"})
	wantIn(t, "after investigate", e.Text("main"), "调查中")
	// Attach the inspection and its photo.
	webtest.Eval[any](e, `[...document.querySelectorAll("select[name=evidence] option")].forEach(o => o.selected = o.value.startsWith("inspection:") || o.value.startsWith("photo:")); null`)
	e.Click("form[action$='/attach'] button[type=submit]")
	wantIn(t, "after attach", e.Text("main"), "证据（2）")
	// One handler is not enough to decide; the server says so.
	webtest.Eval[any](e, `document.querySelector("form[action$='/handlers'] input[value=inspector1]").checked = true; null`)
	e.Click("form[action$='/handlers'] button[type=submit]")
	if st := e.Status(); st != http.StatusBadRequest {
		t.Fatalf("one handler: HTTP %d", st)
	}
	e.Open(caseURL)
	webtest.Eval[any](e, `document.querySelectorAll("form[action$='/handlers'] input[name=handler]").forEach(i => i.checked = true); null`)
	e.Click("form[action$='/handlers'] button[type=submit]")
	wantIn(t, "after handlers", e.Text("main"), "Li Wei（JX-0001）、Wang Fang（JX-0002）")
	shot(t, e, "case-investigating")

	// Closure (取缔) of a licensed café is refused with the rule's reason.
	e.Submit("form[action$='/decide']", map[string]string{"select[name=type]": "closure"})
	if st := e.Status(); st != http.StatusBadRequest {
		t.Fatalf("closure of a licensed café: HTTP %d", st)
	}
	wantIn(t, "closure refused", e.Text("main"), "unlicensed")
	e.Open(caseURL)
	e.Submit("form[action$='/decide']", map[string]string{"select[name=type]": "fine", "input[name=fine_yuan]": "8000", "textarea[name=note]": "《互联网上网服务营业场所管理条例》第三十一条"})
	text = e.Text("main")
	for _, want := range []string{"已决定", "罚款 ¥8,000", "第三十一条"} {
		wantIn(t, "after decide", text, want)
	}
	e.Submit("form[action$='/close']", map[string]string{"textarea[name=note]": "罚款已缴纳"})
	text = e.Text("main")
	for _, want := range []string{"已结案", "罚款已缴纳", "办案经过", "开始调查", "附上证据", "指定承办人", "作出决定", "结案"} {
		wantIn(t, "the closed case", text, want)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("main form").length`); n != 0 {
		t.Fatalf("a closed case still offers %d forms", n)
	}
	waitEvidence(t, e)
	shot(t, e, "case-closed")
	e.Click("p.exports a[href^='/audit']")
	for _, want := range []string{"案件", "立案", "作出决定", "结案"} {
		wantIn(t, "the case's audit page", e.Text("main"), want)
	}

	// A black café found in the field, confirmed, becomes a case.
	black := schema.Venue{ID: uuid.NewString(), Kind: schema.KindNetCafe, Name: "无名网吧", Lat: 35.0612, Lng: 118.3412}
	if r := d.Push(t, schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutVenueCreate, HLC: d.Tick(), Venue: &black})[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("venue.create: %+v", r)
	}
	e.Open("/discoveries")
	e.Click("form[action='/discoveries/" + black.ID + "/confirm'] button[type=submit]")
	shot(t, e, "discoveries-confirmed")
	e.Click("form.open-case button[type=submit]")
	text = e.Text("main")
	for _, want := range []string{"无证经营（黑网吧）", "无名网吧", "擅自从事互联网上网服务经营活动", "无证"} {
		wantIn(t, "the black café case", text, want)
	}
	blackURL := strings.TrimPrefix(e.Location(), e.URL)
	blackURL = blackURL[:strings.Index(blackURL, "?")]

	e.Open("/cases")
	text = e.Text("main")
	for _, want := range []string{"案件编号", "无名网吧", "Star Net Café", "已结案", "已立案", "剩 ", "罚款 ¥8,000"} {
		wantIn(t, "the case list", text, want)
	}
	shot(t, e, "cases")
	e.Open("/discoveries")
	wantIn(t, "the discoveries page", e.Text("main"), "文立〔")

	// Another squad's leader sees neither case.
	e.Click("form[action='/logout'] button[type=submit]")
	e.Login("leader2")
	for _, u := range []string{caseURL, blackURL} {
		e.Open(u)
		if st := e.Status(); st != http.StatusNotFound {
			t.Fatalf("leader2 opens %s: HTTP %d", u, st)
		}
	}
	e.Open("/cases")
	if strings.Contains(e.Text("main"), "无名网吧") {
		t.Fatal("leader2 lists squad 1's case")
	}
}

// TestWorkbench_CasesOverdue: on the demo district a case past its 90
// days is marked in red on the list and on its page.
func TestWorkbench_CasesOverdue(t *testing.T) {
	e := demoEnv(t)
	e.Login("admin")
	e.Open("/cases?overdue=1")
	if n := webtest.Eval[int](e, `document.querySelectorAll("table.cases tr.overdue").length`); n == 0 {
		t.Fatalf("no overdue case is marked on the list:\n%.2000s", e.Text("main"))
	}
	wantIn(t, "the overdue list", e.Text("main"), "已超期")
	color := webtest.Eval[string](e, `getComputedStyle(document.querySelector("table.cases tr.overdue .badge.overdue")).backgroundColor`)
	if color != "rgb(179, 38, 30)" {
		t.Fatalf("the overdue mark is %s; want the danger red", color)
	}
	shot(t, e, "cases-overdue")
	e.Click("table.cases tr.overdue a[href^='/cases/']")
	wantIn(t, "the overdue case", e.Text("main"), "已超过 90 日决定期限")
	wantIn(t, "the overdue case", e.Text("main"), "立案")
	shot(t, e, "case-overdue")
	e.Open("/dashboard")
	wantIn(t, "the dashboard", e.Text("#cases"), "超过 90 日未决定 1 件")
	e.Open("/bulletin")
	wantIn(t, "the bulletin", e.Text("#overdue-cases"), "立案后已超过")
	wantIn(t, "the bulletin", e.Text("#overdue-cases"), "文立〔")
	e.Open("/cases")
	for _, st := range []string{"已立案", "调查中", "已决定", "已结案"} {
		wantIn(t, "the demo's cases", e.Text("main"), st)
	}
	shot(t, e, "cases-demo")
}

// waitEvidence waits for the evidence thumbnails to draw.
func waitEvidence(t *testing.T, e *webtest.Env) {
	t.Helper()
	for range 100 {
		if webtest.Eval[bool](e, `[...document.querySelectorAll(".evidence img")].every(i => i.complete && i.naturalWidth > 0)`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the evidence photo did not draw")
}
