// Package server is the Patrol sync server: the HTTP API that devices sync
// through (login, enrollment, pull, push) and that squad leaders and admins
// use to read, review and correct what the field sent. Persistence lives in
// server/store, credentials in server/auth; this package is the HTTP layer
// and the authorization of every route.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/docs"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/observe"
	"github.com/patrolhq/patrol/server/photos"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/storage"
)

// Defaults of a Config.
const (
	DefaultTokenTTL       = 12 * time.Hour
	DefaultDeviceTokenTTL = 90 * 24 * time.Hour
	DefaultEnrollmentTTL  = 24 * time.Hour
	DefaultAddr           = "127.0.0.1:8080"
	DefaultDataDir        = "./patrol-data"
	DBFileName            = "patrol.db"
	// DefaultMaxConcurrentSyncs lets a district's morning rush queue on the
	// single SQLite writer without piling up memory: pushes serialise on the
	// writer anyway, and pulls are cheap reads.
	DefaultMaxConcurrentSyncs   = 32
	DefaultMaxConcurrentUploads = 16
	// DefaultMaxSyncsPerDevice and DefaultMaxUploadsPerDevice leave room
	// for a retry overlapping its predecessor (the device library runs one
	// sync and one upload at a time) while no device can take a district's
	// slots; a user's devices together get twice as many by default.
	DefaultMaxSyncsPerDevice   = 2
	DefaultMaxUploadsPerDevice = 2
	// DefaultSyncBodyTimeout is how long a pull or push body may take to
	// arrive: a batch of a thousand inspections is a few hundred kB gzipped,
	// which a poor mobile link sends in seconds; what is still trickling
	// after this is stalled or hostile.
	DefaultSyncBodyTimeout = 30 * time.Second
	// DefaultUploadMinRate (bytes/s, averaged) and DefaultUploadGrace are
	// the floor a photo upload must keep after its start: far below any
	// working mobile link, far above a socket held open a byte at a time.
	DefaultUploadMinRate = 1024
	DefaultUploadGrace   = 30 * time.Second
)

