package photos

import (
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"image"
	"image/png"
	"io"
)

// scalePNG makes a thumbnail of a PNG without holding its image: rows are
// inflated, unfiltered and averaged into a boxScaler one at a time, so a
// 100-megapixel PNG of 16-bit samples costs two rows and the thumbnail's
// sums instead of the 800 MB that image/png would allocate for it. It
// accepts and refuses exactly what image/png.Decode does — the same chunk
// order rules, every CRC and the zlib checksum checked, the image data read
// to the end and the chunks after it to IEND — with the same error types
// (png.FormatError, png.UnsupportedError), and yields the pixels that
// png.Decode would (FuzzScalePNG holds it to that).
func scalePNG(r io.Reader, maxSide int) (*image.RGBA, error) {
	d := &pngStream{r: r, crc: crc32.NewIEEE(), maxSide: maxSide}
	if _, err := io.ReadFull(r, d.tmp[:len(pngSignature)]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if string(d.tmp[:len(pngSignature)]) != pngSignature {
		return nil, png.FormatError("not a PNG file")
	}
	for d.stage != pngSeenIEND {
		if err := d.chunk(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return d.out, nil
}

// pngStreamBytes bounds what scalePNG holds for a w-pixel-wide PNG scaled
// to dw×dh: two rows of up to 8 bytes a pixel plus the filter byte, one row
// of 16-bit pixels for the scaler, the scaler, and the inflater's window
// and tables.
func pngStreamBytes(w, dw, dh int) int64 {
	return 2*(8*int64(w)+1) + 8*int64(w) + boxScalerBytes(dw, dh) + 64<<10
}

const pngSignature = "\x89PNG\r\n\x1a\n"

// Color type and bit depth combinations, as image/png names them.
const (
	cbInvalid = iota
	cbG1
	cbG2
	cbG4
	cbG8
	cbGA8
	cbTC8
	cbP1
	cbP2
	cbP4
	cbP8
	cbTCA8
	cbG16
	cbGA16
	cbTC16
	cbTCA16
)

// Chunk order stages (IHDR, PLTE, tRNS, IDAT, IEND).
const (
	pngStart = iota
	pngSeenIHDR
	pngSeenPLTE
	pngSeentRNS
	pngSeenIDAT
	pngSeenIEND
)

// adam7 is the placement of the seven passes of an interlaced PNG.
var adam7 = [7]struct{ xf, yf, xo, yo int }{
	{8, 8, 0, 0}, {8, 8, 4, 0}, {4, 8, 0, 4}, {4, 4, 2, 0}, {2, 4, 0, 2}, {2, 2, 1, 0}, {1, 2, 0, 1},
}

type pngStream struct {
	r       io.Reader
	crc     hash.Hash32
	maxSide int
	tmp     [3 * 256]byte
	stage   int

	width, height, depth, cb, interlace int

	// palette holds premultiplied 16-bit colours; entries the PLTE chunk
	// does not set are opaque black, as in image/png.
	palette [256][4]uint16
	// useTransparent and transparent are the tRNS colour of a grayscale or
	// truecolour image.
	useTransparent bool
	transparent    [6]byte

	idatLength uint32
	out        *image.RGBA
}

func cbPaletted(cb int) bool { return cbP1 <= cb && cb <= cbP8 }

func cbTrueColor(cb int) bool { return cb == cbTC8 || cb == cbTC16 }

func (d *pngStream) chunk() error {
	if _, err := io.ReadFull(d.r, d.tmp[:8]); err != nil {
		return err
	}
	length := binary.BigEndian.Uint32(d.tmp[:4])
	d.crc.Reset()
	d.crc.Write(d.tmp[4:8])
	switch string(d.tmp[4:8]) {
	case "IHDR":
		if d.stage != pngStart {
			return png.FormatError("chunk out of order")
		}
		d.stage = pngSeenIHDR
		return d.parseIHDR(length)
	case "PLTE":
		if d.stage != pngSeenIHDR {
			return png.FormatError("chunk out of order")
		}
		d.stage = pngSeenPLTE
		return d.parsePLTE(length)
	case "tRNS":
		if cbPaletted(d.cb) {
			if d.stage != pngSeenPLTE {
				return png.FormatError("chunk out of order")
			}
		} else if cbTrueColor(d.cb) {
			if d.stage != pngSeenIHDR && d.stage != pngSeenPLTE {
				return png.FormatError("chunk out of order")
			}
		} else if d.stage != pngSeenIHDR {
			return png.FormatError("chunk out of order")
		}
		d.stage = pngSeentRNS
		return d.parsetRNS(length)
	case "IDAT":
		if d.stage < pngSeenIHDR || d.stage > pngSeenIDAT || (d.stage == pngSeenIHDR && cbPaletted(d.cb)) {
			return png.FormatError("chunk out of order")
		}
		if d.stage != pngSeenIDAT {
			d.stage = pngSeenIDAT
			d.idatLength = length
			if err := d.decode(); err != nil {
				return err
			}
			return d.verifyChecksum()
		}
		// Trailing IDAT chunks after the image data are skipped, as
		// image/png does.
	case "IEND":
		if d.stage != pngSeenIDAT {
			return png.FormatError("chunk out of order")
		}
		d.stage = pngSeenIEND
		if length != 0 {
			return png.FormatError("bad IEND length")
		}
		return d.verifyChecksum()
	}
	if length > 0x7fffffff {
		return png.FormatError(fmt.Sprintf("Bad chunk length: %d", length))
	}
	var ignored [4096]byte
	for length > 0 {
		n, err := io.ReadFull(d.r, ignored[:min(len(ignored), int(length))])
		if err != nil {
			return err
		}
		d.crc.Write(ignored[:n])
		length -= uint32(n)
	}
	return d.verifyChecksum()
}

func (d *pngStream) verifyChecksum() error {
	if _, err := io.ReadFull(d.r, d.tmp[:4]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(d.tmp[:4]) != d.crc.Sum32() {
		return png.FormatError("invalid checksum")
	}
	return nil
}

func (d *pngStream) parseIHDR(length uint32) error {
	if length != 13 {
		return png.FormatError("bad IHDR length")
	}
	if _, err := io.ReadFull(d.r, d.tmp[:13]); err != nil {
		return err
	}
	d.crc.Write(d.tmp[:13])
	if d.tmp[10] != 0 {
		return png.UnsupportedError("compression method")
	}
	if d.tmp[11] != 0 {
		return png.UnsupportedError("filter method")
	}
	if d.tmp[12] != 0 && d.tmp[12] != 1 {
		return png.FormatError("invalid interlace method")
	}
	d.interlace = int(d.tmp[12])
	w := int32(binary.BigEndian.Uint32(d.tmp[0:4]))
	h := int32(binary.BigEndian.Uint32(d.tmp[4:8]))
	if w <= 0 || h <= 0 {
		return png.FormatError("non-positive dimension")
	}
	d.depth = int(d.tmp[8])
	ct := d.tmp[9]
	d.cb = cbInvalid
	switch {
	case ct == 0 && d.depth == 1:
		d.cb = cbG1
	case ct == 0 && d.depth == 2:
		d.cb = cbG2
	case ct == 0 && d.depth == 4:
		d.cb = cbG4
	case ct == 0 && d.depth == 8:
		d.cb = cbG8
	case ct == 0 && d.depth == 16:
		d.cb = cbG16
	case ct == 2 && d.depth == 8:
		d.cb = cbTC8
	case ct == 2 && d.depth == 16:
		d.cb = cbTC16
	case ct == 3 && d.depth == 1:
		d.cb = cbP1
	case ct == 3 && d.depth == 2:
		d.cb = cbP2
	case ct == 3 && d.depth == 4:
		d.cb = cbP4
	case ct == 3 && d.depth == 8:
		d.cb = cbP8
	case ct == 4 && d.depth == 8:
		d.cb = cbGA8
	case ct == 4 && d.depth == 16:
		d.cb = cbGA16
	case ct == 6 && d.depth == 8:
		d.cb = cbTCA8
	case ct == 6 && d.depth == 16:
		d.cb = cbTCA16
	}
	if d.cb == cbInvalid {
		return png.UnsupportedError(fmt.Sprintf("bit depth %d, color type %d", d.tmp[8], d.tmp[9]))
	}
	d.width, d.height = int(w), int(h)
	for i := range d.palette {
		d.palette[i] = [4]uint16{0, 0, 0, 0xffff}
	}
	return d.verifyChecksum()
}

func (d *pngStream) parsePLTE(length uint32) error {
	np := int(length / 3)
	if length%3 != 0 || np <= 0 || np > 256 || np > 1<<uint(d.depth) {
		return png.FormatError("bad PLTE length")
	}
	n, err := io.ReadFull(d.r, d.tmp[:3*np])
	if err != nil {
		return err
	}
	d.crc.Write(d.tmp[:n])
	switch {
	case cbPaletted(d.cb):
		for i := 0; i < np; i++ {
			r, g, b := d.tmp[3*i], d.tmp[3*i+1], d.tmp[3*i+2]
			d.palette[i] = [4]uint16{uint16(r) * 0x101, uint16(g) * 0x101, uint16(b) * 0x101, 0xffff}
		}
	case d.cb == cbTC8 || d.cb == cbTCA8 || d.cb == cbTC16 || d.cb == cbTCA16:
		// Optional and ignorable for truecolour images.
	default:
		return png.FormatError("PLTE, color type mismatch")
	}
	return d.verifyChecksum()
}

func (d *pngStream) parsetRNS(length uint32) error {
	switch {
	case d.cb == cbG1 || d.cb == cbG2 || d.cb == cbG4 || d.cb == cbG8 || d.cb == cbG16:
		if length != 2 {
			return png.FormatError("bad tRNS length")
		}
	case cbTrueColor(d.cb):
		if length != 6 {
			return png.FormatError("bad tRNS length")
		}
	case cbPaletted(d.cb):
		if length > 256 {
			return png.FormatError("bad tRNS length")
		}
	default:
		return png.FormatError("tRNS, color type mismatch")
	}
	n, err := io.ReadFull(d.r, d.tmp[:length])
	if err != nil {
		return err
	}
	d.crc.Write(d.tmp[:n])
	if cbPaletted(d.cb) {
		for i := 0; i < n; i++ {
			p := &d.palette[i]
			r, g, b := uint8(p[0]>>8), uint8(p[1]>>8), uint8(p[2]>>8)
			*p = nrgba(r, g, b, d.tmp[i])
		}
		return d.verifyChecksum()
	}
	copy(d.transparent[:], d.tmp[:length])
	switch d.cb {
	case cbG1:
		d.transparent[1] *= 0xff
	case cbG2:
		d.transparent[1] *= 0x55
	case cbG4:
		d.transparent[1] *= 0x11
	}
	d.useTransparent = true
	return d.verifyChecksum()
}

// Read presents the consecutive IDAT chunks as one stream, checking the
// CRC of each, as image/png's decoder does.
func (d *pngStream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for d.idatLength == 0 {
		if err := d.verifyChecksum(); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(d.r, d.tmp[:8]); err != nil {
			return 0, err
		}
		d.idatLength = binary.BigEndian.Uint32(d.tmp[:4])
		if string(d.tmp[4:8]) != "IDAT" {
			return 0, png.FormatError("not enough pixel data")
		}
		d.crc.Reset()
		d.crc.Write(d.tmp[4:8])
	}
	if int(d.idatLength) < 0 {
		return 0, png.UnsupportedError("IDAT chunk length overflow")
	}
	n, err := d.r.Read(p[:min(len(p), int(d.idatLength))])
	d.crc.Write(p[:n])
	d.idatLength -= uint32(n)
	return n, err
}

// decode inflates the image data and feeds every pass's rows to the
// scaler, then checks that the zlib stream ends where the pixels do.
func (d *pngStream) decode() error {
	zr, err := zlib.NewReader(d)
	if err != nil {
		return err
	}
	defer zr.Close()
	dw, dh := fit(d.width, d.height, d.maxSide)
	sc := newBoxScaler(d.width, d.height, dw, dh)
	bits := d.bitsPerPixel()
	rowMax := 1 + (int64(bits)*int64(d.width)+7)/8
	if rowMax != int64(int(rowMax)) {
		return png.UnsupportedError("dimension overflow")
	}
	cr, pr := make([]byte, rowMax), make([]byte, rowMax)
	px := make([]uint16, 4*d.width)
	passes := 1
	if d.interlace == 1 {
		passes = 7
	}
	for pass := 0; pass < passes; pass++ {
		xf, yf, xo, yo := 1, 1, 0, 0
		if d.interlace == 1 {
			p := adam7[pass]
			xf, yf, xo, yo = p.xf, p.yf, p.xo, p.yo
		}
		w := (d.width - xo + xf - 1) / xf
		h := (d.height - yo + yf - 1) / yf
		if w == 0 || h == 0 {
			continue // an empty pass has no filter bytes either
		}
		rowSize := 1 + (bits*w+7)/8
		c, p := cr[:rowSize], pr[:rowSize]
		clear(p)
		for y := 0; y < h; y++ {
			if _, err := io.ReadFull(zr, c); err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return png.FormatError("not enough pixel data")
				}
				return err
			}
			if err := unfilter(c[0], c[1:], p[1:], (bits+7)/8); err != nil {
				return err
			}
			d.convert(c[1:], px[:4*w], w)
			sc.addRow(yo+y*yf, xo, xf, px[:4*w])
			c, p = p, c
		}
	}
	// Read on to the end of the zlib stream, which checks its checksum.
	n := 0
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return io.ErrNoProgress
		}
		n, err = zr.Read(d.tmp[:1])
	}
	if err != nil && err != io.EOF {
		return png.FormatError(err.Error())
	}
	if n != 0 || d.idatLength != 0 {
		return png.FormatError("too much pixel data")
	}
	d.out = sc.result()
	return nil
}

