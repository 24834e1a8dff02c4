package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/storage"
)

// env is one in-process server on a loopback port with a small demo district.
type env struct {
	t     *testing.T
	srv   *server.Server
	ts    *servertest.Server
	URL   string
	Data  string
	Blobs storage.Store
}

// quietLogger keeps test output readable; failures print their own detail.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

func newEnvWith(t *testing.T, tweak func(*server.Config)) *env {
	t.Helper()
	ts := servertest.Start(t, servertest.Options{Config: tweak,
		Demo: &demo.Options{Venues: 60, Schools: 12, MonthsHistory: 1}})
	return &env{t: t, srv: ts.Server(), ts: ts, URL: ts.URL, Data: ts.DataDir, Blobs: ts.Blobs}
}

// client is a plain API client for leaders and admins.
type client struct {
	*servertest.Client
	t     *testing.T
	base  string
	token string
}

func (e *env) login(user string) *client {
	e.t.Helper()
	var c *servertest.Client
	if e.ts != nil {
		c = e.ts.Login(user)
	} else { // a patrold process seeded with --demo
		c = servertest.Login(e.t, e.URL, user, demo.Password)
	}
	return &client{Client: c, t: e.t, base: c.URL, token: c.Token()}
}

// call sends a JSON request and decodes a 2xx JSON answer into out; it
// returns the status and fails the test only on transport errors.
func (c *client) call(method, path string, in, out any) int {
	c.t.Helper()
	return c.Call(method, path, in, out)
}

func (c *client) enrollmentCode(user string) string {
	c.t.Helper()
	code, err := c.EnrollmentCode(user)
	if err != nil {
		c.t.Fatalf("enrollment code for %s: %v", user, err)
	}
	return code
}

// deviceOpts tweaks a device before it opens.
type deviceOpts func(*mobilesync.Options)

// newDevice opens a device store in the test's temp dir and enrols it for user.
func (e *env) newDevice(admin *client, user string, opts ...deviceOpts) *mobilesync.Device {
	e.t.Helper()
	o := mobilesync.Options{Path: filepath.Join(e.t.TempDir(), user+".db"), Logger: quietLogger(),
		Sleep: func(ctx context.Context, d time.Duration) error { return nil }}
	for _, f := range opts {
		f(&o)
	}
	d, err := mobilesync.Open(context.Background(), o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { d.Close() })
	if err := d.Enroll(context.Background(), e.URL, admin.enrollmentCode(user), "test-"+user); err != nil {
		e.t.Fatalf("enrol %s: %v", user, err)
	}
	return d
}

func mustSync(t *testing.T, d *mobilesync.Device) mobilesync.SyncReport {
	t.Helper()
	rep, err := d.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

// inspectAll records a complete, submitted inspection of venue on d.
func inspectAll(t *testing.T, d *mobilesync.Device, venueID string, co ...string) string {
	t.Helper()
	ctx := context.Background()
	id, err := d.StartInspection(ctx, venueID, co...)
	if err != nil {
		t.Fatalf("start inspection: %v", err)
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for i, it := range cl.Items {
		res := schema.ResultPass
		if i == 2 {
			res = schema.ResultFail
		}
		if err := d.SetItem(ctx, id, it.ID, res, ""); err != nil {
			t.Fatalf("set %s: %v", it.ID, err)
		}
	}
	if err := d.Submit(ctx, id); err != nil {
		t.Fatalf("submit: %v", err)
	}
	return id
}

func venuesOf(t *testing.T, d *mobilesync.Device) []schema.Venue {
	t.Helper()
	vs, err := d.Venues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func firstVenue(t *testing.T, d *mobilesync.Device, kind string) schema.Venue {
	t.Helper()
	for _, v := range venuesOf(t, d) {
		if v.Kind == kind && v.Licensed {
			return v
		}
	}
	t.Fatalf("device sees no licensed %s", kind)
	return schema.Venue{}
}

// countRows counts server rows directly in its database.
func (e *env) countRows(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.srv.Store().(*sqlite.Store).DB().R.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// --- the patrold and patrol binaries, for tests that kill processes ---

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds patrold and patrol once per test run.
func binaries(t *testing.T) (patrold, patrol string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "patrol-e2e-bin-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"./server/cmd/patrold", "./mobile-sync/cmd/patrol"} {
			cmd := exec.Command("go", "build", "-o", binDir, pkg)
			cmd.Dir = moduleRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "patrold"), filepath.Join(binDir, "patrol")
}

func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "../.."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// daemon is a patrold process that tests may kill and restart.
type daemon struct {
	t    *testing.T
	bin  string
	args []string
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   sync.Mutex
}

func startDaemon(t *testing.T, bin, data string, extra ...string) *daemon {
	t.Helper()
	addr := freeAddr(t)
	d := &daemon{t: t, bin: bin, addr: addr, args: append([]string{"serve", "--addr", addr, "--data", data}, extra...)}
	d.start()
	t.Cleanup(func() { d.kill() })
	return d
}

func (d *daemon) URL() string { return "http://" + d.addr }

func (d *daemon) start() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = &bytes.Buffer{}
	d.cmd = exec.Command(d.bin, d.args...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(d.URL() + schema.PathHealthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("patrold did not come up on %s: %v\n%s", d.addr, err, d.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no flush, like a power cut of the process.
func (d *daemon) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	_ = d.cmd.Wait()
	d.cmd = nil
}

// stop asks for a graceful shutdown.
func (d *daemon) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	d.cmd = nil
}