// Config configures a Server. Zero values take the defaults, so a Server
// runs with nothing but a data directory.
type Config struct {
	// Store is where the server persists; nil opens the embedded SQLite
	// store in DataDir.
	Store   store.Store
	DataDir string
	Addr    string
	Now     func() time.Time
	Logger  *slog.Logger
	// Location is the bureau's zone for the rollups: their days are its
	// local dates and the nightly run is at 02:00 in it. Nil: Zone, or
	// else jobs.DefaultTimezone.
	Location *time.Location
	Blobs    storage.Store // photo store; when set, the photo upload and read routes are mounted
	// Staging, when set, keeps the pieces of partial photo uploads (their
	// state goes into Store), so that an upload cut on one replica resumes
	// on any other: a blob store every replica shares, apart from Blobs
	// (an S3 bucket's staging/ prefix). Nil: partial uploads stay in the
	// data directory, which suits one replica.
	Staging        storage.Store
	TokenTTL       time.Duration // user sessions
	DeviceTokenTTL time.Duration
	EnrollmentTTL  time.Duration
	MaxBodyBytes   int64 // bound of a push body (compressed and decompressed); default schema.MaxPushBytes
	// Middleware runs on every request inside the server's metrics and
	// request-log middleware; SyncMiddleware only on pull and push.
	Middleware     []echo.MiddlewareFunc
	SyncMiddleware []echo.MiddlewareFunc
	// Metrics receives the server's Prometheus metrics; nil makes a new set.
	Metrics *observe.Metrics
	// MaxConcurrentSyncs bounds pulls and pushes served at once; a request
	// beyond it waits up to SyncQueueWait for a slot, then gets 503 with
	// Retry-After. MaxConcurrentUploads does the same for photo uploads.
	MaxConcurrentSyncs   int
	MaxConcurrentUploads int
	SyncQueueWait        time.Duration
	RetryAfter           time.Duration
	// MaxSyncsPerDevice and MaxSyncsPerUser bound the pulls and pushes one
	// device, and one user's devices together, have in progress (receiving
	// their body or being served); beyond them a request gets 429 with
	// Retry-After at once. MaxUploadsPerDevice and MaxUploadsPerUser do the
	// same for photo uploads. Per-user defaults are twice the per-device ones.
	MaxSyncsPerDevice   int
	MaxSyncsPerUser     int
	MaxUploadsPerDevice int
	MaxUploadsPerUser   int
	// SyncBodyTimeout bounds the arrival of a pull or push body, which is
	// read whole before the request takes a sync slot; a body still
	// arriving after it is cut with 503 timeout.
	SyncBodyTimeout time.Duration
	// UploadMinRate (bytes per second, on average after UploadGrace) is the
	// slowest a photo upload body may arrive; a slower one is cut, and the
	// device resumes it from the bytes the server kept.
	UploadMinRate int64
	UploadGrace   time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires; when
	// empty, /metrics is served only to loopback clients.
	MetricsToken string
	// MaxPhotoBytes is the largest photo accepted; default schema.DefaultMaxPhotoSize.
	MaxPhotoBytes int64
	// RequestTimeout bounds the work of one API request (not the time to
	// stream a photo); past it the device gets 503 timeout and retries.
	RequestTimeout time.Duration
	// LoginAttempts failed logins of one account within LoginWindow are
	// free; after them each attempt waits a delay that doubles from 1 s up to
	// LoginMaxDelay after the account's last failure (so the owner's right
	// password gets through after at most LoginMaxDelay, while guessing stays
	// near one a minute). Addresses the account logged in from before count
	// apart, so a guesser elsewhere does not delay the owner there at all.
	// LoginAddressAttempts failed logins from one client address within
	// LoginWindow refuse that address until they age out.
	LoginAttempts        int
	LoginWindow          time.Duration
	LoginMaxDelay        time.Duration
	LoginAddressAttempts int
	// EnrollAttempts failed enrollments (well-formed codes that match none)
	// from one address within LoginWindow refuse that address until they age
	// out; EnrollAttemptsPerHour across all addresses refuse everyone, which
	// keeps guessing a code infeasible however many addresses guess.
	EnrollAttempts        int
	EnrollAttemptsPerHour int
	// MaxConcurrentLogins bounds the password checks (argon2id, 19 MiB each)
	// run at once; LoginQueue more wait up to 2 s for one, and a login beyond
	// that gets 503 + Retry-After before any hashing. The default is
	// auth.DefaultWorkers (GOMAXPROCS, lowered to fit a quarter of the
	// memory), with a queue of four per worker.
	MaxConcurrentLogins int
	LoginQueue          int
	// Zone is the bureau's time zone, in which the workbench shows times;
	// nil is Asia/Shanghai.
	Zone *time.Location
	// ComplaintLimits are the time limits of complaint handling (days to
	// decide acceptance, to finish, and of the one extension); a zero field
	// is its default (schema.DefaultComplaintLimits).
	ComplaintLimits schema.ComplaintLimits
	// PublicURL is the address people open the workbench at; when it is
	// https (TLS ends at a proxy in front), session cookies are Secure on
	// every request, not only on requests that arrive over TLS.
	PublicURL string
	// PDFFont is the CJK TrueType font the printable documents (record,
	// order to correct, re-check record) are set in; empty: the first of
	// docs.DefaultFontPaths that exists. It is read on the first document;
	// without one those routes answer 503 naming the package to install.
	PDFFont string
}

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil && c.Zone != nil {
		c.Location = c.Zone
	}
	if c.Location == nil {
		loc, err := time.LoadLocation(jobs.DefaultTimezone)
		if err != nil {
			loc = time.FixedZone("CST", 8*3600) // no zone database: Beijing time has had no DST since 1991
		}
		c.Location = loc
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := schema.DefaultComplaintLimits()
	if c.ComplaintLimits.AcceptDays <= 0 {
		c.ComplaintLimits.AcceptDays = def.AcceptDays
	}
	if c.ComplaintLimits.FinishDays <= 0 {
		c.ComplaintLimits.FinishDays = def.FinishDays
	}
	if c.ComplaintLimits.MaxExtensionDays <= 0 {
		c.ComplaintLimits.MaxExtensionDays = def.MaxExtensionDays
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.DeviceTokenTTL <= 0 {
		c.DeviceTokenTTL = DefaultDeviceTokenTTL
	}
	if c.EnrollmentTTL <= 0 {
		c.EnrollmentTTL = DefaultEnrollmentTTL
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = schema.MaxPushBytes
	}
	if c.LoginAttempts <= 0 {
		c.LoginAttempts = 5
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = 15 * time.Minute
	}
	if c.LoginMaxDelay <= 0 {
		c.LoginMaxDelay = time.Minute
	}
	if c.LoginAddressAttempts <= 0 {
		c.LoginAddressAttempts = 20
	}
	if c.EnrollAttempts <= 0 {
		c.EnrollAttempts = 20
	}
	if c.EnrollAttemptsPerHour <= 0 {
		c.EnrollAttemptsPerHour = 1000
	}
	if c.MaxConcurrentLogins <= 0 {
		c.MaxConcurrentLogins = auth.DefaultWorkers()
	}
	if c.LoginQueue <= 0 {
		c.LoginQueue = 4 * c.MaxConcurrentLogins
	}
	if c.Metrics == nil {
		c.Metrics = observe.NewMetrics()
	}
	if c.MaxConcurrentSyncs <= 0 {
		c.MaxConcurrentSyncs = DefaultMaxConcurrentSyncs
	}
	if c.MaxConcurrentUploads <= 0 {
		c.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	if c.SyncQueueWait <= 0 {
		c.SyncQueueWait = 10 * time.Second
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 2 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 60 * time.Second
	}
	if c.MaxSyncsPerDevice <= 0 {
		c.MaxSyncsPerDevice = DefaultMaxSyncsPerDevice
	}
	if c.MaxSyncsPerUser <= 0 {
		c.MaxSyncsPerUser = 2 * c.MaxSyncsPerDevice
	}
	if c.MaxUploadsPerDevice <= 0 {
		c.MaxUploadsPerDevice = DefaultMaxUploadsPerDevice
	}
	if c.MaxUploadsPerUser <= 0 {
		c.MaxUploadsPerUser = 2 * c.MaxUploadsPerDevice
	}
	if c.SyncBodyTimeout <= 0 {
		c.SyncBodyTimeout = DefaultSyncBodyTimeout
	}
	if c.UploadMinRate <= 0 {
		c.UploadMinRate = DefaultUploadMinRate
	}
	if c.UploadGrace <= 0 {
		c.UploadGrace = DefaultUploadGrace
	}
}

// Server is the sync server. Build it with New, serve Handler, and Close it
// after the HTTP server has shut down.
type Server struct {
	cfg      Config
	store    store.Store
	echo     *echo.Echo
	log      *slog.Logger
	failures attemptLimiter
	limits   attemptLimits
	checks   *auth.Checker   // password checks in flight
	api      *echo.Group     // the /api/v1 group, without group middleware
	photos   *photos.Service // nil without a blob store
	metrics  *observe.Metrics
	syncs    *observe.Limiter // pulls and pushes in flight
	uploads  *observe.Limiter // photo uploads in flight
	clocks   clockSamples     // when each device's clock offset was last recorded
	pdfFont  fontCache        // the printable documents' font, read once
	pdfSlots chan struct{}    // documents being rendered

	// syncShare and uploadShare cap the syncs and uploads one device or
	// user has in progress.
	syncShare, uploadShare *observe.Share
}

// New builds the server on cfg.Store or, when that is nil, on the embedded
// default: the SQLite store DataDir/patrol.db, created and migrated if
// needed. The server closes the store it is given or opens.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	st := cfg.Store
	if st == nil {
		sq, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, DBFileName), cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		st = sq
	}
	m := cfg.Metrics
	if cfg.Blobs != nil {
		cfg.Blobs = observe.InstrumentStore(cfg.Blobs, m)
	}
	s := &Server{cfg: cfg, store: st, log: cfg.Logger, metrics: m,
		failures: newAttemptLimiter(st, cfg.Now),
		limits:   newAttemptLimits(cfg),
		checks:   auth.NewChecker(cfg.MaxConcurrentLogins, cfg.LoginQueue, loginQueueWait),
		syncs:    observe.NewLimiter(cfg.MaxConcurrentSyncs, cfg.SyncQueueWait, cfg.RetryAfter, m),
		uploads:  observe.NewLimiter(cfg.MaxConcurrentUploads, cfg.SyncQueueWait, cfg.RetryAfter, m),
		pdfSlots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
	s.uploads.What = "photo uploads"
	s.syncShare = observe.NewShare("syncs", cfg.RetryAfter, m)
	s.uploadShare = observe.NewShare("photo uploads", cfg.RetryAfter, m)
	s.routes()
	if _, err := docs.FindFont(cfg.PDFFont); err != nil {
		s.log.Warn("printable documents (record, order and re-check PDFs) are unavailable until a font is installed", "err", err)
	}
	if cfg.Blobs != nil {
		svc, err := photos.New(st, cfg.Blobs, filepath.Join(cfg.DataDir, "staging"))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("server: %w", err)
		}
		svc.Now, svc.Logger = cfg.Now, cfg.Logger
		if cfg.Staging != nil {
			svc.Uploads, svc.Staging = st, cfg.Staging
		}
		if cfg.MaxPhotoBytes > 0 {
			svc.MaxSize = cfg.MaxPhotoBytes
		}
		svc.UploadMiddleware = s.uploadChain()
		svc.OnReceive = func(n int64) { m.PhotoBytes.Add(float64(n)) }
		svc.OnStored = m.PhotosStored.Inc
		svc.Mount(s.api, s.PhotoAccess())
		s.photos = svc
	}
	s.registerGauges()
	s.registerLoginMetrics()
	return s, nil
}

