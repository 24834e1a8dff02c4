package photos_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/photo"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
)

func TestUpload_RoundTrip(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 1200, 900, 1)
	m, err := photo.InspectReader(bytes.NewReader(data), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.reference(devA, squad1, m.SHA256)
	var lastProgress int64
	res, err := e.uploader(devA).Upload(context.Background(), m.SHA256, m.Size, opener(data), func(n int64) { lastProgress = n })
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Sent != m.Size || lastProgress != m.Size {
		t.Errorf("result %+v, progress %d; want all %d bytes sent", res, lastProgress, m.Size)
	}
	got := e.storedBytes(m.SHA256)
	if shaOf(got) != m.SHA256 || !bytes.Equal(got, data) {
		t.Fatal("stored bytes differ from the original")
	}
	e.svc.WaitThumbnails()
	p, err := e.st.Photo(context.Background(), m.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != m.Size || p.MediaType != "image/jpeg" || p.Width != 1200 || p.Height != 900 || p.ThumbKey == "" {
		t.Errorf("photo row = %+v", p)
	}
	thumb := e.storedBytes(p.ThumbKey)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
	if err != nil {
		t.Fatalf("thumbnail is not a JPEG: %v", err)
	}
	if cfg.Width != 320 || cfg.Height != 240 || len(thumb) >= len(data) {
		t.Errorf("thumbnail %d×%d, %d bytes; want 320×240 and smaller than %d bytes", cfg.Width, cfg.Height, len(thumb), len(data))
	}
	e.assertStagingEmpty()
}

// cutReader fails after n bytes, like a connection that drops mid-upload.
type cutReader struct {
	io.ReadSeeker
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("network cut")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadSeeker.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutReader) Close() error { return nil }

// waitOffset polls until the server holds more than zero bytes: the
// server notices a cut connection a moment after the device does.
func waitOffset(t *testing.T, e *env, tok, sha string) int64 {
	t.Helper()
	for i := 0; i < 500; i++ {
		if n := e.headOffset(tok, sha); n > 0 {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the server kept no bytes of the cut upload")
	return 0
}

func TestUpload_ResumesAfterCutWithoutResending(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 1000, 1000, 2) // ~3 MB of noise
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	u := e.uploader(devA)
	cut := func() (io.ReadSeekCloser, error) {
		return &cutReader{ReadSeeker: bytes.NewReader(data), left: size / 2}, nil
	}
	first, err := u.Upload(context.Background(), sha, size, cut, nil)
	if err == nil {
		t.Fatal("the cut upload reported success")
	}
	if !schema.Retryable(schema.ErrorCode(err)) {
		t.Errorf("a cut connection gave a non-retryable error: %v", err)
	}
	held := waitOffset(t, e, devA, sha)
	if held < size/4 || held > size/2 {
		t.Fatalf("server holds %d bytes after a cut at %d", held, size/2)
	}
	second, err := u.Upload(context.Background(), sha, size, opener(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("photo %d bytes: first call sent %d (server kept %d), second sent %d", size, first.Sent, held, second.Sent)
	if second.Sent != size-held {
		t.Errorf("second call sent %d bytes, want only the missing %d", second.Sent, size-held)
	}
	if !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatal("stored bytes differ")
	}
	e.assertStagingEmpty()
}

func TestUpload_CorruptedIsRefusedAndNothingStored(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 300, 200, 3)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	bad := append([]byte{}, data...)
	bad[len(bad)/2] ^= 0x01
	_, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(bad)), opener(bad), nil)
	var se *schema.Error
	if !errors.As(err, &se) || se.Code != schema.CodeChecksumMismatch || !strings.Contains(se.Message, shaOf(bad)) {
		t.Fatalf("err = %v, want checksum_mismatch naming the real hash", err)
	}
	if schema.Retryable(se.Code) {
		t.Error("a corrupted upload is retryable")
	}
	e.assertNothingStored(sha)
}

// staleHead rewrites HEAD answers to claim the server holds nothing, so the
// device starts at the wrong offset.
type staleHead struct{ next http.RoundTripper }

func (s staleHead) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodHead {
		resp.Header.Set(schema.HeaderUploadOffset, "0")
	}
	return resp, err
}

