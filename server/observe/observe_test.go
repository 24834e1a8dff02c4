package observe_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/observe"
)

func newEcho(m *observe.Metrics) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code := schema.ErrorCode(err)
		_ = c.JSON(schema.HTTPStatus(code), schema.ErrorBody{Error: schema.Error{Code: code, Message: err.Error()}})
	}
	e.Use(m.Middleware(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return e
}

func TestLimiter_RejectsBeyondCapacityWithRetryAfter(t *testing.T) {
	m := observe.NewMetrics()
	e := newEcho(m)
	lim := observe.NewLimiter(2, 10*time.Millisecond, 3*time.Second, m)
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	e.POST("/slow", func(c echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusNoContent)
	}, lim.Middleware())
	srv := httptest.NewServer(e)
	defer srv.Close()

	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(srv.URL+"/slow", "text/plain", nil)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	<-entered
	<-entered
	resp, err := http.Post(srv.URL+"/slow", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body schema.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "3" || body.Error.Code != schema.CodeUnavailable {
		t.Fatalf("status %d retry-after %q body %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp.Header.Get(schema.HeaderRequestID) == "" {
		t.Fatal("no request id on a rejected request")
	}
	close(release)
	wg.Wait()
	if lim.InUse() != 0 {
		t.Fatalf("%d slots still held", lim.InUse())
	}

	mrec := httptest.NewRecorder()
	m.Handler().ServeHTTP(mrec, httptest.NewRequest("GET", "/metrics", nil))
	out := mrec.Body.String()
	for _, want := range []string{`patrol_overload_rejections_total{route="/slow"} 1`, `patrol_http_requests_total{code="204",method="POST",route="/slow"} 2`, `patrol_http_requests_total{code="503",method="POST",route="/slow"} 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMiddleware_KeepsSaneRequestIDAndReplacesHostileOne(t *testing.T) {
	m := observe.NewMetrics()
	e := newEcho(m)
	var seen string
	e.GET("/x", func(c echo.Context) error {
		seen = observe.RequestID(c.Request().Context())
		return c.String(200, "ok")
	})
	for _, tc := range []struct {
		in   string
		keep bool
	}{{"abc-123", true}, {"bad id\r\nX: y", false}, {strings.Repeat("a", 100), false}} {
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set(schema.HeaderRequestID, tc.in)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		got := rec.Header().Get(schema.HeaderRequestID)
		if got != seen || got == "" || (got == tc.in) != tc.keep {
			t.Errorf("in %q: header %q, handler saw %q", tc.in, got, seen)
		}
	}
}

func TestShare_CapsEachHolderAndReleases(t *testing.T) {
	m := observe.NewMetrics()
	e := newEcho(m)
	share := observe.NewShare("syncs", 2*time.Second, m)
	release := make(chan struct{})
	entered := make(chan struct{}, 16)
	holders := func(c echo.Context) []observe.Holder {
		dev, user := c.QueryParam("device"), c.QueryParam("user")
		return []observe.Holder{{Key: "device:" + dev, Limit: 2, Who: "this device"}, {Key: "user:" + user, Limit: 3, Who: "your account"}}
	}
	e.POST("/sync", func(c echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusNoContent)
	}, share.Middleware(holders))
	srv := httptest.NewServer(e)
	defer srv.Close()

	var wg sync.WaitGroup
	hold := func(device, user string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(srv.URL+"/sync?device="+device+"&user="+user, "text/plain", nil)
			if err == nil {
				resp.Body.Close()
			}
		}()
		<-entered
	}
	post := func(device, user string) (int, string, schema.ErrorBody) {
		resp, err := http.Post(srv.URL+"/sync?device="+device+"&user="+user, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body schema.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), body
	}
	hold("a", "u1")
	hold("a", "u1")
	hold("b", "u1")
	for _, tc := range []struct {
		name, device, user, who string
	}{
		{"device at its share", "a", "u1", "this device already has 2 syncs"},
		{"user at its share on another device", "c", "u1", "your account already has 3 syncs"},
	} {
		st, ra, body := post(tc.device, tc.user)
		if st != http.StatusTooManyRequests || ra != "2" || body.Error.Code != schema.CodeRateLimited || !strings.Contains(body.Error.Message, tc.who) {
			t.Errorf("%s: status %d retry-after %q body %+v; want 429 saying %q", tc.name, st, ra, body, tc.who)
		}
	}
	if got := share.Held("device:c"); got != 0 {
		t.Errorf("a refused request still counts: device c holds %d", got)
	}
	// Another user's device is not held back by u1.
	done := make(chan int, 1)
	go func() { st, _, _ := post("d", "u2"); done <- st }()
	<-entered
	close(release)
	if st := <-done; st != http.StatusNoContent {
		t.Errorf("another user's device: status %d", st)
	}
	wg.Wait()
	for _, k := range []string{"device:a", "device:b", "user:u1", "user:u2"} {
		if n := share.Held(k); n != 0 {
			t.Errorf("%s still holds %d after its requests ended", k, n)
		}
	}
}

func TestScrapeAccess_LoopbackOrToken(t *testing.T) {
	for _, tc := range []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"no token, loopback v4", "", "127.0.0.1:40000", "", http.StatusOK},
		{"no token, loopback v6", "", "[::1]:40000", "", http.StatusOK},
		{"no token, other host", "", "203.0.113.9:40000", "", http.StatusForbidden},
		{"token, none sent", "t0k", "127.0.0.1:40000", "", http.StatusUnauthorized},
		{"token, wrong", "t0k", "203.0.113.9:40000", "Bearer nope", http.StatusUnauthorized},
		{"token, right, other host", "t0k", "203.0.113.9:40000", "Bearer t0k", http.StatusOK},
	} {
		m := observe.NewMetrics()
		e := newEcho(m)
		e.GET("/metrics", echo.WrapHandler(m.Handler()), observe.ScrapeAccess(tc.token))
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = tc.remote
		// Forwarding headers are the client's word; they must not count.
		req.Header.Set("X-Forwarded-For", "127.0.0.1")
		req.Header.Set("X-Real-Ip", "127.0.0.1")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d; want %d (%s)", tc.name, rec.Code, tc.want, rec.Body.String())
		}
	}
}

func TestMethodLabel_ClosedSet(t *testing.T) {
	for in, want := range map[string]string{
		"GET": "GET", "PATCH": "PATCH", "OPTIONS": "OPTIONS",
		"get": "other", "PROPFIND": "other", strings.Repeat("X", 3000): "other", "": "other",
	} {
		if got := observe.MethodLabel(in); got != want {
			t.Errorf("MethodLabel(%.20q) = %q; want %q", in, got, want)
		}
	}
}
