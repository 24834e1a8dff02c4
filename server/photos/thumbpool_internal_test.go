package photos

import (
	"context"
	"runtime"
	"testing"
)

// waitFor yields until cond holds (no clock involved: the goroutines it
// waits for need only to be scheduled).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 1_000_000 {
			t.Fatalf("never: %s", what)
		}
		runtime.Gosched()
	}
}

func TestDecodePool_BudgetWorkersAndOrder(t *testing.T) {
	p := newDecodePool(100, 2)
	ctx := context.Background()
	if err := p.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	granted := make(chan int64, 3)
	for i, n := range []int64{50, 10} { // 50 does not fit; 10 would, but waits its turn
		go func() {
			if err := p.acquire(ctx, n); err != nil {
				t.Error(err)
			}
			granted <- n
		}()
		waitFor(t, "the waiter queues", func() bool { _, _, w := p.stats(); return w == i+1 })
	}
	if inUse, running, waiting := p.stats(); inUse != 60 || running != 1 || waiting != 2 {
		t.Fatalf("in use %d, running %d, waiting %d; want 60, 1, 2", inUse, running, waiting)
	}
	p.release(60)
	got := []int64{<-granted, <-granted}
	if inUse, running, _ := p.stats(); inUse != 60 || running != 2 || got[0]+got[1] != 60 {
		t.Fatalf("after release: in use %d, running %d, granted %v", inUse, running, got)
	}

	// Both workers are busy: a small decode waits for a worker, not bytes.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- p.acquire(cctx, 1) }()
	waitFor(t, "the third decode queues", func() bool { _, _, w := p.stats(); return w == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled wait acquired")
	}
	if inUse, running, waiting := p.stats(); inUse != 60 || running != 2 || waiting != 0 {
		t.Fatalf("after cancel: in use %d, running %d, waiting %d", inUse, running, waiting)
	}
	p.release(50)
	p.release(10)
	if inUse, running, _ := p.stats(); inUse != 0 || running != 0 {
		t.Fatalf("all released: in use %d, running %d", inUse, running)
	}
}
