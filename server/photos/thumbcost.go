package photos

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// thumbPlan is what making one thumbnail will take, judged from the
// photo's headers before any pixel is decoded.
type thumbPlan struct {
	width, height int
	dw, dh        int   // the thumbnail's size
	bytes         int64 // the most memory the decode and scaling hold at once
	stream        bool  // PNG: scaled while inflated (scalePNG), never decoded whole
	orientation   int   // JPEG: the EXIF orientation (1–8) to show it in; 0 or 1 as stored
}

// thumbOverhead covers what every thumbnail holds besides pixels: decoder
// tables, buffers, the JPEG encoder.
const thumbOverhead = 1 << 20

// planThumbnail reads the headers of a stored photo and estimates the
// memory its thumbnail takes, from what the decoders are known to allocate:
//
//   - PNG is never decoded whole: scalePNG holds two rows and the
//     thumbnail's sums (pngStreamBytes), whatever the image's size or depth.
//   - JPEG (image/jpeg) holds each component's plane at its sampling
//     (1.5 bytes a pixel for 4:2:0, 3 for 4:4:4), four times that again in
//     coefficients when progressive, plus a 4-byte RGBA or CMYK copy when it
//     converts RGB or four-component images at the end. All marker segments
//     are read, since a late APP0 or APP14 decides that conversion.
//   - WebP (golang.org/x/image/webp): lossy 1.5 bytes a pixel; lossless 8
//     (the pixels and one transform's copy) plus its Huffman trees, which
//     the decoder caps at 2,600 groups and which cannot outgrow 256 times
//     the file; lossy with alpha both. The file itself is buffered.
//
// Each decoded photo is also read into a boxScaler a row at a time. The
// error is a header the decoder would refuse (the photo's data is corrupt)
// or a failure to read the bytes.
func planThumbnail(r io.Reader, size int64, mediaType string, maxSide int) (thumbPlan, error) {
	br := bufio.NewReaderSize(r, copyBufferSize)
	var p thumbPlan
	var decode int64
	switch mediaType {
	case mediaPNG:
		cfg, err := png.DecodeConfig(br)
		if err != nil {
			return p, err
		}
		p.width, p.height, p.stream = cfg.Width, cfg.Height, true
		p.dw, p.dh = fit(p.width, p.height, maxSide)
		p.bytes = pngStreamBytes(p.width, p.dw, p.dh) + thumbBytes(p.dw, p.dh)
		return p, nil
	case mediaJPEG:
		h, err := readJPEGHeaders(br)
		if err != nil {
			return p, err
		}
		p.width, p.height = h.width, h.height
		decode = h.decodeBytes()
	case mediaWebP:
		cfg, err := webp.DecodeConfig(br)
		if err != nil {
			return p, err
		}
		p.width, p.height = cfg.Width, cfg.Height
		px := int64(cfg.Width) * int64(cfg.Height)
		lossy := (int64(cfg.Width+15) / 16 * 16) * (int64(cfg.Height+15) / 16 * 16) * 3 / 2
		trees := min(2600*(52<<10), 256*size)
		switch cfg.ColorModel {
		case color.YCbCrModel:
			decode = lossy + size
		case color.NRGBAModel:
			decode = 8*px + trees + size
		default: // lossy with a lossless alpha plane, and the alpha values copied out
			decode = lossy + 9*px + trees + size
		}
	default:
		return p, fmt.Errorf("no decoder for %s", mediaType)
	}
	if p.width <= 0 || p.height <= 0 {
		return p, fmt.Errorf("%s header gives dimensions %d×%d", mediaType, p.width, p.height)
	}
	p.dw, p.dh = fit(p.width, p.height, maxSide)
	p.bytes = decode + 8*int64(p.width) + boxScalerBytes(p.dw, p.dh) + thumbBytes(p.dw, p.dh)
	return p, nil
}

// thumbBytes is what the finished thumbnail holds: its pixels, its JPEG
// encoding (never larger than the pixels) and thumbOverhead.
func thumbBytes(dw, dh int) int64 { return 2*4*int64(dw)*int64(dh) + thumbOverhead }

// jpegHeaders is what decides the memory image/jpeg needs for a JPEG.
type jpegHeaders struct {
	width, height int
	progressive   bool
	comps         []jpegComp
	jfif          bool // the last APP0 says JFIF
	adobe         bool // an APP14 Adobe segment was seen
	adobeXform    byte // its transform (the last one seen)
}

type jpegComp struct {
	id   byte
	h, v int
}

