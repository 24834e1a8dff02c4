package photos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"sync"
	"sync/atomic"
)

// thumbQuality is the JPEG quality of thumbnails: good enough to recognise
// what a photo shows on the review pages.
const thumbQuality = 80

// Thumbnail states of a photo (store.Photo.ThumbState): verdicts that no retry
// changes, kept with the photo so that its thumbnail route answers them at
// once, across restarts, without decoding again. The original bytes are
// kept as received whatever the verdict: they are the evidence.
const (
	// ThumbCorrupt: the image data cannot be decoded (a valid header over
	// broken pixels, a bad checksum, data cut short).
	ThumbCorrupt = "corrupt"
	// ThumbUnsupported: the image is valid but uses a feature the server's
	// decoders lack (a 12-bit or arithmetic-coded JPEG, say).
	ThumbUnsupported = "unsupported"
	// ThumbTooLarge: decoding the image would take more memory than the
	// server's thumbnail budget (Service.ThumbBudget). Only JPEG, WebP and
	// HEIC/HEIF come to this, since PNG is scaled while it is inflated:
	// their decoders cannot decode at a reduced size, and decoding whole
	// an image that does not fit would break the bound every other photo
	// relies on. The reason names the estimate and the budget; after the
	// budget is raised, clearing thumb_state lets the photo try again.
	ThumbTooLarge = "too_large"
)

// thumbVerdict is a thumbnail failure that no retry changes.
type thumbVerdict struct{ state, reason string }

func (v *thumbVerdict) Error() string { return "photos: no thumbnail (" + v.state + "): " + v.reason }

// errThumbBusy: the decode budget stayed taken for as long as the caller
// could wait.
var errThumbBusy = errors.New("photos: thumbnail: the server is busy decoding other photos")

// decoders are the image types a thumbnail can be made of. HEIC/HEIF gets
// one too: it is the JPEG preview a browser can show, since browsers other
// than Safari cannot show the original.
var decoders = map[string]bool{mediaJPEG: true, mediaPNG: true, mediaWebP: true, mediaHEIC: true, mediaHEIF: true}

// decodable reports whether a thumbnail can be made of mediaType.
func decodable(mediaType string) bool { return decoders[mediaType] }

// thumbnail makes the thumbnail of a verified photo (its dimensions passed
// the pixel limit) and stores it under its own SHA-256, which it returns;
// for HEIC/HEIF it is the photo's JPEG preview. It is turned as the JPEG's
// EXIF orientation says (HEIC/HEIF is turned by its decoder). It first
// plans the decode from the headers (planThumbnail), refuses a photo whose
// estimate exceeds the whole budget (ThumbTooLarge), then waits in the
// decode pool — as long as admit allows — for its estimate to fit, and
// holds its share only while it decodes and scales. A *thumbVerdict error
// is final; errThumbBusy and any other error (the bytes could not be read,
// the store refused the thumbnail) may pass on a retry.
func (s *Service) thumbnail(ctx, admit context.Context, f io.ReaderAt, size int64, mediaType string) (string, error) {
	if !decodable(mediaType) {
		return "", nil
	}
	open := func() *photoReader { return &photoReader{r: io.NewSectionReader(f, 0, size), size: size} }
	src := open()
	var plan thumbPlan
	var err error
	if heif(mediaType) {
		plan, err = planHEIF(f, size, s.thumbSize())
		if err != nil {
			return "", s.judgeHEIF(mediaType, err)
		}
	} else if plan, err = planThumbnail(src, size, mediaType, s.thumbSize()); err != nil {
		return "", s.judge(src, mediaType, err)
	}
	if mediaType == mediaJPEG {
		if plan.orientation, err = readOrientation(f, size); err != nil {
			return "", fmt.Errorf("photos: thumbnail: read the %s: %w", mediaType, err)
		}
	}
	pool := s.pool()
	if plan.bytes > pool.budget {
		s.counts.tooLarge.Add(1)
		return "", &thumbVerdict{ThumbTooLarge, fmt.Sprintf("decoding this %d×%d %s takes about %d MiB; the server decodes thumbnails within %d MiB",
			plan.width, plan.height, mediaType, mib(plan.bytes), mib(pool.budget))}
	}
	if err := pool.acquire(admit, plan.bytes); err != nil {
		s.counts.busy.Add(1)
		return "", fmt.Errorf("%w (%v)", errThumbBusy, err)
	}
	var once sync.Once
	release := func() { once.Do(func() { pool.release(plan.bytes) }) }
	defer release()
	src = open()
	thumb, err := decodeThumb(plan, mediaType, src, s.thumbSize())
	if err != nil {
		if heif(mediaType) && src.err == nil {
			return "", s.judgeHEIF(mediaType, err)
		}
		return "", s.judge(src, mediaType, err)
	}
	release()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return "", fmt.Errorf("photos: thumbnail: encode: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	key := hex.EncodeToString(sum[:])
	putCtx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := s.Blobs.Put(putCtx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), mediaJPEG); err != nil {
		return "", fmt.Errorf("photos: thumbnail: store: %w", err)
	}
	s.counts.made.Add(1)
	return key, nil
}

