package photos_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/photo"
	"github.com/patrolhq/patrol/schema"
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

// stripePNG is a w×h PNG, 8-bit RGB or (deep) 16-bit RGB, whose rows are
// all the same stripe pattern: a few hundred kilobytes however many pixels
// it has, and no w×h image is held to encode it.
func stripePNG(t testing.TB, w, h int, deep bool) []byte {
	t.Helper()
	var img image.Image
	if deep {
		pix := make([]uint8, 8*w)
		for i := range pix {
			pix[i] = uint8(i / 8 * 29)
		}
		for i := 6; i < len(pix); i += 8 {
			pix[i], pix[i+1] = 0xff, 0xff // opaque: written as 16-bit RGB
		}
		img = &image.RGBA64{Pix: pix, Stride: 0, Rect: image.Rect(0, 0, w, h)}
	} else {
		pix := make([]uint8, 4*w)
		for i := range pix {
			pix[i] = uint8(i / 4 * 29)
		}
		for i := 3; i < len(pix); i += 4 {
			pix[i] = 0xff
		}
		img = &image.RGBA{Pix: pix, Stride: 0, Rect: image.Rect(0, 0, w, h)}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestThumbnail_MemoryBoundedByBudget uploads several large photos at once
// and samples the heap while their thumbnails are made: it must stay
// within twice the decode budget (what decodes hold, and as much again in
// garbage the collector has not yet taken) plus a little for the uploads,
// with more workers than photos so that only the budget can hold it there.
func TestThumbnail_MemoryBoundedByBudget(t *testing.T) {
	const budget, photosN = 64 << 20, 3
	cases := []struct {
		name   string
		data   []byte
		mt     string
		tw, th int
	}{
		// image/png decodes these to 400 MB and 160 MB; scalePNG streams them.
		{"100-megapixel PNG", stripePNG(t, 10000, 10000, false), "image/png", 320, 320},
		{"5000×4000 16-bit PNG", stripePNG(t, 5000, 4000, true), "image/png", 320, 256},
		// A 48 MB decode each: the budget lets one run at a time.
		{"48-megapixel JPEG", grayJPEG(t, 6000, 8000, 3), "image/jpeg", 240, 320},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.ThumbBudget, e.svc.ThumbWorkers = budget, photosN+1
			photosData := make([][]byte, photosN)
			for i := range photosData {
				if c.mt == "image/png" {
					photosData[i] = pngChunkAfter(c.data, byte(i))
				} else {
					photosData[i] = append([]byte{0xff, 0xd8, 0xff, 0xfe, 0, 3, byte(i)}, c.data[2:]...) // a COM segment
				}
				e.reference(devA, squad1, shaOf(photosData[i]))
			}
			t.Logf("%d photos of %d KiB", photosN, len(c.data)>>10)

			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var peak atomic.Uint64
			stop := make(chan struct{})
			var sampler sync.WaitGroup
			sampler.Add(1)
			go func() {
				defer sampler.Done()
				var ms runtime.MemStats
				tick := time.NewTicker(10 * time.Millisecond)
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
			var uploads sync.WaitGroup
			for _, data := range photosData {
				uploads.Add(1)
				go func() {
					defer uploads.Done()
					if _, err := e.uploader(devA).Upload(context.Background(), shaOf(data), int64(len(data)), opener(data), nil); err != nil {
						t.Error(err)
					}
				}()
			}
			uploads.Wait()
			e.svc.WaitThumbnails()
			close(stop)
			sampler.Wait()

			grew := int64(peak.Load()) - int64(before.HeapInuse)
			bound := int64(2*budget + 16<<20)
			st := e.svc.ThumbStats()
			t.Logf("HeapInuse before %.1f MiB, peak %.1f MiB (grew %.1f MiB; bound %.0f MiB); %+v",
				mib(before.HeapInuse), mib(peak.Load()), float64(grew)/(1<<20), float64(bound)/(1<<20), st)
			if grew > bound {
				t.Errorf("heap grew by %.1f MiB while making thumbnails; want at most %.0f MiB (twice the %d MiB budget + 16 MiB)",
					float64(grew)/(1<<20), float64(bound)/(1<<20), budget>>20)
			}
			for _, data := range photosData {
				resp := e.do(http.MethodGet, schema.PathPhotos+"/"+shaOf(data)+"/thumb", "leader:1", nil, nil)
				thumb, _ := io.ReadAll(resp.Body)
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
				if resp.StatusCode != http.StatusOK || err != nil || cfg.Width != c.tw || cfg.Height != c.th {
					t.Fatalf("thumb: %s, %d×%d (%v); want %d×%d", resp.Status, cfg.Width, cfg.Height, err, c.tw, c.th)
				}
			}
		})
	}
}
