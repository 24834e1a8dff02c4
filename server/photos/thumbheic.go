package photos

import (
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/gen2brain/heic"

	"github.com/patrolhq/patrol/schema"
)

// heif reports whether mediaType is HEIC or another HEIF image.
func heif(mediaType string) bool { return mediaType == mediaHEIC || mediaType == mediaHEIF }

// heifOverhead is what one HEIC decode holds besides what grows with the
// photo: a wasm module instance (its stack, libheif's and libde265's
// tables) on top of the runtime's compiled code, which is shared.
const heifOverhead = 16 << 20

// heifDecodeBytes estimates what github.com/gen2brain/heic holds while it
// decodes a w×h HEIC/HEIF of size bytes. It reads the file whole (io.ReadAll
// grows its buffer, so up to twice the file) and copies it into the wasm
// module's memory; there libde265 decodes 8- or 16-bit planes and libheif
// converts them to the output image, which is copied once more into a
// buffer the Go image then points at, and the module's memory grows by
// reallocation. Measured (all allocations of one decode, an upper bound of
// its peak): 23 bytes a pixel for an 8-bit 1346×1346 photo, 14 MiB for a
// 12-bit 512×512 one. 32 bytes a pixel, three times the file and
// heifOverhead cover both with room.
func heifDecodeBytes(w, h int, size int64) int64 {
	return 32*int64(w)*int64(h) + 3*size + heifOverhead
}

// planHEIF plans a HEIC/HEIF preview from the declared image size (the
// largest ispe property, schema.HEIFDimensions), read before anything is
// decoded; the file is random-access (its meta box may lie anywhere).
func planHEIF(f io.ReaderAt, size int64, maxSide int) (thumbPlan, error) {
	rec := &atRecorder{r: f}
	w, h, err := schema.HEIFDimensions(rec, size)
	if rec.err != nil {
		return thumbPlan{}, &readFault{rec.err}
	}
	if err != nil {
		return thumbPlan{}, fmt.Errorf("%w: %v", errHEIFHeader, err)
	}
	p := thumbPlan{width: w, height: h}
	p.dw, p.dh = fit(w, h, maxSide)
	p.bytes = heifDecodeBytes(w, h, size) + 8*int64(max(w, h)) + boxScalerBytes(p.dw, p.dh) + thumbBytes(p.dw, p.dh)
	return p, nil
}

// decodeHEIF decodes a HEIC/HEIF whole, turned and mirrored as its irot
// and imir properties say (libheif applies them). The decoder is C code
// compiled to WebAssembly and run by wazero: a hostile file can make it
// fail, not touch the server's memory, but a panic on the Go side of the
// module is still turned into an error rather than a dead server.
func decodeHEIF(r io.Reader) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("heic: decoder panicked: %v", p)
		}
	}()
	return heic.Decode(r)
}

// judgeHEIF tells the verdict on a HEIC/HEIF that gives no preview. A
// file that libheif cannot parse or decode is corrupt when it says it is
// HEVC-coded (HEIC); a generic HEIF that fails is most likely coded with
// something the decoder lacks (AV1, JPEG 2000), so unsupported. What the
// decoder refuses by name (a chroma or colour space it has no output for)
// is unsupported too.
func (s *Service) judgeHEIF(mediaType string, err error) error {
	var rf *readFault
	if errors.As(err, &rf) {
		return fmt.Errorf("photos: thumbnail: read the %s: %w", mediaType, rf.err)
	}
	corrupt := false
	switch {
	case errors.Is(err, errHEIFHeader):
		corrupt = true
	case mediaType == mediaHEIF:
	case errors.Is(err, heic.ErrDecode):
		corrupt = true
	}
	if corrupt {
		s.counts.corrupt.Add(1)
		return &thumbVerdict{ThumbCorrupt, err.Error()}
	}
	s.counts.unsupported.Add(1)
	return &thumbVerdict{ThumbUnsupported, err.Error()}
}

// errHEIFHeader marks a HEIC/HEIF whose boxes give no usable image size,
// or a size its image data does not keep to.
var errHEIFHeader = errors.New("bad HEIF header")

// readFault is a failure to read a photo's bytes while planning its
// preview: a disk or store fault, never a verdict on the photo.
type readFault struct{ err error }

func (r *readFault) Error() string { return r.err.Error() }

// atRecorder reads at offsets and remembers a failure other than the end
// of the object, so that a store fault is never taken for a broken file.
type atRecorder struct {
	r   io.ReaderAt
	err error
}

func (a *atRecorder) ReadAt(b []byte, off int64) (int, error) {
	n, err := a.r.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) && a.err == nil {
		a.err = err
	}
	return n, err
}
