package photos

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"testing"
)

type appendOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// exifJPEGHead is SOI and an APP1 Exif segment whose IFD0 holds entries,
// in byte order bo; entries are (tag, type, count, value) with the value
// inline.
func exifJPEGHead(bo appendOrder, entries ...[4]uint32) []byte {
	tiff := []byte("II*\x00")
	if bo.String() == binary.BigEndian.String() {
		tiff = []byte("MM\x00*")
	}
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, uint16(len(entries)))
	for _, e := range entries {
		tiff = bo.AppendUint16(tiff, uint16(e[0]))
		tiff = bo.AppendUint16(tiff, uint16(e[1]))
		tiff = bo.AppendUint32(tiff, e[2])
		tiff = bo.AppendUint16(tiff, uint16(e[3]))
		tiff = append(tiff, 0, 0)
	}
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(2+len(seg)))
	return append(out, seg...)
}

func TestExifOrientation_Table(t *testing.T) {
	jfif := []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	withJFIF := func(b []byte) []byte { // APP0 before APP1, as many cameras write
		return append(append(append([]byte{}, b[:2]...), jfif...), b[2:]...)
	}
	cases := []struct {
		name string
		b    []byte
		want int
	}{
		{"empty", nil, 1},
		{"not a JPEG", []byte("\x89PNG\r\n\x1a\n"), 1},
		{"SOI only", []byte{0xFF, 0xD8}, 1},
		{"no Exif", append([]byte{0xFF, 0xD8}, jfif...), 1},
		{"other tags only", exifJPEGHead(binary.LittleEndian, [4]uint32{0x010F, 2, 4, 0}), 1},
		{"orientation 0 is out of range", exifJPEGHead(binary.LittleEndian, [4]uint32{tagOrientation, 3, 1, 0}), 1},
		{"orientation 9 is out of range", exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, 9}), 1},
		{"orientation as LONG is refused", exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 4, 1, 6}), 1},
		{"orientation with count 2 is refused", exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 2, 6}), 1},
		{"after another tag", exifJPEGHead(binary.LittleEndian, [4]uint32{0x010F, 2, 4, 0}, [4]uint32{tagOrientation, 3, 1, 8}), 8},
		{"after APP0", withJFIF(exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, 3})), 3},
		{"cut short", exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, 6})[:20], 1},
		{"APP1 after SOS is never read", append([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02}, exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, 6})[2:]...), 1},
	}
	for o := 1; o <= 8; o++ {
		cases = append(cases,
			struct {
				name string
				b    []byte
				want int
			}{"little-endian " + string(rune('0'+o)), exifJPEGHead(binary.LittleEndian, [4]uint32{tagOrientation, 3, 1, uint32(o)}), o},
			struct {
				name string
				b    []byte
				want int
			}{"big-endian " + string(rune('0'+o)), exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, uint32(o)}), o})
	}
	hugeIFD := exifJPEGHead(binary.LittleEndian, [4]uint32{tagOrientation, 3, 1, 6})
	binary.LittleEndian.PutUint16(hugeIFD[4+2+6+8:], 0xFFFF) // entry count past the block
	cases = append(cases, struct {
		name string
		b    []byte
		want int
	}{"entry count past the block", hugeIFD, 1})
	farIFD := exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, 6})
	binary.BigEndian.PutUint32(farIFD[4+2+6+4:], 0xFFFFFFF0) // IFD0 offset far outside
	cases = append(cases, struct {
		name string
		b    []byte
		want int
	}{"IFD0 offset outside", farIFD, 1})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := exifOrientation(c.b); got != c.want {
				t.Errorf("exifOrientation = %d, want %d", got, c.want)
			}
		})
	}
}

func TestReadOrientation_OnlyFirst64KiB(t *testing.T) {
	// A 70 KiB APP2 before the Exif segment puts it past the bytes read.
	app2 := append([]byte{0xFF, 0xE2, 0xFF, 0xFF}, make([]byte, 0xFFFD)...)
	app2b := append([]byte{0xFF, 0xE2, 0x20, 0x00}, make([]byte, 0x1FFE)...)
	exif := exifJPEGHead(binary.BigEndian, [4]uint32{tagOrientation, 3, 1, 6})
	near := append(append([]byte{}, exif...), app2...)
	far := append(append(append([]byte{0xFF, 0xD8}, app2...), app2b...), exif[2:]...)
	for _, c := range []struct {
		name string
		b    []byte
		want int
	}{{"Exif first", near, 6}, {"Exif after 72 KiB", far, 1}} {
		got, err := readOrientation(bytes.NewReader(c.b), int64(len(c.b)))
		if err != nil || got != c.want {
			t.Errorf("%s: readOrientation = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}

func TestOrient_MapsEveryPixelOnce(t *testing.T) {
	src := image.NewRGBA64(image.Rect(3, 5, 3+4, 5+3)) // offset bounds, 4×3
	for y := 5; y < 8; y++ {
		for x := 3; x < 7; x++ {
			src.SetRGBA64(x, y, color.RGBA64{R: uint16(x), G: uint16(y), A: 0xffff})
		}
	}
	for o := 1; o <= 8; o++ {
		img := orient(src, o)
		b := img.Bounds()
		if (o >= 5) != (b.Dx() == 3) {
			t.Fatalf("orientation %d: bounds %v", o, b)
		}
		seen := map[[2]uint16]bool{}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := img.At(x, y).(color.RGBA64)
				seen[[2]uint16{c.R, c.G}] = true
			}
		}
		if len(seen) != 12 {
			t.Errorf("orientation %d shows %d distinct source pixels, want 12", o, len(seen))
		}
	}
}

// FuzzExifOrientation feeds arbitrary bytes to the orientation reader: it
// returns 1–8, never panics and never reads past what it was given.
func FuzzExifOrientation(f *testing.F) {
	for o := uint32(1); o <= 8; o++ {
		f.Add(exifJPEGHead(binary.LittleEndian, [4]uint32{tagOrientation, 3, 1, o}))
		f.Add(exifJPEGHead(binary.BigEndian, [4]uint32{0x010F, 2, 4, 0}, [4]uint32{tagOrientation, 3, 1, o}))
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xE1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		got, err := readOrientation(bytes.NewReader(b), int64(len(b)))
		if err != nil || got != exifOrientation(b[:min(len(b), exifScanLen)]) {
			t.Fatalf("readOrientation = %d, %v", got, err)
		}
	})
}
