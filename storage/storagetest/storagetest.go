// Package storagetest is the contract every storage.Store must meet, as
// one test suite run against each implementation, plus a real S3 server
// (versitygw) on loopback for the tests that need one.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/patrolhq/patrol/storage"
)

// Run runs the storage contract against stores made by newStore; each
// subtest gets a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("ContentType", func(t *testing.T) { testContentType(t, newStore(t)) })
	t.Run("ChecksumMismatch", func(t *testing.T) { testChecksumMismatch(t, newStore(t)) })
	t.Run("SizeMismatch", func(t *testing.T) { testSizeMismatch(t, newStore(t)) })
	t.Run("ReaderError", func(t *testing.T) { testReaderError(t, newStore(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newStore(t)) })
	t.Run("RePut", func(t *testing.T) { testRePut(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("InvalidKey", func(t *testing.T) { testInvalidKey(t, newStore(t)) })
	t.Run("SeekAndRange", func(t *testing.T) { testSeekAndRange(t, newStore(t)) })
	t.Run("ConcurrentPut", func(t *testing.T) { testConcurrentPut(t, newStore(t)) })
	t.Run("Large", func(t *testing.T) { testLarge(t, newStore(t)) })
	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// Blob returns n deterministic pseudo-random bytes and their key.
func Blob(seed uint64, n int) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b, storage.KeyOf(b)
}

// onlyReader hides every method but Read, so that a store cannot take a
// shortcut (ReaderAt, WriterTo) that a network body would not offer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func put(t *testing.T, s storage.Store, key string, b []byte, ct string) {
	t.Helper()
	if err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(b)}, int64(len(b)), ct); err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", key[:12], len(b), err)
	}
}

// mustRead opens key and checks that it holds exactly want.
func mustRead(t *testing.T, s storage.Store, key string, want []byte) {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key[:12], err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s: %v", key[:12], err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %s: got %d bytes (sha256 %s), want %d bytes", key[:12], len(got), storage.KeyOf(got)[:12], len(want))
	}
	if info := obj.Info(); info.Key != key || info.Size != int64(len(want)) || info.ETag != storage.ETag(key) {
		t.Fatalf("Object.Info() = %+v, want key %s size %d etag %s", info, key[:12], len(want), storage.ETag(key))
	}
}

// mustBeAbsent checks that Stat and Open report ErrNotFound for key.
func mustBeAbsent(t *testing.T, s storage.Store, key string) {
	t.Helper()
	if info, err := s.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat(%s) = %+v, %v; want ErrNotFound", key[:12], info, err)
	}
	obj, err := s.Open(context.Background(), key)
	if !errors.Is(err, storage.ErrNotFound) {
		if obj != nil {
			obj.Close()
		}
		t.Fatalf("Open(%s) error = %v; want ErrNotFound", key[:12], err)
	}
}

func testRoundTrip(t *testing.T, s storage.Store) {
	// The empty blob is a valid blob: its key is the SHA-256 of nothing.
	for i, n := range []int{0, 1, 1000, 64<<10 + 1, 1 << 20} {
		b, key := Blob(uint64(i+1), n)
		put(t, s, key, b, "image/png")
		info, err := s.Stat(context.Background(), key)
		if err != nil {
			t.Fatalf("Stat after Put of %d bytes: %v", n, err)
		}
		if info.Key != key || info.Size != int64(n) || info.ContentType != "image/png" || info.ETag != storage.ETag(key) || info.ModTime.IsZero() {
			t.Fatalf("Stat = %+v; want key %s, size %d, image/png, etag %s, a mod time", info, key[:12], n, storage.ETag(key))
		}
		mustRead(t, s, key, b)
	}
}

func testContentType(t *testing.T, s storage.Store) {
	for i, ct := range []string{"image/jpeg", "image/heic", "image/webp", "application/pdf; charset=binary"} {
		b, key := Blob(uint64(100+i), 100)
		put(t, s, key, b, ct)
		info, err := s.Stat(context.Background(), key)
		if err != nil || info.ContentType != ct {
			t.Fatalf("Stat = %+v, %v; want content type %q", info, err, ct)
		}
	}
	b, key := Blob(200, 100)
	put(t, s, key, b, "")
	if info, err := s.Stat(context.Background(), key); err != nil || info.ContentType != storage.DefaultContentType {
		t.Fatalf("Stat = %+v, %v; want content type %q for an empty one", info, err, storage.DefaultContentType)
	}
}

