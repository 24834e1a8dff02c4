package photos_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"testing"
)

// withOrientation puts an APP1 Exif segment whose IFD0 holds only the
// Orientation tag right after the SOI of a JPEG.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte("MM\x00*\x00\x00\x00\x08\x00\x01")
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3) // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(2+len(seg)))
	return append(append(out, seg...), jpg[2:]...)
}

var (
	red    = color.RGBA{220, 20, 20, 255}
	green  = color.RGBA{20, 200, 20, 255}
	blue   = color.RGBA{20, 20, 220, 255}
	yellow = color.RGBA{230, 230, 20, 255}
)

// quadrants is a w×h image painted top-left, top-right, bottom-left,
// bottom-right.
func quadrants(w, h int, q [4]color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 0
			if x >= w/2 {
				i++
			}
			if y >= h/2 {
				i += 2
			}
			img.Set(x, y, q[i])
		}
	}
	return img
}

func near(a color.Color, b color.RGBA) bool {
	r, g, bl, _ := a.RGBA()
	d := func(x uint32, y uint8) bool { return int(x>>8)-int(y) < 40 && int(y)-int(x>>8) < 40 }
	return d(r, b.R) && d(g, b.G) && d(bl, b.B)
}

// TestThumb_FollowsEXIFOrientation stores, for each EXIF orientation, the
// pixels a camera held that way writes, and expects every thumbnail to
// show the same upright picture: red top-left, green top-right, blue
// bottom-left, yellow bottom-right, wider than tall.
func TestThumb_FollowsEXIFOrientation(t *testing.T) {
	e := newEnv(t)
	// What the sensor stored, by orientation (from the EXIF definitions,
	// not from the server's code): quadrants TL, TR, BL, BR, and whether
	// the stored image is the upright one turned a quarter (taller).
	cases := []struct {
		o       uint16
		stored  [4]color.RGBA
		quarter bool
	}{
		{1, [4]color.RGBA{red, green, blue, yellow}, false},
		{2, [4]color.RGBA{green, red, yellow, blue}, false},
		{3, [4]color.RGBA{yellow, blue, green, red}, false},
		{4, [4]color.RGBA{blue, yellow, red, green}, false},
		{5, [4]color.RGBA{red, blue, green, yellow}, true},
		{6, [4]color.RGBA{green, yellow, red, blue}, true},
		{7, [4]color.RGBA{yellow, green, blue, red}, true},
		{8, [4]color.RGBA{blue, red, yellow, green}, true},
	}
	for _, c := range cases {
		t.Run(string(rune('0'+c.o)), func(t *testing.T) {
			w, h := 128, 64
			if c.quarter {
				w, h = h, w
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, quadrants(w, h, c.stored), &jpeg.Options{Quality: 95}); err != nil {
				t.Fatal(err)
			}
			sha := e.upload(withOrientation(buf.Bytes(), c.o))
			resp, body, _ := e.getThumb(sha)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("thumb: %s %s", resp.Status, body)
			}
			thumb, err := jpeg.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if b := thumb.Bounds(); b.Dx() != 128 || b.Dy() != 64 {
				t.Fatalf("thumbnail is %v, want 128×64 upright", b)
			}
			for i, want := range [4]color.RGBA{red, green, blue, yellow} {
				x, y := 32+64*(i%2), 16+32*(i/2)
				if got := thumb.At(x, y); !near(got, want) {
					t.Errorf("quadrant %d at (%d,%d) is %v, want %v", i, x, y, got, want)
				}
			}
		})
	}
}
