package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// EXIF tags Patrol reads.
const (
	tagExifIFD            = 0x8769
	tagGPSIFD             = 0x8825
	tagDateTimeOriginal   = 0x9003
	tagOffsetTimeOriginal = 0x9011
	tagGPSLatitudeRef     = 0x0001
	tagGPSLatitude        = 0x0002
	tagGPSLongitudeRef    = 0x0003
	tagGPSLongitude       = 0x0004
)

// maxIFDEntries bounds one IFD; real cameras write a few dozen entries.
const maxIFDEntries = 512

// EXIF holds what Patrol takes from a photo's EXIF block: when and where
// it was taken. Fields are empty or nil when the photo does not say.
type EXIF struct {
	DateTimeOriginal   string   // "2006:01:02 15:04:05" as written by the camera
	OffsetTimeOriginal string   // "+08:00" when the camera recorded its zone
	Lat, Lng           *float64 // WGS-84 degrees, south and west negative
}

// CapturedAt interprets DateTimeOriginal: with the recorded offset when
// there is one, else in loc (the zone the device was in), because cameras
// write local wall time without a zone. ok is false when there is no usable
// capture time.
func (e EXIF) CapturedAt(loc *time.Location) (t time.Time, ok bool) {
	s := strings.TrimSpace(e.DateTimeOriginal)
	if len(s) < 19 {
		return time.Time{}, false
	}
	s = s[:19]
	if off := strings.TrimSpace(e.OffsetTimeOriginal); len(off) == 6 {
		if t, err := time.Parse("2006:01:02 15:04:05-07:00", s+off); err == nil {
			return t, true
		}
	}
	if loc == nil {
		loc = ChinaStandardTime
	}
	t, err := time.ParseInLocation("2006:01:02 15:04:05", s, loc)
	if err != nil || t.Year() < 1900 {
		return time.Time{}, false
	}
	return t, true
}

// tiffReader reads a TIFF-structured EXIF block with every offset checked
// against its length.
type tiffReader struct {
	b  []byte
	bo binary.ByteOrder
}

type ifdEntry struct {
	tag, typ uint16
	count    uint32
	pos      int // offset of the entry inside b
}

// ParseEXIF reads the TIFF structure of an EXIF block (the bytes after
// "Exif\0\0" in a JPEG APP1 segment), in either byte order. It follows only
// IFD0 and its EXIF and GPS sub-IFDs, bounds every count and offset, and
// never panics on hostile input: evidence files come from anywhere.
func ParseEXIF(b []byte) (EXIF, error) {
	var out EXIF
	if len(b) < 8 {
		return out, errors.New("photo: exif: block shorter than a TIFF header")
	}
	t := tiffReader{b: b}
	switch string(b[:4]) {
	case "II*\x00":
		t.bo = binary.LittleEndian
	case "MM\x00*":
		t.bo = binary.BigEndian
	default:
		return out, fmt.Errorf("photo: exif: no TIFF header (found % x)", b[:4])
	}
	ifd0, err := t.ifd(t.bo.Uint32(b[4:8]))
	if err != nil {
		return out, fmt.Errorf("photo: exif: IFD0: %w", err)
	}
	var exifOff, gpsOff uint32
	for _, e := range ifd0 {
		switch e.tag {
		case tagExifIFD:
			exifOff, _ = t.long(e)
		case tagGPSIFD:
			gpsOff, _ = t.long(e)
		}
	}
	if exifOff != 0 {
		if entries, err := t.ifd(exifOff); err == nil {
			for _, e := range entries {
				switch e.tag {
				case tagDateTimeOriginal:
					out.DateTimeOriginal, _ = t.ascii(e)
				case tagOffsetTimeOriginal:
					out.OffsetTimeOriginal, _ = t.ascii(e)
				}
			}
		}
	}
	if gpsOff != 0 {
		if entries, err := t.ifd(gpsOff); err == nil {
			out.Lat, out.Lng = t.gps(entries)
		}
	}
	return out, nil
}

