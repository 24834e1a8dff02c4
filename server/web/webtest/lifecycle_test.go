package webtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the real patrol (device) and patrold (server) commands
// once per test run, so that the test reads what a person at a terminal
// reads rather than what a copy of the command would print.
func binaries(t *testing.T) (patrol, patrold string) {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "patrol-webtest-bin-"); buildErr != nil {
			return
		}
		root, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %v", err)
			return
		}
		for _, pkg := range []string{"./mobile-sync/cmd/patrol", "./server/cmd/patrold"} {
			cmd := exec.Command("go", "build", "-o", binDir, pkg)
			cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "patrol"), filepath.Join(binDir, "patrold")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// runBin runs a built command and returns its standard output; a failure
// fails the test with both outputs.
func runBin(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// fieldDevice is the real device library enrolled for username on the
// test's server, as the inspector's phone.
func fieldDevice(t *testing.T, e *webtest.Env, username string) (*mobilesync.Device, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), username+".db")
	d, err := mobilesync.Open(context.Background(), mobilesync.Options{Path: path,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	code, err := e.Admin().EnrollmentCode(username)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Enroll(context.Background(), e.URL, code, username+" 的手机"); err != nil {
		t.Fatalf("enrol %s: %v", username, err)
	}
	return d, path
}

func syncDevice(t *testing.T, d *mobilesync.Device) mobilesync.SyncReport {
	t.Helper()
	rep, err := d.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if rep.Conflicts != 0 || rep.Rejected != 0 || rep.PendingMutations != 0 {
		t.Fatalf("sync: %+v; want everything applied", rep)
	}
	return rep
}

// photoFile writes a real JPEG as the camera would leave it, just taken.
func photoFile(t *testing.T, seed uint8) string {
	t.Helper()
	b, _ := webtest.JPEG(t, 320, 240, seed, time.Now(), 0, 0)
	p := filepath.Join(t.TempDir(), fmt.Sprintf("IMG_%03d.jpg", seed))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// shot saves a screenshot of a step after checking that the page was
// answered 200 and fits the tablet's width.
func shot(t *testing.T, e *webtest.Env, name string) {
	t.Helper()
	if st := e.Status(); st != http.StatusOK {
		t.Fatalf("%s: HTTP %d\n%.2000s", name, st, e.Text("body"))
	}
	if px := e.Overflow(); px != 0 {
		t.Fatalf("%s is %d px wider than the %d px viewport", name, px, webtest.ViewportWidth)
	}
	e.Screenshot(name)
}

// answerAll answers every item of the checklist pass on a draft.
func answerAll(t *testing.T, d *mobilesync.Device, id string) {
	t.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range cl.Items {
		if err := d.SetItem(context.Background(), id, it.ID, schema.ResultPass, ""); err != nil {
			t.Fatalf("item %s: %v", it.ID, err)
		}
	}
}

func TestWorkbench_FullLifecycle(t *testing.T) {
	ctx := context.Background()
	e := webtest.Start(t, servertest.Options{})
	patrol, patrold := binaries(t)
	dev, devPath := fieldDevice(t, e, "inspector1")
	syncDevice(t, dev)

	// The inspector records an inspection on site: NC01 fails, with a
	// photo as evidence; NC02 passes with one.
	in, err := dev.StartInspection(ctx, starNetCafe, "inspector2")
	if err != nil {
		t.Fatal(err)
	}
	answerAll(t, dev, in)
	if err := dev.SetItem(ctx, in, "NC01", schema.ResultFail, "营业执照未悬挂"); err != nil {
		t.Fatal(err)
	}
	if err := dev.AttachPhotoFiles(ctx, in, "NC01", photoFile(t, 10)); err != nil {
		t.Fatal(err)
	}
	if err := dev.AttachPhotoFiles(ctx, in, "NC02", photoFile(t, 200)); err != nil {
		t.Fatal(err)
	}
	if err := dev.Submit(ctx, in); err != nil {
		t.Fatal(err)
	}
	if rep := syncDevice(t, dev); rep.PhotosUploaded != 2 {
		t.Fatalf("first sync uploaded %d photos; want 2", rep.PhotosUploaded)
	}

	// The leader finds it in the queue and returns it with a comment.
	e.Login("leader1")
	wantIn(t, "the queue", e.Text("main"), "Star Net Café")
	shot(t, e, "queue")
	e.Click("a[href='/inspections/" + in + "']")
	waitThumbnails(t, e, 2)
	wantIn(t, "the inspection page", e.Text("main"), "营业执照未悬挂")
	const comment = "请在备注中写明营业执照的位置，并检查未成年人上网情况"
	e.Submit("form.return", map[string]string{"textarea[name=comment]": comment})
	text := e.Text("main")
	wantIn(t, "the returned inspection", text, "已退回")
	wantIn(t, "the returned inspection", text, comment)
	shot(t, e, "inspection-returned")

	// The device learns of it: a task to amend, with the comment.
	syncDevice(t, dev)
	tasks, err := dev.Tasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Kind != mobilesync.TaskAmend || tasks[0].InspectionID != in || tasks[0].Comment != comment {
		t.Fatalf("tasks after the return %+v; want the amendment with the comment", tasks)
	}
	if local, err := dev.Inspection(ctx, in); err != nil || local.Review == nil || local.Review.Note != comment {
		t.Fatalf("device copy of the returned inspection %+v, %v", local.Review, err)
	}
	if err := dev.AmendInspection(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := dev.SetItem(ctx, in, "NC03", schema.ResultFail, "发现两名未成年人上网"); err != nil {
		t.Fatal(err)
	}
	if err := dev.Submit(ctx, in); err != nil {
		t.Fatal(err)
	}
	syncDevice(t, dev)

	// Version 2 shows what changed; the leader approves it.
	e.Open("/inspections/" + in)
	wantIn(t, "the amended inspection", e.Text("main"), "第 2 版")
	diff := e.Text("table.diff")
	for _, want := range []string{"NC03", "结果", "合格", "不合格", "发现两名未成年人上网"} {
		wantIn(t, "the difference of the versions", diff, want)
	}
	if strings.Contains(diff, "NC01") {
		t.Fatalf("the difference lists NC01, which did not change:\n%s", diff)
	}
	shot(t, e, "version-diff")
	e.Submit("form[action$='/review']:not(.return)", nil)
	wantIn(t, "the approved inspection", e.Text("main"), "已审核通过")

	// An order to correct NC01, through the inspection page's form.
	nc01 := findingOf(t, e, "NC01")
	findingOf(t, e, "NC03")
	deadline := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	e.Submit("#finding-"+nc01+" form.order", map[string]string{"input[name=deadline]": deadline,
		"input[name=text]": "立即在收银台醒目位置悬挂营业执照", "input[name=comment]": "十日内整改"})
	wantIn(t, "after the order", e.Text("#finding-"+nc01), "责改〔")
	e.Open("/findings")
	wantIn(t, "the ledger", e.Text("main"), "已责令整改")
	shot(t, e, "ledger")

	api := e.Server.Login("leader1")
	var ordered schema.Finding
	if err := api.Do("GET", "/api/v1/findings/"+nc01, nil, &ordered); err != nil || ordered.Status != schema.FindingOrdered || ordered.Deadline == nil {
		t.Fatalf("finding after the order %+v, %v", ordered, err)
	}

	// The device pulls the order; the command line lists the re-check due.
	syncDevice(t, dev)
	var cliTasks []struct {
		Kind      string     `json:"kind"`
		FindingID string     `json:"finding_id"`
		VenueID   string     `json:"venue_id"`
		ItemID    string     `json:"item_id"`
		Due       *time.Time `json:"due"`
		Overdue   bool       `json:"overdue"`
	}
	out := runBin(t, patrol, "--db", devPath, "tasks", "--json")
	if err := json.Unmarshal([]byte(out), &cliTasks); err != nil {
		t.Fatalf("patrol tasks --json: %v\n%s", err, out)
	}
	if len(cliTasks) != 1 || cliTasks[0].Kind != mobilesync.TaskRecheck || cliTasks[0].FindingID != nc01 || cliTasks[0].VenueID != starNetCafe ||
		cliTasks[0].ItemID != "NC01" || cliTasks[0].Due == nil || !cliTasks[0].Due.Equal(*ordered.Deadline) || cliTasks[0].Overdue {
		t.Fatalf("patrol tasks --json after the order:\n%s\nwant the re-check of %s due %v", out, nc01, ordered.Deadline)
	}

	// The re-check, started from the task: NC01 passes, with a photo.
	re, err := dev.StartInspectionWith(ctx, cliTasks[0].VenueID, mobilesync.StartOptions{CoInspectors: []string{"inspector2"}, RecheckOf: cliTasks[0].FindingID})
	if err != nil {
		t.Fatal(err)
	}
	answerAll(t, dev, re)
	if err := dev.SetItem(ctx, re, "NC01", schema.ResultPass, "营业执照已悬挂于收银台"); err != nil {
		t.Fatal(err)
	}
	if err := dev.AttachPhotoFiles(ctx, re, "NC01", photoFile(t, 90)); err != nil {
		t.Fatal(err)
	}
	if err := dev.Submit(ctx, re); err != nil {
		t.Fatal(err)
	}
	if rep := syncDevice(t, dev); rep.PhotosUploaded != 1 {
		t.Fatalf("the re-check's sync uploaded %d photos; want 1", rep.PhotosUploaded)
	}

	e.Open("/inspections/" + re)
	waitThumbnails(t, e, 1)
	recheck := e.Text("dd.recheck")
	for _, want := range []string{"NC01", "亮证经营", "已责令整改", ordered.Order.Number} {
		wantIn(t, "the re-check's link to its finding", recheck, want)
	}
	if href := webtest.Eval[string](e, `document.querySelector("dd.recheck a").getAttribute("href")`); href != "/findings/"+nc01 {
		t.Fatalf("the re-check links %q; want its finding", href)
	}
	shot(t, e, "recheck-submitted")
	e.Submit("form[action$='/review']:not(.return)", nil)
	wantIn(t, "the approved re-check", e.Text("main"), "已审核通过")
	e.Open("/findings/" + nc01)
	wantIn(t, "the re-checked finding", e.Text("main"), "复查合格")
	e.Submit("form[action$='/close']", map[string]string{"textarea[name=note]": "复查时营业执照已悬挂，照片为证"})
	text = e.Text("main")
	wantIn(t, "the closed finding", text, "已销号")
	wantIn(t, "the closed finding", text, "复查时营业执照已悬挂，照片为证")
	// The page's trail names each step; the approvals that opened and
	// re-checked the finding were leader1's, so every step is theirs.
	trail := e.Text("table.audit")
	for _, want := range []string{"创建", "责令整改", "复查合格", "销号", "leader1", "责改〔"} {
		wantIn(t, "the finding's audit trail", trail, want)
	}
	shot(t, e, "finding-closed")
	e.Open("/venues/" + starNetCafe)
	wantIn(t, "the venue page", e.Text("main"), "NC01")
	shot(t, e, "venue")

	// The finding's history through the API, oldest first: every step and
	// who took it (the system's steps are recorded as the leader whose
	// approval made them, the inspection named in the reason).
	var entries []schema.AuditEntry
	if err := api.Do("GET", "/api/v1/audit?entity=finding&id="+nc01, nil, &entries); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for i := len(entries) - 1; i >= 0; i-- {
		x := entries[i]
		steps = append(steps, x.Action+" "+x.From+"→"+x.To+" by "+x.Actor)
		if x.Action == "rechecked" && x.Reason != "inspection "+re {
			t.Fatalf("the re-check step names %q; want the re-check inspection %s", x.Reason, re)
		}
	}
	want := []string{
		"created →open by leader1",
		"ordered open→ordered by leader1",
		"rechecked ordered→rechecked by leader1",
		"closed rechecked→closed by leader1",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit trail of the finding:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	syncDevice(t, dev)
	if f, err := dev.Finding(ctx, nc01); err != nil || f.Status != schema.FindingClosed || f.RecheckInspectionID != re {
		t.Fatalf("device copy of the closed finding %+v, %v", f, err)
	}
	if tasks, err := dev.Tasks(ctx); err != nil || len(tasks) != 0 {
		t.Fatalf("tasks at the end %+v, %v; want none", tasks, err)
	}

	// The whole log holds together, as the operator's command checks it.
	var n int
	if err := e.Server.Server().Store().ScanAudit(ctx, 0, func(schema.AuditEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := runBin(t, patrold, "audit", "verify", "--data", e.DataDir); got != fmt.Sprintf("ok %d entries\n", n) {
		t.Fatalf("patrold audit verify: %q; want ok %d entries", got, n)
	}
	if ds := e.Dialogs(); len(ds) != 0 {
		t.Fatalf("JavaScript dialogs opened: %q", ds)
	}
}

// The demo district is the first thing a new user sees: its queue must
// render for a leader in a real browser.
func TestWorkbench_DemoQueue(t *testing.T) {
	e := webtest.Start(t, servertest.Options{Demo: &demo.Options{}})
	e.Login("leader1")
	if st := e.Status(); st != http.StatusOK {
		t.Fatalf("the demo queue: HTTP %d\n%s", st, e.Text("body"))
	}
	if loc := e.Location(); loc != e.URL+"/" {
		t.Fatalf("after login at %s", loc)
	}
	wantIn(t, "the demo queue", e.Text("main"), "待审核的检查")
	if n := webtest.Eval[int](e, `document.querySelectorAll("main a[href^='/inspections/']").length`); n == 0 {
		t.Fatalf("the demo queue lists no inspection:\n%.2000s", e.Text("main"))
	}
	shot(t, e, "demo-queue")
	e.Click("main a[href^='/inspections/']")
	if st := e.Status(); st != http.StatusOK {
		t.Fatalf("a demo inspection: HTTP %d\n%.2000s", st, e.Text("body"))
	}
	wantIn(t, "a demo inspection", e.Text("main"), "检查项目")
}
