package photo_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/photo"
)

func TestParseEXIF_HostileInput(t *testing.T) {
	good := exifBlock(binary.LittleEndian, exifOpts{dateTime: "2025:02:28 14:30:05", gps: true, latRef: "N", lngRef: "E"})
	huge := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(huge[8:], 0xFFFF) // IFD0 claims 65535 entries
	farIFD := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(farIFD[4:], 0xFFFFFFF0) // IFD0 beyond the block
	refused := map[string][]byte{
		"empty":        nil,
		"short":        []byte("II*\x00\x08"),
		"no header":    []byte("XX*\x00\x08\x00\x00\x00"),
		"huge ifd":     huge,
		"ifd past end": farIFD,
	}
	for name, b := range refused {
		if ex, err := photo.ParseEXIF(b); err == nil {
			t.Errorf("%s: no error (got %+v)", name, ex)
		}
	}
	// Truncated blocks lose the values that were cut off, never read past the end.
	for n := 8; n < len(good); n++ {
		ex, _ := photo.ParseEXIF(good[:n])
		if ex.DateTimeOriginal != "" && ex.DateTimeOriginal != "2025:02:28 14:30:05" {
			t.Errorf("truncated at %d: date %q", n, ex.DateTimeOriginal)
		}
		if (ex.Lat == nil) != (ex.Lng == nil) {
			t.Errorf("truncated at %d: only one of lat and lng", n)
		}
	}
	ex, err := photo.ParseEXIF(good)
	if err != nil || ex.DateTimeOriginal != "2025:02:28 14:30:05" || ex.Lat == nil {
		t.Fatalf("good block: %+v, %v", ex, err)
	}
}

func TestParseEXIF_ValueOffsetsOutOfRange(t *testing.T) {
	b := exifBlock(binary.BigEndian, exifOpts{dateTime: "2025:02:28 14:30:05", gps: true, latRef: "N", lngRef: "E"})
	// Point every out-of-line value past the end: nothing is read, nothing panics.
	for off := 8; off+12 <= len(b); off++ {
		c := append([]byte{}, b...)
		binary.BigEndian.PutUint32(c[off:], 0x7FFFFFF0)
		photo.ParseEXIF(c)
	}
}

// FuzzParseEXIF feeds arbitrary bytes to the EXIF parser and to the whole
// inspection path (as an EXIF block inside a JPEG, and as a file): neither
// may panic, whatever a photo file holds.
func FuzzParseEXIF(f *testing.F) {
	f.Add(exifBlock(binary.LittleEndian, exifOpts{dateTime: "2025:02:28 14:30:05", offset: "+08:00", gps: true, latRef: "N", lngRef: "E"}))
	f.Add(exifBlock(binary.BigEndian, exifOpts{dateTime: "2025:02:28 14:30:05", gps: true, latRef: "S", lngRef: "W"}))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x87\x69\x00\x04\x00\x00\x00\x01\x00\x00\x00\x08"))
	f.Add(heicFile("heic", 100, 100))
	f.Fuzz(func(t *testing.T, b []byte) {
		photo.ParseEXIF(b)
		if ex, err := photo.ParseEXIF(b); err == nil {
			ex.CapturedAt(time.UTC)
		}
		seg := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 0}, "Exif\x00\x00"...)
		n := len(b) + 8
		if n > 0xFFFF {
			n = 0xFFFF
		}
		binary.BigEndian.PutUint16(seg[4:], uint16(n))
		photo.InspectReader(bytes.NewReader(append(seg, b...)), time.Time{})
		photo.InspectReader(bytes.NewReader(b), time.Time{})
	})
}
