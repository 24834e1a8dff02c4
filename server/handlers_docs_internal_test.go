package server

import (
	"mime"
	"strings"
	"testing"
)

// TestPDFDisposition: a document number is device text; the file name a
// browser saves is the number itself, never a path or a header injection.
func TestPDFDisposition(t *testing.T) {
	for _, c := range []struct{ number, name, ascii string }{
		{"现检〔2026〕37010001-7号", "现检〔2026〕37010001-7号.pdf", "record-2026-37010001-7.pdf"},
		{"责改〔2026〕12号", "责改〔2026〕12号.pdf", "record-2026-12.pdf"},
		{"../../etc/passwd", ".._.._etc_passwd.pdf", "record-etc-passwd.pdf"},
		{"a\r\nSet-Cookie: x=1", "aSet-Cookie__x=1.pdf", "record-aSet-Cookie-x-1.pdf"},
		{"\u202e反转\u202c\x00", "反转.pdf", "record.pdf"},
		{"", "record.pdf", "record.pdf"},
		{strings.Repeat("号", 300), strings.Repeat("号", 80) + ".pdf", "record.pdf"},
	} {
		h := pdfDisposition("record", c.number)
		if strings.ContainsAny(h, "\r\n\x00") {
			t.Fatalf("%q: header %q", c.number, h)
		}
		disp, params, err := mime.ParseMediaType(h)
		if err != nil || disp != "inline" || params["filename"] != c.name {
			t.Errorf("%q: %q → %q %q (%v); want %q", c.number, h, disp, params["filename"], err, c.name)
		}
		if _, ascii, _ := strings.Cut(h, `filename="`); !strings.HasPrefix(ascii, c.ascii+`"`) {
			t.Errorf("%q: ASCII name in %q; want %q", c.number, h, c.ascii)
		}
	}
}
