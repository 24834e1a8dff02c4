package docs

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // signature images a device may send
	_ "image/jpeg"
	"image/png"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	_ "golang.org/x/image/webp"
)

// Document is a rendered PDF with what it prints on every page.
type Document struct {
	// Number is the document's number (its file name without .pdf).
	Number string
	// Hash is the SHA-256 (hex) of what the document renders.
	Hash string
	PDF  []byte
}

// Page geometry (mm, A4 portrait).
const (
	pageW, pageH     = 210.0, 297.0
	marginL, marginR = 20.0, 20.0
	marginT          = 18.0
	marginB          = 22.0 // the footer lives below
	contentW         = pageW - marginL - marginR
	labelW           = 30.0 // the label column of a fact row
	bodySize         = 10.5 // pt
	lineH            = 5.6  // mm, for bodySize
)

// doc writes one document: wrapped text with page breaks, fact rows, a
// footer with the number, page x/y and the hash on every page.
type doc struct {
	p      *fpdf.Fpdf
	font   *Font
	number string // as printed (cleaned)
	hash   string
	size   float64 // current font size, pt
}

// newDoc starts a document. at fixes the PDF's creation date, so that the
// same input renders the same bytes.
func newDoc(f *Font, title, number, hash string, at time.Time) *doc {
	p := fpdf.New("P", "mm", "A4", "")
	d := &doc{p: p, font: f, number: f.clean(number, false), hash: hash}
	p.SetCompression(true)
	p.SetCatalogSort(true)
	if at.IsZero() {
		at = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	p.SetCreationDate(at.UTC())
	p.SetModificationDate(at.UTC())
	p.SetTitle(f.clean(title+" "+number, false), true)
	p.SetCreator("Patrol", false)
	p.SetProducer("Patrol", false)
	p.AddUTF8FontFromBytes(fontFamily, "", f.data)
	p.SetMargins(marginL, marginT, marginR)
	p.SetAutoPageBreak(false, marginB)
	p.SetCellMargin(0) // cells are runs of one face, placed edge to edge
	p.AddPage()
	d.setSize(bodySize)
	return d
}

// setSize selects the CJK font at size pt.
func (d *doc) setSize(size float64) {
	d.size = size
	d.p.SetFont(fontFamily, "", size)
}

// measure is the width of r in mm at the current size.
func (d *doc) measure(r rune) float64 {
	return float64(d.font.width(r)) * d.size / 1000 * 25.4 / 72
}

// cell prints clean text s in a box w mm wide at the current position,
// aligned L, C or R, as runs of the CJK and the Latin face; ln moves to
// the start of the next line, else to the right of the box.
func (d *doc) cell(w, h float64, s, align string, ln bool) {
	x, y := d.p.GetXY()
	off := 0.0
	switch align {
	case "C":
		off = (w - d.textWidth(s)) / 2
	case "R":
		off = w - d.textWidth(s)
	}
	d.p.SetXY(x+max(off, 0), y)
	var run []byte
	var cjk strings.Builder
	flushLatin := func() {
		if len(run) > 0 {
			d.p.SetFont(latinFamily, "", d.size)
			d.p.CellFormat(d.p.GetStringWidth(string(run)), h, string(run), "", 0, "L", false, 0, "")
			run = run[:0]
		}
	}
	flushCJK := func() {
		if cjk.Len() > 0 {
			d.p.SetFont(fontFamily, "", d.size)
			t := cjk.String()
			d.p.CellFormat(d.textWidth(t), h, t, "", 0, "L", false, 0, "")
			cjk.Reset()
		}
	}
	for _, r := range s {
		if b, ok := d.font.latin(r); ok {
			flushCJK()
			run = append(run, b)
		} else {
			flushLatin()
			cjk.WriteRune(r)
		}
	}
	flushLatin()
	flushCJK()
	d.p.SetFont(fontFamily, "", d.size)
	if ln {
		d.p.SetXY(marginL, y+h)
	} else {
		d.p.SetXY(x+w, y)
	}
}

// textWidth is the width of s in mm at the current size.
func (d *doc) textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += d.measure(r)
	}
	return w
}

// room makes sure h mm fit above the footer, starting a page if not.
func (d *doc) room(h float64) {
	if d.p.GetY()+h > pageH-marginB {
		d.p.AddPage()
		d.setSize(d.size)
	}
}

