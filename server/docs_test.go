package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/docs"
	"github.com/patrolhq/patrol/server/docs/pdftest"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// wantPDFAnswer checks a PDF answer's headers and returns the document's
// text and pages as poppler reads them.
func wantPDFAnswer(t *testing.T, r response, name, number string) pdftest.Page {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("%s: status %d (%s)", name, r.status, r.err.Message)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
	disp, params, err := mime.ParseMediaType(r.header.Get("Content-Disposition"))
	if err != nil || disp != "inline" || params["filename"] != number+".pdf" {
		t.Errorf("%s: Content-Disposition %q (%v): want inline, named %s.pdf", name, r.header.Get("Content-Disposition"), err, number)
	}
	if !bytes.HasPrefix(r.body, []byte("%PDF-")) {
		t.Fatalf("%s: body is not a PDF: %q", name, truncate(r.body))
	}
	pg := pdftest.Render(t, name, r.body)
	pg.MustHave(t, number, r.header.Get("X-Document-Hash"))
	return pg
}

// TestDocs_OrderAndRecheckPDF follows a finding from the failed item to
// the order to correct and its re-check, printing each over HTTP.
func TestDocs_OrderAndRecheckPDF(t *testing.T) {
	pdftest.Require(t)
	pdftest.Font(t)
	blobs, err := storage.NewLocal(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *server.Config) { c.Blobs = blobs })
	d := e.enroll("inspector1")
	leader := e.login("leader1")
	v := e.quietVenue(leader)
	in := d.inspection(v.ID)
	in.Items[3].Result, in.Items[3].Note = schema.ResultFail, "12 号机位上网人员与登记身份证不符。"
	d.push(d.upsert(in))
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	var page store.FindingPage
	leader.must(200, "GET", schema.PathFindings+"?"+url.Values{"venue": {v.ID}, "status": {"open"}}.Encode(), nil, &page)
	if len(page.Findings) != 1 {
		t.Fatalf("findings %+v", page.Findings)
	}
	fp := schema.PathFindings + "/" + page.Findings[0].ID

	// Before the order there is nothing to print.
	if r := leader.call("GET", fp+"/order.pdf", nil, nil); r.status != 404 || !strings.Contains(r.err.Message, "has no order to correct") {
		t.Fatalf("order.pdf before the order: %d %q", r.status, r.err.Message)
	}
	var f schema.Finding
	leader.must(200, "POST", fp+"/order", server.OrderRequest{Deadline: "2026-03-16", Action: "落实实名登记，人证核对一致后方可上机。"}, &f)
	pg := wantPDFAnswer(t, leader.call("GET", fp+"/order.pdf", nil, nil), "order", f.Order.Number)
	pg.MustHave(t, "责令改正通知书", v.Name, "实名登记（NC04）", "12号机位上网人员与登记身份证不符。", "落实实名登记，人证核对一致后方可上机。",
		"2026年03月16日前", "第1中队")
	if r := e.login("admin").call("GET", fp+"/order.pdf", nil, nil); r.status != 200 {
		t.Errorf("admin prints the order: %d", r.status)
	}
	if r := leader.call("GET", fp+"/recheck.pdf", nil, nil); r.status != 404 || !strings.Contains(r.err.Message, "has not been re-checked") {
		t.Fatalf("recheck.pdf before the re-check: %d %q", r.status, r.err.Message)
	}

	// The re-check: two photos, of which storage has received one.
	e.clock.Advance(7 * 24 * time.Hour)
	leader = e.login("leader1")
	fix := d.inspection(v.ID)
	fix.RecheckOf = f.ID
	have, lack := []byte("entrance photo bytes"), []byte("hall photo bytes")
	hash := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	fix.Items[3].Note = "复查时人证一致。"
	fix.Items[3].Photos = []schema.PhotoRef{
		{SHA256: hash(have), Size: int64(len(have)), MediaType: "image/jpeg", CapturedAt: fix.StartedAt, DeviceID: d.id},
		{SHA256: hash(lack), Size: int64(len(lack)), MediaType: "image/jpeg", CapturedAt: fix.StartedAt.Add(time.Minute), DeviceID: d.id},
	}
	if r := d.push(d.upsert(fix))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("re-check push: %+v", r)
	}
	if err := blobs.Put(context.Background(), hash(have), bytes.NewReader(have), int64(len(have)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	leader.must(200, "POST", reviewPath(fix.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	pg = wantPDFAnswer(t, leader.call("GET", fp+"/recheck.pdf", nil, nil), "recheck", docs.RecheckNumber(f))
	pg.MustHave(t, "复查记录", f.Order.Number, "复查时人证一致。", "复查合格", hash(have), hash(lack))
	// What the paper says storage holds is what storage holds.
	if strings.Count(pg.Text, "已存储") != 1 || strings.Count(pg.Text, "未存储") != 1 {
		t.Errorf("the re-check record prints %d stored and %d missing photos; want one of each", strings.Count(pg.Text, "已存储"), strings.Count(pg.Text, "未存储"))
	}
	if pg.StorageOf(hash(have)) != "已存储" || pg.StorageOf(hash(lack)) != "未存储" {
		t.Errorf("photo storage printed as %q and %q; want 已存储 and 未存储", pg.StorageOf(hash(have)), pg.StorageOf(hash(lack)))
	}

	// The inspection itself has no on-site record (the store keeps none yet).
	if r := leader.call("GET", schema.PathInspections+"/"+in.ID+"/record.pdf", nil, nil); r.status != 404 || !strings.Contains(r.err.Message, "has no on-site record") {
		t.Errorf("record.pdf of an inspection without a record: %d %q", r.status, r.err.Message)
	}
	// The workbench links go to the same routes under the session cookie.
	if r := leader.call("GET", fp+"/order.pdf", nil, nil); r.status != 200 {
		t.Errorf("reprint: %d", r.status)
	}
}

// TestDocs_NoFont: without a font the documents are unavailable, and the
// answer says what to install; everything else works.
func TestDocs_NoFont(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) { c.PDFFont = filepath.Join(t.TempDir(), "missing.ttf") })
	d := e.enroll("inspector1")
	leader := e.login("leader1")
	v := e.quietVenue(leader)
	in := d.inspection(v.ID)
	in.Items[0].Result = schema.ResultFail
	d.push(d.upsert(in))
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	var page store.FindingPage
	leader.must(200, "GET", schema.PathFindings+"?venue="+v.ID, nil, &page)
	fp := schema.PathFindings + "/" + page.Findings[0].ID
	leader.must(200, "POST", fp+"/order", server.OrderRequest{Deadline: "2026-03-16", Action: "亮证"}, nil)
	r := leader.call("GET", fp+"/order.pdf", nil, nil)
	if r.status != 503 || r.err.Code != schema.CodeUnavailable || !strings.Contains(r.err.Message, docs.FontPackage) || !strings.Contains(r.err.Message, "PATROL_PDF_FONT") {
		t.Fatalf("order.pdf without a font: %d %s %q", r.status, r.err.Code, r.err.Message)
	}
	// Authorization is decided before the font is looked for.
	if r := e.login("leader2").call("GET", fp+"/order.pdf", nil, nil); r.status != 404 {
		t.Errorf("another squad's leader without a font: %d", r.status)
	}
}
