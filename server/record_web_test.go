package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// recordOf gives in an on-site record whose party and witness typed
// hostile text, refused by the party before the witness.
func (d *device) recordOf(t *testing.T, in *schema.Inspection) {
	t.Helper()
	for i := range in.Inspectors {
		u, err := d.e.srv.Store().UserByUsername(context.Background(), in.Inspectors[i].Username)
		if err != nil {
			t.Fatal(err)
		}
		in.Inspectors[i].Name, in.Inspectors[i].BadgeNo = u.DisplayName, u.BadgeNo
	}
	in.Record = &schema.OnSiteRecord{Number: schema.RecordNumber(in.StartedAt, in.Inspectors[0].BadgeNo, 9001), VenueName: "星空网吧", Address: "人民路1号",
		Party: schema.Party{Name: `<img src=x onerror=alert(1)>`, Role: "店长", IDType: schema.IDTypePassport, IDLast: "9X"}, IDsShown: true,
		Remarks: "吧台\u202e登记簿"}
	schema.SealRecord(in, schema.Signing{At: in.FinishedAt.Add(time.Minute),
		Refused: &schema.SignRefusal{Reason: `<script>alert("r")</script>`, Witness: schema.Witness{Name: "李娜", Relation: "社区网格员"}}})
}

// TestRecord_PushAndWorkbench: through the API a push that changes a
// sealed original is refused (sealed) and an amendment is taken; the
// inspection page shows the record, the refusal with its witness and the
// amendment, with everything the device wrote escaped.
func TestRecord_PushAndWorkbench(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	venue := e.venues(1)[0]
	in := d.inspection(venue.ID)
	d.recordOf(t, in)
	if res := d.push(d.upsert(in)); res[0].Outcome != schema.OutcomeApplied {
		t.Fatalf("push: %+v", res[0])
	}
	forged := *in
	forged.Items = append([]schema.ItemResult(nil), in.Items...)
	forged.Items[2].Result, forged.Items[2].Note = schema.ResultFail, "后来加的"
	rec := *in.Record
	forged.Record = &rec
	schema.SealRecord(&forged, *in.Record.Signing)
	if res := d.push(d.upsert(&forged)); res[0].Outcome != schema.OutcomeRejected || res[0].Code != schema.CodeSealed {
		t.Fatalf("forged original: %+v", res[0])
	}
	a := schema.OpenAmendment(in, in.FinishedAt.Add(time.Hour))
	before := in.Items[2]
	in.Items[2].Result, in.Items[2].Note = schema.ResultFail, "<b>补记</b>"
	a.ChangeItem(before, in.Items[2])
	a.Reason = "漏记"
	schema.SealAmendment(a, schema.Signing{At: a.At, Signature: &schema.PhotoRef{SHA256: strings.Repeat("ab", 32), Size: 77, MediaType: "image/png",
		CapturedAt: a.At, DeviceID: d.id}})
	if res := d.push(d.upsert(in)); res[0].Outcome != schema.OutcomeApplied {
		t.Fatalf("amendment: %+v", res[0])
	}

	b := e.browser("leader1")
	st, page := b.get("/inspections/" + in.ID)
	if st != http.StatusOK {
		t.Fatalf("GET inspection: %d", st)
	}
	for _, want := range []string{"现场检查笔录", in.Record.Number, "&lt;img src=x onerror=alert(1)&gt;", "护照", "尾号 9X", "已出示",
		"当事人拒绝签字", "&lt;script&gt;alert(&#34;r&#34;)&lt;/script&gt;", "李娜", "社区网格员", "第 1 次补正", "漏记", "&lt;b&gt;补记&lt;/b&gt;",
		"签名图像尚未收到", strings.Repeat("ab", 32), in.Record.Signing.Hash, "[U&#43;202E]", "笔录补正", "当事人拒签"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<img src=x") || strings.Contains(page, `<script>alert("r")`) || strings.Contains(page, "<b>补记") {
		t.Error("device text reached the page unescaped")
	}
	if t.Failed() {
		i := strings.Index(page, "现场检查笔录")
		t.Logf("page from the record:\n%.4000s", page[max(i, 0):])
	}
}