// decodeThumb decodes and scales a photo as plan says: a PNG while it is
// inflated, anything else decoded whole first and then read turned as
// plan.orientation says (orient copies no pixel), so the thumbnail shows
// the photo the way up the camera held it.
func decodeThumb(plan thumbPlan, mediaType string, r io.Reader, maxSide int) (*image.RGBA, error) {
	br := bufio.NewReaderSize(r, copyBufferSize)
	if plan.stream {
		return scalePNG(br, maxSide)
	}
	img, err := decodeImage(mediaType, br)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	if heif(mediaType) {
		// The primary image may be a grid of the largest ispe or turned by
		// irot; it must never hold more pixels than the plan allowed for.
		if int64(b.Dx())*int64(b.Dy()) > int64(plan.width)*int64(plan.height) {
			return nil, fmt.Errorf("%w: %s decodes to %d×%d pixels, its header says at most %d×%d", errHEIFHeader, mediaType, b.Dx(), b.Dy(), plan.width, plan.height)
		}
	} else if b.Dx() != plan.width || b.Dy() != plan.height {
		return nil, fmt.Errorf("%s decodes to %d×%d pixels, its header says %d×%d", mediaType, b.Dx(), b.Dy(), plan.width, plan.height)
	}
	img = orient(img, plan.orientation)
	dw, dh := fit(img.Bounds().Dx(), img.Bounds().Dy(), maxSide)
	return scaleImage(img, dw, dh), nil
}

// judge tells a decoder's refusal (a verdict on the photo) from a failure
// to read its bytes (a disk or store fault, worth a retry).
func (s *Service) judge(src *photoReader, mediaType string, err error) error {
	if src.err != nil {
		return fmt.Errorf("photos: thumbnail: read the %s: %w", mediaType, src.err)
	}
	var pu png.UnsupportedError
	var ju jpeg.UnsupportedError
	if errors.As(err, &pu) || errors.As(err, &ju) {
		s.counts.unsupported.Add(1)
		return &thumbVerdict{ThumbUnsupported, err.Error()}
	}
	s.counts.corrupt.Add(1)
	return &thumbVerdict{ThumbCorrupt, err.Error()}
}

// photoReader reads a stored photo and remembers why reading failed, so
// that a disk or store fault is never taken for corrupt image data. An
// object that ends before its recorded size is such a fault.
type photoReader struct {
	r       io.Reader
	size, n int64
	err     error
}

func (p *photoReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	switch {
	case err == io.EOF && p.n < p.size:
		p.err = fmt.Errorf("the stored object ends at byte %d of %d", p.n, p.size)
	case err != nil && err != io.EOF:
		p.err = err
	}
	return n, err
}

// thumbCounts are the outcomes of thumbnail attempts, for ThumbStats.
type thumbCounts struct {
	made, corrupt, unsupported, tooLarge, busy, queueFull atomic.Uint64
}

// ThumbStats is a snapshot of the thumbnail machinery for /metrics: the
// bound decodes are held to, what they hold now, and what was turned away.
type ThumbStats struct {
	BudgetBytes int64 // the decode memory budget (ThumbBudget)
	InUseBytes  int64 // estimated bytes of the decodes running now
	Workers     int   // decodes that may run at once (ThumbWorkers)
	Decoding    int   // decodes running now
	Waiting     int   // decodes waiting for budget or a worker
	Queued      int   // stored photos whose background thumbnail is still to come

	Made        uint64 // thumbnails made
	Corrupt     uint64 // photos found to have corrupt image data
	Unsupported uint64 // photos using a feature the decoders lack
	TooLarge    uint64 // photos refused: their decode exceeds the whole budget
	Busy        uint64 // on-demand thumbnails that found the budget taken (503)
	QueueFull   uint64 // stored photos not queued for lack of room (made on first request)
}

// ThumbStats reports the thumbnail machinery's bound and load.
func (s *Service) ThumbStats() ThumbStats {
	p := s.pool()
	inUse, running, waiting := p.stats()
	return ThumbStats{
		BudgetBytes: p.budget, InUseBytes: inUse, Workers: p.slots, Decoding: running, Waiting: waiting,
		Queued: s.thumbs.queued(),
		Made:   s.counts.made.Load(), Corrupt: s.counts.corrupt.Load(), Unsupported: s.counts.unsupported.Load(),
		TooLarge: s.counts.tooLarge.Load(), Busy: s.counts.busy.Load(), QueueFull: s.counts.queueFull.Load(),
	}
}

// pool is the Service's decode pool, sized on first use from ThumbBudget
// and ThumbWorkers.
func (s *Service) pool() *decodePool {
	s.poolOnce.Do(func() { s.decodes = newDecodePool(s.thumbBudget(), s.thumbWorkers()) })
	return s.decodes
}

func mib(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// fit scales w×h to fit a max×max box, keeping the aspect ratio and never
// enlarging.
func fit(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		return max, maxInt(1, h*max/w)
	}
	return maxInt(1, w*max/h), max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
