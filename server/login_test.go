package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
)

// metric reads one series ("name" or `name{label="v"}`) from /metrics; a
// series not exported reads as 0.
func (e *env) metric(series string) float64 {
	e.t.Helper()
	r := e.anon().raw("GET", "/metrics", nil, nil)
	if r.status != 200 {
		e.t.Fatalf("/metrics: %d", r.status)
	}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %q", series, value)
			}
			return v
		}
	}
	return 0
}

// parallel sends the n requests made by req at once, each from its client,
// and returns the answers in order.
func parallel(t *testing.T, clients []*client, req func(i int) (string, string, any)) []response {
	t.Helper()
	out := make([]response, len(clients))
	errs := make([]error, len(clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method, path, v := req(i)
			b, _ := json.Marshal(v)
			<-start
			out[i], errs[i] = c.do(method, path, bytes.NewReader(b), nil)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// resetPeakRSS returns the memory the process holds now, after returning
// what it can to the OS and restarting the kernel's high-water mark (VmHWM)
// from here.
func resetPeakRSS(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	return procStatus(t, "VmHWM")
}

// procStatus reads a kB figure of /proc/self/status in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestLogin_FloodOfUnknownUsersIsBoundedInMemory: 50 logins at once with
// fresh usernames from fresh addresses (which no failure limit stops) each
// ask for an argon2id check of 19 MiB. The check pool runs at most its
// workers at once, so the process's peak memory grows by what the workers
// hold (with the garbage collector's headroom) and not by 50 checks;
// each login is either checked (401) or refused before hashing (503 with
// Retry-After), and /metrics shows the pool.
func TestLogin_FloodOfUnknownUsersIsBoundedInMemory(t *testing.T) {
	const workers, queue, n = 2, 4, 50
	e := newEnvWith(t, func(c *server.Config) { c.MaxConcurrentLogins, c.LoginQueue = workers, queue })
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.from(fmt.Sprintf("127.0.1.%d", i+1))
	}
	// One login first, so the dummy hash (made once per process) and the
	// HTTP machinery are not counted.
	e.from("127.0.2.1").call("POST", schema.PathLogin, schema.LoginRequest{Username: "warm-up", Password: "x"}, nil)
	checks0, rejected0 := e.metric("patrol_login_checks_total"), e.metric("patrol_login_checks_rejected_total")

	base := resetPeakRSS(t)
	answers := parallel(t, clients, func(i int) (string, string, any) {
		return "POST", schema.PathLogin, schema.LoginRequest{Username: fmt.Sprintf("nobody%d", i), Password: "guess"}
	})
	grew := procStatus(t, "VmHWM") - base

	// The workers' blocks and one just finished that the collector may still
	// count as live, twice for GOGC=100's headroom, and slack for 50 requests.
	bound := 2*(workers+1)*auth.CheckCost + 32<<20
	t.Logf("peak RSS grew by %.1f MiB for %d parallel logins (bound %.1f MiB with %d workers)", float64(grew)/(1<<20), n, float64(bound)/(1<<20), workers)
	if grew > bound {
		t.Errorf("peak RSS grew by %.1f MiB; the pool of %d workers bounds it to %.1f MiB", float64(grew)/(1<<20), workers, float64(bound)/(1<<20))
	}
	var refused int
	for i, r := range answers {
		switch {
		case r.status == 401:
		case r.status == 503 && r.header.Get("Retry-After") != "":
			refused++
		default:
			t.Errorf("login %d: %d %+v (Retry-After %q); want 401, or 503 with Retry-After", i, r.status, r.err, r.header.Get("Retry-After"))
		}
	}
	checks, rejected := e.metric("patrol_login_checks_total")-checks0, e.metric("patrol_login_checks_rejected_total")-rejected0
	if int(checks)+int(rejected) != n || int(rejected) != refused {
		t.Errorf("metrics: %v checks + %v refusals for %d logins, %d answered 503", checks, rejected, n, refused)
	}
	if w := e.metric("patrol_login_check_workers"); w != workers {
		t.Errorf("patrol_login_check_workers = %v, want %d", w, workers)
	}
	if refused > 0 && e.metric(`patrol_overload_rejections_total{route="/api/v1/login"}`) != float64(refused) {
		t.Errorf("overload rejections for /login do not count the %d refusals", refused)
	}
	for _, g := range []string{"patrol_login_checks_in_use", "patrol_login_checks_queued"} {
		if v := e.metric(g); v != 0 {
			t.Errorf("%s = %v after the flood", g, v)
		}
	}
}

// TestLogin_ParallelGuessesStopAtTheLimit: 50 wrong passwords for one user
// from one address, sent at once, are checked at most as often as the limit
// allows; each attempt is counted before its check, so the ones that start
// while others are still hashing are refused with 429 instead of checked.
func TestLogin_ParallelGuessesStopAtTheLimit(t *testing.T) {
	const n, limit = 50, 5
	e := newEnvWith(t, func(c *server.Config) { c.MaxConcurrentLogins, c.LoginQueue, c.LoginAttempts = 2, n, limit })
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.anon()
	}
	checks0 := e.metric("patrol_login_checks_total")
	answers := parallel(t, clients, func(i int) (string, string, any) {
		return "POST", schema.PathLogin, schema.LoginRequest{Username: "inspector3", Password: fmt.Sprintf("guess%d", i)}
	})
	checks := int(e.metric("patrol_login_checks_total") - checks0)
	var wrong, limited int
	for i, r := range answers {
		switch {
		case r.status == 401:
			wrong++
		case r.status == 429 && r.header.Get("Retry-After") != "":
			limited++
		default:
			t.Errorf("attempt %d: %d %+v; want 401, or 429 with Retry-After", i, r.status, r.err)
		}
	}
	t.Logf("%d of %d parallel wrong passwords checked (limit %d), %d refused with 429", checks, n, limit, limited)
	if checks > limit || wrong != checks {
		t.Fatalf("%d passwords checked, %d answered 401; the limit is %d", checks, wrong, limit)
	}
}
