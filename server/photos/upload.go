package photos

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// commitTimeout bounds storing a fully received photo. The commit runs even
// when the client has gone away, so that bytes that all arrived are kept.
const commitTimeout = 2 * time.Minute

// headUpload answers how many bytes of a photo the server holds for the
// asking device: the whole photo when it is stored and the device's claim
// to it is proven, else what the device itself has sent of it.
func (s *Service) headUpload(c echo.Context, acc Access) error {
	sha, err := shaParam(c)
	if err != nil {
		return err
	}
	right, err := acc.CanUpload(c, sha)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	if right.Proven {
		p, err := s.Records.Photo(c.Request().Context(), sha)
		switch {
		case err == nil:
			setStored(h, p.Size)
			return c.NoContent(http.StatusOK)
		case schema.ErrorCode(err) != schema.CodeNotFound:
			return s.internal("head upload", sha, err)
		}
	}
	if s.sharedStaging() {
		return s.headShared(c, sha, right.By.DeviceID)
	}
	offset := int64(0)
	if st, _, ok := s.loadState(stageKeyOf(sha, right.By.DeviceID)); ok {
		offset = st.Offset
		h.Set(schema.HeaderUploadLength, strconv.FormatInt(st.Length, 10))
	}
	h.Set(schema.HeaderUploadOffset, strconv.FormatInt(offset, 10))
	return c.NoContent(http.StatusOK)
}

func setStored(h http.Header, size int64) {
	h.Set(schema.HeaderUploadOffset, strconv.FormatInt(size, 10))
	h.Set(schema.HeaderUploadLength, strconv.FormatInt(size, 10))
	h.Set(HeaderStored, "true")
}

// patchUpload appends the request body to the device's staged upload and
// commits the photo once all of it has arrived and checks out.
func (s *Service) patchUpload(c echo.Context, acc Access) error {
	sha, err := shaParam(c)
	if err != nil {
		return err
	}
	right, err := acc.CanUpload(c, sha)
	if err != nil {
		return err
	}
	req := c.Request()
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != schema.ContentTypeUpload {
		return schema.Errorf(schema.CodeInvalid, "Content-Type must be %s, not %q", schema.ContentTypeUpload, req.Header.Get("Content-Type"))
	}
	offset, err := headerInt(req, schema.HeaderUploadOffset)
	if err != nil {
		return err
	}
	length, err := headerInt(req, schema.HeaderUploadLength)
	if err != nil {
		return err
	}
	switch {
	case length == 0:
		return schema.Errorf(schema.CodeInvalid, "Upload-Length is 0; a photo has at least one byte")
	case length > s.maxSize():
		return schema.Errorf(schema.CodeTooLarge, "the photo has %d bytes; at most %d bytes (%d MiB) are accepted", length, s.maxSize(), s.maxSize()>>20)
	case offset > length:
		return schema.Errorf(schema.CodeInvalid, "Upload-Offset %d lies past Upload-Length %d", offset, length)
	case req.ContentLength > length-offset:
		return schema.Errorf(schema.CodeInvalid, "the body of %d bytes runs past Upload-Length %d (from offset %d)", req.ContentLength, length, offset)
	}

	k := stageKeyOf(sha, right.By.DeviceID)
	unlock, ok := s.locks.lock(req.Context(), string(k), s.lockWait())
	if !ok {
		h.Set("Retry-After", "5")
		return schema.Errorf(schema.CodeUnavailable, "another upload of photo %s from this device is in progress; try again in a few seconds", short(sha))
	}
	defer unlock()

	// A stored photo is stored for a device whose claim is proven; for any
	// other the bytes it sends only prove its claim (commitProof).
	var stored *store.Photo
	if p, err := s.Records.Photo(req.Context(), sha); err == nil {
		if !right.Proven {
			stored = &p
		} else if p.Size != length {
			return schema.Errorf(schema.CodeInvalid, "photo %s is stored with %d bytes, not %d", short(sha), p.Size, length)
		} else {
			setStored(h, p.Size)
			return c.NoContent(http.StatusCreated)
		}
	} else if schema.ErrorCode(err) != schema.CodeNotFound {
		return s.internal("patch upload", sha, err)
	}

	if s.sharedStaging() {
		return s.patchShared(c, sha, right, offset, length, stored)
	}
	up, err := s.openStaging(k, length, offset)
	if err != nil {
		var m *offsetMismatch
		if errors.As(err, &m) {
			h.Set(schema.HeaderUploadOffset, strconv.FormatInt(m.offset, 10))
			return m.err
		}
		return s.internal("open staging", sha, err)
	}
	defer func() {
		if up.f != nil {
			up.f.Close()
		}
	}()
	up.by = right
	// A body that carries the whole photo streams into the blob store as
	// it arrives (see streamPut); anything else is staged, then committed.
	var body io.Reader = req.Body
	var stream *streamPut
	if stored == nil && offset == 0 && up.st.Offset == 0 && req.ContentLength == length {
		stream = s.newStreamPut(req.Context(), sha, length, req.Body)
		defer stream.abort()
		up.deferSync = true
		body = stream
	}
	if err := s.receive(up, body); err != nil {
		h.Set(schema.HeaderUploadOffset, strconv.FormatInt(up.st.Offset, 10))
		return err
	}
	if up.st.Offset < length {
		h.Set(schema.HeaderUploadOffset, strconv.FormatInt(up.st.Offset, 10))
		return c.NoContent(http.StatusNoContent)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), commitTimeout)
	defer cancel()
	commit := s.commit
	switch {
	case stored != nil:
		commit = func(ctx context.Context, sha string, up *staged) error { return s.commitProof(ctx, sha, up, *stored) }
	case stream != nil:
		commit = func(ctx context.Context, sha string, up *staged) error { return s.commitStreamed(ctx, sha, up, stream) }
	}
	if err := commit(ctx, sha, up); err != nil {
		return err
	}
	if s.OnStored != nil && stored == nil { // a proof stores nothing new
		s.OnStored()
	}
	setStored(h, length)
	return c.NoContent(http.StatusCreated)
}

