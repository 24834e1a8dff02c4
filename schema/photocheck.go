package schema

import (
	"bufio"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// DefaultMaxPhotoPixels is the largest width×height a photo may declare: a
// 100-megapixel limit stops pixel bombs (a tiny file claiming an image
// that would take gigabytes to decode).
const DefaultMaxPhotoPixels = 100_000_000

// ReadPhotoConfig reads the declared size of a photo of type mt (as
// SniffMedia told) from its headers only, never decoding a pixel: a
// config-only decode for JPEG, PNG and WebP, the ispe property for
// HEIC/HEIF (whose meta box needs random access). Server and device both
// call it, so that what a device accepts at import is what the server
// accepts on upload.
func ReadPhotoConfig(mt string, r io.ReaderAt, size int64) (w, h int, err error) {
	var cfg image.Config
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10)
	switch mt {
	case MediaJPEG:
		cfg, err = jpeg.DecodeConfig(br)
	case MediaPNG:
		cfg, err = png.DecodeConfig(br)
	case MediaWebP:
		cfg, err = webp.DecodeConfig(br)
	case MediaHEIC, MediaHEIF:
		return HEIFDimensions(r, size)
	default:
		return 0, 0, fmt.Errorf("no header reader for %s", mt)
	}
	return cfg.Width, cfg.Height, err
}

// CheckPhotoConfig judges what ReadPhotoConfig (or a streaming header
// decode) found in a photo of type mt: the header must be readable, give
// positive dimensions and stay within maxPixels. The refusal is
// unsupported_media or too_large with a message naming what was found;
// each side adds what follows from it (nothing stored, nothing attached).
func CheckPhotoConfig(mt string, w, h int, err error, maxPixels int64) error {
	if err != nil {
		return Errorf(CodeUnsupportedMedia, "the %s header cannot be read (%v)", mt, err)
	}
	if w <= 0 || h <= 0 {
		return Errorf(CodeUnsupportedMedia, "the %s header gives dimensions %d×%d", mt, w, h)
	}
	if px := int64(w) * int64(h); px > maxPixels {
		return Errorf(CodeTooLarge, "the %s image claims %d×%d pixels (%.1f megapixels); at most %.1f megapixels are accepted",
			mt, w, h, float64(px)/1e6, float64(maxPixels)/1e6)
	}
	return nil
}

// CheckPhotoSize refuses a photo of more than maxBytes bytes (too_large),
// or an empty one.
func CheckPhotoSize(size, maxBytes int64) error {
	if size <= 0 {
		return Errorf(CodeUnsupportedMedia, "the photo is an empty file")
	}
	if size > maxBytes {
		return Errorf(CodeTooLarge, "the photo is %.1f MiB; at most %.1f MiB are accepted", float64(size)/(1<<20), float64(maxBytes)/(1<<20))
	}
	return nil
}

// CheckPhoto runs every content check the server makes on an upload before
// it stores anything: the size limit, the type sniffed from the first
// bytes, the header read and the pixel limit. The device runs it at import
// with the default limits, so that a photo the server would never take is
// refused while the inspector still has the camera in hand, not left
// pending on the device for ever.
func CheckPhoto(r io.ReaderAt, size, maxBytes, maxPixels int64) (mt string, w, h int, err error) {
	if err := CheckPhotoSize(size, maxBytes); err != nil {
		return "", 0, 0, err
	}
	head := make([]byte, min(size, 512))
	n, _ := r.ReadAt(head, 0)
	if mt, err = SniffMedia(head[:n]); err != nil {
		return "", 0, 0, err
	}
	w, h, err = ReadPhotoConfig(mt, r, size)
	if err := CheckPhotoConfig(mt, w, h, err, maxPixels); err != nil {
		return "", 0, 0, err
	}
	return mt, w, h, nil
}
