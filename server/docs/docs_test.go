package docs_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/docs"
	"github.com/patrolhq/patrol/server/docs/pdftest"
)

var (
	shanghai = time.FixedZone("CST", 8*3600)
	start    = time.Date(2026, 3, 2, 9, 5, 0, 0, shanghai)
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// signatureImage is a scrawl on a transparent background, as a signing pad
// on a device saves it.
func signatureImage(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 360, 120))
	for x := 10; x < 350; x++ {
		y := 60 + int(35*float64((x%90)-45)/45*float64((x/90)%2*2-1))
		for dy := -2; dy <= 2; dy++ {
			img.Set(x, y+dy, color.NRGBA{0, 0, 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func photo(name string, min int) schema.PhotoRef {
	return schema.PhotoRef{SHA256: sha(name), Size: 1000, MediaType: "image/jpeg", CapturedAt: start.Add(time.Duration(min) * time.Minute), DeviceID: "dev-1"}
}

// inspection is an inspection of the default checklist with every item
// answered, two failed with notes and photos.
func inspection(t testing.TB) schema.Inspection {
	t.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	end := start.Add(45 * time.Minute)
	in := schema.Inspection{ID: "0190a6b2-7c1d-7abc-8def-0123456789a1", VenueID: "0190a6b2-7c1d-7abc-8def-0123456789a2", SquadID: 1,
		Status: schema.StatusSubmitted, ChecklistVersion: cl.Version, StartedAt: start, FinishedAt: &end,
		Inspectors: []schema.Inspector{{Username: "inspector1", Name: "王建国", BadgeNo: "37010001"}, {Username: "inspector2", Name: "李红梅", BadgeNo: "37010002"}}}
	for i, it := range cl.Items {
		r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
		switch i {
		case 0:
			r.Photos = []schema.PhotoRef{photo("licence", 3)}
		case 2:
			r.Result = schema.ResultFail
			r.Note = "现场发现两名疑似未成年人在 23 号、24 号机位上网，经询问分别为 15 岁、16 岁，未能出示身份证件。"
			r.Photos = []schema.PhotoRef{photo("minor-1", 10), photo("minor-2", 11)}
		case 3:
			r.Result = schema.ResultFail
			r.Note = "12 号机位上网人员与登记身份证不符。"
			r.Photos = []schema.PhotoRef{photo("seat-12", 14)}
		case 15:
			r.Result = schema.ResultNA
		}
		in.Items = append(in.Items, r)
	}
	return in
}

func signedRecord(t testing.TB) docs.Record {
	in := inspection(t)
	sig := signatureImage(t)
	sigRef := &schema.PhotoRef{SHA256: sha(string(sig)), MediaType: "image/png", CapturedAt: start.Add(44 * time.Minute)}
	in.Record = &schema.OnSiteRecord{Number: "现检〔2026〕37010001-7号", VenueName: "星空网咖（解放路店）", Address: "历下区解放路 123 号二楼",
		LicenceNo: "37010210001", IDsShown: true,
		Party:   schema.Party{Name: "张伟", Role: "店长", IDType: schema.IDTypeResident, IDLast: "123X"},
		Remarks: "检查时场所内上网人员约 40 人，消防通道畅通。",
		Signing: &schema.Signing{At: start.Add(44 * time.Minute), Hash: sha("record"), Signature: sigRef},
	}
	before := in.Items[3]
	after := before
	after.Note = "12 号机位上网人员与登记身份证不符（经核实为其兄长身份证）。"
	in.Items[3] = after
	in.Record.Amendments = []schema.Amendment{{N: 1, At: start.Add(2 * time.Hour), Reason: "补充核实情况", Prev: sha("record"), Hash: sha("amend-1"),
		Changes: []schema.ItemChange{{ItemID: before.ItemID, Before: before, After: after}},
		Signing: &schema.Signing{At: start.Add(2 * time.Hour), Hash: sha("amend-1"), Signature: sigRef}}}
	stored := map[string]bool{sigRef.SHA256: true}
	for _, it := range in.Items {
		for _, p := range it.Photos {
			stored[p.SHA256] = true
		}
	}
	delete(stored, sha("seat-12")) // one photo has not arrived
	return docs.Record{Inspection: in, Stored: stored, Images: map[string][]byte{sigRef.SHA256: sig}, Zone: shanghai}
}

func refusedRecord(t testing.TB) docs.Record {
	in := inspection(t)
	in.Record = &schema.OnSiteRecord{Number: "现检〔2026〕37010002-3号", VenueName: "极速网吧", Address: "槐荫区经十路 88 号",
		LicenceNo: "37010410023", IDsShown: true,
		Party: schema.Party{Name: "赵强", Role: "网管", IDType: schema.IDTypeResident, IDLast: "4417"},
		Signing: &schema.Signing{At: start.Add(46 * time.Minute), Hash: sha("refused"),
			Refused: &schema.SignRefusal{Reason: "称需请示老板，拒绝在笔录上签名", Witness: schema.Witness{Name: "孙丽", Relation: "社区网格员", IDLast: "0021"}}},
	}
	return docs.Record{Inspection: in, Stored: map[string]bool{}, Zone: shanghai}
}

func photoHashes(in schema.Inspection) []string {
	var out []string
	for _, it := range in.Items {
		for _, p := range it.Photos {
			out = append(out, p.SHA256)
		}
	}
	return out
}

func TestRecordPDF_Signed(t *testing.T) {
	f := pdftest.Font(t)
	r := signedRecord(t)
	d, err := docs.RecordPDF(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if d.Hash != sha("amend-1") || d.Number != r.Inspection.Record.Number {
		t.Fatalf("document %q hash %s; want the latest amendment's", d.Number, d.Hash)
	}
	pg := pdftest.Render(t, "record-signed", d.PDF)
	pg.MustHave(t, "现场检查笔录", r.Inspection.Record.Number, "星空网咖（解放路店）", "历下区解放路123号二楼", "37010210001",
		"张伟（店长）；居民身份证，尾号123X", "王建国（执法证号37010001）", "李红梅（执法证号37010002）", "已出示执法证件",
		"亮证经营（NC01）", "不接纳未成年人（NC03）", "【不合格】", "经询问分别为15岁、16岁", "消防通道畅通",
		"第1次补正", "补充核实情况", "经核实为其兄长身份证", sha("record"), sha("amend-1"), "未存储", "已存储")
	// The printed photo list is what storage holds, photo by photo.
	for _, h := range photoHashes(r.Inspection) {
		want := map[bool]string{true: "已存储", false: "未存储"}[r.Stored[h]]
		if got := pg.StorageOf(h); got != want {
			t.Errorf("photo %s printed as %q; storage says %s", h, got, want)
		}
	}
	// The printed list says of each photo what storage holds: the one
	// missing photo is the one line marked 未存储 among the photos.
	if n := strings.Count(pg.Text, "未存储"); n != 1 {
		t.Errorf("未存储 printed %d times; want once (seat-12)", n)
	}
	if got := strings.Count(pg.Text, "已存储"); got != 3+2 { // 3 photos + the signature image twice
		t.Errorf("已存储 printed %d times; want 5", got)
	}
	if len(pg.PNGs) < 2 {
		t.Errorf("the record is %d page(s); the footer's page x/y is then untested", len(pg.PNGs))
	}
	pg.MustHave(t, fmt.Sprintf("第1页/共%d页", len(pg.PNGs)), fmt.Sprintf("第%d页/共%d页", len(pg.PNGs), len(pg.PNGs)))
}

func TestRecordPDF_Refused(t *testing.T) {
	f := pdftest.Font(t)
	r := refusedRecord(t)
	d, err := docs.RecordPDF(f, r)
	if err != nil {
		t.Fatal(err)
	}
	pg := pdftest.Render(t, "record-refused", d.PDF)
	pg.MustHave(t, r.Inspection.Record.Number, "当事人拒绝签名", "称需请示老板，拒绝在笔录上签名", "孙丽（社区网格员），证件尾号0021", sha("refused"), "无补正")
	if strings.Contains(pg.Text, "已存储") {
		t.Error("storage holds nothing, yet a photo is printed as stored")
	}
}

func TestRecordPDF_NoRecord(t *testing.T) {
	f := pdftest.Font(t)
	_, err := docs.RecordPDF(f, docs.Record{Inspection: inspection(t)})
	if schema.ErrorCode(err) != schema.CodeNotFound || !strings.Contains(err.Error(), "has no on-site record") {
		t.Fatalf("RecordPDF of an inspection without a record: %v", err)
	}
}

func order(t testing.TB) docs.Order {
	deadline := time.Date(2026, 3, 17, 23, 59, 59, 0, shanghai)
	f := schema.Finding{ID: "0190a6b2-7c1d-7abc-8def-0123456789b1", ItemID: "NC03", TitleZH: "不接纳未成年人", Status: schema.FindingOrdered,
		Note: "现场发现两名未成年人上网。", OpenedAt: start.Add(3 * time.Hour), Deadline: &deadline,
		Order: &schema.Order{Number: "责改〔2026〕12号", Deadline: deadline, Action: "立即清退未成年人，在入口处落实身份证件查验，并对网管进行培训。",
			LegalBasis: "art. 21; art. 31(2)", OrderedBy: "leader1", OrderedAt: start.Add(4 * time.Hour)}}
	v := schema.Venue{ID: "0190a6b2-7c1d-7abc-8def-0123456789a2", Kind: schema.KindNetCafe, Name: "星空网咖（解放路店）", Address: "历下区解放路 123 号二楼",
		LicenceNo: "37010210001", Licensed: true}
	return docs.Order{Finding: f, Venue: v, InspectedAt: start, Squad: "第1中队", Zone: shanghai}
}

func TestOrderPDF(t *testing.T) {
	f := pdftest.Font(t)
	o := order(t)
	d, err := docs.OrderPDF(f, o)
	if err != nil {
		t.Fatal(err)
	}
	if d.Hash != docs.OrderHash(o) || d.Number != "责改〔2026〕12号" {
		t.Fatalf("document %q %s", d.Number, d.Hash)
	}
	pg := pdftest.Render(t, "order", d.PDF)
	pg.MustHave(t, "责令改正通知书", "责改〔2026〕12号", "星空网咖（解放路店）：", "37010210001", "不接纳未成年人（NC03）",
		"现场发现两名未成年人上网。", "《互联网上网服务营业场所管理条例》第21条；第31条第（2）项", "2026年03月17日前",
		"立即清退未成年人", "第1中队", "2026年03月02日", d.Hash)
	// Any printed word changes the hash.
	o2 := o
	o2.Finding.Order = &schema.Order{}
	*o2.Finding.Order = *o.Finding.Order
	o2.Finding.Order.Action += "。"
	if docs.OrderHash(o2) == d.Hash {
		t.Error("changing the required action left the order's hash as it was")
	}
	o.Finding.Order = nil
	if _, err := docs.OrderPDF(f, o); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Errorf("an order PDF of a finding without an order: %v", err)
	}
}

func TestRecheckPDF(t *testing.T) {
	f := pdftest.Font(t)
	o := order(t)
	re := inspection(t)
	re.ID = "0190a6b2-7c1d-7abc-8def-0123456789c1"
	re.StartedAt = start.AddDate(0, 0, 14)
	end := re.StartedAt.Add(20 * time.Minute)
	re.FinishedAt = &end
	re.Items[2] = schema.ItemResult{ItemID: "NC03", Result: schema.ResultPass, Note: "复查时场所内未发现未成年人，入口已设专人查验证件。",
		Photos: []schema.PhotoRef{photo("recheck-entrance", 20160+5), photo("recheck-hall", 20160+8)}}
	o.Finding.Status, o.Finding.RecheckInspectionID = schema.FindingRechecked, re.ID
	r := docs.Recheck{Finding: o.Finding, Venue: o.Venue, Inspection: re, Squad: "第1中队", Zone: shanghai,
		Stored: map[string]bool{sha("recheck-entrance"): true, sha("recheck-hall"): true}}
	d, err := docs.RecheckPDF(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if d.Number != "复查〔2026〕12号" || d.Hash != docs.RecheckHash(r) {
		t.Fatalf("document %q %s", d.Number, d.Hash)
	}
	pg := pdftest.Render(t, "recheck", d.PDF)
	pg.MustHave(t, "复查记录", "复查〔2026〕12号", "责改〔2026〕12号", "不接纳未成年人（NC03）", "现场发现两名未成年人上网。",
		"入口已设专人查验证件", "复查合格", sha("recheck-entrance"), sha("recheck-hall"), "已存储", d.Hash)
	if strings.Contains(pg.Text, "未存储") {
		t.Error("both photos are stored, yet one is printed as missing")
	}
	if _, err := docs.RecheckPDF(f, docs.Recheck{Finding: o.Finding}); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Errorf("a re-check PDF without a re-check: %v", err)
	}
}

// TestRecordPDF_Deterministic: the same record renders the same bytes, so
// a reprint can be compared with the first print.
func TestRecordPDF_Deterministic(t *testing.T) {
	f := pdftest.Font(t)
	a, err := docs.RecordPDF(f, signedRecord(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := docs.RecordPDF(f, signedRecord(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.PDF, b.PDF) {
		t.Error("two renderings of one record differ")
	}
}

func BenchmarkRecordPDF(b *testing.B) {
	f := pdftest.Font(b)
	r := signedRecord(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := docs.RecordPDF(f, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/PDF")
}

func BenchmarkOrderPDF(b *testing.B) {
	f := pdftest.Font(b)
	o := order(b)
	for b.Loop() {
		if _, err := docs.OrderPDF(f, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/PDF")
}
