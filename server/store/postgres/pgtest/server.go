package pgtest

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// Server is a PostgreSQL server one test has to itself, so that it may
// crash and restart it in the middle of a run without touching other
// tests' databases (CI's shared server among them). Unlike the shared
// cluster it commits synchronously, as a deployment does: a commit that
// returned survives the crash.
type Server struct {
	c *cluster
}

// Start initialises a server for t alone and starts it on a free loopback
// port; it is stopped and removed when t ends. Missing PostgreSQL binaries
// fail the test with the command that installs them: a test that must
// restart its database cannot run against a server it does not own.
func Start(t testing.TB) *Server {
	t.Helper()
	c, err := startCluster(true)
	if err != nil {
		t.Fatalf("pgtest: start a server of the test's own: %v", err)
	}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return &Server{c: c}
}

// DSN creates a new, empty database on the server and returns its DSN.
func (s *Server) DSN(t testing.TB) string {
	t.Helper()
	return createDatabase(t, s.c.dsn)
}

// Crash stops the server the way a power cut of its process would:
// SIGQUIT to the postmaster, an immediate shutdown without a checkpoint,
// so that the next start recovers from the write-ahead log. Connections
// are cut in the middle of whatever they were doing.
func (s *Server) Crash(t testing.TB) {
	t.Helper()
	c := s.c
	if c.proc == nil {
		t.Fatal("pgtest: crash: the server is not running")
	}
	// A server down longer than sweepStale's age would look abandoned.
	now := time.Now()
	_ = os.Chtimes(c.dir, now, now)
	if err := c.proc.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatalf("pgtest: crash: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.proc.Process.Kill()
		<-c.done
	}
	c.proc = nil
}

// Restart starts the crashed server again on its port and data directory
// and returns once it accepts connections (crash recovery done); the DSNs
// handed out before stay valid.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	c := s.c
	if c.proc != nil {
		t.Fatal("pgtest: restart: the server is running")
	}
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		// The port is free again only once the old sockets are gone.
		if err = c.start(c.bin, c.data, c.port, c.cred); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pgtest: restart on port %d: %v", c.port, err)
}
