package loadtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/patrolhq/patrol/mobile-sync/loadtest"
)

// TestSpread_EachRequestGoesToTheNextServer: requests addressed to the
// first server go to the three servers in turn, their path below the base
// kept; a request to another address passes unchanged.
func TestSpread_EachRequestGoesToTheNextServer(t *testing.T) {
	var hits [4]atomic.Int64
	var servers []string
	for i := range hits {
		prefix := fmt.Sprintf("/r%d", i)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != prefix+"/api/v1/pull" {
				http.Error(w, "wrong path "+r.URL.Path, http.StatusNotFound)
				return
			}
			hits[i].Add(1)
		}))
		t.Cleanup(hs.Close)
		servers = append(servers, hs.URL+prefix)
	}
	rt, err := loadtest.Spread(http.DefaultTransport, servers[:3])
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rt}
	get := func(url string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
	}
	for range 9 {
		get(servers[0] + "/api/v1/pull")
	}
	get(servers[3] + "/api/v1/pull") // not one of the spread servers
	for i, want := range []int64{3, 3, 3, 1} {
		if got := hits[i].Load(); got != want {
			t.Errorf("server %d got %d requests; want %d", i, got, want)
		}
	}
	if _, err := loadtest.Spread(http.DefaultTransport, []string{"localhost:8080"}); err == nil {
		t.Error("a server without a scheme was accepted")
	}
}
