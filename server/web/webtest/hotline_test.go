package webtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/docs/pdftest"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// signaturePad writes a signature as the device's signing pad leaves it:
// a PNG of dark strokes on white.
func signaturePad(t *testing.T, seed int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 360, 120))
	for x := range 360 {
		for y := range 120 {
			img.Set(x, y, color.White)
		}
	}
	ink := color.RGBA{20, 20, 60, 255}
	for x := 20; x < 340; x++ {
		y := 60 + int(30*float64((x*(seed+3))%97-48)/48)
		for d := -2; d <= 2; d++ {
			img.Set(x, y+d, ink)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("signature-%d.png", seed))
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// complaintTasks are the complaint tasks of a device, by complaint id.
func complaintTasks(t *testing.T, d *mobilesync.Device) map[string]mobilesync.Task {
	t.Helper()
	tasks, err := d.Tasks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]mobilesync.Task{}
	for _, k := range tasks {
		if k.Kind == mobilesync.TaskComplaint {
			out[k.ComplaintID] = k
		}
	}
	return out
}

// signedInspection records, on the device alone (no network needed), an
// inspection of venue with a co-inspector, every item answered (failing
// the items of fail, with their notes and a photo each), the on-site
// record filled in and signed by the party, and submits it.
func signedInspection(t *testing.T, d *mobilesync.Device, venue string, o mobilesync.StartOptions, fail map[string]string, seed uint8) string {
	t.Helper()
	ctx := context.Background()
	id, err := d.StartInspectionWith(ctx, venue, o)
	if err != nil {
		t.Fatal(err)
	}
	answerAll(t, d, id)
	for item, note := range fail {
		result := schema.ResultFail
		if o.RecheckOf != "" {
			result = schema.ResultPass
		}
		if err := d.SetItem(ctx, id, item, result, note); err != nil {
			t.Fatal(err)
		}
		if err := d.AttachPhotoFiles(ctx, id, item, photoFile(t, seed)); err != nil {
			t.Fatal(err)
		}
		seed++
	}
	if err := d.SetRecord(ctx, id, mobilesync.RecordInput{
		Party:    schema.Party{Name: "赵建国", Role: "店长", IDType: schema.IDTypeResident, IDLast: "301X"},
		IDsShown: true,
		Remarks:  "检查时场内约四十人上网，收银台有一名网管值班。",
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.SignRecord(ctx, id, signaturePad(t, int(seed))); err != nil {
		t.Fatal(err)
	}
	if err := d.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestHotline_ComplaintToClosedCase follows a complaint from the hotline
// to its reply: the office takes it in on the workbench about a café of
// squad 3; it becomes a task on squad 3's device and on no other; the
// inspectors investigate offline and the manager signs the on-site
// record on the device; the leader orders a correction and prints the
// order; the re-check passes; the leader answers the complainant and
// closes the complaint. Every step is in the audit chain, and the
// complainant's contact reaches no device.
func TestHotline_ComplaintToClosedCase(t *testing.T) {
	pdftest.Require(t)
	pdftest.Font(t)
	ctx := context.Background()
	district := servertest.ThreeSquadDistrict()
	e := webtest.Start(t, servertest.Options{District: &district})
	patrol, patrold := binaries(t)
	cafe := district.Squads[2].Venues[0] // 北城网咖, squad 3
	const contact = "张女士 13805391234"
	const content = "北城网咖晚上十一点后仍有初中生上网，门口没有未成年人禁入标志。"

	admin := e.Server.Admin()
	if err := admin.Do("POST", schema.PathUsers, server.CreateUserRequest{Username: "clerk1", DisplayName: "王受理",
		Role: schema.RoleOffice, Password: e.Server.Password()}, nil); err != nil {
		t.Fatalf("create the office user: %v", err)
	}
	dev3, dev3Path := fieldDevice(t, e, "inspector5")
	dev1, dev1Path := fieldDevice(t, e, "inspector1")
	dev2, dev2Path := fieldDevice(t, e, "inspector3")
	for _, d := range []*mobilesync.Device{dev3, dev1, dev2} {
		syncDevice(t, d)
	}

	// The office takes the call in on the workbench.
	e.Login("clerk1")
	e.Open("/complaints/new")
	shot(t, e, "intake-form")
	complaintID := intake(t, e, cafe.ID, contact, content)
	wantIn(t, "the new complaint", e.Text("main"), "投诉〔")
	if strings.Contains(e.Text("main"), "13805391234") {
		t.Fatalf("the office reads the complainant's contact on the complaint page:\n%.2000s", e.Text("main"))
	}
	shot(t, e, "complaint-received")
	var c schema.Complaint
	leader3 := e.Server.Login("leader3")
	if err := leader3.Do("GET", schema.PathComplaints+"/"+complaintID, nil, &c); err != nil || c.SquadID != 3 || c.Contact != contact ||
		c.Status != schema.ComplaintReceived {
		t.Fatalf("the complaint as leader3 reads it: %+v, %v; want squad 3's, received, with the contact", c, err)
	}
	if st := e.Server.Login("leader1").Call("GET", schema.PathComplaints+"/"+complaintID, nil, nil); st != http.StatusNotFound {
		t.Fatalf("leader1 reading squad 3's complaint: HTTP %d; want 404", st)
	}

	// It is a task on squad 3's device, and on no other.
	for _, d := range []*mobilesync.Device{dev3, dev1, dev2} {
		syncDevice(t, d)
	}
	task, ok := complaintTasks(t, dev3)[complaintID]
	if !ok || task.VenueID != cafe.ID || task.Content != content {
		t.Fatalf("squad 3's tasks %+v; want the complaint about %s", complaintTasks(t, dev3), cafe.ID)
	}
	for name, d := range map[string]*mobilesync.Device{"squad 1": dev1, "squad 2": dev2} {
		if got := complaintTasks(t, d); len(got) != 0 {
			t.Fatalf("%s's device holds complaint tasks %+v", name, got)
		}
	}
	var cliTasks []struct {
		Kind        string `json:"kind"`
		ComplaintID string `json:"complaint_id"`
		VenueID     string `json:"venue_id"`
	}
	out := runBin(t, patrol, "--db", dev3Path, "tasks", "--json")
	if err := json.Unmarshal([]byte(out), &cliTasks); err != nil {
		t.Fatalf("patrol tasks --json: %v\n%s", err, out)
	}
	if !slices.ContainsFunc(cliTasks, func(k struct {
		Kind        string `json:"kind"`
		ComplaintID string `json:"complaint_id"`
		VenueID     string `json:"venue_id"`
	}) bool {
		return k.Kind == "complaint" && k.ComplaintID == complaintID && k.VenueID == cafe.ID
	}) {
		t.Fatalf("patrol tasks --json on squad 3's device:\n%s\nwant kind complaint for %s", out, complaintID)
	}

	// The leader accepts it.
	e.Login("leader3")
	e.Open("/complaints/" + complaintID)
	wantIn(t, "the complaint for its leader", e.Text("main"), "13805391234")
	complaintAct(t, e, "accept", nil)
	wantIn(t, "the accepted complaint", e.Text("main"), "已受理")

	// The inspectors go out: the whole inspection is made on the device
	// with no network, the manager signs the record on the screen.
	in := signedInspection(t, dev3, cafe.ID, mobilesync.StartOptions{CoInspectors: []string{"inspector6"}, ComplaintID: complaintID},
		map[string]string{"NC02": "入口处未设置未成年人禁入标志", "NC03": "23:20 发现两名初中生在 12、13 号机上网"}, 40)
	if got := complaintTasks(t, dev3); len(got) != 0 {
		t.Fatalf("the complaint is still a task once its inspection is submitted: %+v", got)
	}
	if rep := syncDevice(t, dev3); rep.PhotosUploaded != 3 {
		t.Fatalf("the investigation's sync uploaded %d photos and signatures; want 2 photos and the signature", rep.PhotosUploaded)
	}
	if err := leader3.Do("GET", schema.PathComplaints+"/"+complaintID, nil, &c); err != nil || c.Status != schema.ComplaintInvestigating ||
		!slices.Equal(c.InspectionIDs, []string{in}) {
		t.Fatalf("the complaint after the push: %+v, %v; want investigating by %s", c, err, in)
	}

	// The leader reads the record, approves and orders NC02 corrected.
	e.Open("/inspections/" + in)
	waitThumbnails(t, e, 2)
	text := e.Text("main")
	for _, want := range []string{"现检〔", "赵建国", "店长", "已出示", complaintIDNumber(t, leader3, complaintID)} {
		wantIn(t, "the investigating inspection", text, want)
	}
	if !webtest.Eval[bool](e, `(() => { const i = document.querySelector(".signature img"); return !!i && i.complete && i.naturalWidth > 0; })()`) {
		t.Fatalf("the party's signature does not show on the inspection page")
	}
	shot(t, e, "investigation")
	e.Submit("form[action$='/review']:not(.return)", nil)
	wantIn(t, "the approved investigation", e.Text("main"), "已审核通过")
	nc02 := findingOf(t, e, "NC02")
	deadline := time.Now().AddDate(0, 0, 7).Format(time.DateOnly)
	e.Submit("#finding-"+nc02+" form.order", map[string]string{"input[name=deadline]": deadline,
		"input[name=text]": "七日内在入口处显著位置设置未成年人禁入标志", "input[name=comment]": "逾期未改将依法处理"})
	wantIn(t, "after the order", e.Text("#finding-"+nc02), "责改〔")
	var ordered schema.Finding
	if err := leader3.Do("GET", schema.PathFindings+"/"+nc02, nil, &ordered); err != nil || ordered.Order == nil {
		t.Fatalf("the ordered finding: %+v, %v", ordered, err)
	}

	// The record and the order, printed: numbers, hashes, the signature's
	// and the photos' hashes as storage holds them.
	got, _ := leader3.Inspection(in)
	record := printed(t, leader3, "/api/v1/inspections/"+in+"/record.pdf", "record")
	record.MustHave(t, got.Record.Number, got.Record.Signing.Hash, "赵建国", "未成年人禁入", "现场检查笔录")
	for _, it := range got.Items {
		for _, p := range it.Photos {
			if s := record.StorageOf(p.SHA256); s != "已存储" {
				t.Errorf("the printed record says %q of photo %s; storage holds it", s, p.SHA256)
			}
		}
	}
	if !record.Has(got.Record.Signing.Signature.SHA256) {
		t.Errorf("the printed record does not list the signature's hash %s", got.Record.Signing.Signature.SHA256)
	}
	order := printed(t, leader3, "/api/v1/findings/"+nc02+"/order.pdf", "order")
	order.MustHave(t, "责令改正通知书", ordered.Order.Number, cafe.Name, "七日内在入口处显著位置设置未成年人禁入标志", "第二十一条", "Liu Yang", "JX-0300")

	// The re-check, from the task the order left: NC02 passes, signed.
	syncDevice(t, dev3)
	re := signedInspection(t, dev3, cafe.ID, mobilesync.StartOptions{CoInspectors: []string{"inspector6"}, RecheckOf: nc02},
		map[string]string{"NC02": "入口处已设置未成年人禁入标志"}, 60)
	syncDevice(t, dev3)
	e.Open("/inspections/" + re)
	waitThumbnails(t, e, 1)
	e.Submit("form[action$='/review']:not(.return)", nil)
	e.Open("/findings/" + nc02)
	wantIn(t, "the re-checked finding", e.Text("main"), "复查合格")
	recheck := printed(t, leader3, "/api/v1/findings/"+nc02+"/recheck.pdf", "recheck")
	recheck.MustHave(t, "入口处已设置未成年人禁入标志", ordered.Order.Number)
	e.Submit("form[action$='/close']", map[string]string{"textarea[name=note]": "复查时标志已设置，照片为证"})
	wantIn(t, "the closed finding", e.Text("main"), "已销号")

	// The leader records the handling and the reply, and closes it.
	e.Open("/complaints/" + complaintID)
	complaintAct(t, e, "handle", map[string]string{"textarea[name=text]": "经查属实，已责令整改，复查合格"})
	complaintAct(t, e, "answer", map[string]string{"textarea[name=text]": "您反映的问题经查属实，已责令该网吧整改并复查合格。感谢监督。"})
	complaintAct(t, e, "close", nil)
	text = e.Text("main")
	wantIn(t, "the closed complaint", text, "已办结")
	shot(t, e, "complaint-closed")

	// Every step, oldest first, in the complaint's audit trail.
	var entries []schema.AuditEntry
	if err := leader3.Do("GET", "/api/v1/audit?entity=complaint&id="+complaintID, nil, &entries); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for i := len(entries) - 1; i >= 0; i-- {
		steps = append(steps, entries[i].Action)
	}
	want := []string{"complaint_received", "complaint_accepted", "complaint_investigating", "complaint_handled", "complaint_answered", "complaint_closed"}
	if !slices.Equal(steps, want) {
		t.Fatalf("the complaint's audit trail %q; want %q", steps, want)
	}
	if err := leader3.Do("GET", "/api/v1/audit?entity=inspection&id="+in, nil, &entries); err != nil ||
		!slices.ContainsFunc(entries, func(x schema.AuditEntry) bool { return x.Action == "record_signed" }) {
		t.Fatalf("the investigation's audit trail %+v, %v; want record_signed", entries, err)
	}
	if err := leader3.Do("GET", "/api/v1/audit?entity=finding&id="+nc02, nil, &entries); err != nil || len(entries) != 4 {
		t.Fatalf("the finding's audit trail %+v, %v; want created, ordered, rechecked, closed", entries, err)
	}
	var n int
	if err := e.Server.Server().Store().ScanAudit(ctx, 0, func(schema.AuditEntry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := runBin(t, patrold, "audit", "verify", "--data", e.DataDir); got != fmt.Sprintf("ok %d entries\n", n) {
		t.Fatalf("patrold audit verify: %q; want ok %d entries", got, n)
	}

	// The contact reached no device, in anything it stored.
	for _, p := range []string{dev3Path, dev1Path, dev2Path} {
		for _, f := range []string{p, p + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("13805391234")) {
				t.Fatalf("%s holds the complainant's phone number", f)
			}
		}
	}
	if ds := e.Dialogs(); len(ds) != 0 {
		t.Fatalf("JavaScript dialogs opened: %q", ds)
	}
}

// complaintIDNumber is the complaint's number, as the leader reads it.
func complaintIDNumber(t *testing.T, c *servertest.Client, id string) string {
	t.Helper()
	var got schema.Complaint
	if err := c.Do("GET", schema.PathComplaints+"/"+id, nil, &got); err != nil {
		t.Fatal(err)
	}
	return got.Number
}

// printed fetches a PDF and reads it as poppler does (page images saved
// among the artifacts).
func printed(t *testing.T, c *servertest.Client, path, name string) pdftest.Page {
	t.Helper()
	st, h, body := c.Get(path)
	if st != http.StatusOK || h.Get("Content-Type") != "application/pdf" {
		t.Fatalf("GET %s: HTTP %d %s\n%.500s", path, st, h.Get("Content-Type"), body)
	}
	pg := pdftest.Render(t, name, body)
	pg.MustHave(t, h.Get("X-Document-Hash"))
	return pg
}

// intake takes a complaint in through the workbench's form about a known
// venue, over the 12345 line, with a reply wanted, and returns its id
// from the page it leads to.
func intake(t *testing.T, e *webtest.Env, venue, contact, content string) string {
	t.Helper()
	e.Do(chromedp.SetValue(chromedp.CSS("form.intake select[name=channel]"), schema.Channel12345),
		chromedp.SetValue(chromedp.CSS("form.intake select[name=category]"), schema.CategoryCafe),
		chromedp.SetValue(chromedp.CSS("form.intake select[name=venue]"), venue),
		chromedp.Click(chromedp.CSS("form.intake input[name=reply_wanted]")))
	e.Submit("form.intake", map[string]string{"input[name=contact]": contact, "textarea[name=content]": content})
	loc := e.Location()
	id, ok := strings.CutPrefix(loc, e.URL+"/complaints/")
	if !ok || schema.ValidUUID(id) != nil {
		t.Fatalf("after the intake at %s:\n%.2000s", loc, e.Text("main"))
	}
	return id
}

// complaintAct submits the complaint page's form of an action.
func complaintAct(t *testing.T, e *webtest.Env, action string, fields map[string]string) {
	t.Helper()
	e.Submit("#form-"+action, fields)
	if st := e.Status(); st != http.StatusOK {
		t.Fatalf("%s the complaint: HTTP %d\n%.2000s", action, st, e.Text("body"))
	}
}

// TestHotline_RefusedRecordPrinted: the manager refuses to sign; the
// record the server holds carries the reason and the witness, the
// inspection page shows them, and the printed record says so.
func TestHotline_RefusedRecordPrinted(t *testing.T) {
	pdftest.Require(t)
	pdftest.Font(t)
	ctx := context.Background()
	e := webtest.Start(t, servertest.Options{})
	dev, _ := fieldDevice(t, e, "inspector1")
	syncDevice(t, dev)
	id, err := dev.StartInspection(ctx, starNetCafe, "inspector2")
	if err != nil {
		t.Fatal(err)
	}
	answerAll(t, dev, id)
	if err := dev.SetItem(ctx, id, "NC06", schema.ResultFail, "凌晨 1:10 仍在营业，场内 23 人上网"); err != nil {
		t.Fatal(err)
	}
	if err := dev.AttachPhotoFiles(ctx, id, "NC06", photoFile(t, 77)); err != nil {
		t.Fatal(err)
	}
	if err := dev.SetRecord(ctx, id, mobilesync.RecordInput{
		Party:    schema.Party{Name: "钱某", Role: "网管", IDType: schema.IDTypeResident, IDLast: "0417"},
		IDsShown: true,
	}); err != nil {
		t.Fatal(err)
	}
	const reason = "当事人称老板不在，拒绝在笔录上签字"
	witness := schema.Witness{Name: "孙丽", Relation: "社区网格员"}
	if err := dev.RefuseRecord(ctx, id, reason, witness); err != nil {
		t.Fatal(err)
	}
	if err := dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	syncDevice(t, dev)

	leader := e.Server.Login("leader1")
	got, err := leader.Inspection(id)
	if err != nil || got.Record == nil || got.Record.Signing == nil || got.Record.Signing.Refused == nil ||
		got.Record.Signing.Refused.Reason != reason || got.Record.Signing.Refused.Witness.Name != witness.Name {
		t.Fatalf("the refused record on the server: %+v, %v", got.Record, err)
	}
	e.Login("leader1")
	e.Open("/inspections/" + id)
	text := e.Text("main")
	for _, want := range []string{reason, "孙丽", "社区网格员"} {
		wantIn(t, "the inspection page of the refused record", text, want)
	}
	shot(t, e, "refused-record")
	pg := printed(t, leader, "/api/v1/inspections/"+id+"/record.pdf", "refused-record")
	pg.MustHave(t, "当事人拒绝签名", reason, "孙丽", "社区网格员", got.Record.Number, got.Record.Signing.Hash, "钱某")
	if pg.Has("当事人签名确认") {
		t.Error("the printed refused record says the party signed")
	}
}
