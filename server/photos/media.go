package photos

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"github.com/patrolhq/patrol/schema"
)

// Media types accepted as evidence, judged from the bytes.
const (
	mediaJPEG = schema.MediaJPEG
	mediaPNG  = schema.MediaPNG
	mediaHEIC = schema.MediaHEIC
	mediaHEIF = schema.MediaHEIF
	mediaWebP = schema.MediaWebP
)

// sniff tells the media type from the first bytes of a photo; ok is false
// for anything that is not JPEG, PNG, HEIC/HEIF or WebP.
func sniff(head []byte) (string, bool) {
	mt, err := schema.SniffMedia(head)
	return mt, err == nil
}

// describe names what refused bytes look like, so that the refusal says
// what was sent by mistake.
func describe(head []byte) string { return schema.DescribeMedia(head) }

// probe tells the media type and dimensions of a staged photo by reading
// only its headers — nothing decodes pixels before the pixel limit is
// checked — and refuses what is not an accepted image or is too large.
func (s *Service) probe(f io.ReaderAt, size int64) (mediaType string, w, h int, err error) {
	head := make([]byte, sniffLen)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	mt, err := sniffOrRefuse(head)
	if err != nil {
		return "", 0, 0, err
	}
	w, h, err = schema.ReadPhotoConfig(mt, f, size)
	if err := s.checkConfig(mt, image.Config{Width: w, Height: h}, err); err != nil {
		return "", 0, 0, err
	}
	return mt, w, h, nil
}

// sniffLen is how much of the start of a photo its type is judged from.
const sniffLen = 512

// sniffOrRefuse tells the media type from the first sniffLen bytes (or
// all of a shorter photo), refusing anything but an accepted image.
func sniffOrRefuse(head []byte) (string, error) {
	mt, ok := sniff(head)
	if !ok {
		return "", schema.Errorf(schema.CodeUnsupportedMedia,
			"the photo is %s, not a JPEG, PNG, HEIC/HEIF or WebP image; nothing was stored", describe(head))
	}
	return mt, nil
}

// streamDecodable reports whether the dimensions of mt can be read from a
// plain stream (the header precedes the pixels); HEIC/HEIF needs random
// access to find its meta box.
func streamDecodable(mt string) bool {
	return mt == mediaJPEG || mt == mediaPNG || mt == mediaWebP
}

// decodeConfig reads only the header of a JPEG, PNG or WebP stream (the
// upload's streaming check; a staged photo is read by
// schema.ReadPhotoConfig).
func decodeConfig(mt string, r io.Reader) (image.Config, error) {
	switch mt {
	case mediaJPEG:
		return jpeg.DecodeConfig(r)
	case mediaPNG:
		return png.DecodeConfig(r)
	case mediaWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("no stream decoder for %s", mt)
}

// checkConfig judges the header read of a photo of type mt with the
// rules the device applies at import (schema.CheckPhotoConfig), within
// this server's pixel limit.
func (s *Service) checkConfig(mt string, cfg image.Config, err error) error {
	if err := schema.CheckPhotoConfig(mt, cfg.Width, cfg.Height, err, s.maxPixels()); err != nil {
		se := err.(*schema.Error)
		return schema.Errorf(se.Code, "%s; nothing was stored", se.Message)
	}
	return nil
}
