package server

import (
	"context"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
	"github.com/patrolhq/patrol/server/store"
)

// timeout bounds the work of an API request. Photo routes stream bodies
// whose duration depends on the network, so they are left to the photo
// service's own bounds.
func (s *Server) timeout(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, schema.PathUploads+"/") || strings.HasPrefix(p, schema.PathPhotos+"/") {
			return next(c)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// readyCheck is one readiness probe's answer.
type readyCheck struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// readyz answers 200 when the server can do its work: the database answers,
// the data directory takes writes, and the blob store answers. Otherwise
// 503 with the failing checks, so a load balancer stops sending devices
// and an operator sees what to fix.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]readyCheck{}
	ready := true
	record := func(name string, err error) {
		if err != nil {
			ready = false
			checks[name] = readyCheck{Error: err.Error()}
			return
		}
		checks[name] = readyCheck{OK: true}
	}
	record("database", s.store.Ping(ctx))
	record("data_dir", probeWritable(s.cfg.DataDir))
	if s.cfg.Blobs != nil {
		record("blob_store", s.cfg.Blobs.Ping(ctx))
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
		s.log.Warn("not ready", "checks", checks)
	}
	return writeJSON(c, status, map[string]any{"ready": ready, "checks": checks})
}

// probeWritable writes, syncs and removes a small file: a read-only or full
// data directory fails here before it fails a device's sync.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".readyz-*")
	if err != nil {
		return err
	}
	name := f.Name()
	defer os.Remove(name)
	if _, err := f.Write([]byte("ok")); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// registerGauges exports figures that live in the database.
func (s *Server) registerGauges() {
	// Each gauge reads its own figure; a failed read shows as -1.
	stat := func(pick func(store.Stats) int64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := s.store.Stats(ctx)
			if err != nil {
				return -1
			}
			return float64(pick(st))
		}
	}
	s.metrics.GaugeFunc("patrol_conflicts_pending", "Conflicts recorded and not yet resolved by a squad leader.",
		stat(func(st store.Stats) int64 { return st.ConflictsPending }))
	s.metrics.GaugeFunc("patrol_photos_awaited", "Photos referenced by inspections whose bytes have not arrived.",
		stat(func(st store.Stats) int64 { return st.PhotosAwaited }))
	s.metrics.GaugeFunc("patrol_sync_slots_in_use", "Pulls and pushes being served now.", func() float64 { return float64(s.syncs.InUse()) })
	s.metrics.GaugeFunc("patrol_upload_slots_in_use", "Photo uploads being received now.", func() float64 { return float64(s.uploads.InUse()) })
	if s.photos != nil {
		s.registerThumbMetrics()
	}
}

// registerThumbMetrics exports the thumbnail decode bound and its load.
func (s *Server) registerThumbMetrics() {
	stat := func(f func(photos.ThumbStats) float64) func() float64 {
		return func() float64 { return f(s.photos.ThumbStats()) }
	}
	m := s.metrics
	m.GaugeFunc("patrol_thumb_decode_budget_bytes", "Memory that thumbnail decodes may hold at once (estimated from photo headers).",
		stat(func(t photos.ThumbStats) float64 { return float64(t.BudgetBytes) }))
	m.GaugeFunc("patrol_thumb_decode_in_use_bytes", "Estimated memory held by the thumbnail decodes running now.",
		stat(func(t photos.ThumbStats) float64 { return float64(t.InUseBytes) }))
	m.GaugeFunc("patrol_thumb_decodes_running", "Thumbnail decodes running now.", stat(func(t photos.ThumbStats) float64 { return float64(t.Decoding) }))
	m.GaugeFunc("patrol_thumb_decodes_waiting", "Thumbnail decodes waiting for budget or a worker.", stat(func(t photos.ThumbStats) float64 { return float64(t.Waiting) }))
	m.GaugeFunc("patrol_thumb_queue_length", "Stored photos waiting for their background thumbnail.", stat(func(t photos.ThumbStats) float64 { return float64(t.Queued) }))
	m.CounterFunc("patrol_thumbnails_made_total", "Thumbnails made.", nil, stat(func(t photos.ThumbStats) float64 { return float64(t.Made) }))
	for reason, f := range map[string]func(photos.ThumbStats) float64{
		"corrupt":     func(t photos.ThumbStats) float64 { return float64(t.Corrupt) },
		"unsupported": func(t photos.ThumbStats) float64 { return float64(t.Unsupported) },
		"too_large":   func(t photos.ThumbStats) float64 { return float64(t.TooLarge) },
		"busy":        func(t photos.ThumbStats) float64 { return float64(t.Busy) },
		"queue_full":  func(t photos.ThumbStats) float64 { return float64(t.QueueFull) },
	} {
		m.CounterFunc("patrol_thumb_rejections_total", "Thumbnails not made, by reason.", map[string]string{"reason": reason}, stat(f))
	}
}
