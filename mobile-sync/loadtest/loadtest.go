// Package loadtest drives a Patrol server the way a squad's morning does:
// many devices, each with its own local store, record inspections (and
// photos) offline and then sync at once. It measures throughput and latency
// per endpoint and then checks on the server that everything the devices
// hold as acknowledged is there exactly once.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// Config says how hard to push.
type Config struct {
	// Servers are the base URLs of patrold: one server, or several
	// replicas of one (one database, one photo store), over which every
	// request is spread in turn (see Spread).
	Servers       []string
	Devices       int           // simulated devices, enrolled for the demo inspectors in turn
	Inspections   int           // inspections each device records per round
	Photos        int           // photos per inspection
	PhotoSize     int           // bytes per photo (a valid JPEG padded to this size)
	Duration      time.Duration // 0: one round; else rounds until it has passed
	AdminUser     string        // default "admin"
	AdminPassword string        // default the demo password
	Inspectors    []string      // default inspector1..inspector12
	Dir           string        // device databases and photo files; "" = a temporary folder removed afterwards
	Progress      io.Writer     // progress bar target (a terminal); nil for none
	Logger        *slog.Logger
	Seed          uint64
}

// Report holds the figures of a run; its JSON names are what scripts read.
type Report struct {
	Devices                 int                `json:"devices"`
	InspectionsRecorded     int                `json:"inspections_recorded"`
	InspectionsAcknowledged int                `json:"inspections_acknowledged"`
	InspectionsVerified     int                `json:"inspections_verified"`
	PhotosAcknowledged      int                `json:"photos_acknowledged"`
	PhotosVerified          int                `json:"photos_verified"`
	Lost                    int                `json:"lost"`
	Duplicated              int                `json:"duplicated"`
	Errors                  int                `json:"errors"`
	ErrorsByKind            map[string]int     `json:"errors_by_kind"`
	SyncSeconds             float64            `json:"sync_seconds"`
	InspectionsPerS         float64            `json:"inspections_per_s"`
	PhotoMB                 float64            `json:"photo_mb"`
	MBPerS                  float64            `json:"mb_per_s"`
	P50ms                   float64            `json:"p50_ms"`
	P95ms                   float64            `json:"p95_ms"`
	P99ms                   float64            `json:"p99_ms"`
	Endpoints               map[string]Latency `json:"endpoints"`
	RequestsByServer        map[string]int     `json:"requests_by_server"` // by scheme://host
}

type device struct {
	dev      *mobilesync.Device
	username string
	venues   []schema.Venue
	coInsp   string
	recorded []string
	photoDir string
}