func (d *pngStream) bitsPerPixel() int {
	switch d.cb {
	case cbG1, cbG2, cbG4, cbG8, cbP1, cbP2, cbP4, cbP8:
		return d.depth
	case cbGA8, cbG16:
		return 16
	case cbTC8:
		return 24
	case cbTCA8, cbGA16:
		return 32
	case cbTC16:
		return 48
	}
	return 64 // cbTCA16
}

// unfilter undoes the PNG filter of type ft on row cur, given the previous
// row prev and the bytes per complete pixel bpp (at least 1).
func unfilter(ft byte, cur, prev []byte, bpp int) error {
	switch ft {
	case 0:
	case 1:
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2:
		for i, p := range prev {
			cur[i] += p
		}
	case 3:
		for i := 0; i < bpp && i < len(cur); i++ {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4:
		for i := range cur {
			var a, c int
			if i >= bpp {
				a, c = int(cur[i-bpp]), int(prev[i-bpp])
			}
			b := int(prev[i])
			pa, pb, pc := abs(b-c), abs(a-c), abs(a+b-2*c)
			switch {
			case pa <= pb && pa <= pc:
				cur[i] += uint8(a)
			case pb <= pc:
				cur[i] += uint8(b)
			default:
				cur[i] += uint8(c)
			}
		}
	default:
		return png.FormatError("bad filter type")
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// nrgba premultiplies an 8-bit colour as color.NRGBA.RGBA does.
func nrgba(r, g, b, a uint8) [4]uint16 {
	m := func(c uint8) uint16 { return uint16(uint32(c) * 0x101 * uint32(a) / 0xff) }
	return [4]uint16{m(r), m(g), m(b), uint16(a) * 0x101}
}

// nrgba64 premultiplies a 16-bit colour as color.NRGBA64.RGBA does.
func nrgba64(r, g, b, a uint16) [4]uint16 {
	m := func(c uint16) uint16 { return uint16(uint32(c) * uint32(a) / 0xffff) }
	return [4]uint16{m(r), m(g), m(b), a}
}

// convert turns w pixels of an unfiltered row into premultiplied 16-bit
// RGBA, with the colours image/png would give them.
func (d *pngStream) convert(row []byte, px []uint16, w int) {
	put := func(x int, c [4]uint16) { copy(px[4*x:4*x+4], c[:]) }
	be := func(i int) uint16 { return uint16(row[i])<<8 | uint16(row[i+1]) }
	switch d.cb {
	case cbG1, cbG2, cbG4, cbG8:
		bits, scale := d.depth, [9]uint8{1: 0xff, 2: 0x55, 4: 0x11, 8: 1}[d.depth]
		ty := d.transparent[1]
		for x := 0; x < w; x++ {
			bit := x * bits
			v := ((row[bit/8] << uint(bit%8)) >> uint(8-bits)) * scale
			switch {
			case !d.useTransparent:
				put(x, [4]uint16{uint16(v) * 0x101, uint16(v) * 0x101, uint16(v) * 0x101, 0xffff})
			case v == ty:
				put(x, [4]uint16{})
			default:
				put(x, nrgba(v, v, v, 0xff))
			}
		}
	case cbGA8:
		for x := 0; x < w; x++ {
			put(x, nrgba(row[2*x], row[2*x], row[2*x], row[2*x+1]))
		}
	case cbTC8:
		tr, tg, tb := d.transparent[1], d.transparent[3], d.transparent[5]
		for x := 0; x < w; x++ {
			r, g, b := row[3*x], row[3*x+1], row[3*x+2]
			if d.useTransparent && r == tr && g == tg && b == tb {
				put(x, [4]uint16{})
			} else {
				put(x, [4]uint16{uint16(r) * 0x101, uint16(g) * 0x101, uint16(b) * 0x101, 0xffff})
			}
		}
	case cbP1, cbP2, cbP4, cbP8:
		bits := d.depth
		for x := 0; x < w; x++ {
			bit := x * bits
			idx := (row[bit/8] << uint(bit%8)) >> uint(8-bits)
			put(x, d.palette[idx])
		}
	case cbTCA8:
		for x := 0; x < w; x++ {
			put(x, nrgba(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]))
		}
	case cbG16:
		ty := uint16(d.transparent[0])<<8 | uint16(d.transparent[1])
		for x := 0; x < w; x++ {
			v := be(2 * x)
			switch {
			case !d.useTransparent:
				put(x, [4]uint16{v, v, v, 0xffff})
			case v == ty:
				put(x, [4]uint16{})
			default:
				put(x, [4]uint16{v, v, v, 0xffff})
			}
		}
	case cbGA16:
		for x := 0; x < w; x++ {
			v := be(4 * x)
			put(x, nrgba64(v, v, v, be(4*x+2)))
		}
	case cbTC16:
		tr := uint16(d.transparent[0])<<8 | uint16(d.transparent[1])
		tg := uint16(d.transparent[2])<<8 | uint16(d.transparent[3])
		tb := uint16(d.transparent[4])<<8 | uint16(d.transparent[5])
		for x := 0; x < w; x++ {
			r, g, b := be(6*x), be(6*x+2), be(6*x+4)
			if d.useTransparent && r == tr && g == tg && b == tb {
				put(x, [4]uint16{})
			} else {
				put(x, [4]uint16{r, g, b, 0xffff})
			}
		}
	case cbTCA16:
		for x := 0; x < w; x++ {
			put(x, nrgba64(be(8*x), be(8*x+2), be(8*x+4), be(8*x+6)))
		}
	}
}
