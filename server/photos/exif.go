package photos

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
)

// exifScanLen bounds how much of a JPEG the orientation reader looks at:
// the APP1 Exif segment is at most 64 KiB and comes before the image data.
const exifScanLen = 64 << 10

// exifMaxEntries bounds IFD0; cameras write a few dozen entries.
const exifMaxEntries = 512

// tagOrientation is the TIFF/EXIF Orientation tag of IFD0.
const tagOrientation = 0x0112

// readOrientation reads the EXIF orientation of a JPEG from its first
// exifScanLen bytes: 1 (as stored) when there is none or it is unreadable.
// The error is a failure to read the bytes (worth a retry), never a
// verdict on them.
func readOrientation(f io.ReaderAt, size int64) (int, error) {
	buf := make([]byte, max(0, min(size, exifScanLen)))
	n, err := f.ReadAt(buf, 0)
	if n < len(buf) || (err != nil && !errors.Is(err, io.EOF)) {
		return 1, err
	}
	return exifOrientation(buf), nil
}

// exifOrientation finds the Orientation tag (1–8) in the APP1 Exif segment
// of a JPEG's first bytes. Anything else — no Exif, a value outside 1–8, a
// segment or offset running past b — is 1, as stored: a hostile or broken
// header costs the thumbnail its rotation, never a panic or a loop.
func exifOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for pos := 2; pos+4 <= len(b); {
		if b[pos] != 0xFF {
			return 1
		}
		m := b[pos+1]
		switch {
		case m == 0xFF: // fill byte
			pos++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // markers without a length
			pos += 2
			continue
		case m == 0xDA || m == 0xD9: // image data or the end: no Exif before it
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[pos+2:]))
		if n < 2 {
			return 1
		}
		end := pos + 2 + n
		if m == 0xE1 && end <= len(b) {
			seg := b[pos+4 : end]
			if len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
				return tiffOrientation(seg[6:])
			}
		}
		pos = end // every step moves forward by at least 4 bytes
	}
	return 1
}

// tiffOrientation reads Orientation from IFD0 of a TIFF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := uint64(bo.Uint32(t[4:8]))
	if off+2 > uint64(len(t)) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	if count > exifMaxEntries {
		return 1
	}
	start := int(off) + 2
	for i := 0; i < count; i++ {
		p := start + 12*i
		if p+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[p:]) != tagOrientation {
			continue
		}
		if typ, n := bo.Uint16(t[p+2:]), bo.Uint32(t[p+4:]); typ != 3 || n != 1 { // one SHORT
			return 1
		}
		if v := int(bo.Uint16(t[p+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orientedImage shows src as EXIF orientation o says it should be seen,
// without copying a pixel: the thumbnail scaler reads it through the
// mapping, so honouring the camera's rotation costs no decode memory.
type orientedImage struct {
	src image.RGBA64Image
	o   int
	b   image.Rectangle // src's bounds
}

// orient wraps img for orientation o; 1 and unknown values, or an image
// that cannot be read as 16-bit pixels, are returned as they are.
func orient(img image.Image, o int) image.Image {
	src, ok := img.(image.RGBA64Image)
	if o <= 1 || o > 8 || !ok {
		return img
	}
	return &orientedImage{src: src, o: o, b: img.Bounds()}
}

// ColorModel is the source's.
func (m *orientedImage) ColorModel() color.Model { return m.src.ColorModel() }

// Bounds are the source's, with width and height swapped for the
// orientations that turn the picture a quarter (5–8).
func (m *orientedImage) Bounds() image.Rectangle {
	if m.o >= 5 {
		return image.Rect(0, 0, m.b.Dy(), m.b.Dx())
	}
	return image.Rect(0, 0, m.b.Dx(), m.b.Dy())
}

// At is RGBA64At as a color.Color.
func (m *orientedImage) At(x, y int) color.Color { return m.RGBA64At(x, y) }

// RGBA64At maps a displayed pixel back to the stored one.
func (m *orientedImage) RGBA64At(x, y int) color.RGBA64 {
	w, h := m.b.Dx(), m.b.Dy()
	var sx, sy int
	switch m.o {
	case 2: // mirrored left to right
		sx, sy = w-1-x, y
	case 3: // turned half round
		sx, sy = w-1-x, h-1-y
	case 4: // mirrored top to bottom
		sx, sy = x, h-1-y
	case 5: // mirrored along the top-left diagonal
		sx, sy = y, x
	case 6: // stored turned a quarter anticlockwise: show it a quarter clockwise
		sx, sy = y, h-1-x
	case 7: // mirrored along the top-right diagonal
		sx, sy = w-1-y, h-1-x
	case 8: // stored turned a quarter clockwise: show it a quarter anticlockwise
		sx, sy = w-1-y, x
	default:
		sx, sy = x, y
	}
	return m.src.RGBA64At(m.b.Min.X+sx, m.b.Min.Y+sy)
}
