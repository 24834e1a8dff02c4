package photo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/patrolhq/patrol/mobile-sync/photo"
	"github.com/patrolhq/patrol/schema"
)

const testSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

func opener(b []byte) func() (io.ReadSeekCloser, error) {
	return func() (io.ReadSeekCloser, error) { return nopSeekCloser{bytes.NewReader(b)}, nil }
}

func TestUploader_ErrorsAreClassified(t *testing.T) {
	cases := []struct {
		name      string
		handler   http.HandlerFunc
		code      schema.Code
		retryable bool
	}{
		{"refused", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error":{"code":"forbidden","message":"no inspection of this device names the photo"}}`)
		}, schema.CodeForbidden, false},
		{"proxy page", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>")
		}, schema.CodeUnavailable, true},
		{"patch refused", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.Header().Set(schema.HeaderUploadOffset, "0")
				return
			}
			w.WriteHeader(http.StatusUnsupportedMediaType)
			io.WriteString(w, `{"error":{"code":"unsupported_media","message":"the photo is a PDF document"}}`)
		}, schema.CodeUnsupportedMedia, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			u := photo.Uploader{BaseURL: srv.URL, Token: "t"}
			_, err := u.Upload(context.Background(), testSHA, 4, opener([]byte("test")), nil)
			var se *schema.Error
			if !errors.As(err, &se) || se.Code != c.code {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
			if got := schema.Retryable(schema.ErrorCode(err)); got != c.retryable {
				t.Errorf("retryable = %v, want %v", got, c.retryable)
			}
		})
	}
}

func TestUploader_NetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	u := photo.Uploader{BaseURL: url}
	_, err := u.Upload(context.Background(), testSHA, 4, opener([]byte("test")), nil)
	if err == nil || !schema.Retryable(schema.ErrorCode(err)) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestUploader_ConfusedServerDoesNotLoop(t *testing.T) {
	var patches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(schema.HeaderUploadOffset, "0")
		if r.Method == http.MethodPatch {
			patches.Add(1)
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":{"code":"offset_mismatch","message":"resume at 0"}}`)
		}
	}))
	defer srv.Close()
	u := photo.Uploader{BaseURL: srv.URL}
	_, err := u.Upload(context.Background(), testSHA, 4, opener([]byte("test")), nil)
	if err == nil || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("err = %v, want a no-progress error", err)
	}
	if n := patches.Load(); n > 10 {
		t.Errorf("%d PATCH requests; want a small bound", n)
	}
}

func TestUploader_RefusesBadArguments(t *testing.T) {
	u := photo.Uploader{BaseURL: "http://127.0.0.1:1"}
	if _, err := u.Upload(context.Background(), "ABC", 4, opener(nil), nil); err == nil {
		t.Error("bad hash accepted")
	}
	if _, err := u.Upload(context.Background(), testSHA, 0, opener(nil), nil); err == nil {
		t.Error("empty photo accepted")
	}
}
