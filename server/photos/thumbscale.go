package photos

import (
	"image"
)

// boxScaler shrinks an image by averaging every source pixel into the
// thumbnail pixel whose box it falls in (an area filter). Each source pixel
// is visited once, in any order, and only the thumbnail's sums are kept, so
// pixels can be fed while they are being decoded (see scalePNG) and the
// scaling itself costs nothing that grows with the photo.
type boxScaler struct {
	sw, sh, dw, dh int
	x0, y0         []int    // x0[c] is the first source column of thumbnail column c; len dw+1
	sum            []uint64 // per thumbnail pixel: premultiplied 16-bit R, G, B, A summed
}

// boxScalerBytes is what a boxScaler to dw×dh holds.
func boxScalerBytes(dw, dh int) int64 { return int64(dw)*int64(dh)*4*8 + int64(dw+dh+2)*8 }

func newBoxScaler(sw, sh, dw, dh int) *boxScaler {
	return &boxScaler{sw: sw, sh: sh, dw: dw, dh: dh, x0: boxStarts(sw, dw), y0: boxStarts(sh, dh),
		sum: make([]uint64, dw*dh*4)}
}

// boxStarts splits s source pixels over d ≤ s boxes: pixel i belongs to
// box i*d/s, so box c starts at ⌈c*s/d⌉.
func boxStarts(s, d int) []int {
	out := make([]int, d+1)
	for c := range out {
		out[c] = int((int64(c)*int64(s) + int64(d) - 1) / int64(d))
	}
	return out
}

// addRow adds the pixels of source row y that px holds, four premultiplied
// 16-bit values each: pixel i lies at column x+i*step (an interlaced pass
// holds every step-th column).
func (b *boxScaler) addRow(y, x, step int, px []uint16) {
	cy := int(int64(y) * int64(b.dh) / int64(b.sh))
	acc := b.sum[cy*b.dw*4 : (cy+1)*b.dw*4]
	cx := int(int64(x) * int64(b.dw) / int64(b.sw))
	next := b.x0[cx+1]
	for i := 0; i+3 < len(px); i, x = i+4, x+step {
		for x >= next {
			cx++
			next = b.x0[cx+1]
		}
		a := acc[cx*4 : cx*4+4 : cx*4+4]
		a[0] += uint64(px[i])
		a[1] += uint64(px[i+1])
		a[2] += uint64(px[i+2])
		a[3] += uint64(px[i+3])
	}
}

// result averages the sums and lays the thumbnail over white, so that
// transparent parts of a photo show white as they did in the viewer.
func (b *boxScaler) result() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, b.dw, b.dh))
	for cy := 0; cy < b.dh; cy++ {
		rows := uint64(b.y0[cy+1] - b.y0[cy])
		for cx := 0; cx < b.dw; cx++ {
			n := rows * uint64(b.x0[cx+1]-b.x0[cx])
			s := b.sum[(cy*b.dw+cx)*4:]
			a := (s[3] + n/2) / n
			p := img.Pix[cy*img.Stride+cx*4:]
			for c := 0; c < 3; c++ {
				p[c] = uint8(((s[c]+n/2)/n + 0xffff - a) >> 8)
			}
			p[3] = 0xff
		}
	}
	return img
}

// scaleImage shrinks a decoded image to dw×dh; it keeps one row of 16-bit
// pixels (8 bytes per column) beside the scaler.
func scaleImage(src image.Image, dw, dh int) *image.RGBA {
	r := src.Bounds()
	b := newBoxScaler(r.Dx(), r.Dy(), dw, dh)
	row := make([]uint16, 4*r.Dx())
	rgba64, fast := src.(image.RGBA64Image)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x, i := r.Min.X, 0; x < r.Max.X; x, i = x+1, i+4 {
			if fast {
				c := rgba64.RGBA64At(x, y)
				row[i], row[i+1], row[i+2], row[i+3] = c.R, c.G, c.B, c.A
			} else {
				cr, cg, cb, ca := src.At(x, y).RGBA()
				row[i], row[i+1], row[i+2], row[i+3] = uint16(cr), uint16(cg), uint16(cb), uint16(ca)
			}
		}
		b.addRow(y-r.Min.Y, 0, 1, row)
	}
	return b.result()
}
