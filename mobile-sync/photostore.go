package mobilesync

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/photo"
	"github.com/patrolhq/patrol/schema"
)

// PhotoDir is where the device keeps its own copy of every attached photo,
// named by SHA-256: the inspector may delete the original from the gallery.
func (d *Device) PhotoDir() string {
	if d.opts.PhotoDir != "" {
		return d.opts.PhotoDir
	}
	return d.opts.Path + ".photos"
}

func (d *Device) photoPath(sha string) string { return filepath.Join(d.PhotoDir(), sha) }

// ImportPhoto reads a photo file (type sniffed from the bytes, EXIF
// capture time and position), copies it unmodified into the device's
// photo store under its hash, and returns its reference. inspectionStart
// judges whether the capture time is plausible; an implausible one is kept
// and flagged.
func (d *Device) ImportPhoto(ctx context.Context, path string, inspectionStart time.Time) (schema.PhotoRef, error) {
	meta, err := photo.Inspect(path, photo.WithLocation(time.Local))
	if err != nil {
		return schema.PhotoRef{}, fmt.Errorf("mobilesync: import photo %s: %w", path, err)
	}
	if err := d.storePhoto(path, meta.SHA256); err != nil {
		return schema.PhotoRef{}, fmt.Errorf("mobilesync: import photo %s: %w", path, err)
	}
	id, _ := d.Identity(ctx)
	return schema.PhotoRef{
		SHA256: meta.SHA256, Size: meta.Size, MediaType: meta.MediaType, CapturedAt: meta.CapturedAt,
		Lat: meta.Lat, Lng: meta.Lng, DeviceID: id.DeviceID,
		TimeSuspect: !schema.PhotoTimePlausible(meta.CapturedAt, inspectionStart, d.Clock().Physical()),
	}, nil
}

// storePhoto copies src into the store as sha, verifying the hash of what
// was copied (the file may have changed since it was inspected) and making
// the copy durable before it is named.
func (d *Device) storePhoto(src, sha string) error {
	dst := d.photoPath(sha)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(d.PhotoDir(), 0o700); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(d.PhotoDir(), ".incoming-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return schema.Errorf(schema.CodeChecksumMismatch, "the file changed while it was being attached; attach it again")
	}
	return os.Rename(tmp.Name(), dst)
}

// AttachPhotoFiles imports photo files and attaches them to an answered
// item in one local transaction.
func (d *Device) AttachPhotoFiles(ctx context.Context, inspectionID, itemID string, paths ...string) error {
	in, err := d.Inspection(ctx, inspectionID)
	if err != nil {
		return err
	}
	refs := make([]schema.PhotoRef, 0, len(paths))
	for _, p := range paths {
		ref, err := d.ImportPhoto(ctx, p, in.StartedAt)
		if err != nil {
			return err
		}
		refs = append(refs, ref)
	}
	return d.AttachPhotos(ctx, inspectionID, itemID, refs...)
}

// UploadPhotos sends the photos waiting on the device, as the last step of
// Sync does, without pushing or pulling records first: for an app that
// syncs records at once and leaves the photo bytes for a better
// connection. The server accepts only photos that records it already has
// name; the others fail with their reason and stay queued. An uploader
// set with SetPhotoUploader is used as Sync would.
func (d *Device) UploadPhotos(ctx context.Context) (SyncReport, error) {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	var rep SyncReport
	if d.photos != nil {
		files, n, err := d.photos.UploadPending(ctx, d)
		rep.PhotosUploaded, rep.PhotoBytes = files, n
		if err != nil {
			return rep, fmt.Errorf("upload photos: %w", err)
		}
		return rep, nil
	}
	m, err := readMeta(ctx, d.db.R)
	if err != nil {
		return rep, fmt.Errorf("upload photos: %w", err)
	}
	id, err := identityOf(m)
	if err != nil {
		return rep, fmt.Errorf("upload photos: %w", err)
	}
	if err := d.uploadPhotos(ctx, creds{Identity: id, token: m[metaToken]}, &rep); err != nil {
		return rep, fmt.Errorf("upload photos: %w", err)
	}
	return rep, nil
}

