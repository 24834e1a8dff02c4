package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
)

// TestOverload_SyncsBeyondCapacityGet503WithRetryAfter runs more devices
// at once than the server serves syncs: the rest are turned away with 503
// and Retry-After, the devices wait as told, and everything converges with
// every inspection on the server exactly once.
func TestOverload_SyncsBeyondCapacityGet503WithRetryAfter(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) {
		c.MaxConcurrentSyncs = 1
		c.SyncQueueWait = time.Millisecond
		c.RetryAfter = 3 * time.Second
	})
	admin := e.login("admin")
	users := []string{"inspector1", "inspector2", "inspector3", "inspector4", "inspector5", "inspector6"}
	var mu sync.Mutex
	var waits []time.Duration
	devs := make([]*mobilesync.Device, len(users))
	for i, u := range users {
		devs[i] = e.newDevice(admin, u, func(o *mobilesync.Options) {
			o.Sleep = func(ctx context.Context, d time.Duration) error {
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
				return nil
			}
		})
	}
	var recorded []string
	for _, d := range devs {
		mustSync(t, d)
		for n := 0; n < 4; n++ {
			recorded = append(recorded, inspectAll(t, d, venuesOf(t, d)[n].ID))
		}
	}
	var wg sync.WaitGroup
	var failedSyncs atomic.Int64
	start := make(chan struct{})
	for _, d := range devs {
		wg.Add(1)
		go func(d *mobilesync.Device) {
			defer wg.Done()
			<-start
			for attempt := 0; attempt < 50; attempt++ {
				rep, err := d.Sync(context.Background())
				if err == nil && rep.PendingMutations == 0 {
					return
				}
				failedSyncs.Add(1)
			}
		}(d)
	}
	close(start)
	wg.Wait()
	for i, d := range devs {
		st, err := d.Status(context.Background())
		if err != nil || st.PendingMutations != 0 {
			t.Fatalf("device %d: pending %d (%v)", i, st.PendingMutations, err)
		}
	}
	for _, id := range recorded {
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
			t.Errorf("inspection %s on the server %d times", id, n)
		}
	}
	rejected := metricSum(t, e.URL, "patrol_overload_rejections_total")
	if rejected == 0 {
		t.Fatal("no sync was turned away; the test did not overload the server")
	}
	mu.Lock()
	defer mu.Unlock()
	honoured := 0
	for _, w := range waits {
		if w == 3*time.Second {
			honoured++
		}
	}
	if honoured == 0 {
		t.Fatalf("devices never waited the server's Retry-After of 3 s: %v", waits)
	}
	t.Logf("%d syncs turned away with 503, %d device waits of Retry-After, %d whole syncs retried", int(rejected), honoured, failedSyncs.Load())
}

// TestOverload_TimedOutPushLeavesNoWedgedWriter makes one push outlive the
// server's request time limit: it answers 503 timeout having committed
// nothing, the writer is free for the next push, and the device's retry
// delivers everything once.
func TestOverload_TimedOutPushLeavesNoWedgedWriter(t *testing.T) {
	var slowed atomic.Bool
	slowFirstPush := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() == schema.PathPush && slowed.CompareAndSwap(false, true) {
				<-c.Request().Context().Done() // the writer stays busy past the deadline
			}
			return next(c)
		}
	}
	e := newEnvWith(t, func(c *server.Config) {
		c.RequestTimeout = 300 * time.Millisecond
		c.SyncMiddleware = []echo.MiddlewareFunc{slowFirstPush}
	})
	admin := e.login("admin")
	d := e.newDevice(admin, "inspector1", func(o *mobilesync.Options) { o.MaxAttempts = 1 })
	mustSync(t, d)
	id := inspectAll(t, d, venuesOf(t, d)[0].ID)
	_, err := d.Sync(context.Background())
	if schema.ErrorCode(err) != schema.CodeTimeout && !strings.Contains(fmt.Sprint(err), "could not finish within") {
		t.Fatalf("first sync: %v; want the server's timeout", err)
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 0 {
		t.Fatalf("a timed-out push left %d rows", n)
	}
	rep := mustSync(t, d)
	if rep.PendingMutations != 0 {
		t.Fatalf("after retry: %+v", rep)
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
		t.Fatalf("inspection on the server %d times", n)
	}
	// The server still answers readiness: nothing holds the writer.
	resp, err := http.Get(e.URL + schema.PathReadyz)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz after timeout: %v %v", resp, err)
	}
	resp.Body.Close()
}

// metricSum adds up every sample of a metric family from /metrics.
func metricSum(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}
