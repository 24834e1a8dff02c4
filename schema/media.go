package schema

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// SniffMedia tells the media type of a photo from its first bytes (at least the
// first 12; the whole ftyp box for HEIC/HEIF), never from a file name,
// because evidence is judged by what it is, not what it is called. Anything
// but JPEG, PNG, HEIC/HEIF or WebP is refused with an error that names what
// the bytes look like.
func SniffMedia(head []byte) (string, error) {
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
	return "", Errorf(CodeUnsupportedMedia, "%s is not a JPEG, PNG, HEIC/HEIF or WebP image", DescribeMedia(head))
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
	return "", Errorf(CodeUnsupportedMedia, "an ISO-BMFF file of brand %q (%s) is not a JPEG, PNG, HEIC/HEIF or WebP image", printable(major), bmffKind(major))
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

// DescribeMedia names what a file looks like from its first bytes, so that a
// refusal tells the inspector what was picked by mistake.
func DescribeMedia(head []byte) string {
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

// Bounds of the ISO-BMFF walk: hostile files cannot make it loop or allocate.
const (
	bmffMaxBoxes   = 4096    // boxes visited in one walk
	bmffMaxMetaLen = 4 << 20 // bytes of the meta box read into memory
)

var errNoISPE = errors.New("no image size (ispe) property found")

// bmffBox is one box header: its type and where its payload lies.
type bmffBox struct {
	typ        string
	start, end int64 // payload range in the file
}

// bmffChildren lists the boxes in [start, end) of r.
func bmffChildren(r io.ReaderAt, start, end int64, budget *int) ([]bmffBox, error) {
	var out []bmffBox
	var hdr [16]byte
	for pos := start; pos+8 <= end; {
		if *budget--; *budget < 0 {
			return nil, errors.New("too many boxes")
		}
		if _, err := r.ReadAt(hdr[:8], pos); err != nil {
			return nil, err
		}
		size := int64(binary.BigEndian.Uint32(hdr[0:4]))
		typ := string(hdr[4:8])
		hl := int64(8)
		switch size {
		case 0:
			size = end - pos
		case 1:
			if pos+16 > end {
				return nil, errors.New("truncated large box header")
			}
			if _, err := r.ReadAt(hdr[8:16], pos+8); err != nil {
				return nil, err
			}
			u := binary.BigEndian.Uint64(hdr[8:16])
			if u > uint64(end-pos) {
				return nil, errors.New("box runs past its parent")
			}
			size, hl = int64(u), 16
		}
		if size < hl || size > end-pos {
			return nil, errors.New("box size out of bounds")
		}
		out = append(out, bmffBox{typ: typ, start: pos + hl, end: pos + size})
		pos += size
	}
	return out, nil
}

func findBox(boxes []bmffBox, typ string) (bmffBox, bool) {
	for _, b := range boxes {
		if b.typ == typ {
			return b, true
		}
	}
	return bmffBox{}, false
}

// HEIFDimensions reads the largest image size (ispe property) that a HEIF
// file declares: meta → iprp → ipco → ispe. The largest is what a decoder
// could be asked to allocate, so it is what a pixel limit must judge.
func HEIFDimensions(r io.ReaderAt, size int64) (w, h int, err error) {
	budget := bmffMaxBoxes
	top, err := bmffChildren(r, 0, size, &budget)
	if err != nil && len(top) == 0 {
		return 0, 0, err
	}
	meta, ok := findBox(top, "meta")
	if !ok {
		return 0, 0, errNoISPE
	}
	if meta.end-meta.start > bmffMaxMetaLen || meta.end-meta.start < 4 {
		return 0, 0, errors.New("meta box size out of bounds")
	}
	metaKids, err := bmffChildren(r, meta.start+4, meta.end, &budget) // full box: skip version and flags
	if err != nil {
		return 0, 0, err
	}
	iprp, ok := findBox(metaKids, "iprp")
	if !ok {
		return 0, 0, errNoISPE
	}
	iprpKids, err := bmffChildren(r, iprp.start, iprp.end, &budget)
	if err != nil {
		return 0, 0, err
	}
	ipco, ok := findBox(iprpKids, "ipco")
	if !ok {
		return 0, 0, errNoISPE
	}
	props, err := bmffChildren(r, ipco.start, ipco.end, &budget)
	if err != nil {
		return 0, 0, err
	}
	var best int64
	var buf [12]byte
	for _, p := range props {
		if p.typ != "ispe" || p.end-p.start < 12 {
			continue
		}
		if _, err := r.ReadAt(buf[:], p.start); err != nil {
			return 0, 0, err
		}
		pw, ph := int64(binary.BigEndian.Uint32(buf[4:8])), int64(binary.BigEndian.Uint32(buf[8:12]))
		if pw*ph >= best && pw > 0 && ph > 0 {
			best, w, h = pw*ph, int(pw), int(ph)
		}
	}
	if best == 0 {
		return 0, 0, errNoISPE
	}
	return w, h, nil
}
