package photos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// thumbQuality is the JPEG quality of thumbnails: good enough to recognise
// what a photo shows on the review pages.
const thumbQuality = 80

// thumbSlots bounds how many photos are decoded for thumbnails at once:
// decoding is the only step that holds pixels in memory.
const thumbSlots = 2

var thumbSem = make(chan struct{}, thumbSlots)

// decoders are the image types a thumbnail can be made of.
var decoders = map[string]func(io.Reader) (image.Image, error){mediaJPEG: jpeg.Decode, mediaPNG: png.Decode, mediaWebP: webp.Decode}

// decodable reports whether a thumbnail can be made of mediaType.
func decodable(mediaType string) bool { return decoders[mediaType] != nil }

// thumbnail decodes a verified photo (its dimensions already passed the
// pixel limit), scales it to fit ThumbSize, encodes it as JPEG and stores
// it under its own SHA-256, which it returns. HEIC/HEIF photos get no
// thumbnail (there is no decoder) and return "".
func (s *Service) thumbnail(ctx context.Context, f io.ReaderAt, size int64, mediaType string) (string, error) {
	decode := decoders[mediaType]
	if decode == nil {
		return "", nil
	}
	select {
	case thumbSem <- struct{}{}:
		defer func() { <-thumbSem }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	src, err := decode(bufio.NewReaderSize(io.NewSectionReader(f, 0, size), copyBufferSize))
	if err != nil {
		return "", fmt.Errorf("photos: thumbnail: decode %s: %w", mediaType, err)
	}
	b := src.Bounds()
	w, h := fit(b.Dx(), b.Dy(), s.thumbSize())
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src) // transparency shows white
	draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return "", fmt.Errorf("photos: thumbnail: encode: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	key := hex.EncodeToString(sum[:])
	if err := s.Blobs.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), mediaJPEG); err != nil {
		return "", fmt.Errorf("photos: thumbnail: store: %w", err)
	}
	return key, nil
}

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