// Run enrols the devices, records, syncs concurrently, verifies and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := defaults(&cfg); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "patrol-loadtest-")
		if err != nil {
			return nil, fmt.Errorf("loadtest: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	rec := newRecorder(&http.Transport{
		Proxy: nil, MaxIdleConns: cfg.Devices * 2 * len(cfg.Servers), MaxIdleConnsPerHost: cfg.Devices * 2,
		IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 2 * time.Minute,
	})
	var rt http.RoundTripper = rec
	if len(cfg.Servers) > 1 {
		var err error
		if rt, err = Spread(rec, cfg.Servers); err != nil {
			return nil, err
		}
	}
	client := &http.Client{Transport: rt, Timeout: 5 * time.Minute}
	admin := &api{base: strings.TrimRight(cfg.Servers[0], "/"), client: client}
	if err := admin.login(ctx, cfg.AdminUser, cfg.AdminPassword); err != nil {
		return nil, fmt.Errorf("loadtest: admin login: %w", err)
	}

	cfg.Logger.Info("enrolling devices", "devices", cfg.Devices)
	devs, err := enrolAll(ctx, cfg, admin, client)
	defer func() {
		for _, d := range devs {
			if d != nil && d.dev != nil {
				d.dev.Close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	rnd := rand.New(rand.NewPCG(cfg.Seed, 7))
	photoSeq := atomic.Int64{}
	rec.reset()

	rep := &Report{Devices: cfg.Devices}
	var bar *progressbar.ProgressBar
	if cfg.Progress != nil {
		bar = progressbar.NewOptions64(int64(cfg.Devices*cfg.Inspections), progressbar.OptionSetWriter(cfg.Progress),
			progressbar.OptionSetDescription("inspections synced"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	deadline := time.Now().Add(cfg.Duration)
	var syncTime time.Duration
	for round := 0; ; round++ {
		cfg.Logger.Info("recording offline", "round", round, "inspections", cfg.Devices*cfg.Inspections, "photos_each", cfg.Photos)
		if err := recordAll(ctx, cfg, devs, rnd, &photoSeq); err != nil {
			return nil, err
		}
		rep.InspectionsRecorded += cfg.Devices * cfg.Inspections
		start := time.Now()
		syncAll(ctx, devs, bar, cfg.Inspections)
		syncTime += time.Since(start)
		if cfg.Duration <= 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	var all Latency
	rep.Endpoints, all, rep.ErrorsByKind, rep.RequestsByServer = rec.snapshot()
	rep.P50ms, rep.P95ms, rep.P99ms = all.P50, all.P95, all.P99
	rep.SyncSeconds = syncTime.Seconds()

	cfg.Logger.Info("verifying on the server")
	if err := verify(ctx, admin, devs, rep); err != nil {
		return nil, err
	}
	for _, n := range rep.ErrorsByKind {
		rep.Errors += n
	}
	if rep.SyncSeconds > 0 {
		rep.InspectionsPerS = float64(rep.InspectionsAcknowledged) / rep.SyncSeconds
		rep.MBPerS = rep.PhotoMB / rep.SyncSeconds
	}
	return rep, nil
}

func defaults(cfg *Config) error {
	if len(cfg.Servers) == 0 || cfg.Servers[0] == "" {
		return fmt.Errorf("loadtest: --server is required")
	}
	if cfg.Devices <= 0 || cfg.Inspections < 0 || cfg.Photos < 0 {
		return fmt.Errorf("loadtest: devices must be > 0 and inspections, photos >= 0")
	}
	if cfg.Photos > 0 && cfg.PhotoSize < minPhotoSize {
		cfg.PhotoSize = minPhotoSize
	}
	if cfg.AdminUser == "" {
		cfg.AdminUser = "admin"
	}
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = "patrol-demo"
	}
	if len(cfg.Inspectors) == 0 {
		for i := 1; i <= 12; i++ {
			cfg.Inspectors = append(cfg.Inspectors, fmt.Sprintf("inspector%d", i))
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	return nil
}

// enrolAll enrols every device (a few at a time) and gives it its first pull.
func enrolAll(ctx context.Context, cfg Config, admin *api, client *http.Client) ([]*device, error) {
	devs := make([]*device, cfg.Devices)
	errs := make(chan error, cfg.Devices)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range devs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			user := cfg.Inspectors[i%len(cfg.Inspectors)]
			d := &device{username: user, coInsp: partner(user), photoDir: filepath.Join(cfg.Dir, fmt.Sprintf("photos-%d", i))}
			devs[i] = d
			code, err := admin.enrollmentCode(ctx, user)
			if err != nil {
				errs <- fmt.Errorf("loadtest: enrollment code for %s: %w", user, err)
				return
			}
			dev, err := mobilesync.Open(ctx, mobilesync.Options{Path: filepath.Join(cfg.Dir, fmt.Sprintf("device-%d.db", i)), HTTPClient: client, Logger: cfg.Logger})
			if err != nil {
				errs <- err
				return
			}
			d.dev = dev
			if err := dev.Enroll(ctx, admin.base, code, fmt.Sprintf("loadtest-%d", i)); err != nil {
				errs <- fmt.Errorf("loadtest: enrol device %d: %w", i, err)
				return
			}
			if _, err := dev.Sync(ctx); err != nil {
				errs <- fmt.Errorf("loadtest: first sync of device %d: %w", i, err)
				return
			}
			vs, err := dev.Venues(ctx)
			if err != nil {
				errs <- err
				return
			}
			if len(vs) == 0 {
				errs <- fmt.Errorf("loadtest: device %d (%s) sees no venues; run the server with --demo", i, user)
				return
			}
			d.venues = vs
		}(i)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return devs, err
	}
	return devs, nil
}

// partner names the other demo inspector of the same squad (inspector1 ↔ 2).
func partner(user string) string {
	var n int
	if _, err := fmt.Sscanf(user, "inspector%d", &n); err != nil || n <= 0 {
		return ""
	}
	if n%2 == 1 {
		return fmt.Sprintf("inspector%d", n+1)
	}
	return fmt.Sprintf("inspector%d", n-1)
}

// recordAll has every device record its inspections offline, in parallel.
func recordAll(ctx context.Context, cfg Config, devs []*device, rnd *rand.Rand, photoSeq *atomic.Int64) error {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	seeds := make([]uint64, len(devs))
	for i := range seeds {
		seeds[i] = rnd.Uint64()
	}
	errs := make(chan error, len(devs))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func(i int, d *device) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := rand.New(rand.NewPCG(seeds[i], 11))
			if err := os.MkdirAll(d.photoDir, 0o755); err != nil {
				errs <- err
				return
			}
			for m := 0; m < cfg.Inspections; m++ {
				v := d.venues[(i*cfg.Inspections+m)%len(d.venues)]
				in := mobilesync.InspectionInput{VenueID: v.ID}
				if d.coInsp != "" {
					in.CoInspectors = []string{d.coInsp}
				}
				for k, it := range cl.Items {
					res := schema.ResultPass
					note := ""
					if r.Float64() < 0.05 {
						res, note = schema.ResultFail, "load test finding"
					}
					item := mobilesync.ItemInput{ItemID: it.ID, Result: res, Note: note}
					if k < cfg.Photos {
						p, err := writePhoto(d.photoDir, photoSeq.Add(1), cfg.PhotoSize, r)
						if err != nil {
							errs <- err
							return
						}
						item.Photos = []string{p}
					}
					in.Items = append(in.Items, item)
				}
				id, err := d.dev.RecordInspection(ctx, in)
				if err != nil {
					errs <- fmt.Errorf("loadtest: device %d record: %w", i, err)
					return
				}
				mu.Lock()
				d.recorded = append(d.recorded, id)
				mu.Unlock()
			}
		}(i, d)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// syncAll starts every device's sync at once and retries a device whose
// sync failed (overload answers, timeouts) until it has nothing pending or
// the context ends. Failures are counted by the recorder.
func syncAll(ctx context.Context, devs []*device, bar *progressbar.ProgressBar, perDevice int) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, d := range devs {
		wg.Add(1)
		go func(d *device) {
			defer wg.Done()
			<-start
			for attempt := 0; ctx.Err() == nil && attempt < 20; attempt++ {
				rep, err := d.dev.Sync(ctx)
				if err == nil && rep.PendingMutations == 0 {
					if st, err := d.dev.Status(ctx); err == nil && st.PendingPhotos == 0 {
						break
					}
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(100*(attempt+1)) * time.Millisecond):
				}
			}
			if bar != nil {
				_ = bar.Add(perDevice)
			}
		}(d)
	}
	close(start)
	wg.Wait()
}

// verify checks on the server that everything acknowledged is there once.
func verify(ctx context.Context, admin *api, devs []*device, rep *Report) error {
	type want struct {
		id     string
		photos []schema.PhotoRef
	}
	var wants []want
	seen := map[string]int{}
	for _, d := range devs {
		acked, err := d.dev.Acknowledged(ctx)
		if err != nil {
			return err
		}
		mine := make(map[string]bool, len(d.recorded))
		for _, id := range d.recorded {
			mine[id] = true
		}
		for _, in := range acked {
			if !mine[in.ID] {
				continue // the inspector's earlier work, pulled back from the server
			}
			seen[in.ID]++
			w := want{id: in.ID}
			for _, it := range in.Items {
				w.photos = append(w.photos, it.Photos...)
			}
			wants = append(wants, w)
		}
	}
	rep.InspectionsAcknowledged = len(wants)
	for _, n := range seen {
		if n > 1 {
			rep.Duplicated += n - 1
		}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	photoSeen := map[string]bool{}
	for _, w := range wants {
		wg.Add(1)
		go func(w want) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			in, err := admin.inspection(ctx, w.id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || in.ID != w.id {
				rep.Lost++
				return
			}
			rep.InspectionsVerified++
			received := map[string]bool{}
			for _, it := range in.Items {
				for _, p := range it.Photos {
					received[p.SHA256] = p.Received
				}
			}
			for _, p := range w.photos {
				if photoSeen[p.SHA256] {
					continue
				}
				photoSeen[p.SHA256] = true
				rep.PhotosAcknowledged++
				rep.PhotoMB += float64(p.Size) / 1e6
				if received[p.SHA256] {
					rep.PhotosVerified++
				}
			}
		}(w)
	}
	wg.Wait()
	if rep.PhotosVerified < rep.PhotosAcknowledged {
		rep.Lost += rep.PhotosAcknowledged - rep.PhotosVerified
	}
	// Rows the server holds for these devices beyond what they sent would be
	// duplicates made under new ids.
	ids := map[string]bool{}
	for _, d := range devs {
		id, err := d.dev.Identity(ctx)
		if err != nil {
			return err
		}
		ids[id.DeviceID] = true
	}
	count, err := admin.countByDevices(ctx, ids)
	if err != nil {
		return err
	}
	if count > rep.InspectionsVerified {
		rep.Duplicated += count - rep.InspectionsVerified
	}
	return nil
}

// minPhotoSize is the smallest JPEG writePhoto makes.
const minPhotoSize = 1024

// writePhoto writes a unique, valid JPEG of exactly size bytes.
func writePhoto(dir string, n int64, size int, r *rand.Rand) (string, error) {
	b := JPEG(size, uint64(n)^r.Uint64())
	p := filepath.Join(dir, fmt.Sprintf("photo-%d.jpg", n))
	return p, os.WriteFile(p, b, 0o644)
}

type api struct {
	base   string
	client *http.Client
	token  string
}

func (a *api) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("%s %s: %w", method, path, schema.ResponseError(resp.StatusCode, b))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (a *api) login(ctx context.Context, user, pw string) error {
	var out schema.LoginResponse
	if err := a.do(ctx, http.MethodPost, schema.PathLogin, schema.LoginRequest{Username: user, Password: pw}, &out); err != nil {
		return err
	}
	a.token = out.Token
	return nil
}

func (a *api) enrollmentCode(ctx context.Context, user string) (string, error) {
	var out schema.EnrollmentCodeResponse
	err := a.do(ctx, http.MethodPost, schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: user}, &out)
	return out.Code, err
}

func (a *api) inspection(ctx context.Context, id string) (schema.Inspection, error) {
	var out schema.Inspection
	err := a.do(ctx, http.MethodGet, schema.PathInspections+"/"+id, nil, &out)
	return out, err
}

// countByDevices counts the inspections the server holds from these
// devices, asking per device so the answer is never cut by a page limit.
func (a *api) countByDevices(ctx context.Context, ids map[string]bool) (int, error) {
	total := 0
	for id := range ids {
		var list []schema.Inspection
		if err := a.do(ctx, http.MethodGet, schema.PathInspections+"?limit=5000&device="+id, nil, &list); err != nil {
			return 0, fmt.Errorf("loadtest: list inspections of device %s: %w", id, err)
		}
		if len(list) >= 5000 {
			return 0, fmt.Errorf("loadtest: device %s has 5000 or more inspections; the check would be cut short", id)
		}
		for _, in := range list {
			if in.DeviceID == id {
				total++
			}
		}
	}
	return total, nil
}
