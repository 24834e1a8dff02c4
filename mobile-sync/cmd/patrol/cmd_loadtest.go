package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/patrolhq/patrol/mobile-sync/loadtest"
)

// cmdLoadtest runs the load tool: N simulated devices record and sync
// inspections concurrently, then everything acknowledged is verified on
// the server.
func cmdLoadtest(c *cli, args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	server := fs.String("server", os.Getenv("PATROL_SERVER"), "server URL; several, comma-separated, are replicas of one server and get the requests in turn")
	devices := fs.Int("devices", 10, "simulated devices")
	inspections := fs.Int("inspections", 10, "inspections each device records per round")
	photos := fs.Int("photos", 0, "photos per inspection")
	photoSize := fs.Int("photo-size", 3<<20, "bytes per photo")
	duration := fs.Duration("duration", 0, "keep recording and syncing rounds for this long (0: one round)")
	adminUser := fs.String("admin", "admin", "admin user that creates enrollment codes")
	adminPass := fs.String("admin-password", envOr("PATROL_ADMIN_PASSWORD", "patrol-demo"), "its password")
	dir := fs.String("dir", "", "keep device databases here (default: a temporary folder)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	var servers []string
	for _, u := range strings.Split(*server, ",") {
		if u = strings.TrimSpace(u); u != "" {
			servers = append(servers, u)
		}
	}
	if len(servers) == 0 {
		return usagef("--server URL is required (or URL1,URL2,… for replicas)")
	}
	cfg := loadtest.Config{
		Servers: servers, Devices: *devices, Inspections: *inspections, Photos: *photos, PhotoSize: *photoSize,
		Duration: *duration, AdminUser: *adminUser, AdminPassword: *adminPass, Dir: *dir,
		Logger: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if isTerminal(c.stderr) {
		cfg.Progress = c.stderr
	}
	rep, err := loadtest.Run(c.ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := c.printJSON(rep); err != nil {
			return err
		}
	} else {
		printReport(c.stdout, rep)
	}
	if rep.Lost > 0 || rep.Duplicated > 0 {
		return fmt.Errorf("%d lost and %d duplicated: the server does not hold exactly what the devices were told it holds", rep.Lost, rep.Duplicated)
	}
	return nil
}

func printReport(w io.Writer, r *loadtest.Report) {
	fmt.Fprintf(w, "devices %d, inspections recorded %d, acknowledged %d, verified %d\n",
		r.Devices, r.InspectionsRecorded, r.InspectionsAcknowledged, r.InspectionsVerified)
	fmt.Fprintf(w, "photos acknowledged %d, verified %d (%.1f MB)\n", r.PhotosAcknowledged, r.PhotosVerified, r.PhotoMB)
	fmt.Fprintf(w, "lost %d, duplicated %d, errors %d\n", r.Lost, r.Duplicated, r.Errors)
	fmt.Fprintf(w, "sync phase %.2f s: %.1f inspections/s, %.1f MB/s\n", r.SyncSeconds, r.InspectionsPerS, r.MBPerS)
	fmt.Fprintf(w, "sync request latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n", r.P50ms, r.P95ms, r.P99ms)
	if len(r.RequestsByServer) > 1 {
		servers := make([]string, 0, len(r.RequestsByServer))
		for s := range r.RequestsByServer {
			servers = append(servers, s)
		}
		sort.Strings(servers)
		for _, s := range servers {
			fmt.Fprintf(w, "requests to %s: %d\n", s, r.RequestsByServer[s])
		}
	}
	eps := make([]string, 0, len(r.Endpoints))
	for ep := range r.Endpoints {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	fmt.Fprintf(w, "%-14s %7s %9s %9s %9s\n", "endpoint", "count", "p50 ms", "p95 ms", "p99 ms")
	for _, ep := range eps {
		l := r.Endpoints[ep]
		fmt.Fprintf(w, "%-14s %7d %9.1f %9.1f %9.1f\n", ep, l.Count, l.P50, l.P95, l.P99)
	}
	kinds := make([]string, 0, len(r.ErrorsByKind))
	for k := range r.ErrorsByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "error %-30s %d\n", k, r.ErrorsByKind[k])
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// isTerminal reports whether w is a character device (a person watching).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