// syncChain is the middleware of pull and push, in this order: the device
// is authenticated; it may hold only its share of syncs (429 beyond); its
// body, bounded to limit bytes, arrives within SyncBodyTimeout; only then
// does it queue for one of the global sync slots, which therefore always
// serve work that can proceed.
func (s *Server) syncChain(limit int64) []echo.MiddlewareFunc {
	chain := []echo.MiddlewareFunc{
		s.authenticate(deviceToken),
		s.syncShare.Middleware(s.holders(s.cfg.MaxSyncsPerDevice, s.cfg.MaxSyncsPerUser)),
		observe.ReadBodyFirst(limit, s.cfg.SyncBodyTimeout),
		s.syncs.Middleware(),
	}
	return append(chain, s.cfg.SyncMiddleware...)
}

// uploadChain is the middleware of a photo upload. A photo streams to
// staging as it arrives and cannot wait in memory, so its upload slot is
// held while the body arrives; the share caps how many slots one device or
// user holds, and the minimum rate cuts a body that stops moving (the
// device resumes it from the bytes kept). The photo routes authorize the
// caller themselves; any valid token passes here.
func (s *Server) uploadChain() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		s.authenticate(anyToken),
		s.uploadShare.Middleware(s.holders(s.cfg.MaxUploadsPerDevice, s.cfg.MaxUploadsPerUser)),
		observe.MinRate(s.cfg.UploadGrace, s.cfg.UploadMinRate),
		s.uploads.Middleware(),
	}
}

