package photo_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// ent is one TIFF IFD entry for the test EXIF builder. ifd > 0 makes the
// value a pointer to that IFD of the block.
type ent struct {
	tag, typ uint16
	count    uint32
	val      []byte
	ifd      int
}

// buildTIFF lays out a TIFF block: header, the IFDs in order, then the
// out-of-line values.
func buildTIFF(bo binary.ByteOrder, ifds ...[]ent) []byte {
	offs := make([]uint32, len(ifds))
	pos := uint32(8)
	for i, ents := range ifds {
		offs[i] = pos
		pos += 2 + 12*uint32(len(ents)) + 4
	}
	out := make([]byte, pos)
	if bo == binary.ByteOrder(binary.LittleEndian) {
		copy(out, "II*\x00")
	} else {
		copy(out, "MM\x00*")
	}
	bo.PutUint32(out[4:], 8)
	for i, ents := range ifds {
		p := offs[i]
		bo.PutUint16(out[p:], uint16(len(ents)))
		for j, e := range ents {
			q := p + 2 + 12*uint32(j)
			bo.PutUint16(out[q:], e.tag)
			bo.PutUint16(out[q+2:], e.typ)
			bo.PutUint32(out[q+4:], e.count)
			switch {
			case e.ifd > 0:
				bo.PutUint32(out[q+8:], offs[e.ifd])
			case len(e.val) <= 4:
				copy(out[q+8:], e.val)
			default:
				bo.PutUint32(out[q+8:], uint32(len(out)))
				out = append(out, e.val...)
			}
		}
	}
	return out
}

func asciiEnt(tag uint16, s string) ent {
	v := append([]byte(s), 0)
	return ent{tag: tag, typ: 2, count: uint32(len(v)), val: v}
}

func rationals(bo binary.ByteOrder, tag uint16, r ...[2]uint32) ent {
	v := make([]byte, 8*len(r))
	for i, x := range r {
		bo.PutUint32(v[i*8:], x[0])
		bo.PutUint32(v[i*8+4:], x[1])
	}
	return ent{tag: tag, typ: 5, count: uint32(len(r)), val: v}
}

// exifOpts says what the test EXIF block holds.
type exifOpts struct {
	dateTime, offset string
	gps              bool
	latRef, lngRef   string
}

// exifBlock builds an EXIF block: IFD0 → Exif IFD (DateTimeOriginal,
// OffsetTimeOriginal) and GPS IFD (31°13'48" lat, 121°28'12" lng).
func exifBlock(bo binary.ByteOrder, o exifOpts) []byte {
	ifd0 := []ent{{tag: 0x010F, typ: 2, count: 4, val: []byte("Cam\x00")}, {tag: 0x8769, typ: 4, count: 1, ifd: 1}}
	exif := []ent{}
	if o.dateTime != "" {
		exif = append(exif, asciiEnt(0x9003, o.dateTime))
	}
	if o.offset != "" {
		exif = append(exif, asciiEnt(0x9011, o.offset))
	}
	ifds := [][]ent{ifd0, exif}
	if o.gps {
		ifd0 = append(ifd0, ent{tag: 0x8825, typ: 4, count: 1, ifd: 2})
		ifds[0] = ifd0
		ifds = append(ifds, []ent{
			asciiEnt(0x0001, o.latRef),
			rationals(bo, 0x0002, [2]uint32{31, 1}, [2]uint32{13, 1}, [2]uint32{4800, 100}),
			asciiEnt(0x0003, o.lngRef),
			rationals(bo, 0x0004, [2]uint32{121, 1}, [2]uint32{28, 1}, [2]uint32{12, 1}),
		})
	}
	return buildTIFF(bo, ifds...)
}

// jpegWithEXIF encodes a w×h JPEG and inserts an APP1 EXIF segment
// holding tiff right after SOI.
func jpegWithEXIF(t testing.TB, w, h int, tiff []byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	if tiff == nil {
		return plain
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, plain[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, plain[2:]...)
}

// box builds an ISO-BMFF box.
func box(typ string, payload ...[]byte) []byte {
	var body []byte
	for _, p := range payload {
		body = append(body, p...)
	}
	out := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(out, uint32(8+len(body)))
	copy(out[4:], typ)
	return append(out, body...)
}

// heicFile builds a minimal HEIC: ftyp, meta → iprp → ipco → ispe, mdat.
func heicFile(major string, w, h uint32) []byte {
	ispe := make([]byte, 12)
	binary.BigEndian.PutUint32(ispe[4:], w)
	binary.BigEndian.PutUint32(ispe[8:], h)
	ftyp := box("ftyp", []byte(major), []byte{0, 0, 0, 0}, []byte("mif1heic"))
	meta := box("meta", []byte{0, 0, 0, 0}, box("hdlr", make([]byte, 24)), box("iprp", box("ipco", box("ispe", ispe))))
	return append(append(ftyp, meta...), box("mdat", bytes.Repeat([]byte{7}, 100))...)
}
