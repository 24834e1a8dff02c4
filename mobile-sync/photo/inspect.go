package photo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Capture sources: where Meta.CapturedAt came from.
const (
	SourceEXIF = "exif" // the camera's DateTimeOriginal
	SourceFile = "file" // the file's modification time
)

// headSize is how much of the start of a file Inspect keeps in memory to
// sniff the type and read EXIF and dimensions; everything after it is only
// hashed. A JPEG's APP1 segment is at most 64 KiB and comes first.
const headSize = 512 << 10

// ChinaStandardTime is the zone a camera time without offset is read in
// unless the device says otherwise: it is where the inspectors work.
var ChinaStandardTime = time.FixedZone("CST", 8*60*60)

// Meta is what the device records about a photo the moment it is attached:
// the hash fixes which bytes are the evidence, the rest says when, where
// and what they are.
type Meta struct {
	SHA256        string // lowercase hex
	Size          int64
	MediaType     string // sniffed from the bytes
	CapturedAt    time.Time
	CaptureSource string   // SourceEXIF or SourceFile
	Lat, Lng      *float64 // from EXIF GPS; nil when unknown
	Width, Height int      // 0 when they could not be read
}

// Option changes how Inspect reads a photo.
type Option func(*options)

type options struct {
	loc *time.Location
}

// WithLocation sets the zone in which a camera time that carries no offset
// is read: the device's own zone.
func WithLocation(loc *time.Location) Option {
	return func(o *options) {
		if loc != nil {
			o.loc = loc
		}
	}
}

// Inspect reads the photo at path once and returns its Meta; the file's
// modification time is the capture time when EXIF has none.
func Inspect(path string, opts ...Option) (Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return Meta{}, fmt.Errorf("photo: inspect: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Meta{}, fmt.Errorf("photo: inspect %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return Meta{}, fmt.Errorf("photo: inspect %s: not a regular file", path)
	}
	m, err := inspect(f, f, st.ModTime(), opts...)
	if err != nil {
		return Meta{}, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// InspectReader streams r once: it hashes every byte, keeps only the first
// headSize bytes to sniff the media type and read EXIF and dimensions, and
// so uses bounded memory whatever the size of the photo. fileModTime is the
// capture time when the photo carries no EXIF DateTimeOriginal.
//
// It refuses, with a *schema.Error that says why, a photo the server would
// never accept: the server's own content checks (schema.CheckPhoto, with
// the default size and pixel limits) run here, so that such a photo is
// turned away while the inspector can still take another, rather than
// sitting on the device as pending for ever.
func InspectReader(r io.Reader, fileModTime time.Time, opts ...Option) (Meta, error) {
	return inspect(r, nil, fileModTime, opts...)
}

// inspect is InspectReader; at, when not nil, reads the same bytes at
// offsets, so that headers past the kept head are read too.
func inspect(r io.Reader, at io.ReaderAt, fileModTime time.Time, opts ...Option) (Meta, error) {
	o := options{loc: ChinaStandardTime}
	for _, opt := range opts {
		opt(&o)
	}
	h := sha256.New()
	head := make([]byte, headSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Meta{}, fmt.Errorf("photo: inspect: read: %w", err)
	}
	head = head[:n]
	h.Write(head)
	rest, err := io.CopyBuffer(h, r, make([]byte, 32<<10))
	if err != nil {
		return Meta{}, fmt.Errorf("photo: inspect: read: %w", err)
	}
	m := Meta{SHA256: hex.EncodeToString(h.Sum(nil)), Size: int64(n) + rest}
	if at == nil {
		at = bytes.NewReader(head)
	}
	if m.MediaType, m.Width, m.Height, err = schema.CheckPhoto(at, m.Size, schema.DefaultMaxPhotoSize, schema.DefaultMaxPhotoPixels); err != nil {
		return Meta{}, refusal(err)
	}
	m.CapturedAt, m.CaptureSource = fileModTime, SourceFile
	if m.MediaType == MediaJPEG {
		if block, ok := jpegEXIF(head); ok {
			if ex, err := ParseEXIF(block); err == nil {
				if t, ok := ex.CapturedAt(o.loc); ok {
					m.CapturedAt, m.CaptureSource = t, SourceEXIF
				}
				m.Lat, m.Lng = ex.Lat, ex.Lng
			}
		}
	}
	return m, nil
}

// refusal says of a failed content check that the photo cannot be
// evidence, keeping the check's code.
func refusal(err error) error {
	var se *schema.Error
	if errors.As(err, &se) {
		return schema.Errorf(se.Code, "%s; the server would never accept this photo, so it is not attached", se.Message)
	}
	return fmt.Errorf("photo: inspect: %w", err)
}
