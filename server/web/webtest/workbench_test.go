package webtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// Venues of the small district (servertest.SmallDistrict).
const (
	starNetCafe = "01900000-0000-7000-8000-000000000001" // squad 1
	blueSeaBar  = "01900000-0000-7000-8000-000000000004" // squad 2
)

// Hostile text a device may send: markup, an attribute break-out, a
// right-to-left override, and words too long for any line.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	"\u202Egnp.exe 反转的文字 RTL override",
}

func inspection(t *testing.T, venueID string, inspectors []string, notes []string) *schema.Inspection {
	t.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(-5 * time.Minute)
	in := &schema.Inspection{ID: uuid.Must(uuid.NewV7()).String(), VenueID: venueID, Status: schema.StatusSubmitted,
		ChecklistVersion: cl.Version, StartedAt: end.Add(-40 * time.Minute), FinishedAt: &end}
	for _, u := range inspectors {
		in.Inspectors = append(in.Inspectors, schema.Inspector{Username: u})
	}
	for i, it := range cl.Items {
		r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
		if i < len(notes) {
			r.Result, r.Note = schema.ResultFail, notes[i]
		}
		in.Items = append(in.Items, r)
	}
	return in
}

func upsert(d *webtest.Device, in *schema.Inspection) schema.Mutation {
	return schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert, HLC: d.Tick(), Inspection: in}
}

