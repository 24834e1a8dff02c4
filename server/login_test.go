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
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
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
	// count as live, twice for GOGC=100's headroom, and slack for 50
	// requests (all of it over again in the race detector's shadow).
	bound := (2*(workers+1)*auth.CheckCost + 32<<20) * raceShadow
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
	t.Logf("peak RSS grew by %.1f MiB for %d parallel logins, %d refused with 503 (bound %.1f MiB with %d workers, queue %d)",
		float64(grew)/(1<<20), n, refused, float64(bound)/(1<<20), workers, queue)
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

func (c *client) login(username, password string) response {
	c.e.t.Helper()
	return c.call("POST", schema.PathLogin, schema.LoginRequest{Username: username, Password: password}, nil)
}

// retryAfter is the wait a 429 or 503 asks for.
func retryAfter(t *testing.T, r response) time.Duration {
	t.Helper()
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("%d without a usable Retry-After (%q)", r.status, r.header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

// TestLogin_GuessesElsewhereDoNotLockTheOwnerOut: wrong passwords for an
// account from another address (in any spelling of the username) delay the
// account for a short, growing time and never lock it: the owner's right
// password gets through after the delay, and at once from an address the
// owner logged in from before. A guesser who waits out every delay gets
// about one guess a minute, and one address that fails too often is
// refused for every account.
func TestLogin_GuessesElsewhereDoNotLockTheOwnerOut(t *testing.T) {
	e := newEnv(t)
	guesser, owner := e.from("127.0.3.1"), e.from("127.0.3.2")
	for i, name := range []string{"Admin", " admin ", "ADMIN", "admin", "aDmin\t"} {
		if r := guesser.login(name, "guess"); r.status != 401 {
			t.Fatalf("guess %d as %q: %d %+v", i+1, name, r.status, r.err)
		}
	}
	r := owner.login("admin", demo.Password)
	if r.status != 429 {
		t.Fatalf("owner right after five guesses elsewhere: %d; want 429 (a short delay)", r.status)
	}
	if wait := retryAfter(t, r); wait > time.Minute {
		t.Fatalf("owner asked to wait %s; the delay is at most a minute", wait)
	} else {
		e.clock.Advance(wait)
	}
	if r := owner.login(" Admin", demo.Password); r.status != 200 {
		t.Fatalf("owner after the delay: %d %+v", r.status, r.err)
	}

	// A guesser who spreads over ten addresses and waits out every delay
	// for an hour: five free guesses, six while the delay doubles from 1 s
	// to 32 s, then one a minute.
	var guessers []*client
	for i := 1; i <= 10; i++ {
		guessers = append(guessers, e.from(fmt.Sprintf("127.0.4.%d", i)))
	}
	start, guesses, polls := e.clock.Now(), 0, 0
	for i := 0; e.clock.Now().Sub(start) < time.Hour; i++ {
		r := guessers[i%len(guessers)].login("admin", fmt.Sprintf("guess%d", i))
		switch r.status {
		case 401:
			guesses++
		case 429:
			polls++
			e.clock.Advance(retryAfter(t, r))
		default:
			t.Fatalf("guess %d: %d %+v", i, r.status, r.err)
		}
		if i%25 == 0 { // meanwhile the owner logs in at once from a known address
			if r := owner.login("admin", demo.Password); r.status != 200 {
				t.Fatalf("owner at a known address while guesses go on: %d %+v", r.status, r.err)
			}
		}
	}
	t.Logf("one hour of guessing admin from 10 addresses: %d guesses checked, %d refused with 429", guesses, polls)
	if limit := 5 + 6 + 60; guesses > limit {
		t.Fatalf("%d guesses in an hour; the account delay allows at most %d", guesses, limit)
	}

	// One address that fails 20 times is refused for every account, the
	// right password included; other addresses are not.
	e.clock.Advance(time.Hour)
	scanner := e.from("127.0.5.1")
	for i := 0; i < 20; i++ {
		if r := scanner.login(fmt.Sprintf("user%d", i), "guess"); r.status != 401 {
			t.Fatalf("scan %d: %d", i, r.status)
		}
	}
	if r := scanner.login("leader1", demo.Password); r.status != 429 || retryAfter(t, r) > 15*time.Minute {
		t.Fatalf("address after 20 failures: %d, Retry-After %q; want 429 within the window", r.status, r.header.Get("Retry-After"))
	}
	if r := e.from("127.0.5.2").login("leader1", demo.Password); r.status != 200 {
		t.Fatalf("another address: %d %+v", r.status, r.err)
	}
}

// wrongCode is a well-formed enrollment code that matches none issued.
func wrongCode(t *testing.T) string {
	t.Helper()
	c, err := auth.NewEnrollmentCode()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEnroll_TyposDoNotLockOutAnAddress: devices behind one NAT share an
// address. Codes that cannot be codes (wrong length, letters the alphabet
// leaves out) are answered 400 without counting, and a handful of wrong
// codes does not stop the next device there from enrolling.
func TestEnroll_TyposDoNotLockOutAnAddress(t *testing.T) {
	e := newEnv(t)
	nat := e.from("127.0.6.1")
	for _, typo := range []string{"ACDE-FGHJ-K", "ACDE-FGHJ-KMN", "ACDE-FGHJ-K0", "acde fghj k8", "ABCD-EFGH-IJ", "ACDE-FGHJ-K!"} {
		for i := 0; i < 5; i++ {
			if r := nat.call("POST", schema.PathEnroll, schema.EnrollRequest{Code: typo, DeviceName: "phone"}, nil); r.status != 400 || !strings.Contains(r.err.Message, "10 letters") {
				t.Fatalf("typo %q: %d %+v; want 400 saying what a code looks like", typo, r.status, r.err)
			}
		}
	}
	for i := 0; i < 10; i++ {
		if r := nat.call("POST", schema.PathEnroll, schema.EnrollRequest{Code: wrongCode(t), DeviceName: "phone"}, nil); r.status != 401 {
			t.Fatalf("wrong code %d: %d %+v", i, r.status, r.err)
		}
	}
	code, err := e.srv.EnrollmentCode(t.Context(), " Inspector1", "test")
	if err != nil {
		t.Fatal(err)
	}
	nat.must(201, "POST", schema.PathEnroll, schema.EnrollRequest{Code: code, DeviceName: "phone"}, nil)
}

// TestEnroll_GuessingIsBounded: wrong codes are bounded per address and
// across all addresses, so that guessing one of the outstanding codes stays
// infeasible however many addresses guess; the bounds lift as the failures
// age out.
func TestEnroll_GuessingIsBounded(t *testing.T) {
	const perAddress, perHour = 20, 30
	e := newEnvWith(t, func(c *server.Config) { c.EnrollAttempts, c.EnrollAttemptsPerHour = perAddress, perHour })
	enroll := func(c *client, code string) response {
		t.Helper()
		return c.call("POST", schema.PathEnroll, schema.EnrollRequest{Code: code, DeviceName: "phone"}, nil)
	}
	one := e.from("127.0.7.1")
	for i := 0; i < perAddress; i++ {
		if r := enroll(one, wrongCode(t)); r.status != 401 {
			t.Fatalf("guess %d from one address: %d %+v", i, r.status, r.err)
		}
	}
	if r := enroll(one, wrongCode(t)); r.status != 429 || retryAfter(t, r) > 15*time.Minute {
		t.Fatalf("guess %d from one address: %d; want 429", perAddress+1, r.status)
	}
	checked := perAddress
	for i := 0; i < 40; i++ {
		r := enroll(e.from(fmt.Sprintf("127.0.8.%d", i+1)), wrongCode(t))
		switch r.status {
		case 401:
			checked++
		case 429:
			retryAfter(t, r)
		default:
			t.Fatalf("guess from address %d: %d %+v", i, r.status, r.err)
		}
	}
	if checked != perHour {
		t.Fatalf("%d codes checked from 41 addresses; the bound is %d an hour", checked, perHour)
	}
	code, err := e.srv.EnrollmentCode(t.Context(), "inspector1", "test")
	if err != nil {
		t.Fatal(err)
	}
	fresh := e.from("127.0.9.1")
	if r := enroll(fresh, code); r.status != 429 {
		t.Fatalf("right code while the hourly bound is spent: %d; want 429", r.status)
	}
	e.clock.Advance(time.Hour)
	if r := enroll(fresh, code); r.status != 201 {
		t.Fatalf("right code an hour later: %d %+v", r.status, r.err)
	}
}
