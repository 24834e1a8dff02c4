package photos

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// Shared staging: when Service.Uploads and Service.Staging are set, a
// partial upload lives where every replica sees it, so that an upload cut
// on one replica resumes on any other. Its bytes are pieces in the
// Staging blob store (about Checkpoint bytes each, an S3 bucket's
// staging/ prefix when several replicas run) and its durable point is a
// row of Uploads: the offset, the SHA-256 state after exactly those bytes,
// the pieces in order and a Pending piece being written. A piece is a
// blob like any other, content-addressed: pieceNonce random bytes, then
// the photo bytes, so that no two uploads (two devices sending the same
// photo) ever share a piece, and deleting one's pieces never touches the
// other's. A piece is spooled to a temporary file in StagingDir while it
// arrives (its key is its hash, known only at its end), then put.
//
// Saving a piece takes two saves of the row: the first names it Pending,
// the second, once the store holds it, adds it to Pieces with the new
// offset and hash state. A replica killed between leaves a Pending piece
// that the next save or delete of the row removes, so no staged object
// outlives the row that names it (the clean-up job removes rows whose
// upload was abandoned, with their pieces).

// pieceNonce is how many random bytes start every staged piece.
const pieceNonce = 32

// sharedStaging reports whether partial uploads are staged in the blob
// store and the database rather than in StagingDir.
func (s *Service) sharedStaging() bool { return s.Uploads != nil && s.Staging != nil }

// sharedUpload is a device's upload of a photo, opened at its durable
// point in the shared staging.
type sharedUpload struct {
	st store.Upload // as last saved (Version 0: not saved yet)
	h  hash.Hash    // SHA-256 state after st.Offset bytes and the piece being spooled
	by Upload
}

// hashState is h in its encoding.BinaryMarshaler form.
func hashState(h hash.Hash) ([]byte, error) {
	return h.(encoding.BinaryMarshaler).MarshalBinary()
}

// usable checks a loaded state and restores its hash; false when it
// cannot be trusted (the upload then restarts from zero).
func usable(st store.Upload) (hash.Hash, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
		return nil, err
	}
	var sum int64
	for _, p := range st.Pieces {
		if storage.ValidateKey(p.Key) != nil || p.Size <= 0 {
			return nil, fmt.Errorf("piece %q of %d bytes", p.Key, p.Size)
		}
		sum += p.Size
	}
	if st.Size <= 0 || st.Offset < 0 || st.Offset > st.Size || sum != st.Offset {
		return nil, fmt.Errorf("offset %d of length %d in pieces of %d bytes", st.Offset, st.Size, sum)
	}
	return h, nil
}

// openShared opens device's upload of sha at its durable point for a
// request that starts at reqOffset of a photo of length bytes, like
// openStaging does for StagingDir.
func (s *Service) openShared(ctx context.Context, sha, device string, length, reqOffset int64) (*sharedUpload, error) {
	st, err := s.Uploads.Upload(ctx, sha, device)
	found := err == nil
	if err != nil && schema.ErrorCode(err) != schema.CodeNotFound {
		return nil, err
	}
	var h hash.Hash
	restart := false
	if found {
		if h, err = usable(st); err != nil {
			s.logger().Warn("photos: staging state corrupt; upload restarts", "sha256", sha, "err", err)
			restart = true
		} else if st.Size != length {
			if reqOffset != 0 {
				return nil, mismatch(0, "the upload of photo %s was started with Upload-Length %d, this request says %d; start again at offset 0",
					short(sha), st.Size, length)
			}
			s.logger().Info("photos: upload restarted with another length", "sha256", sha, "was", st.Size, "now", length)
			restart = true
		}
	}
	if !found && reqOffset != 0 {
		return nil, mismatch(0, "the server holds no bytes of photo %s from this device; start at offset 0", short(sha))
	}
	if restart {
		old := st
		h = sha256.New()
		hs, _ := hashState(h)
		fresh, err := s.Uploads.SaveUpload(ctx, store.Upload{SHA256: sha, Device: device, Size: length, Hash: hs, Version: old.Version})
		if err != nil {
			return nil, err
		}
		s.deletePieces(ctx, sha, old)
		st = fresh
	}
	if !found {
		st, h = store.Upload{SHA256: sha, Device: device, Size: length}, sha256.New()
	}
	if reqOffset != st.Offset {
		return nil, mismatch(st.Offset, "the server holds %d bytes of photo %s; this request starts at %d; resume at offset %d",
			st.Offset, short(sha), reqOffset, st.Offset)
	}
	return &sharedUpload{st: st, h: h}, nil
}

