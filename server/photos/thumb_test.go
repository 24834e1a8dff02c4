package photos_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
)

// upload sends a photo whole and waits for its background thumbnail.
func (e *env) upload(data []byte) string {
	e.t.Helper()
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil); err != nil {
		e.t.Fatal(err)
	}
	e.svc.WaitThumbnails()
	return sha
}

// getThumb fetches a thumbnail and decodes an error answer.
func (e *env) getThumb(sha string) (*http.Response, []byte, schema.Error) {
	e.t.Helper()
	resp := e.do(http.MethodGet, schema.PathPhotos+"/"+sha+"/thumb", "leader:1", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	var eb schema.ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(body, &eb); err != nil {
			e.t.Fatalf("thumb: %s with a body that is not JSON: %q", resp.Status, body)
		}
	}
	return resp, body, eb.Error
}

// corruptPNGs are PNGs whose header (all the upload checks read) is valid
// and whose image data is not.
func corruptPNGs(t *testing.T) map[string][]byte {
	good := pngBytes(t, 64, 48, 30)
	idat := bytes.Index(good, []byte("IDAT")) - 4 // start of the IDAT chunk
	n := int(binary.BigEndian.Uint32(good[idat:]))
	head, iend := good[:idat], good[len(good)-12:]
	withIDAT := func(data []byte) []byte {
		return append(append(append([]byte{}, head...), pngChunk("IDAT", data)...), iend...)
	}
	flipped := append([]byte{}, good...)
	flipped[idat+8+n/2] ^= 0x10 // the chunk's CRC no longer matches
	var short bytes.Buffer
	zw := zlib.NewWriter(&short)
	zw.Write(make([]byte, 10*(1+64*3))) // 10 of the 48 rows
	zw.Close()
	return map[string][]byte{
		"flipped byte in the image data": flipped,
		"image data cut short":           withIDAT(short.Bytes()),
		"image data not zlib":            withIDAT(bytes.Repeat([]byte("not a zlib stream "), 40)),
	}
}

func TestThumb_CorruptPhotoFailsForGood(t *testing.T) {
	for name, data := range corruptPNGs(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			sha := e.upload(data)
			check := func(when string) {
				t.Helper()
				resp, _, se := e.getThumb(sha)
				if resp.StatusCode != http.StatusUnprocessableEntity || se.Code != schema.CodeUndecodable ||
					!strings.Contains(se.Message, "is corrupt") || !strings.Contains(se.Message, "the original is kept as received") {
					t.Fatalf("%s: thumb %s, %+v; want 422 undecodable saying the data is corrupt and the original is kept", when, resp.Status, se)
				}
				p, err := e.st.Photo(context.Background(), sha)
				if err != nil || p.ThumbState != photos.ThumbCorrupt || p.ThumbReason == "" || p.ThumbKey != "" {
					t.Fatalf("%s: photo row %+v, %v; want thumb_state corrupt with a reason", when, p, err)
				}
				resp = e.do(http.MethodGet, schema.PathPhotos+"/"+sha, "leader:1", nil, nil)
				if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
					t.Fatalf("%s: original %s, %d bytes; want the %d bytes as received", when, resp.Status, len(body), len(data))
				}
			}
			check("after upload")
			if st := e.svc.ThumbStats(); st.Corrupt != 1 || st.Made != 0 {
				t.Errorf("stats %+v; want one corrupt photo, no thumbnail", st)
			}

			e.restart()
			check("after a restart")
			if st := e.svc.ThumbStats(); st.Corrupt != 0 {
				t.Errorf("the restarted server decoded the photo again: %+v", st)
			}

			// The same verdict when the thumbnail is first asked for (the
			// server stopped before its worker ran).
			if _, err := e.db.W.Exec(`UPDATE photos SET thumb_state = '', thumb_reason = '' WHERE sha256 = ?`, sha); err != nil {
				t.Fatal(err)
			}
			check("made on request")
		})
	}
}

// grayJPEG is a w×h grayscale JPEG of a stripe pattern: every row the
// same, so that no w×h image is held to encode it.
func grayJPEG(t testing.TB, w, h int, salt byte) []byte {
	t.Helper()
	img := &image.Gray{Pix: make([]uint8, w), Stride: 0, Rect: image.Rect(0, 0, w, h)}
	for x := range img.Pix {
		img.Pix[x] = uint8(x/8*37) ^ salt
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestThumb_OverBudgetIsRefusedForGood(t *testing.T) {
	e := newEnv(t)
	e.svc.ThumbBudget = 8 << 20
	small := e.upload(grayJPEG(t, 800, 600, 1))
	big := e.upload(grayJPEG(t, 4000, 3000, 2)) // 12 MB of pixels to decode

	if resp, thumb, _ := e.getThumb(small); resp.StatusCode != http.StatusOK {
		t.Fatalf("small photo: thumb %s", resp.Status)
	} else if cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != 320 || cfg.Height != 240 {
		t.Fatalf("small photo: thumb %+v, %v", cfg, err)
	}
	for _, when := range []string{"after upload", "after a restart"} {
		if when != "after upload" {
			e.restart()
			e.svc.ThumbBudget = 8 << 20
		}
		resp, _, se := e.getThumb(big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || se.Code != schema.CodeTooLarge ||
			!strings.Contains(se.Message, "4000×3000") || !strings.Contains(se.Message, "within 8 MiB") {
			t.Fatalf("%s: thumb %s, %+v; want 413 too_large naming the size and the budget", when, resp.Status, se)
		}
		p, err := e.st.Photo(context.Background(), big)
		if err != nil || p.ThumbState != photos.ThumbTooLarge {
			t.Fatalf("%s: photo row %+v, %v; want thumb_state too_large", when, p, err)
		}
	}
	if st := e.svc.ThumbStats(); st.TooLarge != 0 || st.BudgetBytes != 8<<20 {
		t.Errorf("restarted server: %+v; want the verdict answered from the record and the budget shown", st)
	}
}

// pngChunkAfter inserts a private chunk before IEND: another photo with
// the same pixels.
func pngChunkAfter(b []byte, salt byte) []byte {
	out := append([]byte{}, b[:len(b)-12]...)
	out = append(out, pngChunk("prVt", []byte{salt})...)
	return append(out, b[len(b)-12:]...)
}

func TestThumb_BusyBudgetAnswers503ThenServes(t *testing.T) {
	e := newEnv(t)
	sha := e.upload(grayJPEG(t, 800, 600, 4))
	// As if the server had stopped before its thumbnail worker ran.
	if _, err := e.db.W.Exec(`UPDATE photos SET thumb_key = '' WHERE sha256 = ?`, sha); err != nil {
		t.Fatal(err)
	}
	release := photos.HoldDecodeBudget(e.svc, time.Millisecond)
	resp, _, se := e.getThumb(sha)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(se.Message, "busy") {
		t.Fatalf("thumb while the budget is taken: %s, Retry-After %q, %+v; want 503 busy with Retry-After", resp.Status, resp.Header.Get("Retry-After"), se)
	}
	if p, err := e.st.Photo(context.Background(), sha); err != nil || p.ThumbState != "" {
		t.Fatalf("a busy server recorded a verdict: %+v, %v", p, err)
	}
	if st := e.svc.ThumbStats(); st.Busy != 1 || st.InUseBytes != st.BudgetBytes {
		t.Errorf("stats %+v; want one busy answer and the whole budget in use", st)
	}
	release()
	if resp, _, _ := e.getThumb(sha); resp.StatusCode != http.StatusOK {
		t.Fatalf("thumb once the budget is free: %s", resp.Status)
	}
}
