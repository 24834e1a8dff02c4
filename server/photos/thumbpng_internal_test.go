package photos

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// rawPNG describes a PNG to be written sample by sample, so that tests
// reach what image/png's encoder never writes: every bit depth and colour
// type, Adam7 interlacing, tRNS chunks, every filter type, palette
// indices past the palette.
type rawPNG struct {
	w, h      int
	ct, depth byte
	interlace bool
	plte      []byte // PLTE data (RGB triples)
	trns      []byte // tRNS data
	seed      uint64
}

func (p rawPNG) channels() int { return map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[p.ct] }

// sample is channel c of pixel (x, y): a few distinct levels (so that the
// tRNS colour recurs) chosen at random.
func (p rawPNG) sample(x, y, c int) uint16 {
	r := rand.New(rand.NewPCG(p.seed, uint64(y)<<32|uint64(x)<<3|uint64(c)))
	max := uint16(1<<p.depth - 1)
	if p.ct == 3 {
		return uint16(r.IntN(int(max) + 1))
	}
	return [4]uint16{0, max / 3, max, 1}[r.IntN(4)]
}

// encode writes the PNG with filter type (row mod 5) on each row and the
// image data split over two IDAT chunks.
func (p rawPNG) encode() []byte {
	bits := p.channels() * int(p.depth)
	bpp := max(1, bits/8)
	var raw bytes.Buffer
	zw := zlib.NewWriter(&raw)
	passes := [][4]int{{1, 1, 0, 0}}
	if p.interlace {
		passes = nil
		for _, a := range adam7 {
			passes = append(passes, [4]int{a.xf, a.yf, a.xo, a.yo})
		}
	}
	row := 0
	for _, ps := range passes {
		xf, yf, xo, yo := ps[0], ps[1], ps[2], ps[3]
		pw, ph := (p.w-xo+xf-1)/xf, (p.h-yo+yf-1)/yf
		if pw == 0 || ph == 0 {
			continue
		}
		size := (bits*pw + 7) / 8
		prev := make([]byte, size)
		for j := 0; j < ph; j++ {
			cur := make([]byte, size)
			for i := 0; i < pw; i++ {
				for c := 0; c < p.channels(); c++ {
					v := p.sample(xo+i*xf, yo+j*yf, c)
					bit := (i*p.channels() + c) * int(p.depth)
					switch p.depth {
					case 16:
						binary.BigEndian.PutUint16(cur[bit/8:], v)
					default:
						cur[bit/8] |= byte(v) << (8 - int(p.depth) - bit%8)
					}
				}
			}
			ft := byte(row % 5)
			row++
			out := make([]byte, size)
			for i := range cur {
				var a, b, c int
				if i >= bpp {
					a, c = int(cur[i-bpp]), int(prev[i-bpp])
				}
				b = int(prev[i])
				pred := 0
				switch ft {
				case 1:
					pred = a
				case 2:
					pred = b
				case 3:
					pred = (a + b) / 2
				case 4:
					pa, pb, pc := abs(b-c), abs(a-c), abs(a+b-2*c)
					switch {
					case pa <= pb && pa <= pc:
						pred = a
					case pb <= pc:
						pred = b
					default:
						pred = c
					}
				}
				out[i] = cur[i] - byte(pred)
			}
			zw.Write([]byte{ft})
			zw.Write(out)
			prev = cur
		}
	}
	zw.Close()
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.h))
	ihdr[8], ihdr[9] = p.depth, p.ct
	if p.interlace {
		ihdr[12] = 1
	}
	out := []byte(pngSignature)
	out = append(out, chunk("IHDR", ihdr)...)
	if p.plte != nil {
		out = append(out, chunk("PLTE", p.plte)...)
	}
	if p.trns != nil {
		out = append(out, chunk("tRNS", p.trns)...)
	}
	data := raw.Bytes()
	out = append(out, chunk("IDAT", data[:len(data)/2])...)
	out = append(out, chunk("IDAT", data[len(data)/2:])...)
	return append(out, chunk("IEND", nil)...)
}

func chunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(append(out, typ...), data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// rawPNGs is one PNG of every colour type and bit depth, plain and
// interlaced, with and without tRNS, at an awkward size.
func rawPNGs() map[string]rawPNG {
	out := map[string]rawPNG{}
	combos := map[byte][]byte{0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
	for ct, depths := range combos {
		for _, depth := range depths {
			for _, interlace := range []bool{false, true} {
				for _, withTRNS := range []bool{false, true} {
					p := rawPNG{w: 37, h: 23, ct: ct, depth: depth, interlace: interlace, seed: uint64(ct)<<8 | uint64(depth)}
					if ct == 3 {
						n := max(1, (1<<depth)*3/4) // indices past the palette read opaque black
						for i := 0; i < n; i++ {
							p.plte = append(p.plte, byte(i*37), byte(i*91), byte(255-i))
						}
					}
					switch {
					case !withTRNS:
					case ct == 0:
						p.trns = []byte{0, 1}
					case ct == 2:
						p.trns = []byte{0, 1, 0, 1, 0, 1}
					case ct == 3:
						for i := 0; i < len(p.plte)/3+1 && i < 256; i++ {
							p.trns = append(p.trns, byte(i*53))
						}
					default:
						continue // no tRNS with an alpha channel
					}
					out[fmt.Sprintf("ct%d-%dbit-interlace=%v-trns=%v", ct, depth, interlace, withTRNS)] = p
				}
			}
		}
	}
	return out
}

// stdlibPNGs are PNGs as image/png writes them (its own filter choices).
func stdlibPNGs(t testing.TB) map[string][]byte {
	r := rand.New(rand.NewPCG(7, 8))
	rect := image.Rect(0, 0, 41, 29)
	imgs := map[string]image.Image{
		"gray": image.NewGray(rect), "gray16": image.NewGray16(rect), "rgba": image.NewRGBA(rect),
		"nrgba": image.NewNRGBA(rect), "rgba64": image.NewRGBA64(rect), "nrgba64": image.NewNRGBA64(rect),
	}
	for name, img := range imgs {
		for y := 0; y < rect.Dy(); y++ {
			for x := 0; x < rect.Dx(); x++ {
				c := color.NRGBA64{uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())}
				if name == "rgba" || name == "rgba64" {
					c.A = 0xffff
				}
				img.(interface{ Set(x, y int, c color.Color) }).Set(x, y, c)
			}
		}
	}
	for _, n := range []int{2, 4, 16, 256} {
		pal := color.Palette{}
		for i := 0; i < n; i++ {
			pal = append(pal, color.NRGBA{uint8(i * 7), uint8(i * 13), uint8(255 - i), uint8(255 - i*3)})
		}
		p := image.NewPaletted(rect, pal)
		for i := range p.Pix {
			p.Pix[i] = uint8(r.IntN(n))
		}
		imgs[fmt.Sprintf("paletted%d", n)] = p
	}
	out := map[string][]byte{}
	for name, img := range imgs {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		out[name] = buf.Bytes()
	}
	return out
}

// checkSameAsStdlib holds scalePNG to image/png: both accept or both
// refuse, and the thumbnails are identical.
func checkSameAsStdlib(t *testing.T, b []byte, maxSide int) {
	t.Helper()
	got, err := scalePNG(bytes.NewReader(b), maxSide)
	img, stdErr := png.Decode(bytes.NewReader(b))
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("scalePNG err = %v, image/png err = %v", err, stdErr)
	}
	if err != nil {
		return
	}
	r := img.Bounds()
	dw, dh := fit(r.Dx(), r.Dy(), maxSide)
	want := scaleImage(img, dw, dh)
	if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
		for i := range want.Pix {
			if i >= len(got.Pix) || got.Pix[i] != want.Pix[i] {
				t.Fatalf("%v thumbnail differs from image/png's at byte %d (pixel %d): %v, want %v", got.Rect, i, i/4, got.Pix[i/4*4:i/4*4+4], want.Pix[i/4*4:i/4*4+4])
			}
		}
		t.Fatalf("thumbnail %v, want %v", got.Rect, want.Rect)
	}
}

