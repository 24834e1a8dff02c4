package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
)

// scrape fetches /metrics (with token, if any) and counts its series.
func scrape(t *testing.T, base, token string) (series, bytes int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d %s", resp.StatusCode, raw)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			series++
		}
	}
	return series, len(raw)
}

// TestMetrics_JunkRequestsDoNotGrowSeries: anonymous requests with
// invented 3 KB methods, at invented paths and at real routes, add no
// series to /metrics: every label is from a closed set.
func TestMetrics_JunkRequestsDoNotGrowSeries(t *testing.T) {
	e := newEnv(t)
	targets := []string{"/no/such/%d", schema.PathPush + "?x=%d", schema.PathPhotos + "/%064d", "/metrics?%d"}
	junk := func(i int) {
		method := strings.Repeat("JUNK", 750) + fmt.Sprint(i)
		for _, target := range targets {
			req, err := http.NewRequest(method, e.URL+fmt.Sprintf(target, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("%.20s… %s: HTTP %d; want a 4xx refusal", method, target, resp.StatusCode)
			}
		}
	}
	// The first junk request and the first scrape make the series they
	// fall into; after that, nothing may be added.
	junk(0)
	scrape(t, e.URL, "")
	before, size := scrape(t, e.URL, "")
	for i := 1; i <= 300; i++ {
		junk(i)
	}
	after, sizeAfter := scrape(t, e.URL, "")
	if after != before {
		t.Errorf("/metrics grew from %d to %d series (%d to %d bytes) after 300 junk requests per target", before, after, size, sizeAfter)
	}
	t.Logf("%d junk requests: /metrics %d series (%d bytes) before, %d series (%d bytes) after", 300*len(targets), before, size, after, sizeAfter)
}

// TestMetrics_TokenGuardsMetricsNotProbes: with --metrics-token set,
// /metrics answers only a scrape carrying it; /healthz and /readyz stay
// open to load balancers.
func TestMetrics_TokenGuardsMetricsNotProbes(t *testing.T) {
	const token = "scrape-7c1f0a"
	e := newEnvWith(t, func(c *server.Config) { c.MetricsToken = token })
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer wrong", http.StatusUnauthorized},
		{"/metrics", "Basic " + token, http.StatusUnauthorized},
		{"/metrics", "Bearer " + token, http.StatusOK},
		{"/metrics", "bearer " + token, http.StatusOK},
		{schema.PathHealthz, "", http.StatusOK},
		{schema.PathReadyz, "", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with %q: HTTP %d; want %d", tc.path, tc.auth, resp.StatusCode, tc.want)
		} else if tc.want == http.StatusUnauthorized && !strings.Contains(string(raw), "metrics-token") {
			t.Errorf("GET %s with %q: %s; want a message naming --metrics-token", tc.path, tc.auth, raw)
		}
	}
}
