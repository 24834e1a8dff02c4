// Package pgtest gives tests a fresh, empty PostgreSQL database each, so
// that the PostgreSQL store is tested against the real server and no test
// sees another's rows.
//
// The server is the one PATROL_TEST_POSTGRES names (a DSN whose role may
// CREATE DATABASE), as CI sets it. Without it the test binary starts a
// throw-away cluster of its own on a free loopback port, once, and stops
// it when the binary exits; a test package opts in by calling Main from
// its TestMain. Missing PostgreSQL binaries fail the test with the command
// that installs them: a store test that silently skipped would pass on
// every machine that cannot run it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the variable that names an existing PostgreSQL server for the
// tests: a DSN (URL or key=value form) whose role may CREATE DATABASE.
const EnvDSN = "PATROL_TEST_POSTGRES"

// InstallHint is the command that installs the PostgreSQL binaries on the
// Debian machines Patrol is built on.
const InstallHint = "apt-get update && apt-get install -y postgresql"

var (
	mainCalled bool
	startOnce  sync.Once
	started    *cluster
	startErr   error
)

// Main runs the tests of a package that uses DSN, stops the cluster the
// binary started, if it started one, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to clean up: it returns the
// exit code instead of exiting.
func Run(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	if started != nil {
		if err := started.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// DSN creates a new, empty database for t and returns its DSN; the
// database is dropped (its connections closed) when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	admin, err := adminDSN()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return createDatabase(t, admin)
}

// createDatabase creates a new, empty database for t on the server of
// admin and drops it when t ends.
func createDatabase(t testing.TB, admin string) string {
	t.Helper()
	name := "patrol_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// AdminDSN is the DSN of the server the databases are made on, for tests
// that do to a database what only its server can (refuse connections, end
// sessions).
func AdminDSN(t testing.TB) string {
	t.Helper()
	dsn, err := adminDSN()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// adminDSN is the DSN of the server databases are created on: the
// environment's, or that of the cluster this binary started.
func adminDSN() (string, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn, nil
	}
	if !mainCalled {
		return "", fmt.Errorf("%s is not set and the test binary cannot start a cluster of its own: "+
			"call pgtest.Main(m) from the package's TestMain, or set %s to a DSN that may CREATE DATABASE", EnvDSN, EnvDSN)
	}
	startOnce.Do(func() { started, startErr = startCluster(false) })
	if startErr != nil {
		return "", startErr
	}
	return started.dsn, nil
}

// withDatabase returns dsn naming database name instead of its own.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvDSN, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// key=value form: a later keyword overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// redact hides a password in a DSN quoted in a message.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	return dsn
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// debianBinGlob is where Debian's postgresql packages put the server
// binaries, one directory per major version.
var debianBinGlob = "/usr/lib/postgresql/*/bin"

// BinDir finds the directory of the PostgreSQL server binaries: that of
// initdb on PATH, or the newest /usr/lib/postgresql/*/bin (Debian keeps
// them off PATH).
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Debian links initdb into PATH without postgres beside it.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin; "+
		"install them with: %s (or set %s to a server's DSN)", InstallHint, EnvDSN)
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// cluster is a throw-away PostgreSQL server in a temporary directory.
type cluster struct {
	dir  string
	dsn  string
	proc *exec.Cmd
	done chan error
	// what start needs to start it again
	bin, data string
	port      int
	cred      *syscall.Credential
	// durable keeps synchronous_commit on: a commit that returned
	// survives a crash of the server.
	durable bool
}

// startCluster initialises a cluster in a temporary directory and starts
// its server on a free loopback port. The server runs as a child of the
// test binary with a parent-death signal (SIGQUIT: immediate shutdown),
// so a binary killed by a test timeout leaves no server behind; pg_ctl
// would have detached it. initdb refuses to run as root, so as root both
// run as the postgres OS user. durable keeps synchronous_commit on.
func startCluster(durable bool) (*cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	sweepStale()
	dir, err := os.MkdirTemp("", "patrol-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, durable: durable}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, the cluster must run as the postgres OS user, which is missing (%v); "+
				"install PostgreSQL with: %s", err, InstallHint)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A port found free can be taken before the server binds it: retry.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		err = c.start(bin, data, port, cred)
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (c *cluster) start(bin, data string, port int, cred *syscall.Credential) error {
	logPath := filepath.Join(c.dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	if cred != nil {
		os.Chown(logPath, int(cred.Uid), int(cred.Gid))
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + c.dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200"}
	if !c.durable {
		args = append(args, "-c", "synchronous_commit=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited while starting: %v\n%s", err, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			conn.Close(ctx)
			cancel()
			c.dsn, c.proc, c.done = dsn, cmd, done
			c.bin, c.data, c.port, c.cred = bin, data, port, cred
			return nil
		}
		cancel()
		if time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGQUIT)
			<-done
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections within 30s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (fast: the data is thrown away) and removes
// the cluster's directory.
func (c *cluster) stop() error {
	var err error
	if c.proc != nil {
		c.proc.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			c.proc.Process.Kill()
			<-c.done
			err = errors.New("postgres did not stop within 30s; killed")
		}
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sweepStale removes the clusters of test binaries that were killed
// before they could stop theirs (their servers died with them, by the
// parent-death signal): directories older than ten minutes whose
// postmaster is not running.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "patrol-pgtest-*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < 10*time.Minute {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
			if err := syscall.Kill(pid, 0); pid > 0 && (err == nil || err == syscall.EPERM) {
				continue
			}
		}
		os.RemoveAll(d)
	}
}
