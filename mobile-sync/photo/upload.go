package photo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/patrolhq/patrol/schema"
)

// HeaderStored is set to "true" by the server on HEAD and PATCH of an
// upload whose photo it already stores: the device sends nothing then.
const HeaderStored = schema.HeaderStored

// maxRounds bounds the PATCH requests of one Upload call that make no
// progress (offset mismatches, empty partial answers), so that a confused
// server cannot keep a device looping.
const maxRounds = 8

// Uploader sends photo bytes to the server with the resumable offset
// protocol (see the server's photos package for the exact rules):
//
//  1. HEAD {BaseURL}/api/v1/uploads/{sha}: the server answers 200 with
//     Upload-Offset (bytes it holds) and, when known, Upload-Length; with
//     Patrol-Stored: true when the photo is stored already, in which case
//     nothing is sent — not by this device, nor by any other.
//  2. PATCH {BaseURL}/api/v1/uploads/{sha} with Upload-Offset (where this
//     body starts), Upload-Length (the whole photo), Content-Type
//     application/offset+octet-stream, Expect: 100-continue, and the file
//     from that offset as the body, streamed from disk, never buffered.
//     201: complete and stored. 204: the server holds Upload-Offset bytes;
//     send the rest. 409 offset_mismatch: the server holds Upload-Offset
//     bytes; seek there and continue. Any other 4xx: refused, returned as
//     *schema.Error. 5xx or a network error: returned; the next call
//     resumes from what the server kept (HEAD again), never from zero.
//
// By default the rest of the file goes in one PATCH (ChunkSize 0): the
// server keeps every byte that arrived even when the connection is cut, so
// chunks are not needed to resume, and one request costs the fewest round
// trips on a slow mobile link. Set ChunkSize where a proxy limits bodies.
type Uploader struct {
	BaseURL   string // e.g. https://patrol.example.org, without /api/v1
	Token     string // device bearer token
	Client    *http.Client
	ChunkSize int64 // bytes per PATCH; 0 sends the whole rest at once
	// AssumeNew skips the HEAD that asks where to start, for a photo this
	// device never tried to send: the PATCH starts at 0 and, because it
	// waits for 100 Continue, a server that holds bytes already (409 with
	// its offset) or the whole photo (201, stored) answers before any byte
	// is sent. It saves a round trip per photo on a slow link.
	AssumeNew bool
}

// UploadResult says what one Upload call did.
type UploadResult struct {
	Sent    int64 // bytes of the photo this call put on the wire
	Skipped bool  // the server already stored the photo; nothing was sent
}

// uploadState is what the server says about an upload.
type uploadState struct {
	offset int64
	length int64 // -1 when the server does not know it yet
	stored bool
}

// Upload sends the photo named sha (size bytes, opened by open) so that
// the server ends up storing it, resuming from whatever the server already
// holds. progress, when not nil, is called (possibly from another
// goroutine) with how many bytes of the photo the server holds or has been
// sent so far, resume offset included.
func (u *Uploader) Upload(ctx context.Context, sha string, size int64, open func() (io.ReadSeekCloser, error), progress func(sent int64)) (UploadResult, error) {
	var res UploadResult
	if !validSHA(sha) {
		return res, fmt.Errorf("photo: upload: %q is not a lowercase hex SHA-256", sha)
	}
	if size <= 0 {
		return res, fmt.Errorf("photo: upload %s: size %d", short(sha), size)
	}
	if progress == nil {
		progress = func(int64) {}
	}
	st := uploadState{length: -1}
	if !u.AssumeNew {
		var err error
		if st, err = u.head(ctx, sha); err != nil {
			return res, fmt.Errorf("photo: upload %s: %w", short(sha), err)
		}
	}
	if st.stored {
		progress(size)
		res.Skipped = true
		return res, nil
	}
	offset := st.offset
	if (st.length >= 0 && st.length != size) || offset > size || offset < 0 {
		offset = 0 // staged under another length: the server restarts at 0
	}
	f, err := open()
	if err != nil {
		return res, fmt.Errorf("photo: upload %s: open: %w", short(sha), err)
	}
	defer f.Close()
	for rounds := 0; ; {
		n := size - offset
		if u.ChunkSize > 0 && n > u.ChunkSize {
			n = u.ChunkSize
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return res, fmt.Errorf("photo: upload %s: seek to %d: %w", short(sha), offset, err)
		}
		progress(offset)
		next, done, sent, err := u.patch(ctx, sha, offset, size, f, n, progress)
		res.Sent += sent
		if err != nil {
			return res, fmt.Errorf("photo: upload %s: %w", short(sha), err)
		}
		if done {
			progress(size)
			return res, nil
		}
		if next <= offset || sent == 0 {
			if rounds++; rounds > maxRounds {
				return res, fmt.Errorf("photo: upload %s: %w", short(sha),
					schema.Errorf(schema.CodeUnavailable, "the server made no progress after %d requests (offset %d of %d)", maxRounds, next, size))
			}
		}
		if next < 0 || next > size {
			return res, fmt.Errorf("photo: upload %s: %w", short(sha),
				schema.Errorf(schema.CodeUnavailable, "the server answered offset %d for a photo of %d bytes", next, size))
		}
		offset = next
	}
}

