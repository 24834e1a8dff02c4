package loadtest

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
)

// JPEG returns a valid JPEG of exactly size bytes (at least a few hundred),
// unique for each seed: a small picture padded with comment segments of
// random bytes, so photo tests can make "3 MB photos" without encoding
// megapixels.
func JPEG(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed>>7|1))
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			img.Set(x, y, color.RGBA{uint8(r.UintN(256)), uint8(r.UintN(256)), uint8(r.UintN(256)), 255})
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding an in-memory RGBA cannot fail
	}
	base := enc.Bytes()
	pad := size - len(base)
	out := make([]byte, 0, max(size, len(base)))
	out = append(out, base[:2]...) // SOI
	for pad >= 4 {
		seg := min(pad, 65537) // a segment is 2 marker bytes + at most 65535 (length field included)
		if rest := pad - seg; rest > 0 && rest < 4 {
			seg -= 4 // leave room for a last segment of at least 4 bytes
		}
		out = append(out, 0xFF, 0xFE)
		out = binary.BigEndian.AppendUint16(out, uint16(seg-2))
		payload := make([]byte, seg-4)
		fill(payload, r)
		out = append(out, payload...)
		pad -= seg
	}
	return append(out, base[2:]...)
}

func fill(b []byte, r *rand.Rand) {
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(r.UintN(256))
	}
}
