package photos_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"net/http"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestGetPhoto_ETagRangeAndThumb(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 800, 600, 20)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil); err != nil {
		t.Fatal(err)
	}
	path := schema.PathPhotos + "/" + sha

	resp := e.do(http.MethodGet, path, admin, nil, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET: %s, %d bytes (want %d)", resp.Status, len(body), size)
	}
	etag := resp.Header.Get("ETag")
	if etag != `"`+sha+`"` || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("ETag %q Content-Type %q", etag, resp.Header.Get("Content-Type"))
	}

	resp = e.do(http.MethodGet, path, admin, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s, want 304", resp.Status)
	}

	resp = e.do(http.MethodGet, path, "leader:1", nil, map[string]string{"Range": "bytes=100-1123"})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:1124]) {
		t.Errorf("Range: %s, %d bytes, equal %v", resp.Status, len(body), bytes.Equal(body, data[100:1124]))
	}
	if want := "bytes 100-1123/" + itoa(size); resp.Header.Get("Content-Range") != want {
		t.Errorf("Content-Range %q, want %q", resp.Header.Get("Content-Range"), want)
	}

	resp = e.do(http.MethodHead, path, devA, nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != itoa(size) {
		t.Errorf("HEAD photo: %s, Content-Length %q", resp.Status, resp.Header.Get("Content-Length"))
	}

	resp = e.do(http.MethodGet, path+"/thumb", admin, nil, nil)
	thumb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumb: %s", resp.Status)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || cfg.Width != 320 || cfg.Height != 240 || len(thumb) >= len(data) {
		t.Errorf("thumb %d×%d %d bytes (%v); want 320×240 smaller than %d", cfg.Width, cfg.Height, len(thumb), err, len(data))
	}
}

func TestGetPhoto_Access(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 50, 50, 21)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	path := schema.PathPhotos + "/" + sha
	missing := schema.PathPhotos + "/" + shaOf([]byte("never uploaded"))
	e.reference(devA, squad1, shaOf([]byte("never uploaded")))
	if resp := e.do(http.MethodHead, path, devA, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD before upload: %s, want 404", resp.Status)
	}
	if _, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(data)), opener(data), nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, tok string
		status                  int
	}{
		{"leader of the squad", http.MethodGet, path, "leader:1", 200},
		{"leader of another squad", http.MethodGet, path, "leader:2", 404},
		{"device that took it reads back", http.MethodHead, path, devA, 200},
		{"other device", http.MethodHead, path, devB, 404},
		{"other device GET", http.MethodGet, path, devB, 404},
		{"not received", http.MethodGet, missing, admin, 404},
		{"thumb of another squad", http.MethodGet, path + "/thumb", "leader:2", 404},
		{"bad hash", http.MethodGet, schema.PathPhotos + "/xyz", admin, 400},
	}
	for _, c := range cases {
		if resp := e.do(c.method, c.path, c.tok, nil, nil); resp.StatusCode != c.status {
			t.Errorf("%s: %s, want %d", c.name, resp.Status, c.status)
		}
	}
}

func TestServe_MissingThumbnailIsMadeFromTheStore(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 800, 600, 21)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil); err != nil {
		t.Fatal(err)
	}
	e.svc.WaitThumbnails()
	// As if the server had stopped before its thumbnail worker ran.
	if _, err := e.db.W.Exec(`UPDATE photos SET thumb_key = '' WHERE sha256 = ?`, sha); err != nil {
		t.Fatal(err)
	}
	resp := e.do(http.MethodGet, schema.PathPhotos+"/"+sha+"/thumb", "leader:1", nil, nil)
	thumb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("thumb: %s", resp.Status)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != 320 {
		t.Fatalf("thumb %+v %v", cfg, err)
	}
	p, err := e.st.Photo(context.Background(), sha)
	if err != nil || p.ThumbKey != shaOf(thumb) {
		t.Fatalf("thumb_key %q after the lazy thumbnail (%v); want %s", p.ThumbKey, err, shaOf(thumb))
	}
}