// pushInspection has a device of inspector push an inspection and checks
// it was applied.
func pushInspection(t *testing.T, e *webtest.Env, d *webtest.Device, in *schema.Inspection) {
	t.Helper()
	if r := d.Push(t, upsert(d, in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("push of inspection %s: %+v", in.ID, r)
	}
}

// conflictOn makes a concurrent edit of a venue's name: the admin renames
// it on the server while the device renames it from the older version.
func conflictOn(t *testing.T, e *webtest.Env, d *webtest.Device, venueID, deviceName string) string {
	t.Helper()
	admin := e.Admin()
	v, err := admin.Venue(venueID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.EditVenue(venueID, map[string]string{schema.FieldName: "服务器改的名称"}); err != nil {
		t.Fatal(err)
	}
	m := schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutVenueUpdate, HLC: d.Tick(),
		VenueUpdate: &schema.VenueUpdate{VenueID: venueID, Fields: map[string]schema.FieldEdit{
			schema.FieldName: {Value: deviceName, Base: v.Clocks[schema.FieldName]}}}}
	r := d.Push(t, m)[0]
	if r.Outcome != schema.OutcomeConflict || r.ConflictID == "" {
		t.Fatalf("concurrent rename: %+v", r)
	}
	return r.ConflictID
}

func cookie(t *testing.T, e *webtest.Env, name string) *network.Cookie {
	t.Helper()
	res, err := chromedpCookies(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wantIn(t *testing.T, what, text, want string) {
	t.Helper()
	if !strings.Contains(text, want) {
		t.Fatalf("%s does not say %q:\n%.2000s", what, want, text)
	}
}

func TestWorkbench_LoginAndLogout(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	e.Open("/")
	if loc := e.Location(); !strings.HasSuffix(loc, "/login") {
		t.Fatalf("without a session / went to %s; want the login form: %s", loc, e.Text("body"))
	}
	e.Screenshot("login")
	e.Login("leader1")
	if loc := e.Location(); loc != e.URL+"/" {
		t.Fatalf("after login at %s", loc)
	}
	wantIn(t, "the queue", e.Text("main"), "待审核的检查")
	wantIn(t, "the header", e.Text("header.top"), "Chen Jun（中队长 · 第1中队）")
	ck := cookie(t, e, "patrol_session")
	if ck == nil || !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Secure || ck.Path != "/" {
		t.Fatalf("session cookie %+v; want HttpOnly, SameSite=Lax, not Secure over plain http, Path=/", ck)
	}
	if left := time.Until(time.Unix(int64(ck.Expires), 0)); left < 11*time.Hour || left > 13*time.Hour {
		t.Fatalf("session cookie lives %v; want 12 h", left)
	}
	if js := webtest.Eval[string](e, `document.cookie`); strings.Contains(js, "patrol_session") {
		t.Fatalf("page script sees the session cookie: %q", js)
	}
	old := ck.Value
	e.Screenshot("queue-empty")

	e.Click("form[action='/logout'] button")
	if loc := e.Location(); !strings.HasSuffix(loc, "/login") {
		t.Fatalf("after logout at %s", loc)
	}
	if ck := cookie(t, e, "patrol_session"); ck != nil {
		t.Fatalf("session cookie still set after logout: %+v", ck)
	}
	// The token was revoked on the server: a copy of the cookie is useless.
	req, _ := http.NewRequest(http.MethodGet, e.URL+schema.PathInspections, nil)
	req.Header.Set("Authorization", "Bearer "+old)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with the logged-out token: HTTP %d; want 401", resp.StatusCode)
	}
	setCookie(t, e, "patrol_session", old)
	e.Open("/")
	if loc := e.Location(); !strings.HasSuffix(loc, "/login") {
		t.Fatalf("with the logged-out cookie put back, / is %s; want the login form", loc)
	}

	// A wrong password is told in Chinese, and the form keeps the name.
	e.Submit("form[action='/login']", map[string]string{"input[name=username]": "leader1", "input[name=password]": "wrong-password"})
	wantIn(t, "a failed login", e.Text("main"), "用户名或密码错误")
	e.Screenshot("login-failed")
}

func TestWorkbench_InspectorRefused(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	e.Login("inspector1")
	wantIn(t, "an inspector's login", e.Text("main"), "检查员账号不能登录工作台")
	if ck := cookie(t, e, "patrol_session"); ck != nil {
		t.Fatalf("an inspector got a session cookie: %+v", ck)
	}
	e.Screenshot("inspector-refused")
}

func TestWorkbench_CSRFRefused(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	e.Login("leader1")
	for _, tc := range []struct{ name, tamper string }{
		{"wrong", `document.querySelector("form[action='/logout'] input[name=csrf]").value = "00".repeat(32)`},
		{"missing", `document.querySelector("form[action='/logout'] input[name=csrf]").remove()`},
		// A token for another session (the HMAC of some other key).
		{"other", `document.querySelector("form[action='/logout'] input[name=csrf]").value = "` + strings.Repeat("ab", 32) + `"`},
	} {
		e.Open("/")
		webtest.Eval[any](e, tc.tamper+"; null")
		e.Click("form[action='/logout'] button")
		status := webtest.Eval[int](e, `performance.getEntriesByType("navigation")[0].responseStatus`)
		if status != http.StatusForbidden {
			t.Fatalf("logout with a %s CSRF token: HTTP %d; want 403", tc.name, status)
		}
		wantIn(t, "the refusal of a "+tc.name+" token", e.Text("main"), "安全校验失败")
		if tc.name == "wrong" {
			e.Screenshot("csrf-refused")
		}
	}
	// The refused logouts did nothing: the session still works.
	e.Open("/")
	wantIn(t, "the queue after refused posts", e.Text("main"), "待审核的检查")
}

func TestWorkbench_LeaderSeesOnlyOwnSquad(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	d1, d3 := e.Enroll("inspector1"), e.Enroll("inspector3")
	in1 := inspection(t, starNetCafe, []string{"inspector1", "inspector2"}, nil)
	in3 := inspection(t, blueSeaBar, []string{"inspector3"}, nil)
	pushInspection(t, e, d1, in1)
	pushInspection(t, e, d3, in3)
	cf := conflictOn(t, e, d1, starNetCafe, "设备改的名称")

	e.Login("leader2")
	text := e.Text("main")
	wantIn(t, "leader2's queue", text, "单人检查")
	if strings.Contains(text, "Star Net Café") || strings.Contains(text, "服务器改的名称") || strings.Contains(text, "设备改的名称") {
		t.Fatalf("leader2's queue shows squad 1's work:\n%s", text)
	}
	if n := webtest.Eval[int](e, `document.querySelectorAll("a[href^='/conflicts/']").length`); n != 0 {
		t.Fatalf("leader2's queue links %d conflicts; squad 2 has none", n)
	}
	e.Screenshot("leader2-queue")
	e.Open("/?squad=1")
	if strings.Contains(e.Text("main"), "设备改的名称") {
		t.Fatal("leader2 reads squad 1's queue with ?squad=1")
	}
	e.Open("/conflicts/" + cf)
	if status := webtest.Eval[int](e, `performance.getEntriesByType("navigation")[0].responseStatus`); status != http.StatusNotFound {
		t.Fatalf("leader2 opening squad 1's conflict: HTTP %d; want 404", status)
	}
	wantIn(t, "the refusal", e.Text("main"), "未找到")

	// The admin sees both squads and can narrow to one.
	e.Click("form[action='/logout'] button")
	e.Login("admin")
	text = e.Text("main")
	wantIn(t, "the admin's queue", text, "服务器改的名称")
	wantIn(t, "the admin's queue", text, "第2中队")
	e.Screenshot("admin-queue")
	e.Open("/?squad=2")
	if text := e.Text("main"); strings.Contains(text, "服务器改的名称") || !strings.Contains(text, "单人检查") {
		t.Fatalf("admin's queue of squad 2:\n%s", text)
	}
}

func TestWorkbench_HostileTextRendersInert(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	d := e.Enroll("inspector1")
	// Beside the markup, one note of 10,000 characters of unbroken text
	// (a note may hold schema.MaxNoteLen bytes).
	notes := append([]string{}, hostile...)
	long := strings.Repeat("W", 10000)
	notes = append(notes, long)
	pushInspection(t, e, d, inspection(t, starNetCafe, []string{"inspector1", "inspector2"}, notes))
	cf := conflictOn(t, e, d, starNetCafe, `"><img src=x onerror=alert(1)><script>alert(1)</script>`+"\u202E"+strings.Repeat("长", 40))

	e.Login("leader1")
	text := e.Text("main")
	wantIn(t, "the queue", text, hostile[0]) // shown as text, nothing stripped
	wantIn(t, "the queue", text, hostile[1])
	// The override is shown as what it is instead of turning the text round.
	wantIn(t, "the queue", text, "[U+202E]gnp.exe 反转的文字")
	if n := strings.Count(text, long); n != 1 {
		t.Fatalf("the queue shows the long note whole %d times; want once", n)
	}
	check := func(page string) {
		t.Helper()
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
	check("the queue")
	e.Screenshot("queue-hostile")

	e.Open("/conflicts/" + cf)
	wantIn(t, "the conflict page", e.Text("main"), `<script>alert(1)</script>`)
	check("the conflict page")
	e.Screenshot("conflict-hostile")

	// The leader makes the server's name stand (whichever side the merge kept).
	e.Do()
	webtest.Eval[any](e, `document.querySelector("input[name=winner][value=server]").checked = true; null`)
	e.Click("form[action$='/decide'] button[type=submit]")
	wantIn(t, "the decided conflict", e.Text("main"), "已处理：采用服务器的值")
	check("the decided conflict")
	v, err := e.Admin().Venue(starNetCafe)
	if err != nil || v.Name != "服务器改的名称" {
		t.Fatalf("venue after the leader chose the server's name: %q, %v", v.Name, err)
	}
	e.Screenshot("conflict-decided")
}

func TestWorkbench_AdminPages(t *testing.T) {
	e := webtest.Start(t, servertest.Options{})
	e.Enroll("inspector1")
	leader := e.Leader(1) // an API session of leader1, which the password reset must end
	e.Login("admin")
	e.Open("/admin/users")
	wantIn(t, "the users page", e.Text("main"), "JX-0100")
	e.Screenshot("users")

	e.Submit("form[action='/admin/users']", map[string]string{"input[name=username]": "inspector9", "input[name=display_name]": "钱多多",
		"input[name=badge_no]": "JX-0009", "input[name=squad]": "2", "input[name=password]": "a-long-password"})
	wantIn(t, "after creating a user", e.Text("main"), "用户已创建")
	wantIn(t, "the users page", e.Text("main"), "钱多多")
	// Office staff (intake of complaints) carry neither badge nor squad.
	e.Submit("form[action='/admin/users']", map[string]string{"input[name=username]": "clerk", "input[name=display_name]": "受理员甲",
		"select[name=role]": "office", "input[name=password]": "a-long-password"})
	wantIn(t, "after creating an office user", e.Text("main"), "用户已创建")
	wantIn(t, "the users page", e.Text("main"), "办公室/受理员")

	id := webtest.Eval[string](e, `[...document.querySelectorAll("tbody tr")].find(r => r.cells[0].textContent === "leader1").querySelector("form[action$='/password']").action`)
	sel := "form[action='" + strings.TrimPrefix(id, e.URL) + "']"
	e.Submit(sel, map[string]string{"input[name=password]": "another-long-password"})
	wantIn(t, "after a password reset", e.Text("main"), "密码已重置")
	if err := leader.Do("GET", schema.PathInspections, nil, nil); schema.ErrorCode(err) != schema.CodeUnauthorized {
		t.Fatalf("leader1's session after the reset: %v; want unauthorized", err)
	}

	e.Open("/admin/devices")
	wantIn(t, "the devices page", e.Text("main"), "inspector1 的平板")
	e.Screenshot("devices")
	e.Submit("form[action='/admin/enrollment-codes']", map[string]string{"select[name=username]": "inspector2"})
	code := e.Text(".enroll-code")
	if !regexpCode.MatchString(code) {
		t.Fatalf("enrollment code %q", code)
	}
	if w := webtest.Eval[int](e, `document.querySelector(".code img").naturalWidth`); w < 100 {
		t.Fatalf("QR code image is %d px wide; want it drawn", w)
	}
	e.Screenshot("enrollment-code")
	if px := e.Overflow(); px != 0 {
		t.Fatalf("enrollment page overflows by %d px", px)
	}
}
