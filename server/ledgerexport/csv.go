package ledgerexport

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strconv"
)

// bom makes Excel read the file as UTF-8 (without it, Chinese text opens
// as mojibake in the code page of a Chinese Windows).
const bom = "\ufeff"

// WriteCSV writes the rows of q as CSV the way Excel opens it: UTF-8 with
// a byte order mark, CRLF line ends, fields quoted where they hold commas,
// quotes or line breaks, and text that a spreadsheet would take for a
// formula defused (Defuse). Rows go out page by page as they are read.
func WriteCSV(ctx context.Context, w io.Writer, src Source, q Query) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(bom); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(Headers); err != nil {
		return err
	}
	rec := make([]string, len(Headers))
	err := Each(ctx, src, q, func(r Row) error {
		for i, v := range r.Fields(q.Zone) {
			switch v := v.(type) {
			case string:
				rec[i] = Defuse(v)
			case int:
				rec[i] = strconv.Itoa(v)
			}
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// Defuse keeps a spreadsheet from running text as a formula (CSV
// injection): a cell that begins with = + - @, a tab or a carriage return
// is written with a leading apostrophe, which Excel shows as text. Every
// field a device wrote is hostile text.
func Defuse(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