func (u *Uploader) client() *http.Client {
	if u.Client != nil {
		return u.Client
	}
	return http.DefaultClient
}

func (u *Uploader) url(sha string) string {
	return strings.TrimRight(u.BaseURL, "/") + schema.PathUploads + "/" + sha
}

func (u *Uploader) newRequest(ctx context.Context, method, sha string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.url(sha), body)
	if err != nil {
		return nil, err
	}
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	return req, nil
}

// head asks the server how much of the photo it holds.
func (u *Uploader) head(ctx context.Context, sha string) (uploadState, error) {
	req, err := u.newRequest(ctx, http.MethodHead, sha, nil)
	if err != nil {
		return uploadState{}, err
	}
	resp, err := u.client().Do(req)
	if err != nil {
		return uploadState{}, fmt.Errorf("head: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return uploadState{}, fmt.Errorf("head: %w", answerError(resp))
	}
	st := uploadState{length: -1, stored: resp.Header.Get(HeaderStored) == "true"}
	if st.offset, err = headerInt(resp, schema.HeaderUploadOffset); err != nil {
		return uploadState{}, fmt.Errorf("head: %w", err)
	}
	if resp.Header.Get(schema.HeaderUploadLength) != "" {
		if st.length, err = headerInt(resp, schema.HeaderUploadLength); err != nil {
			return uploadState{}, fmt.Errorf("head: %w", err)
		}
	}
	return st, nil
}

// patch sends n bytes of f (already positioned at offset) and returns the
// offset the server holds afterwards, whether the photo is stored, and how
// many bytes went on the wire.
func (u *Uploader) patch(ctx context.Context, sha string, offset, size int64, f io.Reader, n int64, progress func(int64)) (next int64, done bool, sent int64, err error) {
	body := &gatedReader{r: io.LimitReader(f, n), onRead: func(total int64) { progress(offset + total) }}
	defer body.close() // after this returns the transport can no longer touch f
	var rb io.Reader = body
	if n == 0 {
		rb = http.NoBody
	}
	req, err := u.newRequest(ctx, http.MethodPatch, sha, rb)
	if err != nil {
		return 0, false, 0, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", schema.ContentTypeUpload)
	req.Header.Set(schema.HeaderUploadOffset, strconv.FormatInt(offset, 10))
	req.Header.Set(schema.HeaderUploadLength, strconv.FormatInt(size, 10))
	if n > 0 {
		// The server refuses a wrong offset before reading the body, so
		// a mismatch costs no bytes.
		req.Header.Set("Expect", "100-continue")
	}
	resp, err := u.client().Do(req)
	sent = body.close()
	if err != nil {
		return 0, false, sent, fmt.Errorf("patch at %d: %w", offset, err)
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
		return size, true, sent, nil
	case http.StatusNoContent:
		next, err = headerInt(resp, schema.HeaderUploadOffset)
		return next, false, sent, err
	case http.StatusConflict:
		e := responseError(resp)
		if e.Code != schema.CodeOffsetMismatch {
			return 0, false, sent, fmt.Errorf("patch at %d: %w", offset, e)
		}
		next, err = headerInt(resp, schema.HeaderUploadOffset)
		return next, false, sent, err
	}
	return 0, false, sent, fmt.Errorf("patch at %d: %w", offset, answerError(resp))
}

// gatedReader counts what the transport reads and, once closed, refuses
// further reads, so that a transport still writing a finished request can
// never read the file while the next request seeks it.
type gatedReader struct {
	mu     sync.Mutex
	r      io.Reader
	n      int64
	closed bool
	onRead func(total int64)
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errors.New("photo: upload body closed")
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if n > 0 {
		g.onRead(g.n)
	}
	return n, err
}

// close stops further reads and returns how many bytes were read.
func (g *gatedReader) close() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return g.n
}

// AnswerError is a failure the server answered (not a network error), with
// the wait it asked for, so that the caller's retry loop can honour
// Retry-After instead of hammering a server that said when to come back.
type AnswerError struct {
	Err        *schema.Error // the decoded answer
	Status     int           // the HTTP status
	RetryAfter string        // the raw Retry-After header; "" when none
}

// Error is the server's message.
func (e *AnswerError) Error() string { return e.Err.Error() }

// Unwrap exposes the *schema.Error, so errors.As and schema.ErrorCode see it.
func (e *AnswerError) Unwrap() error { return e.Err }

func answerError(resp *http.Response) error {
	return &AnswerError{Err: responseError(resp), Status: resp.StatusCode, RetryAfter: strings.TrimSpace(resp.Header.Get("Retry-After"))}
}

// responseError decodes the server's error body, or makes one from the
// status when the body is not ours (a proxy's page, a cut reply).
func responseError(resp *http.Response) *schema.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return schema.ResponseError(resp.StatusCode, b)
}

func headerInt(resp *http.Response, name string) (int64, error) {
	v := resp.Header.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, schema.Errorf(schema.CodeUnavailable, "the server answered %s without a valid %s header (%q)", resp.Status, name, v)
	}
	return n, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