// deletePieces deletes the staged objects of state st (its pieces and
// its Pending piece); failures are logged, and leave objects that no
// state names.
func (s *Service) deletePieces(ctx context.Context, sha string, st store.Upload) {
	keys := make([]string, 0, len(st.Pieces)+1)
	for _, p := range st.Pieces {
		keys = append(keys, p.Key)
	}
	if st.Pending != "" {
		keys = append(keys, st.Pending)
	}
	for _, k := range keys {
		if storage.ValidateKey(k) != nil {
			continue
		}
		if err := s.Staging.Delete(ctx, k); err != nil {
			s.logger().Warn("photos: remove staged piece", "sha256", sha, "piece", k, "err", err)
		}
	}
}

// discardShared deletes an upload's state and then its pieces.
func (s *Service) discardShared(ctx context.Context, up *sharedUpload) {
	if up.st.Version == 0 {
		return
	}
	if err := s.Uploads.DeleteUpload(ctx, up.st.SHA256, up.st.Device, up.st.Version); err != nil {
		s.logger().Warn("photos: remove staging state", "sha256", up.st.SHA256, "err", err)
		return // moved on: it belongs to whoever moved it
	}
	s.deletePieces(ctx, up.st.SHA256, up.st)
	up.st.Version = 0
}

// piece is the next staged piece while it arrives: spooled to a
// temporary file and hashed, nonce first.
type piece struct {
	f *os.File
	h hash.Hash
	n int64 // photo bytes in it
}

func (s *Service) newPiece() (*piece, error) {
	f, err := os.CreateTemp(s.StagingDir, "*.piece")
	if err != nil {
		return nil, fmt.Errorf("photos: spool piece: %w", err)
	}
	p := &piece{f: f, h: sha256.New()}
	var nonce [pieceNonce]byte
	rand.Read(nonce[:])
	if err := p.write(nonce[:]); err != nil {
		p.close()
		return nil, err
	}
	p.n = 0
	return p, nil
}

func (p *piece) write(b []byte) error {
	if _, err := p.f.Write(b); err != nil {
		return fmt.Errorf("photos: spool piece: %w", err)
	}
	p.h.Write(b)
	p.n += int64(len(b))
	return nil
}

func (p *piece) close() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// savePiece makes the spooled piece p part of the upload's durable state:
// the state names it Pending, the store gets it, and the state then adds
// it with the new offset and hash state.
func (s *Service) savePiece(ctx context.Context, up *sharedUpload, p *piece) error {
	key := hex.EncodeToString(p.h.Sum(nil))
	hs, err := hashState(up.h)
	if err != nil {
		return err
	}
	stale := up.st.Pending // a piece a killed writer left
	next := up.st
	next.Pending = key
	if next.Hash == nil { // a first save: the state before this piece
		h := sha256.New()
		next.Hash, _ = hashState(h)
	}
	saved, err := s.Uploads.SaveUpload(ctx, next)
	if err != nil {
		return err
	}
	up.st = saved
	if stale != "" && stale != key {
		s.deletePieces(ctx, up.st.SHA256, store.Upload{Pending: stale})
	}
	if err := s.Staging.Put(ctx, key, io.NewSectionReader(p.f, 0, pieceNonce+p.n), pieceNonce+p.n, storage.DefaultContentType); err != nil {
		return err // the state names it Pending: the next save or delete removes it
	}
	next = up.st
	next.Pieces = append(slices.Clip(next.Pieces), store.UploadPiece{Key: key, Size: p.n})
	next.Offset += p.n
	next.Hash, next.Pending = hs, ""
	saved, err = s.Uploads.SaveUpload(ctx, next)
	if err != nil {
		s.deletePieces(ctx, up.st.SHA256, store.Upload{Pending: key})
		return err
	}
	up.st = saved
	return nil
}

