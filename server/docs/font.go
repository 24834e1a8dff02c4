// Package docs renders the printable documents of an inspection as PDF:
// the on-site record (现场检查笔录), the order to correct (责令改正通知书)
// and the re-check record (复查记录). Each is a plain function of what it
// prints and a CJK TrueType font; nothing here reads a store or a request.
//
// A document prints its own number and the SHA-256 it stands for on every
// page, so that a sheet found alone can be matched to the record it came
// from. Every text a device or a person typed is hostile: it is cleaned to
// what the font can draw and wrapped by this package (fpdf's own MultiCell
// drops the Chinese character it breaks a line at), so that no input can
// break the layout or the rendering.
package docs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
)

// FontPackage is the Debian package that ships the default font; the
// server names it when no font is found.
const FontPackage = "fonts-droid-fallback"

// DefaultFontPaths are where a CJK TrueType font is looked for when none is
// configured, first found wins. fpdf embeds TrueType outlines only (glyf),
// so the OpenType/CFF and .ttc Noto CJK files will not do.
var DefaultFontPaths = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", // Debian/Ubuntu fonts-droid-fallback
	"/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
	"/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf", // Fedora google-droid-sans-fonts
	"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",             // fonts-arphic-gbsn00lp
	"/Library/Fonts/Arial Unicode.ttf",
	"/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
}

// ErrNoFont is returned (wrapped) when no configured or default font exists.
var ErrNoFont = errors.New("docs: no CJK TrueType font")

// maxFontBytes bounds the font file read: the largest CJK TrueType fonts
// are some tens of MB.
const maxFontBytes = 64 << 20

// Font is a CJK TrueType font read once and used by every document: its
// bytes (fpdf parses them per document and embeds only the glyphs used)
// and which characters of the Basic Multilingual Plane it can draw.
type Font struct {
	// Path is where the font was read from.
	Path    string
	data    []byte
	covered [0x10000 / 64]uint64
	// widths of the CJK font's glyphs and of the Latin face by its
	// Windows-1252 byte, in 1/1000 em, as fpdf lays them out.
	widths      []uint16
	latinWidths [256]uint16
}

// FindFont returns the font path to use: path when it is set (it must
// exist), else the first of DefaultFontPaths that exists. The error wraps
// ErrNoFont and names the package to install.
func FindFont(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoFont, err)
		}
		return path, nil
	}
	for _, p := range DefaultFontPaths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s exists; install the Debian package %s or set --pdf-font (PATROL_PDF_FONT) to a CJK TrueType (.ttf) font",
		ErrNoFont, strings.Join(DefaultFontPaths[:2], ", "), FontPackage)
}

// LoadFont reads and checks the TrueType font at path: it must parse, draw
// the Chinese the documents print, and embed in a PDF.
func LoadFont(path string) (*Font, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFont, err)
	}
	if st.Size() > maxFontBytes {
		return nil, fmt.Errorf("docs: font %s is %d bytes, more than %d", path, st.Size(), maxFontBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFont, err)
	}
	f, err := ParseFont(b)
	if err != nil {
		return nil, fmt.Errorf("docs: font %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// ParseFont checks TrueType font bytes as LoadFont does.
func ParseFont(b []byte) (*Font, error) {
	ft, err := sfnt.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("not a TrueType font: %w", err)
	}
	f := &Font{data: b}
	var buf sfnt.Buffer
	for r := rune(0x20); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		if g, err := ft.GlyphIndex(&buf, r); err == nil && g != 0 {
			f.covered[r/64] |= 1 << (r % 64)
		}
	}
	for _, r := range "现场检查笔录责令改正通知书复查记录" {
		if !f.Covers(r) {
			return nil, fmt.Errorf("it has no glyph for %q: not a CJK font", r)
		}
	}
	// fpdf reports a font it cannot parse only on stdout; a probe document
	// turns that into an error now rather than on the first request.
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(fontFamily, "", b)
	p.AddPage()
	p.SetFont(fontFamily, "", 12)
	p.CellFormat(0, 6, "现场检查笔录 0123", "", 1, "L", false, 0, "")
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("it does not embed in a PDF (fpdf takes TrueType outlines, not OpenType/CFF or collections): %w", err)
	}
	// The widths, measured once: a page is laid out by them, rune by rune.
	p = fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(fontFamily, "", b)
	p.SetFont(fontFamily, "", 10)
	f.widths = make([]uint16, 0x10000)
	for r := rune(0x20); r < 0x10000; r++ {
		if f.Covers(r) {
			f.widths[r] = uint16(min(p.GetStringSymbolWidth(string(r)), 0xFFFF))
		}
	}
	p.SetFont(latinFamily, "", 10)
	for c := 0x20; c < 0x100; c++ {
		f.latinWidths[c] = uint16(p.GetStringSymbolWidth(string([]byte{byte(c)})))
	}
	if p.Err() {
		return nil, fmt.Errorf("measuring its glyphs: %w", p.Error())
	}
	return f, nil
}

// Covers reports whether the font draws r.
func (f *Font) Covers(r rune) bool {
	if r < 0 || r >= 0x10000 {
		return false
	}
	return f.covered[r/64]&(1<<(r%64)) != 0
}

// The faces of a document: the CJK font, embedded (subset), and for Latin
// text the PDF's standard Helvetica, which every viewer has (CJK fallback
// fonts such as Droid Sans Fallback carry no Latin letters or digits).
const (
	fontFamily  = "cjk"
	latinFamily = "Helvetica"
	monoFamily  = "Courier"
)

// cp1252 maps the characters Windows-1252 has at 0x80–0x9F, which the
// standard fonts draw, to their bytes; 0xA0–0xFF are Latin-1 as they are.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// latin returns r's Windows-1252 byte when the Latin face draws r: always
// for ASCII, and for the rest of Windows-1252 when the CJK font does not
// draw it (the CJK font's own punctuation suits Chinese text better).
func (f *Font) latin(r rune) (byte, bool) {
	switch {
	case r >= 0x20 && r < 0x7F:
		return byte(r), true
	case f.Covers(r):
		return 0, false
	case r >= 0xA0 && r <= 0xFF:
		return byte(r), true
	}
	b, ok := cp1252[r]
	return b, ok
}

// drawable reports whether a document can print r in one of its faces.
func (f *Font) drawable(r rune) bool {
	if _, ok := f.latin(r); ok {
		return true
	}
	return f.Covers(r)
}

// width is r's advance in 1/1000 em.
func (f *Font) width(r rune) int {
	if b, ok := f.latin(r); ok {
		return int(f.latinWidths[b])
	}
	if f.Covers(r) {
		return int(f.widths[r])
	}
	return 500
}
