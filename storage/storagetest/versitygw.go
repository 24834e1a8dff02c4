package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
)

// VersityGWModule is the S3 gateway the tests run: a real S3 server that
// keeps objects as plain files, started on loopback without any setup.
const VersityGWModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// S3Endpoint is a running S3 server for one test: where it listens, the
// credentials it accepts and a bucket name no other test uses (the bucket
// itself does not exist yet; s3store.New creates it).
type S3Endpoint struct {
	Endpoint  string // 127.0.0.1:port
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	Dir       string // the gateway's root directory; buckets are subdirectories
}

var (
	gwOnce sync.Once
	gwPath string
	gwErr  error
)

// versityGWBinary finds the versitygw binary in $PATH, $GOBIN or
// $(go env GOPATH)/bin, and installs it with go install when it is in none
// of them. The result is shared by all tests of the process.
func versityGWBinary(tb testing.TB) (string, error) {
	gwOnce.Do(func() {
		if p := findVersityGW(); p != "" {
			gwPath = p
			return
		}
		tb.Logf("storagetest: versitygw not found; running go install %s", VersityGWModule)
		cmd := exec.Command("go", "install", VersityGWModule)
		out, err := cmd.CombinedOutput()
		if err != nil {
			gwErr = fmt.Errorf("go install %s: %w\n%s", VersityGWModule, err, out)
			return
		}
		if p := findVersityGW(); p != "" {
			gwPath = p
			return
		}
		gwErr = fmt.Errorf("go install %s succeeded but versitygw is not in $PATH, $GOBIN or $(go env GOPATH)/bin", VersityGWModule)
	})
	return gwPath, gwErr
}

func findVersityGW() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		// One line each, GOBIN first; GOBIN is usually an empty line.
		lines := strings.Split(string(out), "\n")
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			dirs = append(dirs, strings.TrimSpace(lines[0]))
		}
		if len(lines) > 1 {
			for _, gp := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				dirs = append(dirs, filepath.Join(gp, "bin"))
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// StartVersityGW starts a real versitygw S3 server (posix backend in a
// temporary directory) on a free loopback port, waits until it answers, and
// stops it when the test or benchmark ends. It fails the test, never skips
// it, when the server cannot be found, installed or started.
func StartVersityGW(tb testing.TB) S3Endpoint {
	tb.Helper()
	bin, err := versityGWBinary(tb)
	if err != nil {
		tb.Fatalf("storagetest: need versitygw for the S3 tests: %v\nInstall it with: go install %s", err, VersityGWModule)
	}
	ep := S3Endpoint{
		AccessKey: "patroltest" + randHex(4),
		SecretKey: randHex(20),
		Bucket:    "patrol-test-" + randHex(6),
		Region:    "us-east-1",
		Dir:       tb.TempDir(),
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freePort()
		if err != nil {
			tb.Fatalf("storagetest: find a free loopback port: %v", err)
		}
		gw, err := startGW(bin, ep, addr)
		if err == nil {
			tb.Cleanup(gw.stop)
			ep.Endpoint = addr
			return ep
		}
		lastErr = err // most likely the port was taken in between: try another
	}
	tb.Fatalf("storagetest: start versitygw: %v", lastErr)
	return S3Endpoint{}
}

// gateway is a running versitygw process.
type gateway struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *syncBuffer
}

func startGW(bin string, ep S3Endpoint, addr string) (*gateway, error) {
	cmd := exec.Command(bin,
		"--access", ep.AccessKey, "--secret", ep.SecretKey,
		"--region", ep.Region, "--port", addr, "--quiet",
		"posix", ep.Dir)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	gw := &gateway{cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(gw.done) }()
	client := &http.Client{Timeout: time.Second}
	for try := 0; try < 200; try++ { // up to about 10 s
		select {
		case <-gw.done:
			return nil, fmt.Errorf("%s exited early (%v):\n%s", strings.Join(cmd.Args, " "), cmd.ProcessState, log.String())
		default:
		}
		resp, err := client.Get("http://" + addr + "/")
		if err == nil { // any HTTP answer, even 403, means it serves
			resp.Body.Close()
			return gw, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	gw.stop()
	return nil, fmt.Errorf("%s did not answer on %s within 10 s:\n%s", strings.Join(cmd.Args, " "), addr, log.String())
}

// stop ends the process group: SIGTERM, then SIGKILL if it lingers.
func (g *gateway) stop() {
	pgid := g.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-g.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-g.done
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("storagetest: no randomness: " + err.Error()))
	}
	return hex.EncodeToString(b)
}

// syncBuffer collects the gateway's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() > 64<<10 {
		return len(p), nil // enough to diagnose; do not grow without bound
	}
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
