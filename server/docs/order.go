package docs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Order is what an order to correct (责令改正通知书) prints: the finding
// with its Order, the venue, when it was inspected and who issues it.
type Order struct {
	Finding schema.Finding
	Venue   schema.Venue
	// InspectedAt is when the inspection that found it started (zero:
	// the finding's opening is printed instead).
	InspectedAt time.Time
	// Squad is the issuing squad as printed (第1中队).
	Squad string
	// Issuer is who issued the order as printed (name and badge number);
	// empty: the username the order records.
	Issuer string
	// Zone is where dates are printed; nil is Asia/Shanghai.
	Zone *time.Location
}

// orderPrint is what an order prints, the input of its hash: a change of
// any printed word changes the hash on the paper.
type orderPrint struct {
	Doc         string `json:"doc"`
	FindingID   string `json:"finding_id"`
	Number      string `json:"number"`
	Venue       string `json:"venue"`
	Address     string `json:"address"`
	LicenceNo   string `json:"licence_no"`
	ItemID      string `json:"item_id"`
	Title       string `json:"title"`
	Facts       string `json:"facts"`
	InspectedAt string `json:"inspected_at"`
	LegalBasis  string `json:"legal_basis"`
	Deadline    string `json:"deadline"`
	Action      string `json:"action"`
	Comment     string `json:"comment"`
	Squad       string `json:"squad"`
	OrderedBy   string `json:"ordered_by"`
	OrderedAt   string `json:"ordered_at"`
}

func (o Order) print() orderPrint {
	f := o.Finding
	ord := f.Order
	if ord == nil {
		ord = &schema.Order{}
	}
	zone := zoneOr(o.Zone)
	seen := o.InspectedAt
	if seen.IsZero() {
		seen = f.OpenedAt
	}
	return orderPrint{Doc: "order/1", FindingID: f.ID, Number: ord.Number, Venue: o.Venue.Name, Address: o.Venue.Address,
		LicenceNo: licence(o.Venue), ItemID: f.ItemID, Title: itemTitle(f), Facts: f.Note, InspectedAt: date(seen, zone),
		LegalBasis: legalBasisZH(ord.LegalBasis, o.Venue.Kind), Deadline: date(ord.Deadline, zone), Action: ord.Action,
		Comment: ord.Comment, Squad: o.Squad, OrderedBy: cmp.Or(o.Issuer, ord.OrderedBy), OrderedAt: date(ord.OrderedAt, zone)}
}

// OrderHash is the SHA-256 an order's PDF prints: of the order as printed
// (number, venue, item, facts, legal basis, deadline, action, issuer,
// dates), so that a paper copy can be checked against the server.
func OrderHash(o Order) string { return hashOf(o.print()) }

// OrderPDF renders the order to correct of o.Finding, which must have an
// Order.
func OrderPDF(f *Font, o Order) (Document, error) {
	if o.Finding.Order == nil {
		return Document{}, schema.Errorf(schema.CodeNotFound, "finding %s has no order to correct", o.Finding.ID)
	}
	pr := o.print()
	hash := hashOf(pr)
	return render(f, "责令改正通知书", pr.Number, hash, o.Finding.Order.OrderedAt, func(d *doc) {
		d.title("责令改正通知书", d.number)
		d.space(2)
		d.para(orDash(pr.Venue)+"：", 0)
		d.space(1)
		d.para("　　经查，你单位（场所）于"+pr.InspectedAt+"接受现场检查时，存在下列问题：", 0)
		d.space(1)
		d.fact("场所名称", pr.Venue)
		d.fact("场所地址", pr.Address)
		d.fact("许可证号", pr.LicenceNo)
		d.fact("检查项目", pr.Title)
		d.factText("违法事实", pr.Facts)
		d.fact("法律依据", pr.LegalBasis)
		d.space(2)
		d.para("　　上述行为违反了有关法律法规的规定。现责令你单位（场所）于"+pr.Deadline+"前改正，改正要求如下：", 0)
		d.space(1)
		d.factText("改正要求", pr.Action)
		d.fact("改正期限", pr.Deadline+"前")
		if strings.TrimSpace(pr.Comment) != "" {
			d.factText("备注", pr.Comment)
		}
		d.space(2)
		d.para("　　请按期改正，并将改正情况报告我单位，我单位将进行复查。逾期不改正的，将依法处理。", 0)
		d.signOff(pr.Squad, pr.OrderedAt, pr.OrderedBy)
		d.receipt()
		d.heading("通知书哈希")
		d.hashRow("本通知书（SHA-256）：", hash, 0)
	})
}

// signOff prints the issuer and date at the right, as a letter ends.
func (d *doc) signOff(squad, day, by string) {
	d.space(6)
	d.room(lineH * 4)
	w := contentW / 2
	for _, l := range []string{d.font.clean(orDash(squad), false), day, "承办人：" + d.font.clean(orDash(by), false)} {
		for _, s := range wrap(l, w, d.measure) {
			d.room(lineH)
			d.p.SetX(marginL + contentW - w)
			d.cell(w, lineH, s, "R", true)
		}
	}
	d.p.SetTextColor(150, 150, 150)
	d.p.SetX(marginL + contentW - w)
	d.cell(w, lineH, "（盖章）", "R", true)
	d.p.SetTextColor(0, 0, 0)
}

// receipt prints the line the party signs on receiving the document.
func (d *doc) receipt() {
	d.space(6)
	d.room(lineH * 3)
	d.p.SetX(marginL)
	d.cell(contentW, lineH*1.6, "被检查单位签收：____________________　　签收日期：______年____月____日", "L", true)
}

// hashOf is the SHA-256 of v's JSON.
func hashOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("docs: hash: " + err.Error()) // plain structs of strings: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func licence(v schema.Venue) string {
	if !v.Licensed && v.LicenceNo == "" {
		return "无证经营"
	}
	return v.LicenceNo
}

// itemTitle is the finding's item in Chinese with its id.
func itemTitle(f schema.Finding) string {
	t := f.TitleZH
	if t == "" {
		for _, cl := range schema.Checklists() {
			if it, ok := cl.Item(f.ItemID); ok {
				t = it.TitleZH
			}
		}
	}
	if t == "" {
		return f.ItemID
	}
	return t + "（" + f.ItemID + "）"
}

var (
	articleRE = regexp.MustCompile(`art\.\s*(\d+)(?:\s*\((\d+)\))?`)
	penaltyRE = regexp.MustCompile(`(?i)penalty\s+`)
)

// legalBasisZH writes a checklist's legal basis ("art. 21; penalty art.
// 31(5)") the way a Chinese document cites it (第二十一条 would be the
// formal style; the digits are kept as the checklist has them). A net
// café's articles are those of the 互联网上网服务营业场所管理条例.
func legalBasisZH(basis, kind string) string {
	s := strings.TrimSpace(basis)
	if s == "" {
		return ""
	}
	s = penaltyRE.ReplaceAllString(s, "罚则：")
	s = articleRE.ReplaceAllStringFunc(s, func(m string) string {
		g := articleRE.FindStringSubmatch(m)
		out := "第" + g[1] + "条"
		if g[2] != "" {
			out += "第（" + g[2] + "）项"
		}
		return out
	})
	s = strings.ReplaceAll(s, ";", "；")
	if kind == schema.KindNetCafe && !strings.Contains(s, "《") {
		s = "《互联网上网服务营业场所管理条例》" + s
	}
	return s
}
