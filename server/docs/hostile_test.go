package docs_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/docs"
	"github.com/patrolhq/patrol/server/docs/pdftest"
)

// hostilePieces are what a device (or a person at a keyboard) may send:
// direction overrides, joiners, controls, NUL, broken UTF-8, characters
// beyond the Basic Multilingual Plane (U+10000 itself crashes fpdf's width
// table), combining stacks, characters no font here draws, PDF syntax and
// very long words.
var hostilePieces = []string{
	"\u202e反转\u202c", "\u2066隔离\u2069", "a\u200db", "\ufeff", "\x00", "\x07\x1b[31m", "\xff\xfe\xfd", "\xe4\xb8",
	"\U00010000", "\U0001F600", "\U0010FFFF", "\uffff", "\ufffe", "e\u0301\u0301\u0301\u0301", "مرحبا", "שלום", "ไทย",
	"(\\) Tj ET", "%PDF-1.4", "<</Type /Page>>", "{nb}", "\r\n", "\n\n\n", "\t", "\u3000", "\u2028", "，。、；",
	"（《「", strings.Repeat("字", 300), strings.Repeat("W", 500), strings.Repeat("0123456789abcdef", 20),
	"张三", "Ünïcödé", "€‰™", "·", "—", "☃", "⽇", "ｈｔｔｐ", " ", "",
}

func hostile(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(6); n >= 0; n-- {
		b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
		if r.IntN(3) == 0 {
			b.WriteRune(rune(r.IntN(0x110000)))
		}
	}
	return b.String()
}

// hostileRecord fills every text field of a record with hostile text.
func hostileRecord(t testing.TB, r *rand.Rand) docs.Record {
	h := func() string { return hostile(r) }
	in := inspection(t)
	in.ID, in.ChecklistVersion = h(), h()
	if r.IntN(2) == 0 {
		in.ChecklistVersion = schema.DefaultChecklistVersion
	}
	for i := range in.Inspectors {
		in.Inspectors[i] = schema.Inspector{Username: h(), Name: h(), BadgeNo: h()}
	}
	stored := map[string]bool{}
	for i := range in.Items {
		in.Items[i].Note = h()
		if r.IntN(4) == 0 {
			in.Items[i].ItemID = h()
		}
		if r.IntN(4) == 0 {
			in.Items[i].Result = h()
		}
		for j := range in.Items[i].Photos {
			if r.IntN(2) == 0 {
				in.Items[i].Photos[j].SHA256 = h()
			}
			stored[in.Items[i].Photos[j].SHA256] = r.IntN(2) == 0
		}
	}
	sig := &schema.PhotoRef{SHA256: h()}
	images := map[string][]byte{}
	switch r.IntN(4) {
	case 0:
		images[sig.SHA256] = signatureImage(t)
	case 1:
		images[sig.SHA256] = []byte(h())
	case 2: // a PNG header that claims a huge image
		images[sig.SHA256] = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x06\x00\x00\x00"), make([]byte, 64)...)
	}
	signing := func() *schema.Signing {
		s := &schema.Signing{At: start, Hash: h()}
		if r.IntN(2) == 0 {
			s.Signature = sig
		} else {
			s.Refused = &schema.SignRefusal{Reason: h(), Witness: schema.Witness{Name: h(), IDLast: h(), Relation: h()}}
		}
		return s
	}
	in.Record = &schema.OnSiteRecord{Number: h(), VenueName: h(), Address: h(), LicenceNo: h(), IDsShown: r.IntN(2) == 0,
		Party: schema.Party{Name: h(), Role: h(), IDType: h(), IDLast: h()}, Remarks: h()}
	if r.IntN(5) > 0 {
		in.Record.Signing = signing()
	}
	for n := r.IntN(3); n > 0; n-- {
		in.Record.Amendments = append(in.Record.Amendments, schema.Amendment{N: n, At: start, Reason: h(), Prev: h(), Hash: h(),
			Changes: []schema.ItemChange{{ItemID: h(), Before: schema.ItemResult{Result: h(), Note: h()}, After: schema.ItemResult{Result: h(), Note: h()}}},
			Signing: signing()})
	}
	return docs.Record{Inspection: in, Stored: stored, Images: images}
}