func headerInt(req *http.Request, name string) (int64, error) {
	v := req.Header.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, schema.Errorf(schema.CodeInvalid, "header %s must be a non-negative integer, not %q", name, v)
	}
	return n, nil
}

// receive appends body to the staged upload, hashing as it streams through
// a small buffer, and makes progress durable every Checkpoint bytes, at the
// end, and when the body breaks off.
func (s *Service) receive(up *staged, body io.Reader) error {
	sha := up.key.sha()
	buf := make([]byte, copyBufferSize)
	remaining := up.st.Length - up.st.Offset
	var since int64
	durable := func() error {
		if since == 0 {
			return nil
		}
		if err := s.saveState(up.key, up.f, up.st, up.h); err != nil {
			return err
		}
		since = 0
		return nil
	}
	for remaining > 0 {
		n, rerr := body.Read(buf[:min(int64(len(buf)), remaining)])
		if n > 0 {
			if _, err := up.f.Write(buf[:n]); err != nil {
				// The part file may hold a torn write past the durable
				// point; the next request truncates it away.
				s.logger().Error("photos: staging write failed; free disk space on, or restore write access to, "+s.StagingDir, "sha256", sha, "err", err)
				up.st.Offset -= since
				return schema.Errorf(schema.CodeUnavailable, "the server cannot write the upload (%s); try again later", errors.Unwrap(err))
			}
			up.h.Write(buf[:n])
			up.st.Offset += int64(n)
			if s.OnReceive != nil {
				s.OnReceive(int64(n))
			}
			remaining -= int64(n)
			if since += int64(n); since >= s.checkpoint() {
				if err := durable(); err != nil {
					return s.storageFault(sha, up, since, err)
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if err := durable(); err != nil {
				return s.storageFault(sha, up, since, err)
			}
			s.logger().Info("photos: upload body broke off", "sha256", sha, "offset", up.st.Offset, "err", rerr)
			// Retryable: the next request resumes from what was kept.
			return schema.Errorf(schema.CodeUnavailable, "the upload body broke off (%v); the server keeps %d bytes of photo %s: resume at offset %d",
				rerr, up.st.Offset, short(sha), up.st.Offset)
		}
	}
	if remaining > 0 || !up.deferSync {
		if err := durable(); err != nil {
			return s.storageFault(sha, up, since, err)
		}
	}
	if remaining == 0 {
		var one [1]byte
		if n, _ := io.ReadFull(body, one[:]); n > 0 {
			if err := durable(); err != nil {
				return s.storageFault(sha, up, since, err)
			}
			return schema.Errorf(schema.CodeInvalid, "the body runs past Upload-Length %d; the server keeps %d bytes of photo %s",
				up.st.Length, up.st.Offset, short(sha))
		}
	}
	return nil
}

// storageFault answers a failure to make staged bytes durable; the
// offset reported is the last durable point.
func (s *Service) storageFault(sha string, up *staged, since int64, err error) error {
	up.st.Offset -= since
	s.logger().Error("photos: staging not durable; free disk space on, or restore write access to, "+s.StagingDir, "sha256", sha, "err", err)
	return schema.Errorf(schema.CodeUnavailable, "the server cannot store the upload right now; try again later")
}

// commit verifies a fully received upload, stores it, records it (with the
// device that sent it) and hands its staged bytes to the thumbnail worker.
// Refused bytes are deleted; a failing blob store leaves them staged so
// that a retry need not resend them.
func (s *Service) commit(ctx context.Context, sha string, up *staged) error {
	size := up.st.Length
	if got := hex.EncodeToString(up.h.Sum(nil)); got != sha {
		s.discard(up)
		return schema.Errorf(schema.CodeChecksumMismatch, "the bytes hash to %s, not %s; nothing was stored", got, sha)
	}
	mediaType, w, hgt, err := s.probe(up.f, size)
	if err != nil {
		s.discard(up)
		return err
	}
	if err := s.Blobs.Put(ctx, sha, io.NewSectionReader(up.f, 0, size), size, mediaType); err != nil {
		if errors.Is(err, storage.ErrChecksum) {
			s.discard(up)
			return schema.Errorf(schema.CodeChecksumMismatch, "the staged bytes of photo %s changed before they were stored; nothing was stored, send it again", short(sha))
		}
		s.logger().Error("photos: blob store put failed; bytes stay staged", "sha256", sha, "err", err)
		return schema.Errorf(schema.CodeUnavailable, "the photo store is unavailable; the server keeps all %d bytes, retry to finish", size)
	}
	p := store.Photo{SHA256: sha, Size: size, MediaType: mediaType, Width: w, Height: hgt, ReceivedAt: s.now()}
	if err := s.Records.RecordPhoto(ctx, p, up.by.By); err != nil {
		return s.internal("commit", sha, err)
	}
	up.f.Close()
	up.f = nil
	s.queueThumbnail(up.key, mediaType, size)
	s.logger().Info("photos: stored", "sha256", sha, "size", size, "media_type", mediaType, "width", w, "height", hgt)
	return nil
}

// commitProof finishes an upload of photo p, which the server stores
// already, by a device whose claim to it is pending: bytes that hash to
// the name prove the claim, and are not stored a second time.
func (s *Service) commitProof(ctx context.Context, sha string, up *staged, p store.Photo) error {
	if got := hex.EncodeToString(up.h.Sum(nil)); got != sha {
		s.discard(up)
		return schema.Errorf(schema.CodeChecksumMismatch, "the bytes hash to %s, not %s; nothing was stored", got, sha)
	}
	if err := s.Records.RecordPhoto(ctx, p, up.by.By); err != nil {
		return s.internal("commit", sha, err) // the staged bytes stay: a retry at the end finishes
	}
	s.discard(up)
	s.logger().Info("photos: claim proven by the device's own bytes", "sha256", sha, "size", p.Size, "device", up.by.By.DeviceID)
	return nil
}

// discard deletes an upload's staged bytes (refused, or no longer needed).
func (s *Service) discard(up *staged) {
	up.f.Close()
	up.f = nil
	s.removeStaging(up.key)
}

// internal logs an unexpected failure and answers it without details.
func (s *Service) internal(op, sha string, err error) error {
	if fsFault(err) {
		s.logger().Error("photos: "+op+" failed: the staging directory is full or not writable; free disk space on, or restore write access to, "+s.StagingDir,
			"sha256", sha, "err", err)
		return schema.Errorf(schema.CodeUnavailable, "the server cannot store photos right now (its disk is full or read-only); photo %s stays on your device, retry later", short(sha))
	}
	s.logger().Error("photos: "+op, "sha256", sha, "err", err)
	if schema.IsBusy(err) || schema.IsStorageFault(err) {
		return schema.Errorf(schema.CodeUnavailable, "the server cannot %s photo %s right now; try again later", op, short(sha))
	}
	return schema.Errorf(schema.CodeInternal, "%s of photo %s failed on the server", op, short(sha))
}

// fsFault reports a filesystem failure an operator must fix — a full,
// read-only or inaccessible staging directory, an I/O error — as opposed to
// a bug: it is answered 503 (retry later), never 500.
func fsFault(err error) bool {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EACCES, syscall.EPERM, syscall.EIO, syscall.ENOTDIR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
