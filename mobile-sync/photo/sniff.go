// Package photo is the device side of photo evidence: it reads what a photo
// file is (hash, size, media type sniffed from the bytes, capture time and
// GPS position from EXIF) so that the inspection record can name the exact
// bytes, and it uploads those bytes to the server with the resumable offset
// protocol, so that a cut mobile connection never costs the bytes already
// sent. It depends only on the standard library, golang.org/x/image and
// schema, so that it can be built for phones.
package photo

import (
	"bytes"
	"fmt"
)

// Media types that photo evidence may have, as sniffed from the bytes.
const (
	MediaJPEG = "image/jpeg"
	MediaPNG  = "image/png"
	MediaHEIC = "image/heic"
	MediaHEIF = "image/heif"
	MediaWebP = "image/webp"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// heicBrands are ISO-BMFF brands of HEVC-coded HEIF images.
var heicBrands = map[string]bool{"heic": true, "heix": true, "hevc": true, "hevx": true, "heim": true, "heis": true, "hevm": true, "hevs": true}

// heifBrands are the generic HEIF brands.
var heifBrands = map[string]bool{"mif1": true, "msf1": true}

// Sniff tells the media type of a photo from its first bytes (at least the
// first 12; the whole ftyp box for HEIC/HEIF), never from a file name,
// because evidence is judged by what it is, not what it is called. Anything
// but JPEG, PNG, HEIC/HEIF or WebP is refused with an error that names what
// the bytes look like.
func Sniff(head []byte) (string, error) {
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return MediaJPEG, nil
	case bytes.HasPrefix(head, pngSignature):
		return MediaPNG, nil
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return MediaWebP, nil
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return sniffBMFF(head)
	}
	return "", fmt.Errorf("photo: %s is not a JPEG, PNG, HEIC/HEIF or WebP image", Describe(head))
}

// sniffBMFF classifies an ISO-BMFF file by the brands of its ftyp box.
func sniffBMFF(head []byte) (string, error) {
	size := int(uint32(head[0])<<24 | uint32(head[1])<<16 | uint32(head[2])<<8 | uint32(head[3]))
	if size < 16 || size > len(head) {
		size = len(head)
	}
	major := string(head[8:12])
	brands := []string{major}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, string(head[i:i+4]))
	}
	heif := false
	for _, b := range brands {
		if heicBrands[b] {
			return MediaHEIC, nil
		}
		if heifBrands[b] {
			heif = true
		}
	}
	if heif && major != "avif" && major != "avis" {
		return MediaHEIF, nil
	}
	return "", fmt.Errorf("photo: an ISO-BMFF file of brand %q (%s) is not a JPEG, PNG, HEIC/HEIF or WebP image", printable(major), bmffKind(major))
}

func bmffKind(major string) string {
	switch major {
	case "avif", "avis":
		return "AVIF image"
	case "isom", "iso2", "mp41", "mp42", "avc1", "3gp4", "3gp5", "M4V ":
		return "video"
	case "qt  ":
		return "QuickTime video"
	case "M4A ":
		return "audio"
	}
	return "unknown kind"
}

// Describe names what a file looks like from its first bytes, so that a
// refusal tells the inspector what was picked by mistake.
func Describe(head []byte) string {
	switch {
	case len(head) == 0:
		return "an empty file"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "a PDF document"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "a GIF image"
	case bytes.HasPrefix(head, []byte("BM")) && len(head) >= 14:
		return "a BMP image"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "a TIFF image"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a ZIP archive (or office document)"
	case len(head) >= 12 && string(head[0:4]) == "RIFF":
		return fmt.Sprintf("a RIFF file of type %q", printable(string(head[8:12])))
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return "a gzip archive"
	}
	n := min(len(head), 8)
	return fmt.Sprintf("a file starting with bytes % x", head[:n])
}

func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
