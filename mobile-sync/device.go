package mobilesync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/patrolhq/patrol/schema"
)

// Options configures a Device. Everything that touches the outside world
// (clock, network, sleeping, randomness) is injectable so that tests can
// run a device three hours off, through a faulty network, without waiting.
type Options struct {
	Path       string                                           // SQLite file of the device
	HTTPClient *http.Client                                     // nil: a client with sane timeouts
	Now        func() time.Time                                 // device wall clock; nil: time.Now
	Logger     *slog.Logger                                     // nil: discard
	Sleep      func(ctx context.Context, d time.Duration) error // backoff sleeps; nil: a real timer
	Rand       func() float64                                   // jitter in [0,1); nil: math/rand/v2
	PushBatch  int                                              // mutations per push request; 0: DefaultPushBatch
	PullLimit  int                                              // rows per pull page; 0: DefaultPullLimit
	// MaxAttempts bounds the tries of one request within a Sync; 0: 6.
	MaxAttempts int
	// PhotoDir holds the device's copies of attached photos; "": Path + ".photos".
	PhotoDir string
	// Progress, when set, is told how a sync's photo uploads advance, so a
	// screen can show bytes and files (it may be called from another
	// goroutine).
	Progress func(PhotoProgress)
}

// PhotoProgress is where a sync's photo uploads stand.
type PhotoProgress struct {
	File, Files int   // the photo being sent (1-based) of how many
	Bytes       int64 // bytes of the pending photos the server holds, counted so far
	TotalBytes  int64 // bytes of all pending photos
}

// Defaults of Options.
const (
	DefaultPushBatch = schema.MaxMutationsPerPush
	// DefaultPullLimit asks for pages of 5,000 rows (the server's largest):
	// a first pull of a district is a few pages, each one local transaction.
	DefaultPullLimit   = 5000
	DefaultMaxAttempts = 6
	BackoffBase        = 200 * time.Millisecond
	BackoffCap         = 30 * time.Second
	maxRetryAfter      = 5 * time.Minute
)

// Meta keys of the device's meta table.
const (
	metaNode       = "node" // HLC node before enrolment
	metaDeviceID   = "device_id"
	metaToken      = "token"
	metaUsername   = "username"
	metaSquadID    = "squad_id"
	metaServerURL  = "server_url"
	metaDeviceName = "device_name"
	metaCursor     = "cursor"
	metaHLC        = "hlc"
	metaOffsetMS   = "clock_offset_ms"
	metaLastSync   = "last_sync"
)

// Device is one field device: its local store, its clock and its way to the
// server. It is safe for concurrent use; syncs run one at a time.
type Device struct {
	db     *schema.DB
	opts   Options
	clock  atomic.Pointer[schema.Clock]
	log    *slog.Logger
	syncMu sync.Mutex    // one sync or enrolment at a time
	photos PhotoUploader // guarded by syncMu
	// zones caches the school index of zone checks; zoneGen counts the
	// pulls that changed schools or rules, and a cache of an older
	// generation is rebuilt.
	zones   atomic.Pointer[zoneData]
	zoneGen atomic.Uint64
}

// Identity is who this device is to the server.
type Identity struct {
	DeviceID  string `json:"device_id"`
	Username  string `json:"username"`
	SquadID   int64  `json:"squad_id"`
	ServerURL string `json:"server_url"`
}

// Open opens (creating and migrating if needed) the device store at
// opts.Path, restores the clock, and re-queues mutations a crash left
// marked in flight: the server answers any it already has as duplicates.
func Open(ctx context.Context, opts Options) (*Device, error) {
	if opts.Path == "" {
		return nil, errors.New("mobilesync: open: no database path")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.PullLimit <= 0 {
		opts.PullLimit = DefaultPullLimit
	}
	if opts.PushBatch <= 0 {
		opts.PushBatch = DefaultPushBatch
	}
	if opts.PushBatch > schema.MaxMutationsPerPush {
		opts.PushBatch = schema.MaxMutationsPerPush
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultHTTPClient()
	}
	db, err := schema.OpenMigrated(ctx, opts.Path, schema.MigrationsDevice)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: open %s: %w", opts.Path, err)
	}
	d := &Device{db: db, opts: opts, log: opts.Logger}
	if err := d.restore(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("mobilesync: open %s: %w", opts.Path, err)
	}
	return d, nil
}