// footer prints on page n of total, below a rule: the number, page x of
// y, and the hash. It is drawn on every page once all are laid out, so
// that the total is known (fpdf's page-count alias would be measured as
// its placeholder, misplacing what follows it).
func (d *doc) footer(n, total int) {
	p := d.p
	size := d.size
	p.SetFont(monoFamily, "", 1) // the page's last face is unknown here: make the next SetFont speak
	y := pageH - marginB + 6
	p.SetDrawColor(120, 120, 120)
	p.SetLineWidth(0.2)
	p.Line(marginL, y, pageW-marginR, y)
	p.SetTextColor(60, 60, 60)
	d.setSize(8)
	p.SetXY(marginL, y+1)
	d.cell(contentW-40, 4.2, d.fit("编号："+d.number, contentW-42), "L", false)
	p.SetXY(pageW-marginR-38, y+1)
	d.cell(38, 4.2, fmt.Sprintf("第 %d 页 / 共 %d 页", n, total), "R", false)
	p.SetXY(marginL, y+5.2)
	switch {
	case d.hash == "":
		d.cell(contentW, 4.2, "SHA-256：未封存", "L", false)
	case isHex(d.hash):
		label := "SHA-256："
		lw := d.textWidth(label)
		d.cell(lw, 4.2, label, "L", false)
		p.SetFont(monoFamily, "", 7.5)
		p.CellFormat(contentW-lw, 4.2, d.hash, "", 0, "L", false, 0, "")
	default:
		d.cell(contentW, 4.2, d.fit("SHA-256："+d.font.clean(d.hash, false), contentW), "L", false)
	}
	p.SetTextColor(0, 0, 0)
	d.setSize(size)
}

