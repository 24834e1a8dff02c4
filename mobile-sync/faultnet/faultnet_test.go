package faultnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/mobile-sync/faultnet"
)

// upstream is a server that records the bodies it received in full and
// answers with a fixed body.
type upstream struct {
	mu       sync.Mutex
	hits     int
	complete int // requests whose whole body arrived
	srv      *httptest.Server
}

const answer = "the server's answer, long enough to be cut somewhere in the middle"

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		u.mu.Lock()
		u.hits++
		if err == nil && int64(len(b)) == r.ContentLength {
			u.complete++
		}
		u.mu.Unlock()
		if err != nil {
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		io.WriteString(w, answer)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) counts() (hits, complete int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits, u.complete
}

func post(t *testing.T, tr http.RoundTripper, url string) (string, error) {
	t.Helper()
	body := bytes.Repeat([]byte("x"), 10_000)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b), err
}

func only(k faultnet.Kind, base http.RoundTripper, sleep func(context.Context, time.Duration) error) *faultnet.Transport {
	return faultnet.New(faultnet.Config{Base: base, Seed: 7, Probability: 1, Kinds: []faultnet.Kind{k}, Sleep: sleep,
		RetryAfter: 3 * time.Second, Delay: 90 * time.Second})
}

func TestTransport_EachKind(t *testing.T) {
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	cases := []struct {
		kind             faultnet.Kind
		wantHits         int // requests the server saw; -1: zero or one (a cut may beat the headers)
		wantComplete     int // of them, with their whole body
		wantErr          bool
		wantStatusPrefix string
	}{
		{faultnet.DropRequest, 0, 0, true, ""},
		{faultnet.DropResponse, 1, 1, true, ""},
		{faultnet.CutRequestBody, -1, 0, true, ""},
		{faultnet.CutResponseBody, 1, 1, true, ""},
		{faultnet.Unavailable, 0, 0, false, "503 "},
		{faultnet.Slow, 1, 1, false, "200 "},
		{faultnet.Duplicate, 2, 2, false, "200 "},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			u := newUpstream(t)
			tr := only(tc.kind, u.srv.Client().Transport, sleep)
			got, err := post(t, tr, u.srv.URL)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, answer %q", err, got)
			}
			if err != nil && tc.kind != faultnet.CutRequestBody && !errors.Is(err, faultnet.ErrInjected) {
				t.Errorf("error %v does not match ErrInjected", err)
			}
			if !strings.HasPrefix(got, tc.wantStatusPrefix) {
				t.Errorf("answer %q, want prefix %q", got, tc.wantStatusPrefix)
			}
			hits, complete := u.counts()
			if tc.wantHits < 0 && hits <= 1 {
				hits = tc.wantHits
			}
			if hits != tc.wantHits || complete != tc.wantComplete {
				t.Errorf("server saw %d requests, %d complete; want %d, %d", hits, complete, tc.wantHits, tc.wantComplete)
			}
			if c := tr.Counts(); c[tc.kind] != 1 || c.Total() != 1 {
				t.Errorf("counts %v, want one %s", c, tc.kind)
			}
		})
	}
	if len(slept) != 1 || slept[0] != 90*time.Second {
		t.Errorf("slow answers slept %v, want one 90s sleep through the injected sleeper", slept)
	}
}

func TestTransport_UnavailableCarriesRetryAfter(t *testing.T) {
	u := newUpstream(t)
	tr := only(faultnet.Unavailable, u.srv.Client().Transport, nil)
	req, _ := http.NewRequest(http.MethodGet, u.srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("got %d Retry-After %q, want 503 with Retry-After 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestTransport_ScheduleIsSeededAndRespectsProbability(t *testing.T) {
	u := newUpstream(t)
	run := func(seed uint64) faultnet.Counts {
		tr := faultnet.New(faultnet.Config{Base: u.srv.Client().Transport, Seed: seed, Probability: 0.3,
			Sleep: func(context.Context, time.Duration) error { return nil }})
		for i := 0; i < 200; i++ {
			_, _ = post(t, tr, u.srv.URL)
		}
		if tr.Requests() != 200 {
			t.Fatalf("carried %d requests, want 200", tr.Requests())
		}
		return tr.Counts()
	}
	a, b := run(42), run(42)
	if a.String() != b.String() {
		t.Fatalf("same seed, different schedules: %v vs %v", a, b)
	}
	// 200 draws at 30 %: 60 expected; 30..90 is far outside any plausible
	// binomial spread and still catches a probability ignored.
	if n := a.Total(); n < 30 || n > 90 {
		t.Fatalf("%d faults in 200 requests at 30 %%: %v", n, a)
	}
	for _, k := range faultnet.AllKinds {
		if a[k] == 0 {
			t.Errorf("kind %s never drawn in %v", k, a)
		}
	}
}

func TestTransport_MatchAndSetProbability(t *testing.T) {
	u := newUpstream(t)
	tr := faultnet.New(faultnet.Config{Base: u.srv.Client().Transport, Probability: 1, Kinds: []faultnet.Kind{faultnet.DropRequest},
		Match: func(r *http.Request) bool { return r.URL.Path == "/faulty" }})
	if _, err := post(t, tr, u.srv.URL+"/healthy"); err != nil {
		t.Fatalf("unmatched request faulted: %v", err)
	}
	if _, err := post(t, tr, u.srv.URL+"/faulty"); !errors.Is(err, faultnet.ErrInjected) {
		t.Fatalf("matched request: %v, want an injected drop", err)
	}
	tr.SetProbability(0)
	if _, err := post(t, tr, u.srv.URL+"/faulty"); err != nil {
		t.Fatalf("after SetProbability(0): %v", err)
	}
	if got := tr.Counts().String(); !strings.HasPrefix(got, "drop_request=1 drop_response=0") {
		t.Fatalf("counts %q", got)
	}
}