// receiveShared appends body to the upload, piece by piece, saving the
// state after every piece: every Checkpoint bytes, at the end and when
// the body breaks off.
func (s *Service) receiveShared(ctx context.Context, up *sharedUpload, body io.Reader) error {
	sha := up.st.SHA256
	buf := make([]byte, copyBufferSize)
	remaining := up.st.Size - up.st.Offset
	var p *piece
	defer func() {
		if p != nil {
			p.close()
		}
	}()
	flush := func() error {
		if p == nil {
			return nil
		}
		defer func() { p.close(); p = nil }()
		if p.n == 0 {
			return nil
		}
		if err := s.savePiece(ctx, up, p); err != nil {
			return s.sharedFault(sha, err)
		}
		return nil
	}
	for remaining > 0 {
		n, rerr := body.Read(buf[:min(int64(len(buf)), remaining)])
		if n > 0 {
			if p == nil {
				var err error
				if p, err = s.newPiece(); err != nil {
					return s.sharedFault(sha, err)
				}
			}
			if err := p.write(buf[:n]); err != nil {
				return s.sharedFault(sha, err)
			}
			up.h.Write(buf[:n])
			if s.OnReceive != nil {
				s.OnReceive(int64(n))
			}
			remaining -= int64(n)
			if p.n >= s.checkpoint() {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if err := flush(); err != nil {
				return err
			}
			s.logger().Info("photos: upload body broke off", "sha256", sha, "offset", up.st.Offset, "err", rerr)
			return schema.Errorf(schema.CodeUnavailable, "the upload body broke off (%v); the server keeps %d bytes of photo %s: resume at offset %d",
				rerr, up.st.Offset, short(sha), up.st.Offset)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if remaining == 0 {
		var one [1]byte
		if n, _ := io.ReadFull(body, one[:]); n > 0 {
			return schema.Errorf(schema.CodeInvalid, "the body runs past Upload-Length %d; the server keeps %d bytes of photo %s",
				up.st.Size, up.st.Offset, short(sha))
		}
	}
	return nil
}

// sharedFault answers a failure to save a piece or its state: another
// replica moving the same upload on is a busy answer, anything else a
// store that cannot keep the bytes right now.
func (s *Service) sharedFault(sha string, err error) error {
	if schema.ErrorCode(err) == schema.CodeConflict {
		return schema.Errorf(schema.CodeUnavailable, "another upload of photo %s from this device is in progress; try again in a few seconds", short(sha))
	}
	s.logger().Error("photos: staging not durable; check the staging blob store and the database", "sha256", sha, "err", err)
	return schema.Errorf(schema.CodeUnavailable, "the server cannot store the upload right now; try again later")
}

// piecesReader streams the staged bytes of pieces, in order, opening one
// piece at a time.
type piecesReader struct {
	ctx    context.Context
	store  storage.Store
	pieces []store.UploadPiece
	cur    storage.Object
	r      io.Reader
}

func (r *piecesReader) Read(b []byte) (int, error) {
	for {
		if r.r == nil {
			if len(r.pieces) == 0 {
				return 0, io.EOF
			}
			p := r.pieces[0]
			r.pieces = r.pieces[1:]
			o, err := openPiece(r.ctx, r.store, p, 0)
			if err != nil {
				return 0, err
			}
			r.cur, r.r = o, io.LimitReader(o, p.Size)
		}
		n, err := r.r.Read(b)
		if err == io.EOF {
			r.Close()
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// Close closes the piece being read.
func (r *piecesReader) Close() error {
	if r.cur != nil {
		r.cur.Close()
	}
	r.cur, r.r = nil, nil
	return nil
}

// openPiece opens piece p positioned at photo byte off within it.
func openPiece(ctx context.Context, st storage.Store, p store.UploadPiece, off int64) (storage.Object, error) {
	o, err := st.Open(ctx, p.Key)
	if err != nil {
		return nil, fmt.Errorf("photos: open staged piece: %w", err)
	}
	if o.Info().Size != pieceNonce+p.Size {
		o.Close()
		return nil, fmt.Errorf("photos: staged piece %s has %d bytes, want %d", p.Key, o.Info().Size, pieceNonce+p.Size)
	}
	if _, err := o.Seek(pieceNonce+off, io.SeekStart); err != nil {
		o.Close()
		return nil, fmt.Errorf("photos: seek staged piece: %w", err)
	}
	return o, nil
}

// piecesAt reads the staged bytes at offsets, for the content checks that
// need random access (HEIC/HEIF boxes); it keeps one piece open.
type piecesAt struct {
	ctx    context.Context
	store  storage.Store
	pieces []store.UploadPiece
	starts []int64

	cur    storage.Object
	curIdx int
	pos    int64 // photo offset cur is positioned at
	err    error // the first failure of the staging store
}

func newPiecesAt(ctx context.Context, st storage.Store, pieces []store.UploadPiece) *piecesAt {
	r := &piecesAt{ctx: ctx, store: st, pieces: pieces, curIdx: -1}
	var off int64
	for _, p := range pieces {
		r.starts = append(r.starts, off)
		off += p.Size
	}
	return r
}

// ReadAt implements io.ReaderAt (not for concurrent use).
func (r *piecesAt) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		i, _ := slices.BinarySearch(r.starts, off+1)
		i--
		if i < 0 || i >= len(r.pieces) || off-r.starts[i] >= r.pieces[i].Size {
			return n, io.EOF
		}
		within := off - r.starts[i]
		if r.curIdx != i || r.pos != off {
			r.Close()
			o, err := openPiece(r.ctx, r.store, r.pieces[i], within)
			if err != nil {
				r.err = cmp.Or(r.err, err)
				return n, err
			}
			r.cur, r.curIdx = o, i
		}
		m, err := io.ReadFull(r.cur, b[n:n+int(min(int64(len(b)-n), r.pieces[i].Size-within))])
		n += m
		off += int64(m)
		r.pos = off
		if err != nil {
			r.Close()
			err = fmt.Errorf("photos: read staged piece: %w", err)
			r.err = cmp.Or(r.err, err)
			return n, err
		}
	}
	return n, nil
}

// Close closes the piece kept open.
func (r *piecesAt) Close() error {
	if r.cur != nil {
		r.cur.Close()
	}
	r.cur, r.curIdx = nil, -1
	return nil
}

// headShared answers HEAD for an upload staged in the shared staging.
func (s *Service) headShared(c echo.Context, sha, device string) error {
	h := c.Response().Header()
	offset := int64(0)
	st, err := s.Uploads.Upload(c.Request().Context(), sha, device)
	switch {
	case err == nil:
		if _, uerr := usable(st); uerr == nil {
			offset = st.Offset
			h.Set(schema.HeaderUploadLength, strconv.FormatInt(st.Size, 10))
		}
	case schema.ErrorCode(err) != schema.CodeNotFound:
		return s.internal("head upload", sha, err)
	}
	h.Set(schema.HeaderUploadOffset, strconv.FormatInt(offset, 10))
	return c.NoContent(http.StatusOK)
}

// patchShared is patchUpload on the shared staging, from the point where
// the request is checked and the device's lock taken.
func (s *Service) patchShared(c echo.Context, sha string, right Upload, offset, length int64, stored *store.Photo) error {
	req := c.Request()
	h := c.Response().Header()
	// Staged bytes that arrived are kept even when the client goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), commitTimeout)
	defer cancel()
	up, err := s.openShared(ctx, sha, right.By.DeviceID, length, offset)
	if err != nil {
		var m *offsetMismatch
		if errors.As(err, &m) {
			h.Set(schema.HeaderUploadOffset, strconv.FormatInt(m.offset, 10))
			return m.err
		}
		if schema.ErrorCode(err) == schema.CodeConflict {
			h.Set("Retry-After", "5")
		}
		return s.sharedFault(sha, err)
	}
	up.by = right
	if err := s.receiveShared(ctx, up, req.Body); err != nil {
		h.Set(schema.HeaderUploadOffset, strconv.FormatInt(up.st.Offset, 10))
		return err
	}
	if up.st.Offset < length {
		h.Set(schema.HeaderUploadOffset, strconv.FormatInt(up.st.Offset, 10))
		return c.NoContent(http.StatusNoContent)
	}
	if stored != nil {
		err = s.commitSharedProof(ctx, sha, up, *stored)
	} else {
		err = s.commitShared(ctx, sha, up)
	}
	if err != nil {
		return err
	}
	if s.OnStored != nil && stored == nil {
		s.OnStored()
	}
	setStored(h, length)
	return c.NoContent(http.StatusCreated)
}

// commitShared verifies a fully staged upload, concatenates its pieces
// into the photo's blob (streaming), records it and deletes the staging.
// Refused bytes are deleted; a failing blob store keeps them staged, so
// that a retry at the end need not resend them.
func (s *Service) commitShared(ctx context.Context, sha string, up *sharedUpload) error {
	size := up.st.Size
	if got := hex.EncodeToString(up.h.Sum(nil)); got != sha {
		s.discardShared(ctx, up)
		return schema.Errorf(schema.CodeChecksumMismatch, "the bytes hash to %s, not %s; nothing was stored", got, sha)
	}
	at := newPiecesAt(ctx, s.Staging, up.st.Pieces)
	mediaType, w, hgt, err := s.probe(at, size)
	at.Close()
	if at.err != nil { // the staging failed, not the photo
		return s.sharedFault(sha, at.err)
	}
	if err != nil {
		s.discardShared(ctx, up)
		return err
	}
	body := &piecesReader{ctx: ctx, store: s.Staging, pieces: up.st.Pieces}
	err = s.Blobs.Put(ctx, sha, body, size, mediaType)
	body.Close()
	if err != nil {
		if errors.Is(err, storage.ErrChecksum) {
			s.discardShared(ctx, up)
			return schema.Errorf(schema.CodeChecksumMismatch, "the staged bytes of photo %s changed before they were stored; nothing was stored, send it again", short(sha))
		}
		s.logger().Error("photos: blob store put failed; bytes stay staged", "sha256", sha, "err", err)
		return schema.Errorf(schema.CodeUnavailable, "the photo store is unavailable; the server keeps all %d bytes, retry to finish", size)
	}
	p := store.Photo{SHA256: sha, Size: size, MediaType: mediaType, Width: w, Height: hgt, ReceivedAt: s.now()}
	if err := s.Records.RecordPhoto(ctx, p, up.by.By); err != nil {
		return s.internal("commit", sha, err)
	}
	s.discardShared(ctx, up)
	s.queueStoredThumbnail(sha, mediaType, size)
	s.logger().Info("photos: stored", "sha256", sha, "size", size, "media_type", mediaType, "width", w, "height", hgt, "staged", "shared")
	return nil
}

// commitSharedProof is commitProof on the shared staging.
func (s *Service) commitSharedProof(ctx context.Context, sha string, up *sharedUpload, p store.Photo) error {
	if got := hex.EncodeToString(up.h.Sum(nil)); got != sha {
		s.discardShared(ctx, up)
		return schema.Errorf(schema.CodeChecksumMismatch, "the bytes hash to %s, not %s; nothing was stored", got, sha)
	}
	if err := s.Records.RecordPhoto(ctx, p, up.by.By); err != nil {
		return s.internal("commit", sha, err)
	}
	s.discardShared(ctx, up)
	s.logger().Info("photos: claim proven by the device's own bytes", "sha256", sha, "size", p.Size, "device", up.by.By.DeviceID)
	return nil
}

// staleBatch is how many abandoned uploads CleanStaging reads at once.
const staleBatch = 100

// cleanShared removes the shared uploads last saved before cutoff: the
// state first (at the version read, so that an upload that moved on
// meanwhile stays), then its pieces.
func (s *Service) cleanShared(ctx context.Context, cutoff time.Time) (int, error) {
	removed := 0
	for {
		stale, err := s.Uploads.StaleUploads(ctx, cutoff, staleBatch)
		if err != nil {
			return removed, fmt.Errorf("photos: clean staging: %w", err)
		}
		batch := 0
		for _, u := range stale {
			unlock, ok := s.locks.lock(ctx, string(stageKeyOf(u.SHA256, u.Device)), 0)
			if !ok {
				continue // being uploaded right now
			}
			err := s.Uploads.DeleteUpload(ctx, u.SHA256, u.Device, u.Version)
			unlock()
			switch schema.ErrorCode(err) {
			case "":
				s.deletePieces(ctx, u.SHA256, u)
				removed++
				batch++
			case schema.CodeConflict, schema.CodeNotFound:
				// moved on or finished meanwhile
			default:
				return removed, fmt.Errorf("photos: clean staging: %w", err)
			}
		}
		if len(stale) < staleBatch || batch == 0 {
			return removed, nil
		}
	}
}
