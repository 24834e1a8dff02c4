package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/docs"
	"github.com/patrolhq/patrol/server/ledgerexport"
	"github.com/patrolhq/patrol/storage"
)

// fontCache holds the documents' font once read. A failure is retried
// after fontRetry, so that installing the package takes effect without a
// restart while a missing font is not looked for on every request.
type fontCache struct {
	mu    sync.Mutex
	font  *docs.Font
	err   error
	tried time.Time
}

const fontRetry = time.Minute

// documentFont returns the font of the printable documents, reading it on
// first use; without one the error is unavailable and says what to install.
func (s *Server) documentFont() (*docs.Font, error) {
	fc := &s.pdfFont
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.font == nil && (fc.err == nil || s.cfg.Now().Sub(fc.tried) > fontRetry) {
		fc.tried = s.cfg.Now()
		var path string
		path, fc.err = docs.FindFont(s.cfg.PDFFont)
		if fc.err == nil {
			start := time.Now()
			fc.font, fc.err = docs.LoadFont(path)
			if fc.err == nil {
				s.log.Info("printable documents: font loaded", "font", path, "took", time.Since(start).Round(time.Millisecond))
			}
		}
		if fc.err != nil {
			s.log.Error("printable documents: no usable font", "err", fc.err)
		}
	}
	if fc.font == nil {
		return nil, schema.Errorf(schema.CodeUnavailable,
			"printable documents need a CJK TrueType font: install the Debian package %s, or set --pdf-font (PATROL_PDF_FONT) to a .ttf file (%v)",
			docs.FontPackage, fc.err)
	}
	return fc.font, nil
}

// printing bounds the documents rendered at once: each takes tens of ms of
// CPU and some 30 MB while fpdf parses and subsets the font, so a burst of
// prints queues here instead of piling up memory.
func (s *Server) printing(c echo.Context, render func() (docs.Document, error)) (docs.Document, error) {
	select {
	case s.pdfSlots <- struct{}{}:
		defer func() { <-s.pdfSlots }()
	case <-c.Request().Context().Done():
		return docs.Document{}, schema.Errorf(schema.CodeUnavailable, "too many documents are being printed; try again")
	}
	return render()
}

// maxSignatureBytes bounds a signature image read into a document.
const maxSignatureBytes = 8 << 20

func (s *Server) recordPDF(c echo.Context) error {
	p, id, err := supervisedID(c, "inspection")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	in, err := s.store.Inspection(ctx, id)
	if err != nil {
		return err
	}
	if !p.CanSupervise(in.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "inspection %s not found", id)
	}
	if in.Record == nil {
		return schema.Errorf(schema.CodeNotFound, "inspection %s has no on-site record", id)
	}
	font, err := s.documentFont()
	if err != nil {
		return err
	}
	var hashes []string
	images := map[string][]byte{}
	for _, it := range in.Items {
		for _, ph := range it.Photos {
			hashes = append(hashes, ph.SHA256)
		}
	}
	signings := []*schema.Signing{in.Record.Signing}
	for _, a := range in.Record.Amendments {
		signings = append(signings, a.Signing)
	}
	for _, sg := range signings {
		if sg == nil || sg.Signature == nil {
			continue
		}
		sha := sg.Signature.SHA256
		hashes = append(hashes, sha)
		if _, ok := images[sha]; ok {
			continue
		}
		b, err := s.readBlob(ctx, sha, maxSignatureBytes)
		if err != nil {
			return err
		}
		if b != nil {
			images[sha] = b
		}
	}
	stored, err := s.storedBlobs(ctx, hashes)
	if err != nil {
		return err
	}
	d, err := s.printing(c, func() (docs.Document, error) {
		return docs.RecordPDF(font, docs.Record{Inspection: in, Stored: stored, Images: images, Zone: s.cfg.Zone})
	})
	if err != nil {
		return err
	}
	return sendPDF(c, "record", d)
}

func (s *Server) orderPDF(c echo.Context) error {
	f, err := s.visibleFinding(c)
	if err != nil {
		return err
	}
	if f.Order == nil {
		return schema.Errorf(schema.CodeNotFound, "finding %s has no order to correct; order it corrected first", f.ID)
	}
	ctx := c.Request().Context()
	v, err := s.store.Venue(ctx, f.VenueID)
	if err != nil {
		return err
	}
	var inspected time.Time
	if in, err := s.store.Inspection(ctx, f.InspectionID); err == nil {
		inspected = in.StartedAt
	} else if schema.ErrorCode(err) != schema.CodeNotFound {
		return err
	}
	issuer := ""
	if f.Order != nil {
		if u, err := s.store.UserByUsername(ctx, f.Order.OrderedBy); err == nil {
			issuer = u.DisplayName
			if u.BadgeNo != "" {
				issuer += "（执法证号 " + u.BadgeNo + "）"
			}
		} else if schema.ErrorCode(err) != schema.CodeNotFound {
			return err
		}
	}
	font, err := s.documentFont()
	if err != nil {
		return err
	}
	d, err := s.printing(c, func() (docs.Document, error) {
		return docs.OrderPDF(font, docs.Order{Finding: f, Venue: v, InspectedAt: inspected, Squad: ledgerexport.SquadName(f.SquadID),
			Issuer: issuer, Zone: s.cfg.Zone})
	})
	if err != nil {
		return err
	}
	return sendPDF(c, "order", d)
}