// holders names whom a request counts against: its device and the device's
// user, or the user of a session token.
func (s *Server) holders(perDevice, perUser int) func(echo.Context) []observe.Holder {
	return func(c echo.Context) []observe.Holder {
		p := principal(c)
		user := observe.Holder{Key: "user:" + p.UserID, Limit: perUser, Who: "your account (" + p.Username + "), on all its devices,"}
		if !p.IsDevice() {
			return []observe.Holder{user}
		}
		return []observe.Holder{{Key: "device:" + p.DeviceID, Limit: perDevice, Who: "this device"}, user}
	}
}

// Handler is the HTTP handler of the whole API.
func (s *Server) Handler() *echo.Echo { return s.echo }

// Store gives the wiring (demo seed, rollups) and tests the store the
// server runs on.
func (s *Server) Store() store.Store { return s.store }

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Photos returns the photo service mounted on the API, or nil when the
// server runs without a blob store.
func (s *Server) Photos() *photos.Service { return s.photos }

// API returns the /api/v1 route group for route packages mounted beside the
// core (photo uploads stream large bodies and bound them themselves). It
// carries no middleware: such routes authenticate through PhotoAccess (or
// Authenticate), which puts the principal under auth.ContextKey.
func (s *Server) API() *echo.Group { return s.api }

// Authenticate resolves the request's bearer token (of any kind) or session
// cookie, stores the principal in the echo context under auth.ContextKey and
// returns it; the error is a *schema.Error unauthorized saying what is wrong
// with the token (or forbidden for a cross-site request by cookie).
func (s *Server) Authenticate(c echo.Context) (*auth.Principal, error) {
	if p, ok := c.Get(auth.ContextKey).(*auth.Principal); ok && p != nil {
		return p, nil
	}
	return s.resolveToken(c)
}

// Close finishes the queued thumbnails and closes the database.
func (s *Server) Close() error {
	if s.photos != nil {
		s.photos.WaitThumbnails()
	}
	return s.store.Close()
}

// EnrollmentCode issues a one-time enrollment code for an inspector's new
// device, valid for the configured EnrollmentTTL. It does no authorization:
// the API checks the caller first, and the command line runs as the operator.
func (s *Server) EnrollmentCode(ctx context.Context, inspectorUsername, createdBy string) (string, error) {
	code, _, err := s.enrollmentCode(ctx, inspectorUsername, createdBy)
	return code, err
}

func (s *Server) enrollmentCode(ctx context.Context, username, createdBy string) (string, time.Time, error) {
	username = auth.CanonicalUsername(username)
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("server: enrollment code: %w", err)
	}
	if u.Disabled {
		return "", time.Time{}, schema.Errorf(schema.CodeInvalid, "user %s is disabled", username)
	}
	if u.SquadID == nil {
		return "", time.Time{}, schema.Errorf(schema.CodeInvalid, "user %s belongs to no squad; devices sync a squad's data", username)
	}
	code, err := auth.NewEnrollmentCode()
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.cfg.Now().Add(s.cfg.EnrollmentTTL)
	if err := s.store.CreateEnrollmentCode(ctx, auth.HashEnrollmentCode(code), u.ID, createdBy, exp); err != nil {
		return "", time.Time{}, fmt.Errorf("server: enrollment code: %w", err)
	}
	return code, exp, nil
}
