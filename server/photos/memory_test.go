package photos_test

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/photo"
)

// bigPNG is a valid PNG of about size bytes that exists only as a function
// of the offset: a small real image with a large private ancillary chunk
// ("prVt", valid CRC) before IEND. Nothing holds it in memory.
type bigPNG struct {
	prefix []byte // the small PNG without IEND, then the chunk's length and type
	n      int64  // chunk data length
	suffix []byte // chunk CRC, then IEND
	block  []byte // the repeating pattern of the chunk data
	salt   byte   // makes each photo's bytes (and hash) differ
}

func newBigPNG(t testing.TB, size int64, salt byte, block []byte) *bigPNG {
	t.Helper()
	small := pngBytes(t, 64, 48, uint64(salt))
	iend := small[len(small)-12:]
	p := &bigPNG{block: block, salt: salt}
	p.n = size - int64(len(small)) - 12
	p.prefix = append(append([]byte{}, small[:len(small)-12]...), 0, 0, 0, 0, 'p', 'r', 'V', 't')
	binary.BigEndian.PutUint32(p.prefix[len(p.prefix)-8:], uint32(p.n))
	crc := crc32.NewIEEE()
	crc.Write([]byte("prVt"))
	buf := make([]byte, 64<<10)
	for off := int64(0); off < p.n; off += int64(len(buf)) {
		m := min(int64(len(buf)), p.n-off)
		p.data(buf[:m], off)
		crc.Write(buf[:m])
	}
	p.suffix = binary.BigEndian.AppendUint32(nil, crc.Sum32())
	p.suffix = append(p.suffix, iend...)
	return p
}

func (p *bigPNG) size() int64 { return int64(len(p.prefix)) + p.n + int64(len(p.suffix)) }

func (p *bigPNG) data(b []byte, off int64) {
	for i := range b {
		b[i] = p.block[(off+int64(i))%int64(len(p.block))] ^ p.salt
	}
}

func (p *bigPNG) ReadAt(b []byte, off int64) (int, error) {
	total := p.size()
	if off >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && off < total {
		var m int
		switch pre, mid := int64(len(p.prefix)), int64(len(p.prefix))+p.n; {
		case off < pre:
			m = copy(b[n:], p.prefix[off:])
		case off < mid:
			m = int(min(int64(len(b)-n), mid-off))
			p.data(b[n:n+m], off-pre)
		default:
			m = copy(b[n:], p.suffix[off-mid:])
		}
		n += m
		off += int64(m)
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (p *bigPNG) open() (io.ReadSeekCloser, error) {
	return nopSeekCloser{io.NewSectionReader(p, 0, p.size())}, nil
}

// TestUpload_MemoryFlatOverFiftyLargePhotos streams 50 photos of 20 MB
// from the device library through PATCH into the blob store and logs the
// heap: the server streams, so the heap must not grow with photo size.
func TestUpload_MemoryFlatOverFiftyLargePhotos(t *testing.T) {
	const photosN, photoSize = 50, 20 << 20
	e := newEnv(t)
	r := rand.New(rand.NewPCG(1, 2))
	block := make([]byte, 64<<10+7) // odd length: the pattern does not align with buffers
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()

	ctx := context.Background()
	var sent int64
	for i := 0; i < photosN; i++ {
		p := newBigPNG(t, photoSize, byte(i+1), block)
		f, _ := p.open()
		m, err := photo.InspectReader(f, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if m.MediaType != "image/png" || m.Size != photoSize {
			t.Fatalf("photo %d: %s of %d bytes", i, m.MediaType, m.Size)
		}
		e.reference(devA, squad1, m.SHA256)
		res, err := e.uploader(devA).Upload(ctx, m.SHA256, m.Size, p.open, nil)
		if err != nil {
			t.Fatalf("photo %d: %v", i, err)
		}
		sent += res.Sent
		info, err := e.blobs.Stat(ctx, m.SHA256)
		if err != nil || info.Size != photoSize {
			t.Fatalf("photo %d stored as %+v, %v", i, info, err)
		}
		if err := e.blobs.Delete(ctx, m.SHA256); err != nil { // keep the test's disk use small
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d photos × %d MiB (%d MiB sent): HeapInuse before %.1f MiB, peak %.1f MiB, after %.1f MiB; Sys before %.1f MiB, after %.1f MiB",
		photosN, photoSize>>20, sent>>20, mib(before.HeapInuse), mib(peak.Load()), mib(after.HeapInuse), mib(before.Sys), mib(after.Sys))
	if sent != photosN*photoSize {
		t.Errorf("sent %d bytes, want %d", sent, photosN*photoSize)
	}
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 64<<20 {
		t.Errorf("heap grew by %.1f MiB while streaming; want under 64 MiB", mib(uint64(grew)))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
