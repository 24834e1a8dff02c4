package photos

import (
	"encoding/binary"
	"errors"
	"io"
)

// Bounds of the ISO-BMFF walk: hostile files cannot make it loop or allocate.
const (
	bmffMaxBoxes   = 4096    // boxes visited in one walk
	bmffMaxMetaLen = 4 << 20 // bytes of the meta box read into memory
)

var errNoISPE = errors.New("no image size (ispe) property found")

// bmffBox is one box header: its type and where its payload lies.
type bmffBox struct {
	typ        string
	start, end int64 // payload range in the file
}

// bmffChildren lists the boxes in [start, end) of r.
func bmffChildren(r io.ReaderAt, start, end int64, budget *int) ([]bmffBox, error) {
	var out []bmffBox
	var hdr [16]byte
	for pos := start; pos+8 <= end; {
		if *budget--; *budget < 0 {
			return nil, errors.New("too many boxes")
		}
		if _, err := r.ReadAt(hdr[:8], pos); err != nil {
			return nil, err
		}
		size := int64(binary.BigEndian.Uint32(hdr[0:4]))
		typ := string(hdr[4:8])
		hl := int64(8)
		switch size {
		case 0:
			size = end - pos
		case 1:
			if pos+16 > end {
				return nil, errors.New("truncated large box header")
			}
			if _, err := r.ReadAt(hdr[8:16], pos+8); err != nil {
				return nil, err
			}
			u := binary.BigEndian.Uint64(hdr[8:16])
			if u > uint64(end-pos) {
				return nil, errors.New("box runs past its parent")
			}
			size, hl = int64(u), 16
		}
		if size < hl || size > end-pos {
			return nil, errors.New("box size out of bounds")
		}
		out = append(out, bmffBox{typ: typ, start: pos + hl, end: pos + size})
		pos += size
	}
	return out, nil
}

func findBox(boxes []bmffBox, typ string) (bmffBox, bool) {
	for _, b := range boxes {
		if b.typ == typ {
			return b, true
		}
	}
	return bmffBox{}, false
}

// heifDimensions reads the largest image size (ispe property) that a HEIF
// file declares: meta → iprp → ipco → ispe. The largest is what a decoder
// could be asked to allocate, so it is what a pixel limit must judge.
func heifDimensions(r io.ReaderAt, size int64) (w, h int, err error) {
	budget := bmffMaxBoxes
	top, err := bmffChildren(r, 0, size, &budget)
	if err != nil && len(top) == 0 {
		return 0, 0, err
	}
	meta, ok := findBox(top, "meta")
	if !ok {
		return 0, 0, errNoISPE
	}
	if meta.end-meta.start > bmffMaxMetaLen || meta.end-meta.start < 4 {
		return 0, 0, errors.New("meta box size out of bounds")
	}
	metaKids, err := bmffChildren(r, meta.start+4, meta.end, &budget) // full box: skip version and flags
	if err != nil {
		return 0, 0, err
	}
	iprp, ok := findBox(metaKids, "iprp")
	if !ok {
		return 0, 0, errNoISPE
	}
	iprpKids, err := bmffChildren(r, iprp.start, iprp.end, &budget)
	if err != nil {
		return 0, 0, err
	}
	ipco, ok := findBox(iprpKids, "ipco")
	if !ok {
		return 0, 0, errNoISPE
	}
	props, err := bmffChildren(r, ipco.start, ipco.end, &budget)
	if err != nil {
		return 0, 0, err
	}
	var best int64
	var buf [12]byte
	for _, p := range props {
		if p.typ != "ispe" || p.end-p.start < 12 {
			continue
		}
		if _, err := r.ReadAt(buf[:], p.start); err != nil {
			return 0, 0, err
		}
		pw, ph := int64(binary.BigEndian.Uint32(buf[4:8])), int64(binary.BigEndian.Uint32(buf[8:12]))
		if pw*ph >= best && pw > 0 && ph > 0 {
			best, w, h = pw*ph, int(pw), int(ph)
		}
	}
	if best == 0 {
		return 0, 0, errNoISPE
	}
	return w, h, nil
}
