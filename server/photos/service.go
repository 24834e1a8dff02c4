package photos

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// HeaderStored is "true" on upload answers for a photo the server already
// stores, so that no device sends it again.
const HeaderStored = schema.HeaderStored

// Defaults of a Service.
const (
	DefaultMaxPixels  = schema.DefaultMaxPhotoPixels // the limit the device checks at import too
	DefaultThumbSize  = 320                          // longest side of a thumbnail, in pixels
	DefaultCheckpoint = 4 << 20                      // bytes between durable staging points
	DefaultLockWait   = 5 * time.Second
)

// copyBufferSize is the buffer through which upload bodies stream: a photo
// is never held in memory whole.
const copyBufferSize = 32 << 10

// Service receives and serves photos. Fields may be set after New; zero
// values fall back to the defaults.
type Service struct {
	Records    store.Photos // the photo records (the bytes live in Blobs)
	Blobs      storage.Store
	StagingDir string // partial uploads live here until verified, unless Uploads and Staging are set
	// Uploads and Staging, when both are set, keep partial uploads where
	// every replica sees them: their durable state in Uploads (the
	// database) and their bytes as pieces in Staging (a blob store the
	// replicas share, apart from Blobs), so that an upload cut on one
	// replica resumes on any other (see shared.go). StagingDir then only
	// spools the piece being received.
	Uploads    store.Uploads
	Staging    storage.Store
	MaxSize    int64         // largest accepted photo in bytes; default schema.DefaultMaxPhotoSize
	MaxPixels  int64         // largest accepted width×height; default DefaultMaxPixels
	ThumbSize  int           // longest side of thumbnails; default DefaultThumbSize
	Checkpoint int64         // bytes between fsynced staging states; default DefaultCheckpoint
	LockWait   time.Duration // how long a PATCH waits for another upload of the same photo; default DefaultLockWait
	Now        func() time.Time
	Logger     *slog.Logger
	// UploadMiddleware wraps the PATCH route (the server bounds concurrent
	// uploads with it).
	UploadMiddleware []echo.MiddlewareFunc
	// OnReceive, when set, is told of every photo byte staged (metrics).
	OnReceive func(n int64)
	// OnStored, when set, is told of every photo committed to the store.
	OnStored func()

	// ThumbBudget bounds the memory, in bytes, that thumbnail decodes hold
	// at once, by their estimates from the photos' headers; default
	// DefaultThumbBudget(). ThumbWorkers bounds how many decode at once;
	// default DefaultThumbWorkers(). Both are read when the first
	// thumbnail is made.
	ThumbBudget  int64
	ThumbWorkers int

	locks    shaLocks
	thumbs   thumbQueue
	poolOnce sync.Once
	decodes  *decodePool
	counts   thumbCounts
	// thumbWaitFor replaces defaultThumbWait in tests.
	thumbWaitFor time.Duration
}

// New returns a Service that stages partial uploads under stagingDir
// (created if missing) and commits verified photos to blobs.
func New(records store.Photos, blobs storage.Store, stagingDir string) (*Service, error) {
	if err := os.MkdirAll(stagingDir, 0o750); err != nil {
		return nil, fmt.Errorf("photos: staging dir: %w", err)
	}
	return &Service{
		Records: records, Blobs: blobs, StagingDir: stagingDir,
		MaxSize: schema.DefaultMaxPhotoSize, MaxPixels: DefaultMaxPixels, ThumbSize: DefaultThumbSize,
		Checkpoint: DefaultCheckpoint, LockWait: DefaultLockWait,
		Now: time.Now, Logger: slog.Default(),
	}, nil
}

func (s *Service) maxSize() int64 {
	if s.MaxSize > 0 {
		return s.MaxSize
	}
	return schema.DefaultMaxPhotoSize
}

func (s *Service) maxPixels() int64 {
	if s.MaxPixels > 0 {
		return s.MaxPixels
	}
	return DefaultMaxPixels
}

func (s *Service) thumbSize() int {
	if s.ThumbSize > 0 {
		return s.ThumbSize
	}
	return DefaultThumbSize
}