// restore rebuilds the clock from meta and clears in-flight marks.
func (d *Device) restore(ctx context.Context) error {
	return d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		m, err := readMeta(ctx, tx)
		if err != nil {
			return err
		}
		node := m[metaDeviceID]
		if node == "" {
			node = m[metaNode]
		}
		if node == "" {
			node = uuid.NewString()
			if err := putMeta(ctx, tx, metaNode, node); err != nil {
				return err
			}
		}
		d.clock.Store(schema.NewClock(node, d.opts.Now))
		if off, err := strconv.ParseInt(m[metaOffsetMS], 10, 64); err == nil {
			d.Clock().SetOffset(-time.Duration(off) * time.Millisecond)
		}
		if h, err := schema.ParseHLC(m[metaHLC]); err == nil {
			d.Clock().Observe(h)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET inflight = 0 WHERE inflight <> 0`); err != nil {
			return fmt.Errorf("reset inflight: %w", err)
		}
		return nil
	})
}

// Close closes the local store.
func (d *Device) Close() error { return d.db.Close() }

// DB exposes the local store to companion packages (photo import) that
// add rows in their own transactions; callers must keep to the device
// schema's rules.
func (d *Device) DB() *schema.DB { return d.db }

// Clock is the device's hybrid logical clock, corrected by the measured
// server offset; companion packages stamp their records with it.
func (d *Device) Clock() *schema.Clock { return d.clock.Load() }

// setNode replaces the clock by one whose node is the enrolled device id,
// carrying over everything the old one issued or observed.
func (d *Device) setNode(node string) {
	old := d.Clock()
	if old.Node == node {
		return
	}
	c := schema.NewClock(node, d.opts.Now)
	c.SetOffset(old.Offset())
	c.Observe(old.Last())
	d.clock.Store(c)
}

// Identity returns the enrolled identity, or ErrNotEnrolled.
func (d *Device) Identity(ctx context.Context) (Identity, error) {
	m, err := readMeta(ctx, d.db.R)
	if err != nil {
		return Identity{}, fmt.Errorf("mobilesync: identity: %w", err)
	}
	return identityOf(m)
}

func identityOf(m map[string]string) (Identity, error) {
	if m[metaToken] == "" || m[metaDeviceID] == "" {
		return Identity{}, ErrNotEnrolled
	}
	sq, _ := strconv.ParseInt(m[metaSquadID], 10, 64)
	return Identity{DeviceID: m[metaDeviceID], Username: m[metaUsername], SquadID: sq, ServerURL: m[metaServerURL]}, nil
}

// queryer is what both *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readMeta(ctx context.Context, q queryer) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read meta: %w", err)
		}
		m[k] = v
	}
	return m, rows.Err()
}

func getMeta(ctx context.Context, q queryer, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, err)
	}
	return v, nil
}

func putMeta(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}

// tick issues a new HLC and persists the clock in the same transaction, so
// a restarted device never issues a timestamp it issued before.
func (d *Device) tick(ctx context.Context, tx *sql.Tx) (schema.HLC, error) {
	h := d.Clock().Tick()
	return h, putMeta(ctx, tx, metaHLC, h.String())
}

// enrolled reads the identity inside a transaction.
func enrolled(ctx context.Context, q queryer) (Identity, error) {
	m, err := readMeta(ctx, q)
	if err != nil {
		return Identity{}, err
	}
	return identityOf(m)
}

func defaultHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		// Photo uploads send Expect: 100-continue so that a PATCH at a
		// stale offset is refused before its body goes out. Without a
		// timeout here the transport ignores the header and sends the body
		// at once; the unread interim answer then turns a dropped upload
		// into a reset that also discards what the server had buffered.
		ExpectContinueTimeout: 2 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}
}

func sleepCtx(ctx context.Context, dur time.Duration) error {
	if dur <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newID returns a UUIDv7: time-ordered ids keep the outbox and the
// server's indexes in insertion order.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}