func TestScalePNG_SamePixelsAsImagePNG(t *testing.T) {
	for name, p := range rawPNGs() {
		for _, side := range []int{5, 64} { // scaled down, and whole
			t.Run(fmt.Sprintf("%s/side%d", name, side), func(t *testing.T) { checkSameAsStdlib(t, p.encode(), side) })
		}
	}
	for name, b := range stdlibPNGs(t) {
		t.Run("image/png-"+name, func(t *testing.T) {
			checkSameAsStdlib(t, b, 9)
			checkSameAsStdlib(t, b, 320)
		})
	}
}

func TestScalePNG_RefusesWhatImagePNGRefuses(t *testing.T) {
	good := rawPNG{w: 30, h: 20, ct: 2, depth: 8, seed: 3}.encode()
	idat := bytes.Index(good, []byte("IDAT"))
	cases := map[string]func([]byte) []byte{
		"flipped pixel byte (CRC)": func(b []byte) []byte { b[idat+10] ^= 0x40; return b },
		"flipped pixel byte, CRC fixed (zlib)": func(b []byte) []byte {
			n := int(binary.BigEndian.Uint32(b[idat-4:]))
			b[idat+4+n/2] ^= 0x40
			binary.BigEndian.PutUint32(b[idat+4+n:], crc32.ChecksumIEEE(b[idat:idat+4+n]))
			return b
		},
		"cut in the image data": func(b []byte) []byte { return b[:idat+20] },
		"no IEND":               func(b []byte) []byte { return b[:len(b)-12] },
		"bad filter type": func(b []byte) []byte {
			var z bytes.Buffer
			zw := zlib.NewWriter(&z)
			zw.Write(append([]byte{9}, make([]byte, 20*3*30)...))
			zw.Close()
			return append(append(append([]byte{}, b[:idat-4]...), chunk("IDAT", z.Bytes())...), chunk("IEND", nil)...)
		},
		"too much pixel data": func(b []byte) []byte {
			var z bytes.Buffer
			zw := zlib.NewWriter(&z)
			zw.Write(make([]byte, 21*(1+3*30)))
			zw.Close()
			return append(append(append([]byte{}, b[:idat-4]...), chunk("IDAT", z.Bytes())...), chunk("IEND", nil)...)
		},
		"corrupt ancillary chunk after the data": func(b []byte) []byte {
			c := chunk("tEXt", []byte("Comment\x00hello"))
			c[len(c)-1] ^= 1
			return append(append(append([]byte{}, b[:len(b)-12]...), c...), b[len(b)-12:]...)
		},
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			b := corrupt(append([]byte{}, good...))
			if _, err := scalePNG(bytes.NewReader(b), 16); err == nil {
				t.Fatal("scalePNG accepted it")
			}
			checkSameAsStdlib(t, b, 16)
		})
	}
}

func TestBoxScaler_AveragesOverWhite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 2))
	for x := 0; x < 4; x++ {
		img.Set(x, 0, color.NRGBA{0, 0, 0, 0xff}) // black
		img.Set(x, 1, color.NRGBA{0, 0, 0, 0})    // transparent: white
	}
	img.Set(3, 0, color.NRGBA{0xff, 0, 0, 0xff})
	got := scaleImage(img, 2, 1)
	want := []uint8{
		0x7f, 0x7f, 0x7f, 0xff, // two black, two white
		0xbf, 0x7f, 0x7f, 0xff, // black, red, two white
	}
	if !bytes.Equal(got.Pix, want) {
		t.Fatalf("pixels %v, want %v", got.Pix, want)
	}
}

// FuzzScalePNG holds the streaming PNG scaler to image/png on any input:
// the same verdict, the same pixels, no panic.
func FuzzScalePNG(f *testing.F) {
	for _, p := range rawPNGs() {
		p.w, p.h = 9, 5
		f.Add(p.encode())
	}
	for _, b := range stdlibPNGs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err == nil && cfg.Width*cfg.Height > 1<<16 {
			return // image/png would allocate the whole image
		}
		checkSameAsStdlib(t, b, 7)
	})
}
