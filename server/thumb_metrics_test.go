package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/photos"
	"github.com/patrolhq/patrol/storage"
)

// TestMetrics_ThumbnailBound checks that /metrics shows the memory bound
// of thumbnail decodes, what is held against it and what was turned away.
func TestMetrics_ThumbnailBound(t *testing.T) {
	dir := t.TempDir()
	blobs, err := storage.NewLocal(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Blobs: blobs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000" // /metrics answers loopback scrapes without a token
	srv.Handler().ServeHTTP(rec, req)
	body := rec.Body.String()
	for _, want := range []string{
		"patrol_thumb_decode_budget_bytes " + strconv.FormatFloat(float64(photos.DefaultThumbBudget()), 'g', -1, 64),
		"patrol_thumb_decode_in_use_bytes 0",
		"patrol_thumb_decodes_running 0",
		"patrol_thumb_decodes_waiting 0",
		"patrol_thumb_queue_length 0",
		"patrol_thumbnails_made_total 0",
		`patrol_thumb_rejections_total{reason="corrupt"} 0`,
		`patrol_thumb_rejections_total{reason="too_large"} 0`,
		`patrol_thumb_rejections_total{reason="busy"} 0`,
		`patrol_thumb_rejections_total{reason="queue_full"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