func hostileOrder(r *rand.Rand) docs.Order {
	h := func() string { return hostile(r) }
	d := start.AddDate(0, 0, r.IntN(400)-200)
	f := schema.Finding{ID: h(), ItemID: h(), TitleZH: h(), Note: h(), OpenedAt: start,
		Order: &schema.Order{Number: h(), Deadline: d, Action: h(), LegalBasis: h(), Comment: h(), OrderedBy: h(), OrderedAt: start}}
	if r.IntN(2) == 0 {
		f.Order.LegalBasis = "art. 21; penalty art. 31(" + h() + ")"
	}
	return docs.Order{Finding: f, Venue: schema.Venue{Kind: h(), Name: h(), Address: h(), LicenceNo: h()}, Squad: h(),
		InspectedAt: time.Time{}}
}

func wantPDF(t *testing.T, what string, d docs.Document, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.HasPrefix(d.PDF, []byte("%PDF-")) || !bytes.Contains(d.PDF[len(d.PDF)-32:], []byte("%%EOF")) {
		t.Fatalf("%s: not a PDF (%d bytes)", what, len(d.PDF))
	}
}

// TestHostileText_NeverBreaksRendering: hostile text in every field of
// each document renders a PDF, without panic or error; one of each is
// drawn by poppler (among the artifacts) to see that the layout holds.
func TestHostileText_NeverBreaksRendering(t *testing.T) {
	f := pdftest.Font(t)
	r := rand.New(rand.NewPCG(1, 2))
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for i := range rounds {
		rec := hostileRecord(t, r)
		d, err := docs.RecordPDF(f, rec)
		wantPDF(t, "record", d, err)
		if i == 0 {
			pdftest.Render(t, "hostile-record", d.PDF)
		}
		o := hostileOrder(r)
		d, err = docs.OrderPDF(f, o)
		wantPDF(t, "order", d, err)
		if i == 0 {
			pdftest.Render(t, "hostile-order", d.PDF)
		}
		re := docs.Recheck{Finding: o.Finding, Venue: o.Venue, Inspection: rec.Inspection, Stored: rec.Stored, Squad: hostile(r)}
		re.Finding.ItemID = rec.Inspection.Items[r.IntN(len(rec.Inspection.Items))].ItemID
		d, err = docs.RecheckPDF(f, re)
		wantPDF(t, "recheck", d, err)
		if i == 0 {
			pdftest.Render(t, "hostile-recheck", d.PDF)
		}
	}
}

// FuzzRecordPDF puts one fuzzed string into every text field of a record.
func FuzzRecordPDF(f *testing.F) {
	// The seeds run with every go test; the random campaign above covers
	// the other pieces, go test -fuzz the rest.
	for _, s := range []string{"\u202e反转\u202c", "\x00\xff\xfe", "\U00010000", "e\u0301\u0301\u0301", strings.Repeat("W", 500), "\n\n\n"} {
		f.Add(s)
	}
	font := pdftest.Font(f)
	f.Fuzz(func(t *testing.T, s string) {
		rec := signedRecord(t)
		in := &rec.Inspection
		rr := in.Record
		rr.Number, rr.VenueName, rr.Address, rr.LicenceNo, rr.Remarks = s, s, s, s, s
		rr.Party = schema.Party{Name: s, Role: s, IDType: s, IDLast: s}
		rr.Signing = &schema.Signing{At: start, Hash: s, Refused: &schema.SignRefusal{Reason: s, Witness: schema.Witness{Name: s, IDLast: s, Relation: s}}}
		rr.Amendments[0].Reason, rr.Amendments[0].Hash = s, s
		for i := range in.Items {
			in.Items[i].Note = s
		}
		in.Inspectors[0] = schema.Inspector{Username: s, Name: s, BadgeNo: s}
		d, err := docs.RecordPDF(font, rec)
		wantPDF(t, "record", d, err)
	})
}
