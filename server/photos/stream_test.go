package photos_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/storage"
)

// watchedStore records what each Put read and returned, and can fail Puts
// after failAfter bytes (-1: after reading all of them) while down is set.
type watchedStore struct {
	storage.Store
	mu        sync.Mutex
	down      bool
	failAfter int64
	puts      []putRecord
}

type putRecord struct {
	key  string
	read int64
	err  error
}

var errStoreDown = errors.New("test: the store is down")

func (w *watchedStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) error {
	w.mu.Lock()
	down, failAfter := w.down, w.failAfter
	w.mu.Unlock()
	cr := &countReader{r: r}
	var err error
	switch {
	case down && failAfter >= 0:
		_, err = io.CopyN(io.Discard, cr, failAfter)
		err = errors.Join(errStoreDown, err)
	case down:
		_, err = io.Copy(io.Discard, cr)
		err = errors.Join(errStoreDown, err)
	default:
		err = w.Store.Put(ctx, key, cr, size, ct)
	}
	w.mu.Lock()
	w.puts = append(w.puts, putRecord{key: key, read: cr.n, err: err})
	w.mu.Unlock()
	return err
}

func (w *watchedStore) setDown(down bool, failAfter int64) {
	w.mu.Lock()
	w.down, w.failAfter = down, failAfter
	w.mu.Unlock()
}

func (w *watchedStore) putsOf(key string) []putRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []putRecord
	for _, p := range w.puts {
		if p.key == key {
			out = append(out, p)
		}
	}
	return out
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func watch(e *env) *watchedStore {
	w := &watchedStore{Store: e.blobs}
	e.svc.Blobs = w
	return w
}

// paddedBomb is a PNG claiming w×h pixels whose header is followed by a
// large ancillary chunk, so that the refusal comes long before the end.
func paddedBomb(w, h uint32, pad int) []byte {
	bomb := pixelBomb(w, h)
	ihdrEnd := 8 + 12 + 13
	out := append([]byte{}, bomb[:ihdrEnd]...)
	out = append(out, pngChunk("tEXt", bytes.Repeat([]byte("x"), pad))...)
	return append(out, bomb[ihdrEnd:]...)
}

func TestUpload_StreamedBombStopsThePutAtTheHeader(t *testing.T) {
	e := newEnv(t)
	w := watch(e)
	data := paddedBomb(200_000, 200_000, 2<<20)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	_, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil)
	if schema.ErrorCode(err) != schema.CodeTooLarge || !strings.Contains(err.Error(), "200000×200000") {
		t.Fatalf("err = %v, want too_large naming 200000×200000", err)
	}
	puts := w.putsOf(sha)
	if len(puts) != 1 || puts[0].err == nil || puts[0].read > 64<<10 {
		t.Fatalf("puts = %+v; want one aborted Put that read at most 64 KiB of the %d bytes", puts, len(data))
	}
	e.assertNothingStored(sha)
}

func TestUpload_StreamedCorruptionAbortsThePut(t *testing.T) {
	e := newEnv(t)
	w := watch(e)
	data := jpegBytes(t, 600, 400, 5)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	bad := append([]byte{}, data...)
	bad[len(bad)-10] ^= 0x01 // a flipped bit near the end
	_, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(bad)), opener(bad), nil)
	if schema.ErrorCode(err) != schema.CodeChecksumMismatch {
		t.Fatalf("err = %v, want checksum_mismatch", err)
	}
	puts := w.putsOf(sha)
	if len(puts) != 1 || puts[0].err == nil || puts[0].read >= int64(len(bad)) {
		t.Fatalf("puts = %+v; want one Put that never got the last byte of %d", puts, len(bad))
	}
	e.assertNothingStored(sha)
}

func TestUpload_StreamedStoreFailureKeepsBytesForRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failAfter int64
	}{
		{"mid-stream", 100 << 10},
		{"at the end", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			w := watch(e)
			data := pngBytes(t, 500, 400, 6)
			sha, size := shaOf(data), int64(len(data))
			e.reference(devA, squad1, sha)
			w.setDown(true, tc.failAfter)
			_, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil)
			if schema.ErrorCode(err) != schema.CodeUnavailable {
				t.Fatalf("err = %v, want unavailable", err)
			}
			if _, err := e.blobs.Stat(context.Background(), sha); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("blob stored while the store failed: %v", err)
			}
			if got := e.headOffset(devA, sha); got != size {
				t.Fatalf("server holds %d bytes after the store failed; want all %d, durably staged", got, size)
			}
			w.setDown(false, 0)
			res, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 0 {
				t.Errorf("the retry sent %d bytes; want 0", res.Sent)
			}
			if !bytes.Equal(e.storedBytes(sha), data) {
				t.Fatal("stored bytes differ")
			}
			e.assertStagingEmpty()
		})
	}
}

// withComments inserts n bytes of COM segments right after the SOI of a
// JPEG, so that its frame header arrives only near the end of the stream.
func withComments(jpg []byte, n int) []byte {
	out := append([]byte{}, jpg[:2]...)
	for n > 0 {
		seg := min(n, 60000)
		out = append(out, 0xFF, 0xFE)
		out = binary.BigEndian.AppendUint16(out, uint16(seg+2))
		out = append(out, bytes.Repeat([]byte{'c'}, seg)...)
		n -= seg
	}
	return append(out, jpg[2:]...)
}

func TestUpload_StreamedJPEGHeaderAfterLargeSegments(t *testing.T) {
	e := newEnv(t)
	data := withComments(jpegBytes(t, 640, 480, 7), 2<<20)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil); err != nil {
		t.Fatal(err)
	}
	e.svc.WaitThumbnails()
	p, err := e.st.Photo(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	if p.MediaType != "image/jpeg" || p.Width != 640 || p.Height != 480 || p.ThumbKey == "" {
		t.Errorf("stored %+v; want a 640×480 JPEG with a thumbnail", p)
	}
	if !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatal("stored bytes differ")
	}
	e.assertStagingEmpty()
}
