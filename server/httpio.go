package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

// gzipMinBytes is the smallest response worth compressing.
const gzipMinBytes = 1024

var (
	bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzPool  = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return w
	}}
)

// acceptsGzip reports whether the client said it takes gzip responses.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// writeJSON sends v as JSON, gzip-compressed (fastest level) when the
// client accepts it and the body is large enough to gain from it.
func writeJSON(c echo.Context, status int, v any) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 8<<20 {
			bufPool.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	if buf.Len() >= gzipMinBytes && acceptsGzip(c.Request()) {
		h.Set(echo.HeaderContentEncoding, "gzip")
		res.WriteHeader(status)
		gz := gzPool.Get().(*gzip.Writer)
		gz.Reset(res)
		_, err := gz.Write(buf.Bytes())
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
		gz.Reset(io.Discard)
		gzPool.Put(gz)
		return err
	}
	res.WriteHeader(status)
	_, err := res.Write(buf.Bytes())
	return err
}

// limitedReader fails with *http.MaxBytesError once more than n bytes were
// read: it bounds the decompressed size of a gzip body, so a small bomb
// becomes a 413 instead of a full memory.
type limitedReader struct {
	r     io.Reader
	n     int64 // bytes still allowed
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte so that a body of exactly the limit is accepted.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, &http.MaxBytesError{Limit: l.limit}
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// body returns the request body bounded to limit bytes on the wire and,
// when it is gzip-encoded, to limit bytes decompressed. It refuses content
// types other than JSON.
func body(c echo.Context, limit int64) (io.Reader, func(), error) {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil, nil, schema.Errorf(schema.CodeUnsupportedMedia, "Content-Type %q is not accepted here; send application/json", truncate(ct, 60))
		}
	}
	raw := http.MaxBytesReader(c.Response(), req.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get(echo.HeaderContentEncoding))); enc {
	case "", "identity":
		return raw, func() {}, nil
	case "gzip":
		gz, err := gzip.NewReader(raw)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, schema.Errorf(schema.CodeTooLarge, "request body is larger than the %d bytes this endpoint accepts", limit)
			}
			return nil, nil, schema.Errorf(schema.CodeInvalid, "body is marked Content-Encoding: gzip but is not gzip data: %v", err)
		}
		return &limitedReader{r: gz, n: limit, limit: limit}, func() { gz.Close() }, nil
	default:
		return nil, nil, schema.Errorf(schema.CodeUnsupportedMedia, "Content-Encoding %q is not accepted; send the body plain or gzip-compressed", truncate(enc, 40))
	}
}

// bindJSON decodes a bounded JSON body into v.
func bindJSON(c echo.Context, limit int64, v any) error {
	r, done, err := body(c, limit)
	if err != nil {
		return err
	}
	defer done()
	return schema.DecodeJSON(r, v)
}

// bindOptionalJSON is bindJSON for a body that may be left out: an empty
// body (or one of only white space) leaves v as it is.
func bindOptionalJSON(c echo.Context, limit int64, v any) error {
	r, done, err := body(c, limit)
	if err != nil {
		return err
	}
	defer done()
	raw, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return schema.Errorf(schema.CodeTooLarge, "request body is larger than the %d bytes this endpoint accepts", limit)
		}
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return schema.DecodeJSON(bytes.NewReader(raw), v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// idParam reads the :id of a route naming a venue, inspection, conflict or
// device. Ids are canonical (schema.ValidUUID): one spelled another way,
// in upper case say, names nothing and is refused as such rather than
// answered "not found".
func idParam(c echo.Context, what string) (string, error) {
	id := c.Param("id")
	if err := schema.ValidUUID(id); err != nil {
		return "", schema.Errorf(schema.CodeInvalid, "%s id: %v", what, err)
	}
	return id, nil
}