func TestUpload_WrongOffsetIsRefusedAndClientRecovers(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 400, 400, 4)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	half := size / 2
	if resp := e.patch(devA, sha, 0, size, data[:half]); resp.StatusCode != http.StatusNoContent || resp.Header.Get(schema.HeaderUploadOffset) != itoa(half) {
		t.Fatalf("first half: %s offset %s", resp.Status, resp.Header.Get(schema.HeaderUploadOffset))
	}
	resp := e.patch(devA, sha, 10, size, data[10:20])
	if resp.StatusCode != http.StatusConflict || resp.Header.Get(schema.HeaderUploadOffset) != itoa(half) {
		t.Fatalf("wrong offset: %s offset %q, want 409 with %d", resp.Status, resp.Header.Get(schema.HeaderUploadOffset), half)
	}
	u := e.uploader(devA)
	u.Client = &http.Client{Transport: staleHead{next: e.client.Transport}}
	res, err := u.Upload(context.Background(), sha, size, opener(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != size-half {
		t.Errorf("sent %d bytes, want %d: a refused offset must cost no body bytes", res.Sent, size-half)
	}
	if !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatal("stored bytes differ")
	}
}

func TestUpload_ChunkedUpload(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 300, 300, 5)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	u := e.uploader(devA)
	u.ChunkSize = 64 << 10
	res, err := u.Upload(context.Background(), sha, size, opener(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != size || !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatalf("chunked upload: %+v", res)
	}
}

func TestUpload_ServerKilledMidBodyResumes(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 500, 500, 6)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	third := size / 3
	e.patch(devA, sha, 0, size, data[:third])
	state := e.stagedFile(devA, sha, ".state")
	durable, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	e.patch(devA, sha, third, size, data[third:2*third])
	// The kill: the part file holds bytes past the last durable state.
	if err := os.WriteFile(state, durable, 0o640); err != nil {
		t.Fatal(err)
	}
	part := e.stagedFile(devA, sha, ".part")
	f, err := os.OpenFile(part, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("torn write"))
	f.Close()
	if got := e.headOffset(devA, sha); got != third {
		t.Fatalf("HEAD after the kill: offset %d, want the durable %d", got, third)
	}
	res, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != size-third || !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatalf("resume after kill: sent %d, want %d; bytes equal %v", res.Sent, size-third, bytes.Equal(e.storedBytes(sha), data))
	}
	e.assertStagingEmpty()
}

func TestUpload_PartFileLostRestartsFromZero(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 200, 200, 7)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	e.patch(devA, sha, 0, size, data[:size/2])
	if err := os.Truncate(e.stagedFile(devA, sha, ".part"), 10); err != nil {
		t.Fatal(err)
	}
	res, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != size || !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatalf("sent %d of %d", res.Sent, size)
	}
}

func TestUpload_PixelBombRefusedWithoutAllocating(t *testing.T) {
	e := newEnv(t)
	data := pixelBomb(200_000, 200_000)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil)
	runtime.ReadMemStats(&after)
	var se *schema.Error
	if !errors.As(err, &se) || se.Code != schema.CodeTooLarge || !strings.Contains(se.Message, "200000×200000") {
		t.Fatalf("err = %v, want too_large naming 200000×200000", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("refusing the bomb allocated %d MiB", grew>>20)
	}
	e.assertNothingStored(sha)
}

func TestUpload_NonImagesRefused(t *testing.T) {
	e := newEnv(t)
	random := make([]byte, 5000)
	for i := range random {
		random[i] = byte(i*7 + i/13)
	}
	cases := map[string]struct {
		data []byte
		says string
	}{
		"pdf":       {[]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"), "PDF"},
		"random":    {random, "not a JPEG"},
		"truncated": {jpegBytes(t, 10, 10, 8)[:40], "header cannot be read"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			sha := shaOf(c.data)
			e.reference(devA, squad1, sha)
			_, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(c.data)), opener(c.data), nil)
			var se *schema.Error
			if !errors.As(err, &se) || se.Code != schema.CodeUnsupportedMedia || !strings.Contains(se.Message, c.says) {
				t.Fatalf("err = %v, want unsupported_media saying %q", err, c.says)
			}
			e.assertNothingStored(sha)
		})
	}
}

func TestUpload_OversizeRefusedBeforeSending(t *testing.T) {
	e := newEnv(t)
	e.svc.MaxSize = 100 << 10
	data := pngBytes(t, 300, 300, 9)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	res, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil)
	var se *schema.Error
	if !errors.As(err, &se) || se.Code != schema.CodeTooLarge {
		t.Fatalf("err = %v, want too_large", err)
	}
	if res.Sent != 0 {
		t.Errorf("sent %d bytes of a photo the server refuses by its length", res.Sent)
	}
	e.assertNothingStored(sha)
}

