package photos_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
)

// testdata/test8.heic is a 512×512 8-bit HEIC from the test data of
// github.com/gen2brain/heic v0.4.5 (MIT licence).
func readHEIC(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/test8.heic")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThumb_HEICPreview: a HEIC photo is kept as received and its thumb
// route serves a JPEG preview of the right size, made in the background or,
// after the queued job was lost, on demand; a HEIC with boxes but no
// decodable image gets a verdict for good.
func TestThumb_HEICPreview(t *testing.T) {
	data := readHEIC(t)
	cases := []struct {
		name       string
		data       []byte
		thumbSize  int
		status     int
		wantW      int
		wantState  string
		background bool
	}{
		{"background preview", data, 0, http.StatusOK, 320, "", true},
		{"smaller thumbnails", data, 100, http.StatusOK, 100, "", true},
		{"no HEVC data", heicFile(640, 480, 7), 0, http.StatusUnprocessableEntity, 0, photos.ThumbCorrupt, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.thumbSize > 0 {
				e.svc.ThumbSize = c.thumbSize
			}
			sha := e.upload(c.data)
			p, err := e.st.Photo(context.Background(), sha)
			if err != nil {
				t.Fatal(err)
			}
			if p.MediaType != schema.MediaHEIC || p.ThumbState != c.wantState || (c.status == http.StatusOK) != (p.ThumbKey != "") {
				t.Errorf("row = %+v", p)
			}
			resp, body, eb := e.getThumb(sha)
			if resp.StatusCode != c.status {
				t.Fatalf("thumb: %s %s", resp.Status, body)
			}
			if c.status != http.StatusOK {
				if eb.Code != schema.CodeUndecodable {
					t.Errorf("thumb answer %+v", eb)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" {
				t.Errorf("Content-Type %q", ct)
			}
			img, err := jpeg.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("preview is not a JPEG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != c.wantW || b.Dy() != c.wantW {
				t.Errorf("preview is %v, want %d×%d", b, c.wantW, c.wantW)
			}
			orig := e.do(http.MethodGet, schema.PathPhotos+"/"+sha, admin, nil, nil)
			got, _ := io.ReadAll(orig.Body)
			if orig.StatusCode != http.StatusOK || !bytes.Equal(got, c.data) || orig.Header.Get("Content-Type") != schema.MediaHEIC {
				t.Errorf("original: %s %s, %d bytes, equal %v", orig.Status, orig.Header.Get("Content-Type"), len(got), bytes.Equal(got, c.data))
			}
		})
	}
}

// TestThumb_HEICOverBudget: the decode estimate comes from the ispe
// header before anything is decoded; one over the whole budget is
// too_large for good, the original kept.
func TestThumb_HEICOverBudget(t *testing.T) {
	e := newEnv(t)
	e.svc.ThumbBudget = 8 << 20 // below what a 512×512 HEIC decode is allowed
	sha := e.upload(readHEIC(t))
	resp, body, eb := e.getThumb(sha)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || eb.Code != schema.CodeTooLarge {
		t.Fatalf("thumb: %s %s", resp.Status, body)
	}
	if st := e.svc.ThumbStats(); st.TooLarge != 1 || st.Made != 0 {
		t.Errorf("stats %+v", st)
	}
}