// uploadPhotos sends every queued photo the server lacks, resuming each
// from what the server already holds. A photo the server refuses for good
// (4xx) is set aside with its reason and never blocks the others.
func (d *Device) uploadPhotos(ctx context.Context, c creds, rep *SyncReport) error {
	rows, err := d.db.R.QueryContext(ctx, `SELECT sha256, size, attempts FROM photo_uploads WHERE uploaded = ? ORDER BY sha256`, photoWaiting)
	if err != nil {
		return fmt.Errorf("photos: %w", err)
	}
	type pending struct {
		sha      string
		size     int64
		attempts int
	}
	var todo []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.sha, &p.size, &p.attempts); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	up := &photo.Uploader{BaseURL: c.ServerURL, Token: c.token, Client: d.opts.HTTPClient}
	var total, done int64
	for _, p := range todo {
		total += p.size
	}
	waitsForContinue := expectsContinue(d.opts.HTTPClient)
	for i, p := range todo {
		open := func() (io.ReadSeekCloser, error) { return os.Open(d.photoPath(p.sha)) }
		// A photo never tried before starts without asking where: the
		// server answers before the body if it holds any of it.
		up.AssumeNew = p.attempts == 0 && waitsForContinue
		var progress func(int64)
		if d.opts.Progress != nil {
			file, base := i+1, done
			progress = func(offset int64) {
				d.opts.Progress(PhotoProgress{File: file, Files: len(todo), Bytes: base + offset, TotalBytes: total})
			}
		}
		done += p.size
		var res photo.UploadResult
		var err error
		var wait time.Duration // the server's Retry-After, if it gave one
		for attempt := 0; attempt < d.opts.MaxAttempts; attempt++ {
			if attempt > 0 {
				if serr := d.opts.Sleep(ctx, d.backoff(attempt-1, wait)); serr != nil {
					return serr
				}
			}
			var r photo.UploadResult
			r, err = up.Upload(ctx, p.sha, p.size, open, progress)
			res.Sent += r.Sent
			if err == nil || ctx.Err() != nil || !retryablePhotoErr(err) {
				break
			}
			wait = 0
			var ae *photo.AnswerError
			if errors.As(err, &ae) {
				wait = d.parseRetryAfter(ae.RetryAfter)
			}
		}
		rep.PhotoBytes += res.Sent
		if werr := d.markPhoto(ctx, p.sha, err); werr != nil {
			return werr
		}
		switch {
		case err == nil:
			rep.PhotosUploaded++
		case errors.Is(err, ErrEnrollAgain) || schema.ErrorCode(err) == schema.CodeUnauthorized:
			return fmt.Errorf("photos: %w (%w)", ErrEnrollAgain, err)
		case retryablePhotoErr(err) && errors.As(err, new(*photo.AnswerError)):
			// The server answered but cannot take the photo now (its photo
			// store or disk is down): say so, not "offline".
			return fmt.Errorf("photos: the server cannot take photos right now — they stay on the device; run sync again later: %w", err)
		case retryablePhotoErr(err):
			return &UnreachableError{URL: c.ServerURL, Err: err}
		case refusedForGood(err):
			d.log.Warn("sync: photo refused for good; it stays on the device, listed in answers", "sha256", p.sha, "err", err)
		default:
			d.log.Warn("sync: photo refused; it stays on the device", "sha256", p.sha, "err", err)
		}
	}
	return nil
}

// retryablePhotoErr: anything but a refusal the server explained (4xx).
func retryablePhotoErr(err error) bool {
	var se *schema.Error
	if errors.As(err, &se) {
		return schema.Retryable(se.Code)
	}
	return true
}

// Values of photo_uploads.uploaded: a photo waits, is stored on the
// server, or was refused by the server for good.
const (
	photoWaiting  = 0
	photoUploaded = 1
	photoRefused  = -1
)

// AnswerPhotoRefused is the outcome (and, as "photo.upload", the kind) of
// an answer that records a photo the server refused for good.
const AnswerPhotoRefused = "refused"

// answerKindPhoto is the kind of answer about a photo's upload.
const answerKindPhoto = "photo.upload"

// refusedForGood tells the server's answers that no retry changes: the
// bytes are not an image it takes, or too large. Not found and forbidden
// are not among them: the record naming the photo may simply not have
// reached the server yet. Nor is a checksum mismatch: the bytes were
// hashed when attached and the store refuses a file that changed since,
// so a mismatch at the server is bytes damaged on the way, and the next
// sync sends them again.
func refusedForGood(err error) bool {
	var ae *photo.AnswerError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Err.Code {
	case schema.CodeUnsupportedMedia, schema.CodeTooLarge:
		return true
	}
	return false
}

// markPhoto records the outcome of one photo's upload. A photo refused for
// good leaves the queue (and the pending count) and is set aside in the
// answers with the server's reason, so that a person sees it; its bytes
// stay on the device.
func (d *Device) markPhoto(ctx context.Context, sha string, upErr error) error {
	return d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if upErr == nil {
			_, err := tx.ExecContext(ctx, `UPDATE photo_uploads SET uploaded = ?, last_error = '' WHERE sha256 = ?`, photoUploaded, sha)
			return err
		}
		msg := upErr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		msg = strings.ToValidUTF8(msg, "?")
		state := photoWaiting
		if refusedForGood(upErr) {
			state = photoRefused
		}
		if _, err := tx.ExecContext(ctx, `UPDATE photo_uploads SET attempts = attempts + 1, last_error = ?, uploaded = ? WHERE sha256 = ?`,
			msg, state, sha); err != nil {
			return err
		}
		if state != photoRefused {
			return nil
		}
		code := schema.ErrorCode(upErr)
		id := "photo:" + sha
		body, err := json.Marshal(answerBody{Result: schema.MutationResult{ID: id, Outcome: AnswerPhotoRefused, Code: code, Reason: msg}})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO answers (mutation_id, kind, entity_id, outcome, code, reason, body, answered_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (mutation_id) DO UPDATE SET code = excluded.code, reason = excluded.reason, body = excluded.body, answered_at = excluded.answered_at`,
			id, answerKindPhoto, sha, AnswerPhotoRefused, string(code), msg, string(body), schema.FormatTime(d.opts.Now()))
		return err
	})
}

// expectsContinue reports whether the client waits for 100 Continue before
// sending a body, so a server can refuse or redirect an upload before any
// byte of the photo is sent.
func expectsContinue(c *http.Client) bool {
	t, ok := c.Transport.(*http.Transport)
	return ok && t.ExpectContinueTimeout > 0
}