func TestUpload_StoredPhotoIsNeverSentAgain(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 200, 200, 10)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	e.reference(devB, 2, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil); err != nil {
		t.Fatal(err)
	}
	resp := e.do(http.MethodHead, schema.PathUploads+"/"+sha, devB, nil, nil)
	if resp.Header.Get(photos.HeaderStored) != "true" || resp.Header.Get(schema.HeaderUploadOffset) != itoa(size) {
		t.Errorf("HEAD of a stored photo: %v", resp.Header)
	}
	if photo.HeaderStored != photos.HeaderStored {
		t.Errorf("device and server disagree on the stored header: %q vs %q", photo.HeaderStored, photos.HeaderStored)
	}
	opened := false
	res, err := e.uploader(devB).Upload(context.Background(), sha, size, func() (io.ReadSeekCloser, error) {
		opened = true
		return opener(data)()
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped || res.Sent != 0 || opened {
		t.Errorf("second device: %+v, file opened %v; want skipped without reading", res, opened)
	}
	// A PATCH for a stored photo is answered without reading the body.
	if resp := e.patch(devB, sha, 0, size, data); resp.StatusCode != http.StatusCreated || resp.Header.Get(photos.HeaderStored) != "true" {
		t.Errorf("PATCH of a stored photo: %s", resp.Status)
	}
}

func TestUpload_SamePhotoFromTwoDevicesAtOnceStoredOnce(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 600, 600, 11)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	e.reference(devB, 2, sha)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, dev := range []string{devA, devB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.uploader(dev).Upload(context.Background(), sha, size, opener(data), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("device %d: %v", i, err)
		}
	}
	var n int
	if err := e.db.R.QueryRow(`SELECT count(*) FROM photos WHERE sha256 = ?`, sha).Scan(&n); err != nil || n != 1 {
		t.Errorf("photo rows = %d (%v), want 1", n, err)
	}
	if !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatal("stored bytes differ")
	}
	e.assertStagingEmpty()
}

func TestUpload_HEICStoredWithoutThumbnail(t *testing.T) {
	e := newEnv(t)
	data := heicFile(4032, 3024, 1)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil); err != nil {
		t.Fatal(err)
	}
	p, err := e.st.Photo(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	if p.MediaType != "image/heic" || p.Width != 4032 || p.Height != 3024 || p.ThumbKey != "" {
		t.Errorf("row = %+v", p)
	}
	resp := e.do(http.MethodGet, schema.PathPhotos+"/"+sha+"/thumb", admin, nil, nil)
	body, _ := io.ReadAll(resp.Body)
	// Its boxes are real but it holds no HEVC data: no preview, for good.
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "kept as received") {
		t.Errorf("thumb of a HEIC without image data: %s %s", resp.Status, body)
	}

	bomb := heicFile(50_000, 50_000, 2)
	bsha := shaOf(bomb)
	e.reference(devA, squad1, bsha)
	_, err = e.uploader(devA).Upload(context.Background(), bsha, int64(len(bomb)), opener(bomb), nil)
	if schema.ErrorCode(err) != schema.CodeTooLarge {
		t.Errorf("HEIC claiming 2.5 gigapixels: err = %v, want too_large", err)
	}
}

func TestUpload_BadRequests(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 20, 20, 12)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	path := schema.PathUploads + "/" + sha
	ok := map[string]string{"Content-Type": schema.ContentTypeUpload, schema.HeaderUploadOffset: "0", schema.HeaderUploadLength: itoa(int64(len(data)))}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range ok {
			h[a] = b
		}
		h[k] = v
		return h
	}
	cases := []struct {
		name, method, path, tok string
		hdr                     map[string]string
		status                  int
	}{
		{"bad hash", http.MethodPatch, schema.PathUploads + "/ABC", devA, ok, 400},
		{"not referenced", http.MethodPatch, path, devB, ok, 403},
		{"head not referenced", http.MethodHead, path, devB, nil, 403},
		{"no offset", http.MethodPatch, path, devA, with(schema.HeaderUploadOffset, ""), 400},
		{"negative length", http.MethodPatch, path, devA, with(schema.HeaderUploadLength, "-5"), 400},
		{"zero length", http.MethodPatch, path, devA, with(schema.HeaderUploadLength, "0"), 400},
		{"offset past length", http.MethodPatch, path, devA, with(schema.HeaderUploadOffset, "999999"), 400},
		{"wrong content type", http.MethodPatch, path, devA, with("Content-Type", "image/jpeg"), 400},
		{"body past length", http.MethodPatch, path, devA, with(schema.HeaderUploadLength, "10"), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.method == http.MethodPatch {
				body = bytes.NewReader(data)
			}
			resp := e.do(c.method, c.path, c.tok, body, c.hdr)
			if resp.StatusCode != c.status {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("%s: %s %s, want %d", c.name, resp.Status, b, c.status)
			}
		})
	}
	e.assertStagingEmpty()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
