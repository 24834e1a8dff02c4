package photos

import (
	"bufio"
	"context"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Bounds of the default thumbnail decode budget (see DefaultThumbBudget).
const (
	minThumbBudget = 64 << 20
	maxThumbBudget = 1 << 30
)

// DefaultThumbBudget is the memory that thumbnail decodes may hold at once
// when Service.ThumbBudget is 0, sized from the machine so that a server
// needs no setting to survive a burst of large photos: a quarter of the Go
// memory limit (GOMEMLIMIT) when one is set, else an eighth of the memory
// of the machine or of its cgroup, kept within 64 MiB and 1 GiB. Decoded
// pixels become garbage when a thumbnail is done and the collector frees
// them one cycle later (GOGC=100 lets the heap grow to twice what is live),
// so the heap that thumbnails cause stays under twice the budget.
func DefaultThumbBudget() int64 {
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64 {
		return clampBudget(lim / 4)
	}
	if mem := machineMemory(); mem > 0 {
		return clampBudget(mem / 8)
	}
	return 256 << 20
}

func clampBudget(n int64) int64 { return min(max(n, minThumbBudget), maxThumbBudget) }

// machineMemory is the memory this process may use as the kernel sees it:
// the cgroup v2 limit when there is one, else the machine's total; 0 when
// neither can be read (not Linux).
func machineMemory() int64 {
	var total int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					total = kb << 10
				}
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if lim, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && lim > 0 && (total == 0 || lim < total) {
			total = lim
		}
	}
	return total
}

// DefaultThumbWorkers is how many thumbnails are decoded at once when
// Service.ThumbWorkers is 0: one per CPU the Go scheduler uses, since a
// decode keeps a CPU busy and more at once would only share the CPUs.
func DefaultThumbWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

// decodePool bounds what thumbnails cost the server: a decode starts only
// when one of slots workers is free and its estimated bytes (read from the
// photo's header, see planThumbnail) fit in what is left of budget.
// Waiters are served in arrival order, so a large photo is not starved by
// a stream of small ones. However many photos arrive at once, decodes hold
// at most budget bytes; the rest wait, holding nothing but their place.
type decodePool struct {
	budget int64
	slots  int

	mu      sync.Mutex
	inUse   int64
	running int
	queue   []*poolWaiter
}

type poolWaiter struct {
	n     int64
	ready chan struct{}
}

func newDecodePool(budget int64, slots int) *decodePool {
	return &decodePool{budget: max(budget, 1), slots: max(slots, 1)}
}

// acquire takes n bytes of the budget and a worker, waiting in line until
// both are free or ctx ends. n must not exceed the budget (such a photo is
// refused before it queues, see thumbnail).
func (p *decodePool) acquire(ctx context.Context, n int64) error {
	n = min(max(n, 1), p.budget)
	p.mu.Lock()
	if len(p.queue) == 0 && p.fits(n) {
		p.take(n)
		p.mu.Unlock()
		return nil
	}
	w := &poolWaiter{n: n, ready: make(chan struct{})}
	p.queue = append(p.queue, w)
	p.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-w.ready: // granted while ctx ended: hand it back
		p.give(n)
	default:
		for i, q := range p.queue {
			if q == w {
				p.queue = append(p.queue[:i], p.queue[i+1:]...)
				break
			}
		}
		p.grant() // the head may have been the one blocking the rest
	}
	return ctx.Err()
}

// release returns what acquire(n) took.
func (p *decodePool) release(n int64) {
	n = min(max(n, 1), p.budget)
	p.mu.Lock()
	p.give(n)
	p.mu.Unlock()
}

func (p *decodePool) fits(n int64) bool { return p.running < p.slots && p.inUse+n <= p.budget }

func (p *decodePool) take(n int64) { p.inUse += n; p.running++ }

func (p *decodePool) give(n int64) {
	p.inUse -= n
	p.running--
	p.grant()
}

// grant admits waiters from the head of the line while they fit.
func (p *decodePool) grant() {
	for len(p.queue) > 0 && p.fits(p.queue[0].n) {
		w := p.queue[0]
		p.queue = p.queue[1:]
		p.take(w.n)
		close(w.ready)
	}
}

// stats reports the bytes held, the decodes running and those waiting.
func (p *decodePool) stats() (inUse int64, running, waiting int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse, p.running, len(p.queue)
}
