package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/server/ledgerexport"
	"github.com/patrolhq/patrol/server/store"
)

// zone is the bureau's time zone: the configured one, else Asia/Shanghai
// (UTC+8 without the zone database, which it matches since 1991).
func (s *Server) zone() *time.Location {
	if s.cfg.Zone != nil {
		return s.cfg.Zone
	}
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return store.ChinaTime
}

// ledgerQuery reads who may export which squad's ledger (leaders their
// own, admins any or all; inspectors none) and the month.
func (s *Server) ledgerQuery(c echo.Context) (ledgerexport.Query, error) {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return ledgerexport.Query{}, err
	}
	sq, err := scope(c, p)
	if err != nil {
		return ledgerexport.Query{}, err
	}
	zone, now := s.zone(), s.cfg.Now()
	month, err := ledgerexport.MonthIn(c.QueryParam("month"), zone, now)
	if err != nil {
		return ledgerexport.Query{}, err
	}
	return ledgerexport.Query{SquadID: sq, Month: month, Zone: zone, Now: now}, nil
}

// exportLedger streams the ledger of the request's month and squad in the
// format write makes. Once the first bytes are out the status is sent: a
// failure after that is logged and the connection cut, so the client sees
// a truncated download rather than a file that looks whole.
func (s *Server) exportLedger(c echo.Context, ext, mediaType string,
	write func(c echo.Context, w io.Writer, q ledgerexport.Query) error) error {
	q, err := s.ledgerQuery(c)
	if err != nil {
		return err
	}
	name, ascii := ledgerFilename(q, ext)
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, mediaType)
	h.Set(echo.HeaderContentDisposition, contentDisposition(name, ascii))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
	if err := write(c, c.Response(), q); err != nil {
		s.log.ErrorContext(c.Request().Context(), "ledger export failed after the response began", "file", ascii, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) ledgerXLSX(c echo.Context) error {
	return s.exportLedger(c, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		func(c echo.Context, w io.Writer, q ledgerexport.Query) error {
			return ledgerexport.WriteXLSX(c.Request().Context(), w, s.store, q)
		})
}

func (s *Server) ledgerCSV(c echo.Context) error {
	return s.exportLedger(c, "csv", "text/csv; charset=utf-8",
		func(c echo.Context, w io.Writer, q ledgerexport.Query) error {
			return ledgerexport.WriteCSV(c.Request().Context(), w, s.store, q)
		})
}

// ledgerFilename names an export as the bureau files it (台账-2026-11-第1中队)
// and in ASCII for clients that cannot read the other (ledger-2026-11-squad1).
func ledgerFilename(q ledgerexport.Query, ext string) (name, ascii string) {
	month := q.Month.Format("2006-01")
	if q.SquadID == nil {
		return "台账-" + month + "-全部中队." + ext, "ledger-" + month + "-all." + ext
	}
	return "台账-" + month + "-" + ledgerexport.SquadName(*q.SquadID) + "." + ext, fmt.Sprintf("ledger-%s-squad%d.%s", month, *q.SquadID, ext)
}

// contentDisposition is an attachment named name (RFC 6266 with the
// filename* of RFC 5987, UTF-8 percent-encoded) and, for older clients,
// the plain ASCII name.
func contentDisposition(name, ascii string) string {
	return `attachment; filename="` + ascii + `"; filename*=UTF-8''` + rfc5987(name)
}

// rfc5987 percent-encodes every byte of s that is not an attr-char.
func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9', strings.IndexByte("!#$&+-.^_`|~", ch) >= 0:
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}
