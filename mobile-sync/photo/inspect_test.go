package photo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/photo"
)

var fileTime = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func TestInspectReader_EXIFTimeAndGPS(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(bo.String(), func(t *testing.T) {
			data := jpegWithEXIF(t, 64, 48, exifBlock(bo, exifOpts{
				dateTime: "2025:02:28 14:30:05", offset: "+09:00", gps: true, latRef: "S", lngRef: "W"}))
			m, err := photo.InspectReader(bytes.NewReader(data), fileTime)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(data)) {
				t.Errorf("hash/size = %s/%d, want %x/%d", m.SHA256, m.Size, sum, len(data))
			}
			if m.MediaType != photo.MediaJPEG || m.Width != 64 || m.Height != 48 {
				t.Errorf("type/dims = %s %d×%d", m.MediaType, m.Width, m.Height)
			}
			want := time.Date(2025, 2, 28, 14, 30, 5, 0, time.FixedZone("", 9*3600))
			if !m.CapturedAt.Equal(want) || m.CaptureSource != photo.SourceEXIF {
				t.Errorf("captured = %v (%s), want %v from exif", m.CapturedAt, m.CaptureSource, want)
			}
			if _, off := m.CapturedAt.Zone(); off != 9*3600 {
				t.Errorf("zone offset = %d, want the recorded +09:00", off)
			}
			wantLat, wantLng := -(31 + 13.0/60 + 48.0/3600), -(121 + 28.0/60 + 12.0/3600)
			if m.Lat == nil || m.Lng == nil || math.Abs(*m.Lat-wantLat) > 1e-9 || math.Abs(*m.Lng-wantLng) > 1e-9 {
				t.Errorf("gps = %v, %v; want %v, %v", m.Lat, m.Lng, wantLat, wantLng)
			}
		})
	}
}

func TestInspectReader_NoOffsetUsesDeviceZone(t *testing.T) {
	data := jpegWithEXIF(t, 16, 16, exifBlock(binary.BigEndian, exifOpts{dateTime: "2025:02:28 14:30:05"}))
	m, err := photo.InspectReader(bytes.NewReader(data), fileTime)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 2, 28, 6, 30, 5, 0, time.UTC); !m.CapturedAt.Equal(want) {
		t.Errorf("default zone: captured = %v, want %v (China Standard Time)", m.CapturedAt, want)
	}
	if m.Lat != nil || m.Lng != nil {
		t.Errorf("gps = %v, %v; want none", m.Lat, m.Lng)
	}
	m, err = photo.InspectReader(bytes.NewReader(data), fileTime, photo.WithLocation(time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 2, 28, 14, 30, 5, 0, time.UTC); !m.CapturedAt.Equal(want) {
		t.Errorf("UTC device: captured = %v, want %v", m.CapturedAt, want)
	}
}

func TestInspectReader_FallsBackToFileTime(t *testing.T) {
	cases := map[string][]byte{
		"no exif":        jpegWithEXIF(t, 8, 8, nil),
		"blank datetime": jpegWithEXIF(t, 8, 8, exifBlock(binary.LittleEndian, exifOpts{dateTime: "    :  :     :  :  "})),
		"zero datetime":  jpegWithEXIF(t, 8, 8, exifBlock(binary.LittleEndian, exifOpts{dateTime: "0000:00:00 00:00:00"})),
		"bad gps ref":    jpegWithEXIF(t, 8, 8, exifBlock(binary.LittleEndian, exifOpts{gps: true, latRef: "X", lngRef: "E"})),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := photo.InspectReader(bytes.NewReader(data), fileTime)
			if err != nil {
				t.Fatal(err)
			}
			if !m.CapturedAt.Equal(fileTime) || m.CaptureSource != photo.SourceFile {
				t.Errorf("captured = %v (%s), want file time", m.CapturedAt, m.CaptureSource)
			}
			if m.Lat != nil {
				t.Errorf("lat = %v, want none", *m.Lat)
			}
		})
	}
}

// webpLossless is the header of a w×h lossless WebP (RIFF, VP8L chunk,
// signature and packed dimensions): all a config decode reads.
func webpLossless(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14
	b := []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f")
	b = binary.LittleEndian.AppendUint32(b, bits)
	return append(b, make([]byte, 8)...)
}

// pngHeader is a PNG signature and IHDR claiming w×h 8-bit RGB pixels.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte("\x00\x00\x00\x0dIHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	ihdr = binary.BigEndian.AppendUint32(ihdr, crc32.ChecksumIEEE(ihdr[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), ihdr...)
}

func TestInspectReader_MediaTypes(t *testing.T) {
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 30, 20))); err != nil {
		t.Fatal(err)
	}
	heif := heicFile("mif1", 640, 480)
	copy(heif[20:24], "msf1") // generic HEIF: compatible brand heic → msf1
	cases := []struct {
		name          string
		data          []byte
		want          string
		width, height int
	}{
		{"png", pngBuf.Bytes(), photo.MediaPNG, 30, 20},
		{"heic", heicFile("heic", 4032, 3024), photo.MediaHEIC, 4032, 3024},
		{"heif", heif, photo.MediaHEIF, 640, 480},
		{"webp", webpLossless(30, 20), photo.MediaWebP, 30, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := photo.InspectReader(bytes.NewReader(c.data), fileTime)
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != c.want || m.Width != c.width || m.Height != c.height {
				t.Errorf("got %s %d×%d, want %s %d×%d", m.MediaType, m.Width, m.Height, c.want, c.width, c.height)
			}
		})
	}
}

func TestInspectReader_RefusesNonImages(t *testing.T) {
	avif := heicFile("avif", 10, 10)
	copy(avif[20:24], "avif")
	cases := map[string]struct {
		data []byte
		says string
	}{
		"pdf": {[]byte("%PDF-1.7\n1 0 obj\n"), "PDF"},
		// What the server refuses after the sniff, the device refuses too.
		"webp with a broken header": {append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 32)...), "header cannot be read"},
		"pixel bomb":                {pngHeader(200_000, 200_000), "megapixels"},
		"zero-sized HEIC":           {heicFile("heic", 0, 0), "cannot be read"},
		"over 25 MiB":               {append(pngHeader(30, 20), make([]byte, 25<<20)...), "at most 25.0 MiB"},
		"empty":                     {nil, "empty"},
		"gif":                       {[]byte("GIF89a\x01\x00\x01\x00"), "GIF"},
		"avif":                      {avif, "AVIF"},
		"text":                      {[]byte("hello, world"), "68 65 6c 6c"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := photo.InspectReader(bytes.NewReader(c.data), fileTime)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want one naming %q", err, c.says)
			}
		})
	}
}

func TestInspect_FileNameDoesNotMatter(t *testing.T) {
	dir := t.TempDir()
	data := jpegWithEXIF(t, 8, 8, nil)
	p := filepath.Join(dir, "evidence.png")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	m, err := photo.Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != photo.MediaJPEG || !m.CapturedAt.Equal(mt) {
		t.Errorf("got %s captured %v, want image/jpeg at the file time %v", m.MediaType, m.CapturedAt, mt)
	}
	if _, err := photo.Inspect(filepath.Join(dir, "missing.jpg")); err == nil {
		t.Error("missing file: no error")
	}
}
