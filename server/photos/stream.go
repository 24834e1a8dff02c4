package photos

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"image"
	"io"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// stallTimeout is how long the blob store may take to accept the next
// bytes of a streamed photo before streaming is given up; the photo is then
// staged whole and committed from staging, as when it arrives in parts.
const stallTimeout = 30 * time.Second

var (
	errPutEnded  = errors.New("photos: the blob store stopped reading the stream")
	errCheckDone = errors.New("photos: header read")
	errAborted   = errors.New("photos: stream aborted")
	errStalled   = errors.New("photos: the blob store stalled")
)

// streamPut puts a photo into the blob store while its bytes arrive, so
// that a photo sent whole in one PATCH crosses the server once instead of
// being staged first and streamed to the store after. It wraps the request
// body: every byte read is also fed, in order, to
//
//   - the blob store's Put, through a pipe, which never receives the
//     photo's last byte until the photo is verified: its SHA-256 equals the
//     name and its header passed the content checks. A stream that is
//     aborted instead ends in an error, and a store never commits a stream
//     that errs before its end (the storage contract);
//   - a header check that reads the dimensions with a config-only decode
//     as the header arrives (JPEG, PNG, WebP; HEIC/HEIF is judged from the
//     staged file at the end, since its meta box needs random access).
//
// The staging file still receives every byte (see receive), so a body that
// breaks off resumes from staging, and anything that goes wrong with the
// stream falls back to the ordinary commit from staging.
type streamPut struct {
	s    *Service
	ctx  context.Context // outlives the request: a verified commit completes
	sha  string
	size int64
	body io.Reader

	fed  int64  // photo bytes read from body
	head []byte // bytes collected until the type is known

	mediaType string
	refused   error // the sniff refused the type: nothing is streamed

	pw      *io.PipeWriter // the Put's body; nil when no Put runs
	held    [1]byte        // the photo's last byte, withheld until it is verified
	cancel  context.CancelFunc
	stall   *time.Timer
	putDone chan struct{}
	putErr  error // valid once putDone is closed
	broken  bool  // the Put ended early: commit from staging instead

	cw        *io.PipeWriter // the header check's input; nil once it finished
	checkDone chan struct{}  // nil for HEIC/HEIF
	cfg       image.Config   // valid once checkDone is closed
	checkErr  error          // valid once checkDone is closed
}

// newStreamPut wraps body, the whole photo of size bytes named sha.
func (s *Service) newStreamPut(ctx context.Context, sha string, size int64, body io.Reader) *streamPut {
	return &streamPut{s: s, ctx: context.WithoutCancel(ctx), sha: sha, size: size, body: body}
}

// Read implements io.Reader for receive.
func (t *streamPut) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if n > 0 && t.fed < t.size {
		t.feed(p[:min(int64(n), t.size-t.fed)])
	}
	return n, err
}

// feed passes the next photo bytes on to the Put and the header check.
func (t *streamPut) feed(b []byte) {
	t.fed += int64(len(b))
	if t.refused != nil {
		return
	}
	if t.mediaType == "" {
		t.head = append(t.head, b...)
		if int64(len(t.head)) < min(sniffLen, t.size) {
			return
		}
		b, t.head = t.head, nil
		if !t.start(b[:min(len(b), sniffLen)]) {
			return
		}
	}
	if t.cw != nil {
		if _, err := t.cw.Write(b); err != nil {
			t.cw = nil // the header is read; a refusal stops the Put at once
			if <-t.checkDone; t.checkErr != nil {
				t.stopPut()
			}
		}
	}
	if t.pw == nil {
		return
	}
	if t.fed == t.size {
		t.held[0] = b[len(b)-1]
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return
	}
	t.stall.Reset(stallTimeout)
	if _, err := t.pw.Write(b); err != nil {
		t.s.logger().Warn("photos: streaming to the blob store failed; committing from staging", "sha256", t.sha, "err", err)
		t.stopPut()
	}
}

// start sniffs the type from the head of the photo and starts the Put and
// the header check; false when the type is refused (the commit from
// staging then refuses it with the same reason).
func (t *streamPut) start(head []byte) bool {
	mt, err := sniffOrRefuse(head)
	if err != nil {
		t.refused = err
		return false
	}
	t.mediaType = mt
	ctx, cancel := context.WithCancel(t.ctx)
	pr, pw := io.Pipe()
	t.pw, t.cancel, t.putDone = pw, cancel, make(chan struct{})
	t.stall = time.AfterFunc(stallTimeout, func() { pw.CloseWithError(errStalled); cancel() })
	go func() {
		defer close(t.putDone)
		t.putErr = t.s.Blobs.Put(ctx, t.sha, pr, t.size, mt)
		pr.CloseWithError(errPutEnded)
	}()
	if streamDecodable(mt) {
		cr, cw := io.Pipe()
		t.cw, t.checkDone = cw, make(chan struct{})
		go func() {
			defer close(t.checkDone)
			cfg, err := decodeConfig(mt, bufio.NewReaderSize(cr, copyBufferSize)) // one handoff per chunk
			t.cfg, t.checkErr = cfg, t.s.checkConfig(mt, cfg, err)
			cr.CloseWithError(errCheckDone)
		}()
	}
	return true
}