func testChecksumMismatch(t *testing.T, s storage.Store) {
	b, key := Blob(300, 200<<10)
	bad := bytes.Clone(b)
	bad[len(bad)-1] ^= 1 // only the very last byte differs
	err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(bad)}, int64(len(bad)), "image/jpeg")
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("Put of corrupted bytes = %v; want ErrChecksum", err)
	}
	mustBeAbsent(t, s, key)
	mustBeAbsent(t, s, storage.KeyOf(bad))
	// The store is still usable and the right bytes go in afterwards.
	put(t, s, key, b, "image/jpeg")
	mustRead(t, s, key, b)
}

func testSizeMismatch(t *testing.T, s storage.Store) {
	b, key := Blob(400, 10_000)
	// Declared longer than the bytes: the reader ends early. The caller
	// is told; a store whose server checks the content checksum may still
	// have kept the bytes, which are exactly the blob named key — never
	// anything else.
	err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(b)}, int64(len(b))+1, "")
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("Put declaring %d of %d bytes = %v; want ErrChecksum", len(b)+1, len(b), err)
	}
	mustBeAbsentOrExactly(t, s, key, b)
	// Declared shorter: the first size bytes do hash to key, yet more follow.
	short := storage.KeyOf(b[:len(b)-1])
	err = s.Put(context.Background(), short, onlyReader{bytes.NewReader(b)}, int64(len(b))-1, "")
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("Put with a byte more than declared = %v; want ErrChecksum", err)
	}
	mustBeAbsent(t, s, short)
	// Negative sizes are refused.
	if err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(b)}, -1, ""); err == nil {
		t.Fatal("Put with size -1 succeeded")
	}
	mustBeAbsentOrExactly(t, s, key, b)
}