func (s *Service) thumbBudget() int64 {
	if s.ThumbBudget > 0 {
		return s.ThumbBudget
	}
	return DefaultThumbBudget()
}

func (s *Service) thumbWorkers() int {
	if s.ThumbWorkers > 0 {
		return s.ThumbWorkers
	}
	return DefaultThumbWorkers()
}

func (s *Service) checkpoint() int64 {
	if s.Checkpoint > 0 {
		return s.Checkpoint
	}
	return DefaultCheckpoint
}

func (s *Service) lockWait() time.Duration {
	if s.LockWait > 0 {
		return s.LockWait
	}
	return DefaultLockWait
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Access decides who may upload and read a photo. The server core
// implements it from the caller's token; errors are *schema.Error
// (forbidden or not_found) and are returned to the caller as they are.
type Access interface {
	// CanUpload allows a device to send the bytes of sha: only devices
	// whose inspections name it, with a proven or a pending claim
	// (store.Photos.DevicePhotoClaim). It says who sends them.
	CanUpload(c echo.Context, sha string) (Upload, error)
	// CanRead allows a user to fetch the photo: leaders of a squad whose
	// inspections name it with a proven claim
	// (store.Photos.SquadsReferencingPhoto), devices whose own claim is
	// proven, and admins.
	CanRead(c echo.Context, sha string) error
}

// Upload is a device's right to send a photo's bytes. A device whose claim
// to the photo is Proven is told that a stored photo is stored, and sends
// nothing. Any other device is answered as if the server had no such
// photo, whether or not it has: its upload is staged and verified like any
// other, proves its claim once the bytes hash to the name (the bytes are
// stored once), and until then it learns nothing of another device's
// photo or upload.
type Upload struct {
	By     store.Uploader
	Proven bool
}

// Mount registers the photo routes on the /api/v1 group g.
func (s *Service) Mount(g *echo.Group, acc Access) {
	uploads := strings.TrimPrefix(schema.PathUploads, schema.APIPrefix) + "/:sha"
	photos := strings.TrimPrefix(schema.PathPhotos, schema.APIPrefix) + "/:sha"
	g.HEAD(uploads, func(c echo.Context) error { return s.headUpload(c, acc) })
	g.PATCH(uploads, func(c echo.Context) error { return s.patchUpload(c, acc) }, s.UploadMiddleware...)
	g.HEAD(photos, func(c echo.Context) error { return s.headPhoto(c, acc) })
	g.GET(photos, func(c echo.Context) error { return s.getPhoto(c, acc) })
	g.GET(photos+"/thumb", func(c echo.Context) error { return s.getThumb(c, acc) })
}

// shaLocks serialises uploads of one hash; uploads of different hashes run
// in parallel.
type shaLocks struct {
	mu sync.Mutex
	m  map[string]*shaLock
}

type shaLock struct {
	ch   chan struct{}
	refs int
}

// lock takes the lock of sha, waiting up to wait; ok is false on timeout
// or when ctx ends.
func (l *shaLocks) lock(ctx context.Context, sha string, wait time.Duration) (unlock func(), ok bool) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*shaLock)
	}
	e := l.m[sha]
	if e == nil {
		e = &shaLock{ch: make(chan struct{}, 1)}
		l.m[sha] = e
	}
	e.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, sha)
		}
		l.mu.Unlock()
	}
	unlock = func() { <-e.ch; release() }
	select {
	case e.ch <- struct{}{}:
		return unlock, true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case e.ch <- struct{}{}:
		return unlock, true
	case <-t.C:
	case <-ctx.Done():
	}
	release()
	return nil, false
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// shaParam reads and checks the :sha path parameter.
func shaParam(c echo.Context) (string, error) {
	sha := c.Param("sha")
	if !validSHA(sha) {
		if len(sha) > 70 {
			sha = sha[:70] + "…"
		}
		return "", schema.Errorf(schema.CodeInvalid, "%q is not a photo hash: expected 64 lowercase hex digits (SHA-256)", sha)
	}
	return sha, nil
}

func short(sha string) string { return sha[:12] }
