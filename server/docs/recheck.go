package docs

import (
	"fmt"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Recheck is what a re-check record (复查记录) prints: the finding and its
// order, the re-check inspection, and whether storage holds its photos.
type Recheck struct {
	Finding schema.Finding
	Venue   schema.Venue
	// Inspection is the inspection that re-checked the finding.
	Inspection schema.Inspection
	// Stored says, by SHA-256, whether the blob store holds a photo.
	Stored map[string]bool
	Squad  string
	Zone   *time.Location
}

// RecheckNumber is a re-check record's number: 复查〔YYYY〕N号 after the
// order it follows (责改〔YYYY〕N号), or one derived from the finding id
// when there was no order.
func RecheckNumber(f schema.Finding) string {
	if f.Order != nil {
		if y, n, ok := schema.ParseOrderNumber(f.Order.Number); ok {
			return fmt.Sprintf("复查〔%d〕%d号", y, n)
		}
	}
	return "复查-" + short(f.ID)
}

type recheckPhoto struct {
	SHA256     string `json:"sha256"`
	CapturedAt string `json:"captured_at"`
	Stored     bool   `json:"stored"`
}

// recheckPrint is what a re-check record prints, the input of its hash.
type recheckPrint struct {
	Doc          string         `json:"doc"`
	Number       string         `json:"number"`
	FindingID    string         `json:"finding_id"`
	Order        string         `json:"order"`
	Venue        string         `json:"venue"`
	Address      string         `json:"address"`
	LicenceNo    string         `json:"licence_no"`
	Title        string         `json:"title"`
	Facts        string         `json:"facts"`
	Deadline     string         `json:"deadline"`
	Action       string         `json:"action"`
	InspectionID string         `json:"inspection_id"`
	Time         string         `json:"time"`
	Inspectors   string         `json:"inspectors"`
	Result       string         `json:"result"`
	Note         string         `json:"note"`
	Photos       []recheckPhoto `json:"photos"`
	Conclusion   string         `json:"conclusion"`
	Squad        string         `json:"squad"`
}

// answer is the re-check inspection's answer for the finding's item.
func (r Recheck) answer() (schema.ItemResult, bool) {
	for _, it := range r.Inspection.Items {
		if it.ItemID == r.Finding.ItemID {
			return it, true
		}
	}
	return schema.ItemResult{ItemID: r.Finding.ItemID}, false
}

func (r Recheck) print() recheckPrint {
	f := r.Finding
	zone := zoneOr(r.Zone)
	it, ok := r.answer()
	pr := recheckPrint{Doc: "recheck/1", Number: RecheckNumber(f), FindingID: f.ID, Venue: r.Venue.Name, Address: r.Venue.Address,
		LicenceNo: licence(r.Venue), Title: itemTitle(f), Facts: f.Note, InspectionID: r.Inspection.ID,
		Time: span(r.Inspection.StartedAt, r.Inspection.FinishedAt, zone), Inspectors: inspectors(r.Inspection.Inspectors),
		Result: resultZH(it.Result), Note: it.Note, Squad: r.Squad, Photos: []recheckPhoto{}}
	if f.Order != nil {
		pr.Order, pr.Deadline, pr.Action = f.Order.Number, date(f.Order.Deadline, zone), f.Order.Action
	}
	if !ok {
		pr.Result = "复查检查未回答此项"
	}
	for _, ph := range it.Photos {
		pr.Photos = append(pr.Photos, recheckPhoto{SHA256: ph.SHA256, CapturedAt: clock(ph.CapturedAt, zone), Stored: r.Stored[ph.SHA256]})
	}
	switch {
	case it.Result == schema.ResultPass && len(it.Photos) > 0:
		pr.Conclusion = "复查合格：该项已改正，有现场照片为证。"
	case it.Result == schema.ResultPass:
		pr.Conclusion = "复查时该项合格，但未拍摄照片，不能作为整改到位的证明。"
	case it.Result == schema.ResultFail:
		pr.Conclusion = "复查不合格：该项仍未改正。"
	default:
		pr.Conclusion = "复查未得出结论。"
	}
	if f.ClosedAt != nil {
		pr.Conclusion += fmt.Sprintf("该问题已于%s销号。", date(*f.ClosedAt, zone))
	}
	return pr
}

// RecheckHash is the SHA-256 a re-check record's PDF prints: of the
// record as printed, photo hashes and their storage included.
func RecheckHash(r Recheck) string { return hashOf(r.print()) }

// RecheckPDF renders the re-check record of r.Finding by r.Inspection.
func RecheckPDF(f *Font, r Recheck) (Document, error) {
	if r.Inspection.ID == "" {
		return Document{}, schema.Errorf(schema.CodeNotFound, "finding %s has not been re-checked", r.Finding.ID)
	}
	pr := r.print()
	hash := hashOf(pr)
	zone := zoneOr(r.Zone)
	return render(f, "复查记录", pr.Number, hash, r.Inspection.StartedAt, func(d *doc) {
		d.title("复查记录", "编号："+d.number)

		d.heading("一、被检查场所")
		d.fact("场所名称", pr.Venue)
		d.fact("场所地址", pr.Address)
		d.fact("许可证号", pr.LicenceNo)

		d.heading("二、原发现问题及责令改正")
		d.fact("检查项目", pr.Title)
		d.factClean("发现时间", clock(r.Finding.OpenedAt, zone))
		d.factText("违法事实", pr.Facts)
		if r.Finding.Order != nil {
			d.fact("通知书编号", pr.Order)
			d.factClean("改正期限", pr.Deadline+"前")
			d.factText("改正要求", pr.Action)
		} else {
			d.factClean("责令改正", "未下达责令改正通知书。")
		}

		d.heading("三、复查情况")
		d.factClean("复查时间", d.font.clean(pr.Time, false))
		d.fact("复查人员", pr.Inspectors)
		d.factClean("复查结果", pr.Result)
		d.factText("复查情况", pr.Note)
		it, _ := r.answer()
		if len(it.Photos) == 0 {
			d.factClean("现场照片", "无")
		} else {
			d.factClean("现场照片", fmt.Sprintf("%d 张，以 SHA-256 为准：", len(it.Photos)))
		}
		for i, ph := range it.Photos {
			d.photo(i+1, itemTitle(r.Finding), ph, r.Stored, zone)
		}

		d.heading("四、复查结论")
		d.para(pr.Conclusion, 0)
		day := ""
		if !r.Inspection.StartedAt.IsZero() {
			day = date(r.Inspection.StartedAt, zone)
		}
		d.signOff(pr.Squad, day, strings.TrimSpace(firstInspector(r.Inspection)))
		d.receipt()
		d.heading("复查记录哈希")
		d.hashRow("本记录（SHA-256）：", hash, 0)
	})
}

func firstInspector(in schema.Inspection) string {
	if len(in.Inspectors) == 0 {
		return ""
	}
	if in.Inspectors[0].Name != "" {
		return in.Inspectors[0].Name
	}
	return in.Inspectors[0].Username
}
