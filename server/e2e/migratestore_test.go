package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/storage"
)

// served is a server on a fixed loopback address that a test stops when
// it wants, so that a second server can take the same address: a device
// keeps the URL it enrolled with.
type served struct {
	srv *server.Server
	hs  *http.Server
	ln  net.Listener
}

func serveAt(t *testing.T, addr, data string, st store.Store) *served {
	t.Helper()
	blobs, err := storage.NewLocal(filepath.Join(data, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{Store: st, DataDir: data, Logger: quietLogger(), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond) // the previous server's socket is closing
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &served{srv: srv, hs: &http.Server{Handler: srv.Handler()}, ln: ln}
	go s.hs.Serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *served) stop() {
	if s.hs == nil {
		return
	}
	s.hs.Close()
	s.srv.Close()
	s.hs = nil
}

// TestMigrateStore_DeviceKeepsSyncing: a device enrolled and synced
// against a SQLite deployment goes on syncing against the PostgreSQL
// database that `patrold migrate-store` filled from it, at the same
// address: without enrolling again, without sending anything again, and
// with its cursor still valid (no reset, nothing pulled twice). A second
// copy into the now non-empty database is refused.
func TestMigrateStore_DeviceKeepsSyncing(t *testing.T) {
	ctx := context.Background()
	patrold, _ := binaries(t)
	addr := freeAddr(t)
	url := "http://" + addr
	data := t.TempDir()

	// The SQLite deployment, with the demo district and a synced device.
	first := serveAt(t, addr, data, nil)
	if _, err := demo.Seed(ctx, first.srv.Store(), demo.Options{Venues: 30, Schools: 6, MonthsHistory: 1,
		HashPassword: func(pw string) (string, error) {
			return auth.HashPasswordParams(pw, auth.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
		}}); err != nil {
		t.Fatal(err)
	}
	admin := servertest.Login(t, url, "admin", demo.Password)
	code, err := admin.EnrollmentCode("inspector1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := mobilesync.Open(ctx, mobilesync.Options{Path: filepath.Join(t.TempDir(), "device.db"), Logger: quietLogger(),
		Sleep: func(ctx context.Context, _ time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Enroll(ctx, url, code, "field phone"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, d)
	venue := firstVenue(t, d, schema.KindNetCafe)
	before := inspectAll(t, d, venue.ID)
	if rep := mustSync(t, d); rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("sync against SQLite: %+v; want the inspection pushed", rep)
	}
	mustSync(t, d) // its own record comes back with its server state
	first.stop()

	dsn := pgtest.DSN(t)
	out, err := exec.Command(patrold, "migrate-store", "--from", data, "--to", dsn).CombinedOutput()
	if err != nil {
		t.Fatalf("patrold migrate-store: %v\n%s", err, out)
	}
	for _, want := range []string{"inspections", "applied_mutations", "counters", "verified"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("migrate-store printed no %q:\n%s", want, out)
		}
	}

	pg, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	serveAt(t, addr, data, pg)
	rep := mustSync(t, d)
	if rep.Pushed != 0 || rep.Pulled != 0 || rep.Reset {
		t.Fatalf("first sync against PostgreSQL: %+v; want nothing sent, nothing pulled, no reset", rep)
	}
	after := inspectAll(t, d, venue.ID)
	if rep := mustSync(t, d); rep.Pushed != 1 || rep.Rejected != 0 || rep.Conflicts != 0 || rep.Reset {
		t.Fatalf("sync of a new inspection against PostgreSQL: %+v; want it pushed and applied", rep)
	}
	leader := servertest.Login(t, url, "admin", demo.Password)
	for _, id := range []string{before, after} {
		if _, err := leader.Inspection(id); err != nil {
			t.Errorf("inspection %s on PostgreSQL: %v", id, err)
		}
	}

	out, err = exec.Command(patrold, "migrate-store", "--from", data, "--to", dsn).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "not empty") {
		t.Fatalf("a second migrate-store into the filled database: %v\n%s; want it refused as not empty", err, out)
	}
}

// TestReadyz_ReportsThePostgresDatabase: /readyz answers 200 while the
// PostgreSQL database answers, and 503 naming the database once it stops
// taking connections, so a load balancer stops sending devices to the
// replica.
func TestReadyz_ReportsThePostgresDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pg, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := serveAt(t, freeAddr(t), t.TempDir(), pg)
	url := "http://" + s.ln.Addr().String() + "/readyz"
	type ready struct {
		Ready  bool `json:"ready"`
		Checks map[string]struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		} `json:"checks"`
	}
	get := func() (int, ready) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r ready
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r
	}
	if code, r := get(); code != http.StatusOK || !r.Checks["database"].OK {
		t.Fatalf("/readyz on a live database: %d %+v", code, r)
	}
	// The database refuses new connections and loses its open ones.
	admin, err := pgx.Connect(ctx, pgtest.AdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var name string
	if err := pg.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER DATABASE ` + pgx.Identifier{name}.Sanitize() + ` ALLOW_CONNECTIONS false`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	code, r := get()
	if code != http.StatusServiceUnavailable || r.Ready || r.Checks["database"].OK || r.Checks["database"].Error == "" {
		t.Fatalf("/readyz with the database gone: %d %+v; want 503 naming the database", code, r)
	}
}
