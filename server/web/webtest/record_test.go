package webtest_test

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/web/webtest"
)

// signatureFile writes a signature as a device's screen would capture it.
func signatureFile(t *testing.T) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 240, 80))
	for p := range img.Pix {
		img.Pix[p] = 255
	}
	for x := 20; x < 220; x++ {
		img.SetGray(x, 40+(x%30)-15, color.Gray{Y: 10})
	}
	p := filepath.Join(t.TempDir(), "signature.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWorkbench_OnSiteRecord: a record signed on the device and amended
// after signing is on the inspection page: its number, party, the
// signature's thumbnail, the amendment with its change and its refusal
// before a witness.
func TestWorkbench_OnSiteRecord(t *testing.T) {
	ctx := context.Background()
	e := webtest.Start(t, servertest.Options{})
	dev, _ := fieldDevice(t, e, "inspector1")
	syncDevice(t, dev)
	id, err := dev.StartInspection(ctx, servertest.SmallDistrict().Squads[0].Venues[0].ID, "inspector2")
	if err != nil {
		t.Fatal(err)
	}
	answerAll(t, dev, id)
	party := mobilesync.RecordInput{Party: schema.Party{Name: "王五<b>", Role: "店长", IDType: schema.IDTypeResident, IDLast: "123X"}, IDsShown: true}
	if err := dev.SetRecord(ctx, id, party); err != nil {
		t.Fatal(err)
	}
	if err := dev.SignRecord(ctx, id, signatureFile(t)); err != nil {
		t.Fatal(err)
	}
	if err := dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := dev.SetItem(ctx, id, "NC05", schema.ResultFail, "登记簿缺页"); err != nil {
		t.Fatal(err)
	}
	if err := dev.AmendmentReason(ctx, id, "补记登记簿情况"); err != nil {
		t.Fatal(err)
	}
	if err := dev.RefuseAmendment(ctx, id, "当事人已离开", schema.Witness{Name: "李娜", Relation: "社区网格员"}); err != nil {
		t.Fatal(err)
	}
	syncDevice(t, dev)
	in, _ := dev.Inspection(ctx, id)

	e.Login("leader1")
	e.Open("/inspections/" + id)
	text := e.Text("#record")
	for _, want := range []string{in.Record.Number, "王五<b>", "居民身份证 尾号 123X", "已出示", "第 1 次补正", "补记登记簿情况", "登记簿缺页",
		"当事人拒绝签字", "李娜", in.Record.Signing.Hash} {
		if !strings.Contains(text, want) {
			t.Errorf("the record section lacks %q:\n%s", want, text)
		}
	}
	if n := webtest.Eval[int](e, `Array.from(document.querySelectorAll("#record .signature img")).filter(i => i.complete && i.naturalWidth > 0).length`); n != 1 {
		t.Errorf("%d signature thumbnails shown; want 1", n)
	}
	shot(t, e, "inspection-onsite-record")
}
