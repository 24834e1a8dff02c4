package webtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// withPhoto puts photo on item of in.
func withPhoto(in *schema.Inspection, item string, p schema.PhotoRef) {
	for i := range in.Items {
		if in.Items[i].ItemID == item {
			in.Items[i].Photos = append(in.Items[i].Photos, p)
		}
	}
}

func setItem(in *schema.Inspection, item, result, note string) {
	for i := range in.Items {
		if in.Items[i].ItemID == item {
			in.Items[i].Result, in.Items[i].Note = result, note
		}
	}
}

// findingOf is the id of the finding card of item on the inspection page.
func findingOf(t *testing.T, e *webtest.Env, item string) string {
	t.Helper()
	id := webtest.Eval[string](e, `(() => { const a = [...document.querySelectorAll("article[id^='finding-']")].find(x => x.querySelector("h3").textContent.includes("`+item+`")); return a ? a.id.slice(8) : ""; })()`)
	if id == "" {
		t.Fatalf("the inspection page lists no finding of %s:\n%.3000s", item, e.Text("main"))
	}
	return id
}

// waitThumbnails waits until every thumbnail on the page has loaded and
// fails if one did not draw.
func waitThumbnails(t *testing.T, e *webtest.Env, want int) {
	t.Helper()
	for range 100 {
		if webtest.Eval[bool](e, `[...document.querySelectorAll(".photos img")].every(i => i.complete)`) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	drawn := webtest.Eval[int](e, `[...document.querySelectorAll(".photos img")].filter(i => i.complete && i.naturalWidth > 0).length`)
	if drawn != want {
		t.Fatalf("%d of the %d thumbnails drew", drawn, want)
	}
}

func TestWorkbench_ReviewAndLedger(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	d := e.Enroll("inspector1")
	in := inspection(t, starNetCafe, []string{"inspector1", "inspector2"}, nil)
	shot := in.StartedAt.Add(10 * time.Minute)
	jpg1, p1 := webtest.JPEG(t, 320, 240, 10, shot, 35.0601, 118.3402)
	jpg2, p2 := webtest.JPEG(t, 240, 320, 200, shot.Add(time.Minute), 35.0602, 118.3403)
	setItem(in, "NC01", schema.ResultFail, "营业执照未悬挂")
	withPhoto(in, "NC01", p1)
	withPhoto(in, "NC02", p2)
	pushInspection(t, e, d, in)
	d.UploadPhoto(t, jpg1)
	d.UploadPhoto(t, jpg2)

	e.Login("leader1")
	e.Click("a[href='/inspections/" + in.ID + "']")
	text := e.Text("main")
	for _, want := range []string{"Star Net Café", "LIC-0001", "Li Wei（执法证号 JX-0001）", "Wang Fang（执法证号 JX-0002）", "亮证经营",
		"营业执照未悬挂", "不合格", "SHA-256：" + p1.SHA256, "35.060100, 118.340200", "第 1 版", "待审核"} {
		wantIn(t, "the inspection page", text, want)
	}
	waitThumbnails(t, e, 2)
	if href := webtest.Eval[string](e, `document.querySelector(".photos a").getAttribute("href")`); href != "/api/v1/photos/"+p1.SHA256 {
		t.Fatalf("the thumbnail opens %q; want the original", href)
	}
	e.Screenshot("inspection-submitted")

	// A return needs a comment; the browser enforces it, the server too.
	webtest.Eval[any](e, `document.querySelector("form.return textarea").removeAttribute("required"); null`)
	e.Click("form.return button[type=submit]")
	if st := e.Status(); st != http.StatusBadRequest {
		t.Fatalf("a return without a comment: HTTP %d", st)
	}
	wantIn(t, "a return without a comment", e.Text("main"), "请填写退回意见")
	e.Open("/inspections/" + in.ID)
	e.Submit("form.return", map[string]string{"textarea[name=comment]": "请补拍营业执照位置的照片"})
	wantIn(t, "the returned inspection", e.Text("main"), "已退回")
	wantIn(t, "the returned inspection", e.Text("main"), "请补拍营业执照位置的照片")

	// The inspector amends it: version 2, submitted again.
	setItem(in, "NC01", schema.ResultFail, "营业执照未悬挂，已拍照")
	setItem(in, "NC03", schema.ResultFail, "发现未成年人上网")
	pushInspection(t, e, d, in)
	e.Open("/?status=returned")
	if strings.Contains(e.Text("main"), "Star Net Café") {
		t.Fatal("the amended inspection is still listed as returned")
	}
	e.Open("/")
	e.Screenshot("queue")
	e.Click("a[href='/inspections/" + in.ID + "']")
	text = e.Text("main")
	wantIn(t, "version 2", text, "第 2 版")
	diff := e.Text("table.diff")
	for _, want := range []string{"项目", "字段", "原", "新", "NC01", "备注", "营业执照未悬挂，已拍照", "NC03", "结果", "合格", "不合格"} {
		wantIn(t, "the difference of the versions", diff, want)
	}
	e.Submit("form[action$='/review']:not(.return)", nil)
	text = e.Text("main")
	wantIn(t, "the approved inspection", text, "已审核通过")
	wantIn(t, "the approved inspection's findings", text, "严重")

	// Order the correction of NC01 from the inspection page.
	nc01, nc03 := findingOf(t, e, "NC01"), findingOf(t, e, "NC03")
	deadline := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	e.Submit("#finding-"+nc01+" form.order", map[string]string{"input[name=deadline]": deadline, "input[name=text]": "立即悬挂营业执照", "input[name=comment]": "十日内整改"})
	wantIn(t, "after the order", e.Text("main"), "已责令整改")
	wantIn(t, "after the order", e.Text("#finding-"+nc01), "责改〔")
	e.Screenshot("inspection-approved")

	// A re-check passes NC01 with a photo; the leader approves it.
	re := inspection(t, starNetCafe, []string{"inspector1", "inspector2"}, nil)
	re.RecheckOf = nc01
	jpg3, p3 := webtest.JPEG(t, 320, 240, 90, re.StartedAt.Add(5*time.Minute), 35.0601, 118.3402)
	withPhoto(re, "NC01", p3)
	pushInspection(t, e, d, re)
	d.UploadPhoto(t, jpg3)
	e.Open("/inspections/" + re.ID)
	waitThumbnails(t, e, 1)
	e.Submit("form[action$='/review']:not(.return)", nil)
	e.Open("/findings/" + nc01)
	wantIn(t, "the re-checked finding", e.Text("main"), "复查合格")
	// Its order and re-check print from the finding page (the API's PDF
	// routes, which take the session cookie).
	for _, link := range []string{"order.pdf", "recheck.pdf"} {
		want := schema.PathFindings + "/" + nc01 + "/" + link
		if got := webtest.Eval[string](e, `(document.querySelector("a[href$='/`+link+`']") || {}).pathname || ""`); got != want {
			t.Errorf("the finding page links %q; want %s", got, want)
		}
	}

	// A step the ledger does not allow is refused with its reason: NC03
	// is open, and only a re-checked finding can be closed.
	e.Open("/findings/" + nc03)
	webtest.Eval[any](e, `document.querySelector("form[action$='/escalate']").action = location.pathname + "/close";
		document.querySelector("form[action$='/close'] textarea").name = "note"; null`)
	e.Submit("form[action$='/close']", map[string]string{"textarea": "已整改"})
	if st := e.Status(); st != http.StatusConflict {
		t.Fatalf("closing an open finding: HTTP %d", st)
	}
	text = e.Text("main")
	wantIn(t, "the refusal", text, "操作未执行")
	wantIn(t, "the refusal", text, "it can be closed only after a re-check passed")
	e.Screenshot("finding-refused")

	e.Open("/findings/" + nc01)
	e.Submit("form[action$='/close']", map[string]string{"textarea[name=note]": "复查时已悬挂营业执照"})
	text = e.Text("main")
	wantIn(t, "the closed finding", text, "已销号")
	wantIn(t, "the closed finding's audit", e.Text("table.audit"), "leader1")
	e.Screenshot("finding")

	e.Open("/findings")
	text = e.Text("main")
	wantIn(t, "the ledger", text, "已销号")
	wantIn(t, "the ledger", text, "严重")
	e.Screenshot("ledger")
	e.Open("/findings?status=open&item=NC03&venue=" + starNetCafe + "&from=2020-01-01&to=2099-12-31&sort=deadline")
	if n := webtest.Eval[int](e, `document.querySelectorAll("table.ledger tbody tr[id]").length`); n != 1 {
		t.Fatalf("the filtered ledger lists %d findings; want NC03 alone:\n%s", n, e.Text("main"))
	}
	e.Open("/venues/" + starNetCafe)
	text = e.Text("main")
	wantIn(t, "the venue page", text, "各项目问题统计")
	wantIn(t, "the venue page", text, "NC03")
	e.Screenshot("venue")
	e.Open("/audit?actor=leader1")
	wantIn(t, "leader1's audit", e.Text("main"), "销号")
	csv := webtest.Eval[string](e, `document.querySelector(".exports a").getAttribute("href")`)
	if csv != "/api/v1/audit?actor=leader1&format=csv&limit=1000" {
		t.Fatalf("CSV export link %q", csv)
	}

	// leader2 is told nothing of squad 1's records, photos or history.
	e.Click("form[action='/logout'] button")
	e.Login("leader2")
	for _, path := range []string{"/inspections/" + in.ID, "/findings/" + nc01, "/venues/" + starNetCafe,
		"/api/v1/photos/" + p1.SHA256 + "/thumb", "/api/v1/photos/" + p1.SHA256,
		"/audit?entity=inspection&id=" + in.ID, "/audit?entity=finding&id=" + nc01, "/audit?actor=leader1"} {
		e.Open(path)
		if st := e.Status(); st != http.StatusNotFound {
			t.Fatalf("leader2 opening %s: HTTP %d; want 404", path, st)
		}
	}
	e.Open("/findings")
	if n := webtest.Eval[int](e, `document.querySelectorAll("table.ledger tbody tr[id]").length`); n != 0 {
		t.Fatalf("leader2's ledger lists %d findings; squad 2 has none", n)
	}
}

func TestWorkbench_HostilePages(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	d := e.Enroll("inspector1")
	// One note of 10,000 characters: the markup, the override, and an
	// unbroken word that no line can hold.
	note := strings.Join(hostile, " ")
	note += strings.Repeat("W", 10000-len([]rune(note)))
	in := inspection(t, starNetCafe, []string{"inspector1", "inspector2"}, []string{note})
	pushInspection(t, e, d, in)

	e.Login("leader1")
	check := func(page string) {
		t.Helper()
		text := e.Text("main")
		wantIn(t, page, text, hostile[0])
		wantIn(t, page, text, hostile[1])
		if n := webtest.Eval[int](e, `document.querySelectorAll("main script, main img:not([alt])").length`); n != 0 {
			t.Fatalf("%s: %d script or img elements came from device text", page, n)
		}
		if px := e.Overflow(); px != 0 {
			t.Fatalf("%s is %d px wider than the %d px viewport", page, px, webtest.ViewportWidth)
		}
		if ds := e.Dialogs(); len(ds) != 0 {
			t.Fatalf("%s: JavaScript dialogs opened: %q", page, ds)
		}
	}
	e.Open("/inspections/" + in.ID)
	wantIn(t, "the inspection page", e.Text("main"), "[U+202E]gnp.exe")
	if !strings.Contains(e.Text("main"), strings.Repeat("W", 5000)) {
		t.Fatal("the inspection page does not show the long note whole")
	}
	check("the inspection page")
	e.Submit("form[action$='/review']:not(.return)", nil)
	check("the approved inspection page")
	e.Screenshot("inspection-hostile")
	f := findingOf(t, e, "NC01")
	e.Open("/findings")
	check("the ledger")
	e.Screenshot("ledger-hostile")
	e.Open("/findings/" + f)
	check("the finding page")
	e.Screenshot("finding-hostile")
	e.Open("/venues/" + starNetCafe)
	check("the venue page")
	e.Screenshot("venue-hostile")
}