// mustBeAbsentOrExactly fails unless key is absent or holds exactly b (whose
// hash is key): a content-addressed store never shows other bytes under a
// key, whatever a failed Put did.
func mustBeAbsentOrExactly(t *testing.T, s storage.Store, key string, b []byte) {
	t.Helper()
	o, err := s.Open(context.Background(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return
	}
	if err != nil {
		t.Fatalf("Open(%s): %v", key[:12], err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("key %s holds %d bytes that are not its blob (%v)", key[:12], len(got), err)
	}
}

// failingReader returns its bytes up to failAt, then err.
type failingReader struct {
	b      []byte
	failAt int
	off    int
	err    error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.off >= f.failAt {
		return 0, f.err
	}
	n := copy(p, f.b[f.off:f.failAt])
	f.off += n
	return n, nil
}

var errBroken = errors.New("connection reset by the field")

func testReaderError(t *testing.T, s storage.Store) {
	b, key := Blob(500, 300<<10)
	r := &failingReader{b: b, failAt: len(b) / 2, err: errBroken}
	err := s.Put(context.Background(), key, r, int64(len(b)), "image/jpeg")
	if !errors.Is(err, errBroken) {
		t.Fatalf("Put with a reader failing at half = %v; want the reader's error", err)
	}
	mustBeAbsent(t, s, key)
	// A reader that fails right at the last byte also stores nothing.
	r = &failingReader{b: b, failAt: len(b) - 1, err: errBroken}
	if err := s.Put(context.Background(), key, r, int64(len(b)), "image/jpeg"); !errors.Is(err, errBroken) {
		t.Fatalf("Put with a reader failing before the last byte = %v; want the reader's error", err)
	}
	mustBeAbsent(t, s, key)
}

// cancelAfter cancels its context once half its bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n, at  int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n >= c.at {
		c.cancel()
	}
	if len(p) > 4096 {
		p = p[:4096]
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func testCancelled(t *testing.T, s storage.Store) {
	b, key := Blob(550, 256<<10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelAfter{r: bytes.NewReader(b), at: len(b) / 2, cancel: cancel}
	if err := s.Put(ctx, key, r, int64(len(b)), ""); err == nil {
		t.Fatal("Put whose context was cancelled halfway succeeded")
	}
	mustBeAbsent(t, s, key)
}

func testRePut(t *testing.T, s storage.Store) {
	b, key := Blob(600, 50_000)
	put(t, s, key, b, "image/jpeg")
	put(t, s, key, b, "image/jpeg")
	mustRead(t, s, key, b)
	// A wrong body for a stored key is still refused, and harms nothing.
	bad := bytes.Clone(b)
	bad[0] ^= 0xff
	r := &countingReader{r: bytes.NewReader(bad)}
	if err := s.Put(context.Background(), key, r, int64(len(bad)), "image/jpeg"); !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("re-Put with wrong bytes = %v; want ErrChecksum", err)
	}
	mustRead(t, s, key, b)
	// A re-Put drains the reader, as an HTTP handler needs.
	r = &countingReader{r: bytes.NewReader(b)}
	if err := s.Put(context.Background(), key, r, int64(len(b)), "image/jpeg"); err != nil {
		t.Fatalf("re-Put: %v", err)
	}
	if r.n != len(b) {
		t.Fatalf("re-Put read %d of %d bytes; want all", r.n, len(b))
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func testNotFound(t *testing.T, s storage.Store) {
	_, key := Blob(700, 10)
	mustBeAbsent(t, s, key)
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	b, key := Blob(800, 4000)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	put(t, s, key, b, "image/png")
	other, okey := Blob(801, 4000)
	put(t, s, okey, other, "image/png")
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustBeAbsent(t, s, key)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	mustRead(t, s, okey, other)
	// A deleted key can be stored again.
	put(t, s, key, b, "image/png")
	mustRead(t, s, key, b)
}

func testInvalidKey(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, good := Blob(900, 10)
	bad := []string{
		"",
		"abc",
		strings.ToUpper(good),
		good[:63] + "g",
		good + "0",
		"../../../../etc/passwd" + good[22:],
		good[:30] + "/../" + good[34:],
		good[:63] + "\x00",
		strings.Repeat(".", 64),
	}
	for _, key := range bad {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1, ""); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v; want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v; want ErrInvalidKey", key, err)
		}
		if obj, err := s.Open(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			if obj != nil {
				obj.Close()
			}
			t.Errorf("Open(%q) = %v; want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v; want ErrInvalidKey", key, err)
		}
	}
}

func testSeekAndRange(t *testing.T, s storage.Store) {
	b, key := Blob(1000, 100_000)
	put(t, s, key, b, "image/jpeg")
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer obj.Close()
	for _, c := range []struct {
		off    int64
		whence int
		n      int
		at     int
	}{
		{1000, io.SeekStart, 500, 1000},
		{100, io.SeekCurrent, 200, 1600},
		{-10, io.SeekEnd, 10, len(b) - 10},
		{0, io.SeekStart, 64, 0},
	} {
		pos, err := obj.Seek(c.off, c.whence)
		if err != nil || pos != int64(c.at) {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", c.off, c.whence, pos, err, c.at)
		}
		got := make([]byte, c.n)
		if _, err := io.ReadFull(obj, got); err != nil || !bytes.Equal(got, b[c.at:c.at+c.n]) {
			t.Fatalf("read %d bytes at %d: %v or wrong bytes", c.n, c.at, err)
		}
	}
	// The object serves an HTTP range request as it stands.
	obj2, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer obj2.Close()
	info := obj2.Info()
	req := httptest.NewRequest(http.MethodGet, "/photo", nil)
	req.Header.Set("Range", "bytes=5000-5999")
	rec := httptest.NewRecorder()
	rec.Header().Set("ETag", info.ETag)
	http.ServeContent(rec, req, "", info.ModTime, obj2)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), b[5000:6000]) {
		t.Fatalf("ServeContent range: status %d, %d bytes; want 206 with bytes 5000-5999", rec.Code, rec.Body.Len())
	}
}

func testConcurrentPut(t *testing.T, s storage.Store) {
	b, key := Blob(1100, 256<<10)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Put(context.Background(), key, onlyReader{bytes.NewReader(b)}, int64(len(b)), "image/jpeg")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Put %d: %v", i, err)
		}
	}
	mustRead(t, s, key, b)
}

// genReader produces n pseudo-random bytes without holding them.
type genReader struct {
	r *rand.ChaCha8
	n int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	g.r.Read(p)
	g.n -= int64(len(p))
	return len(p), nil
}

func testLarge(t *testing.T, s storage.Store) {
	const size = 8 << 20
	var seed [32]byte
	seed[0] = 42
	h := sha256.New()
	if _, err := io.Copy(h, &genReader{r: rand.NewChaCha8(seed), n: size}); err != nil {
		t.Fatal(err)
	}
	key := hex.EncodeToString(h.Sum(nil))
	if err := s.Put(context.Background(), key, &genReader{r: rand.NewChaCha8(seed), n: size}, size, "image/jpeg"); err != nil {
		t.Fatalf("Put of 8 MiB: %v", err)
	}
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer obj.Close()
	h.Reset()
	n, err := io.Copy(h, obj)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != key {
		t.Fatalf("read back %d bytes, %v; sha256 match %v", n, err, hex.EncodeToString(h.Sum(nil)) == key)
	}
}