// ifd reads the entries of the IFD at off.
func (t tiffReader) ifd(off uint32) ([]ifdEntry, error) {
	if uint64(off)+2 > uint64(len(t.b)) {
		return nil, fmt.Errorf("offset %d outside the block", off)
	}
	n := int(t.bo.Uint16(t.b[off:]))
	if n > maxIFDEntries {
		return nil, fmt.Errorf("%d entries; at most %d", n, maxIFDEntries)
	}
	start := int(off) + 2
	if start+n*12 > len(t.b) {
		return nil, fmt.Errorf("%d entries run past the block", n)
	}
	out := make([]ifdEntry, n)
	for i := range out {
		p := start + i*12
		out[i] = ifdEntry{tag: t.bo.Uint16(t.b[p:]), typ: t.bo.Uint16(t.b[p+2:]), count: t.bo.Uint32(t.b[p+4:]), pos: p}
	}
	return out, nil
}

// typeSize is the byte size of one value of a TIFF field type.
func typeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11: // LONG, SLONG, FLOAT
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// value returns the bytes of an entry's value, inline or at its offset.
func (t tiffReader) value(e ifdEntry) ([]byte, bool) {
	sz := typeSize(e.typ)
	if sz == 0 {
		return nil, false
	}
	total := sz * uint64(e.count)
	if total > uint64(len(t.b)) {
		return nil, false
	}
	if total <= 4 {
		return t.b[e.pos+8 : e.pos+8+int(total)], true
	}
	off := uint64(t.bo.Uint32(t.b[e.pos+8:]))
	if off+total > uint64(len(t.b)) {
		return nil, false
	}
	return t.b[off : off+total], true
}

func (t tiffReader) long(e ifdEntry) (uint32, bool) {
	if e.count != 1 || (e.typ != 4 && e.typ != 13) { // LONG or IFD
		return 0, false
	}
	return t.bo.Uint32(t.b[e.pos+8:]), true
}

func (t tiffReader) ascii(e ifdEntry) (string, bool) {
	if e.typ != 2 {
		return "", false
	}
	v, ok := t.value(e)
	if !ok {
		return "", false
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(string(v)), true
}

// degrees reads a GPS coordinate: three unsigned rationals (degrees,
// minutes, seconds).
func (t tiffReader) degrees(e ifdEntry) (float64, bool) {
	if e.typ != 5 || e.count != 3 {
		return 0, false
	}
	v, ok := t.value(e)
	if !ok {
		return 0, false
	}
	var parts [3]float64
	for i := range parts {
		num, den := t.bo.Uint32(v[i*8:]), t.bo.Uint32(v[i*8+4:])
		if den == 0 {
			return 0, false
		}
		parts[i] = float64(num) / float64(den)
	}
	d := parts[0] + parts[1]/60 + parts[2]/3600
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return 0, false
	}
	return d, true
}

// gps reads latitude and longitude; both or neither are returned.
func (t tiffReader) gps(entries []ifdEntry) (lat, lng *float64) {
	var latRef, lngRef string
	var la, lo float64
	var okLa, okLo bool
	for _, e := range entries {
		switch e.tag {
		case tagGPSLatitudeRef:
			latRef, _ = t.ascii(e)
		case tagGPSLongitudeRef:
			lngRef, _ = t.ascii(e)
		case tagGPSLatitude:
			la, okLa = t.degrees(e)
		case tagGPSLongitude:
			lo, okLo = t.degrees(e)
		}
	}
	if !okLa || !okLo {
		return nil, nil
	}
	switch latRef {
	case "S":
		la = -la
	case "N":
	default:
		return nil, nil
	}
	switch lngRef {
	case "W":
		lo = -lo
	case "E":
	default:
		return nil, nil
	}
	if la < -90 || la > 90 || lo < -180 || lo > 180 {
		return nil, nil
	}
	return &la, &lo
}

// jpegEXIF finds the EXIF block of a JPEG (the APP1 segment that starts
// with "Exif\0\0") among the marker segments before the image data.
func jpegEXIF(b []byte) ([]byte, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, false
	}
	pos := 2
	for seg := 0; seg < 1024 && pos+4 <= len(b); seg++ {
		if b[pos] != 0xFF {
			return nil, false
		}
		marker := b[pos+1]
		switch {
		case marker == 0xFF: // fill byte
			pos++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8): // no length
			pos += 2
			continue
		case marker == 0xDA || marker == 0xD9: // image data or end: no EXIF before it
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b[pos+2:]))
		if n < 2 || pos+2+n > len(b) {
			return nil, false
		}
		payload := b[pos+4 : pos+2+n]
		if marker == 0xE1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
			return payload[6:], true
		}
		pos += 2 + n
	}
	return nil, false
}