func (s *Server) recheckPDF(c echo.Context) error {
	f, err := s.visibleFinding(c)
	if err != nil {
		return err
	}
	if f.RecheckInspectionID == "" {
		return schema.Errorf(schema.CodeNotFound, "finding %s has not been re-checked", f.ID)
	}
	ctx := c.Request().Context()
	v, err := s.store.Venue(ctx, f.VenueID)
	if err != nil {
		return err
	}
	in, err := s.store.Inspection(ctx, f.RecheckInspectionID)
	if err != nil {
		return err
	}
	font, err := s.documentFont()
	if err != nil {
		return err
	}
	var hashes []string
	for _, it := range in.Items {
		if it.ItemID == f.ItemID {
			for _, ph := range it.Photos {
				hashes = append(hashes, ph.SHA256)
			}
		}
	}
	stored, err := s.storedBlobs(ctx, hashes)
	if err != nil {
		return err
	}
	d, err := s.printing(c, func() (docs.Document, error) {
		return docs.RecheckPDF(font, docs.Recheck{Finding: f, Venue: v, Inspection: in, Stored: stored, Squad: ledgerexport.SquadName(f.SquadID), Zone: s.cfg.Zone})
	})
	if err != nil {
		return err
	}
	return sendPDF(c, "recheck", d)
}

// storedBlobs asks the blob store which of hashes it holds; without a blob
// store it holds none. A hash that is no key is not held.
func (s *Server) storedBlobs(ctx context.Context, hashes []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, h := range hashes {
		if _, seen := out[h]; seen {
			continue
		}
		out[h] = false
		if s.cfg.Blobs == nil {
			continue
		}
		switch _, err := s.cfg.Blobs.Stat(ctx, h); {
		case err == nil:
			out[h] = true
		case errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalidKey):
		default:
			return nil, schema.Errorf(schema.CodeUnavailable, "photo storage does not answer: %v", err)
		}
	}
	return out, nil
}

// readBlob reads a blob of at most limit bytes; nil when it is missing or
// larger (the document then says the image is not shown).
func (s *Server) readBlob(ctx context.Context, sha string, limit int64) ([]byte, error) {
	if s.cfg.Blobs == nil {
		return nil, nil
	}
	o, err := s.cfg.Blobs.Open(ctx, sha)
	switch {
	case errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalidKey):
		return nil, nil
	case err != nil:
		return nil, schema.Errorf(schema.CodeUnavailable, "photo storage does not answer: %v", err)
	}
	defer o.Close()
	if o.Info().Size > limit {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(o, limit+1))
	if err != nil {
		return nil, schema.Errorf(schema.CodeUnavailable, "photo storage: read %s: %v", truncate(sha, 64), err)
	}
	if int64(len(b)) > limit {
		return nil, nil
	}
	return b, nil
}

// sendPDF answers with the document, named by its number: an ASCII
// fallback filename and the number itself as RFC 5987 UTF-8.
func sendPDF(c echo.Context, kind string, d docs.Document) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, pdfDisposition(kind, d.Number))
	h.Set(echo.HeaderCacheControl, "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Document-Hash", d.Hash) // the SHA-256 the document prints
	return c.Blob(http.StatusOK, "application/pdf", d.PDF)
}

// pdfDisposition names a PDF inline by its document number: the
// number (device text, so cleaned of controls and path characters, and
// bounded) percent-encoded as filename*, and kind-ascii.pdf for clients
// that read only filename.
func pdfDisposition(kind, number string) string {
	var name strings.Builder
	n := 0
	for _, r := range number {
		if n >= 80 {
			break
		}
		switch {
		case r == unicode.ReplacementChar, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(`/\:*?"<>|`, r), unicode.IsSpace(r):
			r = '_'
		}
		name.WriteRune(r)
		n++
	}
	var ascii strings.Builder
	for _, r := range name.String() {
		switch {
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			ascii.WriteRune(r)
		case ascii.Len() > 0 && !strings.HasSuffix(ascii.String(), "-"):
			ascii.WriteByte('-')
		}
	}
	fallback := kind
	if a := strings.Trim(ascii.String(), "-"); a != "" {
		fallback += "-" + a
	}
	star := name.String()
	if star == "" {
		star = kind
	}
	return fmt.Sprintf(`inline; filename="%s.pdf"; filename*=UTF-8''%s`, fallback, rfc5987(star+".pdf"))
}