// fit cuts s to width mm with an ellipsis.
func (d *doc) fit(s string, width float64) string {
	if d.textWidth(s) <= width {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && d.textWidth(string(rs))+d.measure('…') > width {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// title prints the document's title, centred, and its number below.
func (d *doc) title(title, sub string) {
	d.setSize(20)
	d.p.SetXY(marginL, marginT)
	d.cell(contentW, 11, title, "C", true)
	d.setSize(bodySize)
	for _, l := range wrap(sub, contentW, d.measure) {
		d.p.SetX(marginL)
		d.cell(contentW, lineH, l, "C", true)
	}
	d.space(3)
}

// heading prints a section heading with a rule under it.
func (d *doc) heading(s string) {
	d.space(2)
	d.room(9 + 2*lineH)
	d.setSize(12.5)
	d.p.SetX(marginL)
	d.cell(contentW, 7.5, s, "L", true)
	y := d.p.GetY()
	d.p.SetDrawColor(0, 0, 0)
	d.p.SetLineWidth(0.35)
	d.p.Line(marginL, y, pageW-marginR, y)
	d.setSize(bodySize)
	d.space(1.5)
}

// space moves down h mm.
func (d *doc) space(h float64) { d.p.SetY(d.p.GetY() + h) }

// para prints hostile text wrapped at x..right margin.
func (d *doc) para(text string, indent float64) {
	d.lines(d.font.clean(text, true), marginL+indent, contentW-indent)
}

// lines prints already-clean text wrapped into width at x, page by page.
func (d *doc) lines(text string, x, width float64) {
	for _, l := range wrap(text, width, d.measure) {
		d.room(lineH)
		d.p.SetX(x)
		d.cell(width, lineH, l, "L", true)
	}
}

// fact prints a row: label on the left, the value wrapped on the right.
// value is hostile text of one line (a name, an address): a line break in
// it is a space. factText keeps the lines of a longer text; factClean
// prints our own words as they are.
func (d *doc) fact(label, value string) {
	d.factClean(label, d.font.clean(value, false))
}

func (d *doc) factText(label, value string) {
	d.factClean(label, strings.TrimLeft(d.font.clean(value, true), "\n"))
}

func (d *doc) factClean(label, value string) {
	if strings.TrimSpace(value) == "" {
		value = "—"
	}
	ls := wrap(value, contentW-labelW, d.measure)
	d.room(lineH * float64(min(len(ls), 3)))
	y := d.p.GetY()
	d.p.SetTextColor(70, 70, 70)
	d.p.SetXY(marginL, y)
	d.cell(labelW, lineH, label, "L", false)
	d.p.SetTextColor(0, 0, 0)
	d.p.SetXY(marginL+labelW, y)
	for i, l := range ls {
		if i > 0 {
			d.room(lineH)
		}
		d.p.SetX(marginL + labelW)
		d.cell(contentW-labelW, lineH, l, "L", true)
	}
	d.space(0.6)
}

// hashRow prints a label and a SHA-256 in a fixed-width face (or, when
// the text is not a hash, as hostile text).
func (d *doc) hashRow(label, hash string, indent float64) {
	d.room(lineH)
	y := d.p.GetY()
	d.p.SetXY(marginL+indent, y)
	lw := d.textWidth(label) + 1
	d.cell(lw, lineH, label, "L", false)
	d.mono(hash, marginL+indent+lw, contentW-indent-lw)
}

// mono prints a hash at x in Courier when it is one, else as text.
func (d *doc) mono(hash string, x, width float64) {
	if !isHex(hash) {
		d.lines(d.font.clean(orDash(hash), false), x, width)
		return
	}
	size := 8.5
	if w := float64(len(hash)) * 0.6 * size * 25.4 / 72; w > width {
		size = width / (float64(len(hash)) * 0.6 * 25.4 / 72)
	}
	d.p.SetFont(monoFamily, "", size)
	d.p.SetX(x)
	d.p.CellFormat(width, lineH, hash, "", 1, "L", false, 0, "")
	d.p.SetX(marginL)
	d.setSize(d.size)
}

// image draws a signature image (PNG, JPEG, GIF or WebP bytes) at most
// w×h mm at the left margin plus indent; ok is false when the bytes are no
// image this can draw, and nothing is drawn then.
func (d *doc) image(name string, b []byte, indent, w, h float64) bool {
	pngBytes, iw, ih, ok := flatten(b)
	if !ok {
		return false
	}
	// Register in a scratch document first: fpdf's errors are sticky and
	// would fail the whole document.
	probe := fpdf.New("P", "mm", "A4", "")
	probe.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(pngBytes))
	if probe.Err() {
		return false
	}
	scale := min(w/float64(iw), h/float64(ih))
	dw, dh := float64(iw)*scale, float64(ih)*scale
	d.room(dh + 2)
	d.p.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(pngBytes))
	y := d.p.GetY()
	d.p.SetDrawColor(160, 160, 160)
	d.p.SetLineWidth(0.2)
	d.p.Rect(marginL+indent, y, dw+2, dh+2, "D")
	d.p.ImageOptions(name, marginL+indent+1, y+1, dw, dh, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	d.p.SetY(y + dh + 3)
	return true
}

// maxImagePixels bounds a signature image's decoded size (a decompression
// bomb in a PNG header is refused before any pixel is read).
const maxImagePixels = 16 << 20

// flatten decodes image bytes and re-encodes them as an opaque 8-bit RGB
// PNG on white, the one form fpdf embeds without surprises (it refuses
// interlaced and 16-bit PNGs). The stored bytes stay as they were; this is
// only what the paper shows.
func flatten(b []byte) ([]byte, int, int, bool) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, 0, 0, false
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, 0, 0, false
	}
	r := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(rgba, rgba.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(rgba, rgba.Bounds(), img, r.Min, draw.Over)
	var out bytes.Buffer
	if err := png.Encode(&out, rgba); err != nil {
		return nil, 0, 0, false
	}
	return out.Bytes(), r.Dx(), r.Dy(), true
}

// finish writes the PDF. A panic inside fpdf (a bug there reached by some
// input) is an error of this document, not of the server.
func (d *doc) finish() (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("docs: render %s: %v", d.number, r)
		}
	}()
	total := d.p.PageCount()
	for n := 1; n <= total; n++ {
		d.p.SetPage(n)
		d.footer(n, total)
	}
	d.p.SetPage(total)
	var buf bytes.Buffer
	if err := d.p.Output(&buf); err != nil {
		return nil, fmt.Errorf("docs: render %s: %w", d.number, err)
	}
	return buf.Bytes(), nil
}

// isHex reports whether s is a SHA-256 in lowercase or uppercase hex.
func isHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// render runs build on a new document and writes it, turning a panic in
// either into an error.
func render(f *Font, title, number, hash string, at time.Time, build func(d *doc)) (doc Document, err error) {
	if f == nil {
		return Document{}, ErrNoFont
	}
	defer func() {
		if r := recover(); r != nil {
			doc, err = Document{}, fmt.Errorf("docs: render %s: %v", title, r)
		}
	}()
	d := newDoc(f, title, number, hash, at)
	build(d)
	b, err := d.finish()
	if err != nil {
		return Document{}, err
	}
	return Document{Number: number, Hash: hash, PDF: b}, nil
}
