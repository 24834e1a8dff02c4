package photos

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"testing"
)

// TestPlanThumbnail_CoversWhatDecodingAllocates decodes, scales and
// encodes photos as thumbnail does and checks that everything allocated on
// the way (garbage included) stays within the estimate the decode pool
// charges, and that the estimate is not so loose that it refuses photos
// the budget could take.
func TestPlanThumbnail_CoversWhatDecodingAllocates(t *testing.T) {
	const w, h = 3000, 2000
	rect := image.Rect(0, 0, w, h)
	gray, rgba, rgba64 := image.NewGray(rect), image.NewRGBA(rect), image.NewRGBA64(rect)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(x*7 ^ y*3)
			gray.Pix[y*gray.Stride+x] = v
			rgba.SetRGBA(x, y, color.RGBA{v, v / 2, 255 - v, 0xff})
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(v) << 8, uint16(x), uint16(y), 0xffff})
		}
	}
	encode := func(mt string, img image.Image) []byte {
		var buf bytes.Buffer
		var err error
		if mt == mediaJPEG {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		} else {
			err = png.Encode(&buf, img)
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	cases := []struct {
		name, mediaType string
		data            []byte
	}{
		{"grayscale JPEG", mediaJPEG, encode(mediaJPEG, gray)},
		{"colour JPEG (4:2:0)", mediaJPEG, encode(mediaJPEG, rgba)},
		{"16-bit PNG", mediaPNG, encode(mediaPNG, rgba64)},
		{"8-bit grayscale PNG", mediaPNG, encode(mediaPNG, gray)},
	}
	gray, rgba, rgba64 = nil, nil, nil
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := planThumbnail(bytes.NewReader(c.data), int64(len(c.data)), c.mediaType, DefaultThumbSize)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			thumb, err := decodeThumb(plan, c.mediaType, bytes.NewReader(c.data), DefaultThumbSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := jpeg.Encode(io.Discard, thumb, &jpeg.Options{Quality: thumbQuality}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("estimate %.1f MiB, allocated %.1f MiB", float64(plan.bytes)/(1<<20), float64(alloc)/(1<<20))
			if alloc > plan.bytes {
				t.Errorf("allocated %d bytes, more than the estimate of %d", alloc, plan.bytes)
			}
			if plan.bytes > 2*alloc+2<<20 {
				t.Errorf("estimate %d bytes is far above the %d allocated", plan.bytes, alloc)
			}
		})
	}
}

// jpegSegments builds a JPEG's marker segments (no image data to speak of)
// for the header walk.
func jpegSegments(segs ...[]byte) []byte {
	out := []byte{0xff, 0xd8}
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, 0xff, 0xd9)
}

func seg(marker byte, payload ...byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
}

func sof(marker byte, w, h int, comps ...byte) []byte {
	p := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps) / 2)}
	for i := 0; i < len(comps); i += 2 {
		p = append(p, comps[i], comps[i+1], 0)
	}
	return seg(marker, p...)
}

func TestReadJPEGHeaders_DecodeBytes(t *testing.T) {
	jfif := seg(0xe0, []byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00")...)
	adobe := func(xform byte) []byte { return seg(0xee, append([]byte("Adobe\x00\x64\x00\x00\x00\x00"), xform)...) }
	sos := append(seg(0xda, 1, 1, 0, 0, 63, 0), 0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56) // then entropy data with a stuffed byte and a restart
	const w, h = 4000, 3000
	px := int64(w * h)
	cases := []struct {
		name string
		data []byte
		want int64
	}{
		{"grayscale baseline", jpegSegments(jfif, sof(0xc0, w, h, 1, 0x22), sos), px},
		{"4:2:0 baseline (3000 rows pad to 3008)", jpegSegments(jfif, sof(0xc0, w, h, 1, 0x22, 2, 0x11, 3, 0x11), sos), w * 3008 * 3 / 2},
		{"4:4:4 progressive", jpegSegments(jfif, sof(0xc2, w, h, 1, 0x11, 2, 0x11, 3, 0x11), sos), 5 * 3 * px},
		{"RGB by component ids", jpegSegments(sof(0xc0, w, h, 'R', 0x11, 'G', 0x11, 'B', 0x11), sos), 3*px + 4*px},
		{"RGB by Adobe transform 0", jpegSegments(adobe(0), sof(0xc1, w, h, 1, 0x11, 2, 0x11, 3, 0x11), sos), 3*px + 4*px},
		{"YCbCr by Adobe transform 1", jpegSegments(adobe(1), sof(0xc1, w, h, 1, 0x11, 2, 0x11, 3, 0x11), sos), 3 * px},
		{"JFIF undone by a later APP0", jpegSegments(jfif, sof(0xc0, w, h, 1, 0x11, 2, 0x11, 3, 0x11), adobe(0), sos,
			seg(0xe0, []byte("XXXX\x00")...), sos), 3*px + 4*px},
		{"CMYK", jpegSegments(adobe(2), sof(0xc0, w, h, 1, 0x11, 2, 0x11, 3, 0x11, 4, 0x11), sos), 4*px + 4*px},
		{"odd size pads to whole MCUs", jpegSegments(jfif, sof(0xc0, 17, 9, 1, 0x22, 2, 0x11, 3, 0x11), sos), 32*16 + 2*16*8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := readJPEGHeaders(bufio.NewReader(bytes.NewReader(c.data)))
			if err != nil {
				t.Fatal(err)
			}
			if got := j.decodeBytes(); got != c.want {
				t.Errorf("decode bytes %d, want %d (%+v)", got, c.want, j)
			}
		})
	}
	for name, b := range map[string][]byte{
		"no SOI":       {0x89, 'P', 'N', 'G'},
		"two SOFs":     jpegSegments(sof(0xc0, w, h, 1, 0x11), sof(0xc0, w, h, 1, 0x11)),
		"no SOF":       jpegSegments(jfif, sos),
		"cut segment":  jpegSegments(jfif)[:8],
		"short length": {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01},
	} {
		if _, err := readJPEGHeaders(bufio.NewReader(bytes.NewReader(b))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
