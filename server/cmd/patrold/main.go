// Command patrold is the Patrol sync server.
//
//	patrold serve  [--addr 127.0.0.1:8080] [--data ./patrol-data] [--demo]
//	               [--s3-endpoint HOST:PORT --s3-bucket B --s3-access-key K --s3-secret-key S [--s3-region R] [--s3-tls]]
//	               [--max-photo-mb 25] [--max-syncs 32] [--log-format text|json] [--log-level info]
//	               [--max-syncs-per-device 2] [--max-uploads-per-device 2] [--metrics-token T] …
//	               [--database postgres://USER@HOST/DB]
//	patrold enroll --data DIR [--database postgres://…] --inspector USERNAME
//	patrold migrate-store --from DIR --to postgres://USER@HOST/DB
//	patrold import schools|venues|squads FILE [--datum wgs84|gcj02|bd09] [--dry-run]
//	patrold rollup --date YYYY-MM-DD [--timezone ZONE]
//
// Every flag falls back to its PATROL_* environment variable (PATROL_ADDR,
// PATROL_DATA, PATROL_DEMO, PATROL_S3_ENDPOINT, …); with none of them it
// serves ./patrol-data on 127.0.0.1:8080 and keeps photos on local disk
// under the data directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/docs"
	"github.com/patrolhq/patrol/server/web"
	"github.com/patrolhq/patrol/storage"
	"github.com/patrolhq/patrol/storage/s3store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "patrold:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  patrold serve  [--addr 127.0.0.1:8080] [--data ./patrol-data] [--demo]
                 [--s3-endpoint HOST:PORT --s3-bucket B --s3-access-key K --s3-secret-key S [--s3-region R] [--s3-tls]]
                 [--max-photo-mb 25] [--max-syncs 32] [--log-format text|json] [--log-level debug|info|warn|error]
                 [--max-syncs-per-device 2] [--max-syncs-per-user 4] [--max-uploads-per-device 2] [--max-uploads-per-user 4]
                 [--sync-body-timeout 30s] [--upload-min-rate 1024] [--metrics-token T]
                 [--database postgres://USER@HOST/DB] [--pdf-font FILE.ttf]
  patrold enroll --data DIR [--database postgres://…] --inspector USERNAME
  patrold migrate-store --from DIR --to postgres://USER@HOST/DB
  patrold audit verify [--data DIR | --database postgres://…]
  patrold audit export [--data DIR | --database postgres://…] [--format csv|json] [--entity KIND [--id ID]]
  patrold rollup --date YYYY-MM-DD [--timezone ZONE] [--data DIR | --database postgres://…]
  patrold import schools FILE.geojson | venues FILE.csv | squads FILE.geojson
                 [--datum wgs84|gcj02|bd09] [--dry-run] [--data DIR | --database postgres://…]

Every flag falls back to its PATROL_* variable (PATROL_ADDR, PATROL_DATA, PATROL_DEMO,
PATROL_S3_ENDPOINT, PATROL_S3_BUCKET, PATROL_S3_ACCESS_KEY, PATROL_S3_SECRET_KEY,
PATROL_S3_REGION, PATROL_S3_TLS, PATROL_MAX_PHOTO_MB, PATROL_MAX_SYNCS,
PATROL_LOG_FORMAT, PATROL_LOG_LEVEL, PATROL_MAX_SYNCS_PER_DEVICE, PATROL_MAX_SYNCS_PER_USER,
PATROL_MAX_UPLOADS_PER_DEVICE, PATROL_MAX_UPLOADS_PER_USER, PATROL_SYNC_BODY_TIMEOUT,
PATROL_UPLOAD_MIN_RATE, PATROL_METRICS_TOKEN, PATROL_DATABASE, PATROL_ZONE, PATROL_TIMEZONE, PATROL_PUBLIC_URL,
PATROL_COMPLAINT_ACCEPT_DAYS, PATROL_COMPLAINT_FINISH_DAYS, PATROL_COMPLAINT_MAX_EXTENSION_DAYS,
PATROL_PDF_FONT).`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given: serve, enroll, migrate-store, audit, import or rollup")
	}
	switch args[0] {
	case "serve":
		opts, err := parseServe(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, opts, stdout)
	case "enroll":
		opts, err := parseEnroll(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		return enroll(ctx, opts, stdout)
	case "migrate-store":
		opts, err := parseMigrateStore(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		return migrateStore(ctx, opts, stdout)
	case "audit":
		opts, err := parseAudit(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		return audit(ctx, opts, stdout)
	case "import":
		opts, err := parseImport(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		return runImport(ctx, opts, stdout)
	case "rollup":
		opts, err := parseRollup(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		return rollup(ctx, opts, stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

// serveOptions are the settings of `patrold serve`.
type serveOptions struct {
	Addr       string
	DataDir    string
	Database   string // a PostgreSQL DSN; empty: SQLite in DataDir
	Demo       bool
	S3         s3store.Config
	MaxPhotoMB int
	MaxSyncs   int
	LogFormat  string
	LogLevel   string

	// What one device, and one user's devices, may have in progress.
	SyncsPerDevice, SyncsPerUser     int
	UploadsPerDevice, UploadsPerUser int
	SyncBodyTimeout                  time.Duration
	UploadMinRate                    int64 // bytes per second
	MetricsToken                     string
	// Zone is the bureau's time zone (workbench times); PublicURL the
	// address people open the workbench at.
	Zone      string
	PublicURL string
	// Timezone is the zone the compliance rollups count local days in and
	// run at 02:00 of; empty: Zone.
	Timezone string
	// Complaints are the time limits of complaint handling.
	Complaints schema.ComplaintLimits
	// PDFFont is the CJK TrueType font of the printable documents; empty:
	// the first of docs.DefaultFontPaths.
	PDFFont string
}

// envOr returns the environment value of key, or def when unset.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parseServe reads the serve flags; each flag's default is its PATROL_*
// variable, so adding a setting is one line here and one in serveOptions.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveOptions, error) {
	var o serveOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", envOr(getenv, "PATROL_ADDR", server.DefaultAddr), "listen address (PATROL_ADDR)")
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	databaseFlag(fs, &o.Database, getenv)
	demoDefault, _ := strconv.ParseBool(envOr(getenv, "PATROL_DEMO", "false"))
	fs.BoolVar(&o.Demo, "demo", demoDefault, "seed an empty data directory with the demo district (PATROL_DEMO)")
	fs.StringVar(&o.S3.Endpoint, "s3-endpoint", getenv("PATROL_S3_ENDPOINT"), "S3/MinIO endpoint host:port; empty keeps photos on local disk (PATROL_S3_ENDPOINT)")
	fs.StringVar(&o.S3.Bucket, "s3-bucket", envOr(getenv, "PATROL_S3_BUCKET", "patrol-photos"), "bucket, created if missing (PATROL_S3_BUCKET)")
	fs.StringVar(&o.S3.AccessKey, "s3-access-key", getenv("PATROL_S3_ACCESS_KEY"), "access key (PATROL_S3_ACCESS_KEY)")
	fs.StringVar(&o.S3.SecretKey, "s3-secret-key", getenv("PATROL_S3_SECRET_KEY"), "secret key (PATROL_S3_SECRET_KEY)")
	fs.StringVar(&o.S3.Region, "s3-region", getenv("PATROL_S3_REGION"), "region (PATROL_S3_REGION)")
	tlsDefault, _ := strconv.ParseBool(envOr(getenv, "PATROL_S3_TLS", "false"))
	fs.BoolVar(&o.S3.TLS, "s3-tls", tlsDefault, "use https to reach S3 (PATROL_S3_TLS)")
	photoMB, _ := strconv.Atoi(envOr(getenv, "PATROL_MAX_PHOTO_MB", "25"))
	fs.IntVar(&o.MaxPhotoMB, "max-photo-mb", photoMB, "largest photo accepted, in MB (PATROL_MAX_PHOTO_MB)")
	syncs, _ := strconv.Atoi(envOr(getenv, "PATROL_MAX_SYNCS", strconv.Itoa(server.DefaultMaxConcurrentSyncs)))
	fs.IntVar(&o.MaxSyncs, "max-syncs", syncs, "pulls and pushes served at once; more wait, then get 503 + Retry-After (PATROL_MAX_SYNCS)")
	intFlag := func(p *int, name, env string, def int, usage string) {
		v, _ := strconv.Atoi(envOr(getenv, env, strconv.Itoa(def)))
		fs.IntVar(p, name, v, usage+" ("+env+")")
	}
	intFlag(&o.SyncsPerDevice, "max-syncs-per-device", "PATROL_MAX_SYNCS_PER_DEVICE", server.DefaultMaxSyncsPerDevice,
		"pulls/pushes one device may have in progress; more get 429 + Retry-After")
	intFlag(&o.SyncsPerUser, "max-syncs-per-user", "PATROL_MAX_SYNCS_PER_USER", 0, "the same for all of one user's devices together; 0: twice the per-device share")
	intFlag(&o.UploadsPerDevice, "max-uploads-per-device", "PATROL_MAX_UPLOADS_PER_DEVICE", server.DefaultMaxUploadsPerDevice,
		"photo uploads one device may have in progress; more get 429 + Retry-After")
	intFlag(&o.UploadsPerUser, "max-uploads-per-user", "PATROL_MAX_UPLOADS_PER_USER", 0, "the same for all of one user's devices together; 0: twice the per-device share")
	intFlag(&o.Complaints.AcceptDays, "complaint-accept-days", "PATROL_COMPLAINT_ACCEPT_DAYS", schema.ComplaintAcceptDays,
		"days to decide whether a complaint is accepted; later it is overdue")
	intFlag(&o.Complaints.FinishDays, "complaint-finish-days", "PATROL_COMPLAINT_FINISH_DAYS", schema.ComplaintFinishDays,
		"days from acceptance to finish a complaint; later it is overdue")
	intFlag(&o.Complaints.MaxExtensionDays, "complaint-max-extension-days", "PATROL_COMPLAINT_MAX_EXTENSION_DAYS", schema.ComplaintMaxExtensionDays,
		"longest the one extension of a complaint may be, in days")
	bodyTimeout, err := time.ParseDuration(envOr(getenv, "PATROL_SYNC_BODY_TIMEOUT", server.DefaultSyncBodyTimeout.String()))
	if err != nil {
		return o, fmt.Errorf("serve: PATROL_SYNC_BODY_TIMEOUT: %w", err)
	}
	fs.DurationVar(&o.SyncBodyTimeout, "sync-body-timeout", bodyTimeout, "a pull or push body still arriving after this is cut with 503 (PATROL_SYNC_BODY_TIMEOUT)")
	minRate, _ := strconv.ParseInt(envOr(getenv, "PATROL_UPLOAD_MIN_RATE", strconv.Itoa(server.DefaultUploadMinRate)), 10, 64)
	fs.Int64Var(&o.UploadMinRate, "upload-min-rate", minRate,
		"slowest average photo upload, in bytes/s after a 30 s start; slower ones are cut and resume later (PATROL_UPLOAD_MIN_RATE)")
	// The token is read from the variable after parsing, so that -help
	// does not print it as a default.
	fs.StringVar(&o.MetricsToken, "metrics-token", "",
		"bearer token /metrics requires; empty serves /metrics to loopback clients only (PATROL_METRICS_TOKEN; prefer the variable, flags show in ps)")
	fs.StringVar(&o.Zone, "zone", envOr(getenv, "PATROL_ZONE", web.DefaultZone), "time zone of the bureau, in which the workbench shows times (PATROL_ZONE)")
	fs.StringVar(&o.Timezone, "timezone", getenv("PATROL_TIMEZONE"),
		"time zone whose local days the nightly rollups count, run at 02:00 of it; empty: --zone (PATROL_TIMEZONE)")
	fs.StringVar(&o.PublicURL, "public-url", getenv("PATROL_PUBLIC_URL"),
		"address people open the workbench at; https makes session cookies Secure behind a TLS proxy (PATROL_PUBLIC_URL)")
	fs.StringVar(&o.LogFormat, "log-format", envOr(getenv, "PATROL_LOG_FORMAT", "text"), "text or json (PATROL_LOG_FORMAT)")
	fs.StringVar(&o.LogLevel, "log-level", envOr(getenv, "PATROL_LOG_LEVEL", "info"), "debug, info, warn or error (PATROL_LOG_LEVEL)")
	fs.StringVar(&o.PDFFont, "pdf-font", getenv("PATROL_PDF_FONT"),
		"CJK TrueType (.ttf) font of the printable records and orders; empty: "+docs.DefaultFontPaths[0]+" (Debian "+docs.FontPackage+") or the next found (PATROL_PDF_FONT)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	// A font named but missing is a mistake to say at once; none named and
	// none found leaves only the PDF routes unavailable (the server warns).
	if o.PDFFont != "" {
		if _, err := docs.FindFont(o.PDFFont); err != nil {
			return o, fmt.Errorf("serve: --pdf-font: %w", err)
		}
	}
	if o.Zone == "" {
		o.Zone = web.DefaultZone
	}
	if o.Timezone == "" {
		o.Timezone = o.Zone
	}
	if _, err := time.LoadLocation(o.Timezone); err != nil {
		return o, fmt.Errorf("serve: --timezone %q: %w (an IANA name such as Asia/Shanghai)", o.Timezone, err)
	}
	if o.MetricsToken == "" {
		o.MetricsToken = getenv("PATROL_METRICS_TOKEN")
	}
	if o.Database == "" {
		o.Database = getenv("PATROL_DATABASE")
	}
	if err := checkDatabase(o.Database); err != nil {
		return o, fmt.Errorf("serve: %w", err)
	}
	if o.S3.Endpoint != "" && (o.S3.AccessKey == "" || o.S3.SecretKey == "") {
		return o, errors.New("serve: --s3-endpoint needs --s3-access-key and --s3-secret-key (or PATROL_S3_ACCESS_KEY and PATROL_S3_SECRET_KEY)")
	}
	if o.MaxPhotoMB <= 0 || o.MaxSyncs <= 0 {
		return o, errors.New("serve: --max-photo-mb and --max-syncs must be positive")
	}
	if o.SyncsPerDevice <= 0 || o.UploadsPerDevice <= 0 || o.SyncsPerUser < 0 || o.UploadsPerUser < 0 {
		return o, errors.New("serve: --max-syncs-per-device and --max-uploads-per-device must be positive, the per-user shares 0 (default) or positive")
	}
	if o.SyncBodyTimeout <= 0 || o.UploadMinRate <= 0 {
		return o, errors.New("serve: --sync-body-timeout and --upload-min-rate must be positive")
	}
	if o.Complaints.AcceptDays <= 0 || o.Complaints.FinishDays <= 0 || o.Complaints.MaxExtensionDays <= 0 {
		return o, errors.New("serve: --complaint-accept-days, --complaint-finish-days and --complaint-max-extension-days must be positive")
	}
	if err := schema.CheckComplaintLimits(o.Complaints); err != nil {
		return o, fmt.Errorf("serve: %w", err)
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		return o, fmt.Errorf("serve: --log-format must be text or json, not %q", o.LogFormat)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return o, fmt.Errorf("serve: --log-level %q: use debug, info, warn or error", o.LogLevel)
	}
	return o, nil
}

// enrollOptions are the settings of `patrold enroll`.
type enrollOptions struct {
	DataDir   string
	Database  string
	Inspector string
}

func parseEnroll(args []string, getenv func(string) string, stderr io.Writer) (enrollOptions, error) {
	var o enrollOptions
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	databaseFlag(fs, &o.Database, getenv)
	fs.StringVar(&o.Inspector, "inspector", "", "username of the inspector whose device enrols")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Database == "" {
		o.Database = getenv("PATROL_DATABASE")
	}
	if err := checkDatabase(o.Database); err != nil {
		return o, fmt.Errorf("enroll: %w", err)
	}
	if o.Inspector == "" {
		return o, errors.New("enroll: --inspector USERNAME is required")
	}
	return o, nil
}

// newLogger builds the structured logger of the server.
func newLogger(o serveOptions, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(o.LogLevel))
	opts := &slog.HandlerOptions{Level: lv}
	if o.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openBlobs picks the photo store: S3 when an endpoint is configured, else
// local disk inside the data directory. With S3, partial uploads are
// staged under the bucket's staging/ prefix (staging is non-nil), so that
// every replica resumes them; on local disk they stay in the data
// directory.
func openBlobs(ctx context.Context, o serveOptions) (blobs, staging storage.Store, where string, err error) {
	if o.S3.Endpoint == "" {
		dir := filepath.Join(o.DataDir, "blobs")
		s, err := storage.NewLocal(dir)
		return s, nil, "local disk " + dir, err
	}
	s, err := s3store.New(ctx, o.S3)
	if err != nil {
		return nil, nil, "", err
	}
	sc := o.S3
	sc.Prefix = strings.TrimSuffix(sc.Prefix, "/") + "/staging/"
	sc.Prefix = strings.TrimPrefix(sc.Prefix, "/")
	staging, err = s3store.New(ctx, sc)
	scheme := "http"
	if o.S3.TLS {
		scheme = "https"
	}
	return s, staging, fmt.Sprintf("S3 %s://%s/%s", scheme, o.S3.Endpoint, o.S3.Bucket), err
}

func serve(ctx context.Context, o serveOptions, stdout io.Writer) error {
	logger := newLogger(o, os.Stderr)
	blobs, staging, where, err := openBlobs(ctx, o)
	if err != nil {
		return fmt.Errorf("photo store: %w", err)
	}
	// The demo's complaints are stamped with the times of their own steps:
	// with --demo the store runs on a clock the seed may set, before the
	// server serves.
	var clock *demo.Clock
	var now func() time.Time
	if o.Demo {
		clock = demo.NewClock(time.Now)
		now = clock.Now
	}
	st, dbWhere, err := openStoreOn(ctx, o.Database, o.DataDir, now)
	if err != nil {
		return err
	}
	if o.Database != "" && o.S3.Endpoint == "" {
		logger.Warn("photos are kept on this replica's local disk: other replicas of the same database cannot serve them; set --s3-endpoint when running several")
	}
	zone, err := time.LoadLocation(o.Zone)
	if err != nil {
		st.Close()
		return fmt.Errorf("serve: --zone %q: %w (an IANA name such as Asia/Shanghai)", o.Zone, err)
	}
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		st.Close()
		return fmt.Errorf("serve: --timezone %q: %w", o.Timezone, err)
	}
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: o.DataDir, Addr: o.Addr, Logger: logger, Blobs: blobs, Staging: staging,
		MaxPhotoBytes: int64(o.MaxPhotoMB) << 20, MaxConcurrentSyncs: o.MaxSyncs,
		MaxSyncsPerDevice: o.SyncsPerDevice, MaxSyncsPerUser: o.SyncsPerUser,
		MaxUploadsPerDevice: o.UploadsPerDevice, MaxUploadsPerUser: o.UploadsPerUser,
		SyncBodyTimeout: o.SyncBodyTimeout, UploadMinRate: o.UploadMinRate, MetricsToken: o.MetricsToken,
		Zone: zone, Location: loc, PublicURL: o.PublicURL, ComplaintLimits: o.Complaints, PDFFont: o.PDFFont, Now: now})
	if err != nil {
		if st != nil {
			st.Close()
		}
		return err
	}
	defer srv.Close()
	if o.Demo {
		n, err := srv.Store().CountUsers(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			sum, err := demo.Seed(ctx, srv.Store(), demo.Options{HashPassword: auth.HashPassword, Clock: clock,
				PutPhoto: func(ctx context.Context, data []byte) error { _, err := srv.Photos().Ingest(ctx, data); return err }})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "demo district seeded: %d squads, %d users, %d venues (%d unlicensed), %d schools, %d past inspections, %d complaints\n",
				sum.Squads, sum.Users, sum.Venues, sum.Unlicensed, sum.Schools, sum.Inspections, sum.Complaints)
			// Its months of history get their rollups now, as if every night had run.
			days, _, err := srv.RollupSince(ctx, sum.Since)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "demo history rolled up: %d days\n", len(days))
		} else {
			fmt.Fprintf(stdout, "data directory already holds %d users; demo seed skipped\n", n)
		}
		fmt.Fprintf(stdout, "demo logins (password %q): admin, leader1…leader6, inspector1…inspector12\n", demo.Password)
	}
	jobs := cron.New(cron.WithLogger(cron.DiscardLogger))
	stopRollups, err := scheduleRollups(ctx, srv, logger)
	if err != nil {
		return err
	}
	defer stopRollups()
	if _, err := jobs.AddFunc("@hourly", func() {
		// Every replica's cron fires; the store's job lock lets one run it.
		c, ran, err := srv.HourlyCleanup(ctx)
		switch {
		case err != nil:
			logger.Error("hourly clean-up (abandoned photo uploads, aged-out login failures)", "err", err)
		case !ran:
			logger.Debug("hourly clean-up runs on another replica")
		case c.Uploads > 0 || c.Attempts > 0:
			logger.Info("hourly clean-up", "uploads_removed", c.Uploads, "attempt_rows_removed", c.Attempts)
		}
	}); err != nil {
		return err
	}
	jobs.Start()
	defer jobs.Stop()
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Long enough for a 25 MB photo over a poor mobile link; a cut
		// upload resumes from the bytes the server kept.
		ReadTimeout:  10 * time.Minute,
		WriteTimeout: 10 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "patrold serving http://%s (database %s, data %s, photos on %s)\n", ln.Addr(), dbWhere, o.DataDir, where)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func enroll(ctx context.Context, o enrollOptions, stdout io.Writer) error {
	st, _, err := openStore(ctx, o.Database, o.DataDir)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: o.DataDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		if st != nil {
			st.Close()
		}
		return err
	}
	defer srv.Close()
	code, err := srv.EnrollmentCode(ctx, o.Inspector, "patrold enroll")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "one-time enrollment code for %s (valid %s):\n%s\n", o.Inspector, server.DefaultEnrollmentTTL, code)
	return nil
}