// decodeBytes mirrors image/jpeg's allocations: planes padded to whole
// MCUs, coefficients when progressive, a converted copy at the end.
func (j jpegHeaders) decodeBytes() int64 {
	if len(j.comps) == 0 {
		return 0
	}
	comps := j.comps
	if len(comps) == 1 {
		comps = []jpegComp{{id: comps[0].id, h: 1, v: 1}} // grayscale is never subsampled
	}
	h0, v0 := comps[0].h, comps[0].v
	mxx := int64((j.width + 8*h0 - 1) / (8 * h0))
	myy := int64((j.height + 8*v0 - 1) / (8 * v0))
	var planes int64
	for _, c := range comps {
		planes += 64 * mxx * myy * int64(c.h) * int64(c.v)
	}
	n := planes
	if j.progressive {
		n += 4 * planes // an int32 per coefficient
	}
	px := int64(j.width) * int64(j.height)
	switch {
	case len(comps) == 4:
		n += 4 * px
	case len(comps) == 3 && j.rgb():
		n += 4 * px
	}
	return n
}

// rgb tells, as image/jpeg does, whether three components are R, G, B.
func (j jpegHeaders) rgb() bool {
	if j.jfif {
		return false
	}
	if j.adobe && j.adobeXform == 0 {
		return true
	}
	return len(j.comps) == 3 && j.comps[0].id == 'R' && j.comps[1].id == 'G' && j.comps[2].id == 'B'
}

// readJPEGHeaders walks every marker segment of a JPEG, stepping over the
// entropy-coded data between them, and keeps the SOF, APP0 and APP14
// fields. It holds nothing but the reader's buffer.
func readJPEGHeaders(r *bufio.Reader) (jpegHeaders, error) {
	var j jpegHeaders
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return j, err
	}
	if b[0] != 0xff || b[1] != 0xd8 {
		return j, jpeg.FormatError("missing SOI marker")
	}
	var seg [17]byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(j.comps) > 0 {
				return j, nil // no EOI: the decoder judges that
			}
			return j, err
		}
		if c != 0xff {
			continue // entropy-coded or extraneous data
		}
		m, err := r.ReadByte()
		for err == nil && m == 0xff {
			m, err = r.ReadByte()
		}
		switch {
		case err != nil:
			return j, err
		case m == 0x00 || (m >= 0xd0 && m <= 0xd7):
			continue // a stuffed 0xff or a restart marker
		case m == 0xd9:
			if len(j.comps) == 0 {
				return j, jpeg.FormatError("missing SOF marker")
			}
			return j, nil
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return j, err
		}
		n := (int(b[0])<<8 | int(b[1])) - 2
		if n < 0 {
			return j, jpeg.FormatError("short segment length")
		}
		head := seg[:min(n, len(seg))]
		if _, err := io.ReadFull(r, head); err != nil {
			return j, err
		}
		switch {
		case m == 0xc0 || m == 0xc1 || m == 0xc2:
			if len(j.comps) > 0 {
				return j, jpeg.FormatError("multiple SOF markers")
			}
			if n != 6+3*1 && n != 6+3*3 && n != 6+3*4 {
				return j, jpeg.UnsupportedError("number of components")
			}
			j.progressive = m == 0xc2
			j.height = int(head[1])<<8 | int(head[2])
			j.width = int(head[3])<<8 | int(head[4])
			for i := 0; i < (n-6)/3; i++ {
				hv := head[7+3*i]
				j.comps = append(j.comps, jpegComp{id: head[6+3*i], h: min(max(int(hv>>4), 1), 4), v: min(max(int(hv&0x0f), 1), 4)})
			}
		case m == 0xe0 && n >= 5:
			j.jfif = string(head[:5]) == "JFIF\x00"
		case m == 0xee && n >= 12 && string(head[:5]) == "Adobe":
			j.adobe, j.adobeXform = true, head[11]
		}
		if _, err := r.Discard(n - len(head)); err != nil {
			return j, err
		}
	}
}

// decodeImage decodes a JPEG, WebP or HEIC/HEIF photo whole.
func decodeImage(mediaType string, r io.Reader) (image.Image, error) {
	switch mediaType {
	case mediaJPEG:
		return jpeg.Decode(r)
	case mediaWebP:
		return webp.Decode(r)
	case mediaHEIC, mediaHEIF:
		return decodeHEIF(r)
	}
	return nil, fmt.Errorf("no decoder for %s", mediaType)
}
