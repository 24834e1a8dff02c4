package docs

import (
	"fmt"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Record is what the on-site record (现场检查笔录) prints: an inspection
// with its Record, whether the blob store holds each photo's bytes, and the
// signature images to draw.
type Record struct {
	Inspection schema.Inspection
	// Stored says, by SHA-256, whether the blob store holds the bytes of a
	// photo or signature; a hash it does not name is printed as missing.
	Stored map[string]bool
	// Images are signature images by SHA-256; one that is absent (or not
	// an image) is printed as not drawn, with its hash.
	Images map[string][]byte
	// Zone is where times are printed; nil is Asia/Shanghai.
	Zone *time.Location
}

// RecordHash is the hash an on-site record's PDF stands for: its latest
// amendment's, else the seal's (Signing.Hash); "" while it is unsigned.
func RecordHash(r *schema.OnSiteRecord) string {
	if r == nil {
		return ""
	}
	if n := len(r.Amendments); n > 0 {
		return r.Amendments[n-1].Hash
	}
	if r.Signing != nil {
		return r.Signing.Hash
	}
	return ""
}

// RecordNumber is the number the record's PDF carries: the record's own
// number, or, for a record made without one, one derived from the
// inspection id so that the sheet still names its source.
func RecordNumber(in schema.Inspection) string {
	if in.Record != nil && strings.TrimSpace(in.Record.Number) != "" {
		return in.Record.Number
	}
	return "现检-" + short(in.ID)
}

// RecordPDF renders the on-site record of r.Inspection, which must have a
// Record.
func RecordPDF(f *Font, r Record) (Document, error) {
	in := r.Inspection
	rec := in.Record
	if rec == nil {
		return Document{}, schema.Errorf(schema.CodeNotFound, "inspection %s has no on-site record", in.ID)
	}
	zone := zoneOr(r.Zone)
	number := RecordNumber(in)
	hash := RecordHash(rec)
	at := in.StartedAt
	if rec.Signing != nil && !rec.Signing.At.IsZero() {
		at = rec.Signing.At
	}
	cl, clErr := schema.ChecklistByVersion(in.ChecklistVersion)
	title := func(id string) string {
		if clErr == nil {
			if it, ok := cl.Item(id); ok {
				return it.TitleZH + "（" + it.ID + "）"
			}
		}
		return id
	}
	return render(f, "现场检查笔录", number, hash, at, func(d *doc) {
		d.title("现场检查笔录", "编号："+d.number)

		d.heading("一、基本情况")
		d.factClean("检查时间", d.font.clean(span(in.StartedAt, in.FinishedAt, zone), false))
		d.fact("检查地点", rec.Address)
		d.fact("被检查场所", rec.VenueName)
		d.fact("许可证号", rec.LicenceNo)
		d.fact("现场负责人", party(rec.Party))
		d.fact("检查人员", inspectors(in.Inspectors))
		if rec.IDsShown {
			d.factClean("出示证件", "检查人员已出示执法证件，表明身份。")
		} else {
			d.factClean("出示证件", "未记录检查人员出示执法证件。")
		}
		if clErr == nil {
			d.fact("检查标准", cl.TitleZH+"（"+cl.Version+"）")
		} else {
			d.fact("检查标准", in.ChecklistVersion)
		}

		d.heading("二、检查情况")
		for i, it := range in.Items {
			d.item(i+1, title(it.ItemID), it)
		}
		if strings.TrimSpace(rec.Remarks) != "" {
			d.space(1)
			d.factText("其他情况", rec.Remarks)
		}

		d.heading("三、现场照片")
		d.photoList(in.Items, title, r.Stored, zone)

		d.heading("四、当事人签名")
		if rec.Signing == nil {
			d.para("当事人尚未签名，笔录未封存。", 0)
		} else {
			d.signing(*rec.Signing, r, zone, "笔录")
		}

		if len(rec.Amendments) > 0 {
			d.heading("五、补正记录")
			for _, a := range rec.Amendments {
				d.amendment(a, title, r, zone)
			}
		}

		d.heading("笔录哈希")
		seal := ""
		if rec.Signing != nil {
			seal = rec.Signing.Hash
		}
		d.hashRow("笔录封存哈希（SHA-256）：", seal, 0)
		if n := len(rec.Amendments); n > 0 {
			d.hashRow(fmt.Sprintf("最新补正哈希（第%d次）：", rec.Amendments[n-1].N), rec.Amendments[n-1].Hash, 0)
		} else {
			d.factClean("补正", "无补正。")
		}
	})
}

// item prints one answer: its number, title and result, then its note.
func (d *doc) item(n int, title string, it schema.ItemResult) {
	head := fmt.Sprintf("%d. %s", n, d.font.clean(title, false))
	res := "【" + resultZH(it.Result) + "】"
	d.room(lineH * 2)
	if it.Result == schema.ResultFail {
		d.p.SetTextColor(170, 0, 0)
	}
	rw := d.textWidth(res) + 2
	ls := wrap(head, contentW-rw, d.measure)
	y := d.p.GetY()
	d.p.SetXY(pageW-marginR-rw, y)
	d.cell(rw, lineH, res, "R", false)
	d.p.SetTextColor(0, 0, 0)
	for _, l := range ls {
		d.room(lineH)
		d.p.SetX(marginL)
		d.cell(contentW-rw, lineH, l, "L", true)
	}
	if strings.TrimSpace(it.Note) != "" {
		d.p.SetTextColor(40, 40, 40)
		d.lines(d.font.clean("情况："+it.Note, true), marginL+6, contentW-6)
		d.p.SetTextColor(0, 0, 0)
	}
	if len(it.Photos) > 0 {
		d.p.SetTextColor(90, 90, 90)
		d.lines(fmt.Sprintf("照片 %d 张（见现场照片）", len(it.Photos)), marginL+6, contentW-6)
		d.p.SetTextColor(0, 0, 0)
	}
	d.space(1)
}

// photoList prints every photo of the items: number, item, capture time,
// whether storage holds it, and its SHA-256.
func (d *doc) photoList(items []schema.ItemResult, title func(string) string, stored map[string]bool, zone *time.Location) {
	n := 0
	for _, it := range items {
		for _, ph := range it.Photos {
			n++
			d.photo(n, title(it.ItemID), ph, stored, zone)
		}
	}
	if n == 0 {
		d.para("本次检查未拍摄照片。", 0)
		return
	}
	d.space(1)
	held := 0
	for _, it := range items {
		for _, ph := range it.Photos {
			if stored[ph.SHA256] {
				held++
			}
		}
	}
	d.para(fmt.Sprintf("共 %d 张，服务器存储已收到 %d 张，缺 %d 张。照片原件以 SHA-256 为准，存于证据存储。", n, held, n-held), 0)
}

// photo prints one photo row: two lines, the second its hash.
func (d *doc) photo(n int, title string, ph schema.PhotoRef, stored map[string]bool, zone *time.Location) {
	d.room(lineH * 2)
	y := d.p.GetY()
	when := "拍摄时间 " + clock(ph.CapturedAt, zone)
	if ph.TimeSuspect {
		when += "（时间存疑）"
	}
	state := "已存储"
	if !stored[ph.SHA256] {
		state = "未存储"
		d.p.SetTextColor(170, 0, 0)
	}
	sw := d.textWidth(state) + 2
	d.p.SetXY(pageW-marginR-sw, y)
	d.cell(sw, lineH, state, "R", false)
	d.p.SetTextColor(0, 0, 0)
	d.p.SetXY(marginL, y)
	d.cell(8, lineH, fmt.Sprintf("%d.", n), "L", false)
	ww := d.textWidth(when) + 2
	d.cell(contentW-8-sw-ww, lineH, d.fit(d.font.clean(title, false), contentW-8-sw-ww-2), "L", false)
	d.cell(ww, lineH, when, "L", true)
	d.hashRow("SHA-256", ph.SHA256, 8)
	d.space(0.8)
}

// signing prints a signature (drawn) or a refusal with reason and witness,
// and the hash that was signed.
func (d *doc) signing(s schema.Signing, r Record, zone *time.Location, what string) {
	switch {
	case s.Signature != nil:
		sha := s.Signature.SHA256
		d.factClean("签名方式", "当事人签名确认")
		if b, ok := r.Images[sha]; !ok || !d.image("sig-"+sha, b, labelW, 70, 28) {
			d.factClean("签名图像", "（签名图像未能显示）")
		}
		state := "已存储"
		if !r.Stored[sha] {
			state = "未存储"
		}
		d.hashRow("签名图像 SHA-256（"+state+"）：", sha, 0)
	case s.Refused != nil:
		d.factClean("签名方式", "当事人拒绝签名")
		d.factText("拒签理由", s.Refused.Reason)
		d.fact("见证人", witness(s.Refused.Witness))
	default:
		d.factClean("签名方式", "（未记录签名或拒签）")
	}
	d.factClean("时间", clock(s.At, zone))
	d.hashRow("所签"+what+"哈希：", s.Hash, 0)
}

// amendment prints one amendment: why, which answers changed from what to
// what, its hash chain and its own signing.
func (d *doc) amendment(a schema.Amendment, title func(string) string, r Record, zone *time.Location) {
	d.space(1)
	d.room(lineH * 3)
	d.setSize(11.5)
	d.p.SetX(marginL)
	d.cell(contentW, 6.5, fmt.Sprintf("第 %d 次补正　%s", a.N, clock(a.At, zone)), "L", true)
	d.setSize(bodySize)
	d.factText("补正理由", a.Reason)
	for _, c := range a.Changes {
		d.fact("补正项目", title(c.ItemID))
		d.factText("补正前", change(c.Before))
		d.factText("补正后", change(c.After))
	}
	d.hashRow("上一哈希：", a.Prev, 0)
	d.hashRow("本次补正哈希：", a.Hash, 0)
	if a.Signing != nil {
		d.signing(*a.Signing, r, zone, "补正")
	} else {
		d.factClean("签名", "本次补正尚未签名。")
	}
}

func change(it schema.ItemResult) string {
	s := resultZH(it.Result)
	if strings.TrimSpace(it.Note) != "" {
		s += "；" + it.Note
	}
	if len(it.Photos) > 0 {
		s += fmt.Sprintf("（照片 %d 张）", len(it.Photos))
	}
	return s
}

func party(p schema.Party) string {
	s := orDash(p.Name)
	if p.Role != "" {
		s += "（" + p.Role + "）"
	}
	if p.IDType != "" || p.IDLast != "" {
		s += "；" + idTypeZH(p.IDType)
		if p.IDLast != "" {
			s += "，尾号 " + p.IDLast
		}
	}
	return s
}

func witness(w schema.Witness) string {
	s := orDash(w.Name)
	if w.Relation != "" {
		s += "（" + w.Relation + "）"
	}
	if w.IDLast != "" {
		s += "，证件尾号 " + w.IDLast
	}
	return s
}

func inspectors(ps []schema.Inspector) string {
	var parts []string
	for _, p := range ps {
		name := p.Name
		if name == "" {
			name = p.Username
		}
		badge := p.BadgeNo
		if badge == "" {
			badge = "未登记"
		}
		parts = append(parts, name+"（执法证号 "+badge+"）")
	}
	if len(parts) == 0 {
		return "未填写"
	}
	return strings.Join(parts, "、")
}

func idTypeZH(t string) string {
	switch t {
	case schema.IDTypeResident:
		return "居民身份证"
	case schema.IDTypePassport:
		return "护照"
	case schema.IDTypeHKMO:
		return "港澳居民来往内地通行证"
	case schema.IDTypeTaiwan:
		return "台湾居民来往大陆通行证"
	case schema.IDTypeOther, "":
		return "其他证件"
	}
	return "证件 " + t
}

func resultZH(r string) string {
	switch r {
	case schema.ResultPass:
		return "合格"
	case schema.ResultFail:
		return "不合格"
	case schema.ResultNA:
		return "不适用"
	}
	return "未作答"
}

// zoneOr is z, or Asia/Shanghai (a fixed +08:00 without a zone database:
// China has had no daylight saving time since 1991).
func zoneOr(z *time.Location) *time.Location {
	if z != nil {
		return z
	}
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// clock prints a time to the minute as Chinese documents do.
func clock(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(zone).Format("2006年01月02日 15:04")
}

// date prints a day as Chinese documents do.
func date(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(zone).Format("2006年01月02日")
}

// span prints a start and end, the end's date only when it differs.
func span(start time.Time, end *time.Time, zone *time.Location) string {
	s := clock(start, zone)
	if end == nil || end.IsZero() {
		return s + " 起（未记录结束时间）"
	}
	if start.In(zone).Format(time.DateOnly) == end.In(zone).Format(time.DateOnly) {
		return s + " 至 " + end.In(zone).Format("15:04")
	}
	return s + " 至 " + clock(*end, zone)
}

// short is the first eight characters of an id (a UUID's first group).
func short(id string) string {
	if len(id) > 8 {
		id = id[:8]
	}
	return id
}