// stopPut aborts the Put, so that the store commits nothing, and waits
// for it to end.
func (t *streamPut) stopPut() {
	if t.pw == nil {
		return
	}
	t.pw.CloseWithError(errAborted)
	t.cancel()
	<-t.putDone
	t.stall.Stop()
	t.pw, t.broken = nil, true
}

// abort stops whatever still runs; safe to call more than once.
func (t *streamPut) abort() {
	t.stopPut()
	if t.cw != nil {
		t.cw.CloseWithError(errAborted)
		t.cw = nil
	}
	if t.checkDone != nil {
		<-t.checkDone
	}
	if t.cancel != nil {
		t.cancel()
	}
}

// contentCheck returns the dimensions of the fully received photo, or the
// refusal of its content; f is the staged file.
func (t *streamPut) contentCheck(f io.ReaderAt) (w, h int, err error) {
	switch {
	case t.refused != nil:
		return 0, 0, t.refused
	case t.checkDone == nil: // HEIC/HEIF
		_, w, h, err = t.s.probe(f, t.size)
		return w, h, err
	}
	if t.cw != nil {
		t.cw.Close() // a header that never ended is refused
		t.cw = nil
	}
	<-t.checkDone
	if t.checkErr != nil {
		return 0, 0, t.checkErr
	}
	return t.cfg.Width, t.cfg.Height, nil
}

// release hands the withheld last byte to the Put and waits for the store
// to commit the photo.
func (t *streamPut) release() error {
	timer := time.AfterFunc(commitTimeout, t.cancel)
	defer timer.Stop()
	t.stall.Stop()
	if _, err := t.pw.Write(t.held[:]); err == nil {
		t.pw.Close()
	}
	<-t.putDone
	t.pw = nil
	if t.putErr == nil && t.fed != t.size {
		return errPutEnded // unreachable: the Put cannot end before the last byte
	}
	return t.putErr
}

// commitStreamed finishes a photo whose bytes all arrived through t and
// are staged (not yet durable). Verified, the photo is committed by
// releasing its last byte to the store; refused, the Put is aborted and the
// staged bytes deleted; when the stream broke, the staged bytes are made
// durable and committed the ordinary way.
func (s *Service) commitStreamed(ctx context.Context, sha string, up *staged, t *streamPut) error {
	size := up.st.Length
	if hex.EncodeToString(up.h.Sum(nil)) != sha {
		t.abort()
		return s.commit(ctx, sha, up) // refuses and deletes the bytes
	}
	w, h, err := t.contentCheck(up.f)
	if err != nil {
		t.abort()
		s.discard(up)
		return err
	}
	if t.pw == nil {
		t.abort()
		if err := s.makeDurable(up); err != nil {
			return err
		}
		return s.commit(ctx, sha, up)
	}
	putErr := t.release()
	if putErr != nil {
		if errors.Is(putErr, storage.ErrChecksum) {
			s.discard(up)
			return schema.Errorf(schema.CodeChecksumMismatch, "the bytes of photo %s changed before they were stored; nothing was stored, send it again", short(sha))
		}
		s.logger().Error("photos: blob store put failed; bytes stay staged", "sha256", sha, "err", putErr)
		if err := s.makeDurable(up); err != nil {
			return err
		}
		return schema.Errorf(schema.CodeUnavailable, "the photo store is unavailable; the server keeps all %d bytes, retry to finish", size)
	}
	p := store.Photo{SHA256: sha, Size: size, MediaType: t.mediaType, Width: w, Height: h, ReceivedAt: s.now()}
	if err := s.Records.RecordPhoto(ctx, p, up.by.By); err != nil {
		if derr := s.makeDurable(up); derr != nil {
			s.logger().Warn("photos: staged bytes not durable after a failed record", "sha256", sha, "err", derr)
		}
		return s.internal("commit", sha, err)
	}
	up.f.Close()
	up.f = nil
	s.queueThumbnail(up.key, t.mediaType, size)
	s.logger().Info("photos: stored", "sha256", sha, "size", size, "media_type", t.mediaType, "width", w, "height", h, "streamed", true)
	return nil
}

// makeDurable saves the staged state of an upload whose end was not made
// durable (a streamed photo), so that a retry need not resend it. On
// failure the upload's offset falls back to its last durable point.
func (s *Service) makeDurable(up *staged) error {
	sha := up.key.sha()
	err := s.saveState(up.key, up.f, up.st, up.h)
	if err == nil {
		return nil
	}
	up.st.Offset = 0
	if st, _, ok := s.loadState(up.key); ok {
		up.st.Offset = st.Offset
	}
	s.logger().Error("photos: staging not durable; free disk space on, or restore write access to, "+s.StagingDir, "sha256", sha, "err", err)
	return schema.Errorf(schema.CodeUnavailable, "the server cannot store the upload right now; try again later")
}
