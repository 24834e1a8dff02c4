package photos

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzProbe feeds arbitrary staged bytes to the content check (type sniff,
// config-only decode, ISO-BMFF walk): it must refuse or accept, never
// panic, and never accept dimensions over the pixel limit.
func FuzzProbe(f *testing.F) {
	ispe := make([]byte, 12)
	binary.BigEndian.PutUint32(ispe[4:], 4032)
	binary.BigEndian.PutUint32(ispe[8:], 3024)
	bmff := func(typ string, body ...[]byte) []byte {
		b := bytes.Join(body, nil)
		out := binary.BigEndian.AppendUint32(nil, uint32(8+len(b)))
		return append(append(out, typ...), b...)
	}
	heic := append(bmff("ftyp", []byte("heic\x00\x00\x00\x00mif1")),
		bmff("meta", []byte{0, 0, 0, 0}, bmff("iprp", bmff("ipco", bmff("ispe", ispe))))...)
	f.Add(heic)
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"))
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"))
	f.Add([]byte("RIFF\x24\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	s := &Service{MaxPixels: 1_000_000}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, w, h, err := s.probe(bytes.NewReader(b), int64(len(b)))
		if err == nil && (w <= 0 || h <= 0 || int64(w)*int64(h) > s.MaxPixels) {
			t.Fatalf("accepted %d×%d", w, h)
		}
	})
}
