package schema_test

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func TestHLC_StringOrderMatchesCompare(t *testing.T) {
	hs := []schema.HLC{
		{WallMS: 1, Logical: 0, Node: "b"},
		{WallMS: 1, Logical: 0, Node: "a"},
		{WallMS: 1, Logical: 2, Node: "a"},
		{WallMS: 1732700000000, Logical: 0, Node: "z"},
		{WallMS: 999, Logical: 99999, Node: "a"},
		{WallMS: 1732700000000, Logical: 1, Node: "a"},
	}
	for _, a := range hs {
		for _, b := range hs {
			if got, want := schema.CompareHLCStrings(a.String(), b.String()), a.Compare(b); got != want {
				t.Errorf("%s vs %s: string compare %d, value compare %d", a, b, got, want)
			}
		}
		back, err := schema.ParseHLC(a.String())
		if err != nil || back != a {
			t.Errorf("round trip %v → %q → %v, %v", a, a.String(), back, err)
		}
	}
}

func TestParseHLC_RejectsGarbage(t *testing.T) {
	for _, s := range []string{"x", "1.2.3", "000000000000001.00001", "00000000000000a.00001.n", "000000000000001.0000x.n", "000000000000001.00001."} {
		if _, err := schema.ParseHLC(s); err == nil {
			t.Errorf("ParseHLC(%q) accepted", s)
		} else if schema.ErrorCode(err) != schema.CodeInvalid {
			t.Errorf("ParseHLC(%q) code %s", s, schema.ErrorCode(err))
		}
	}
}

func TestClock_MonotonicUnderBackwardsWallClock(t *testing.T) {
	wall := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := schema.NewClock("dev", func() time.Time { return wall })
	a := c.Tick()
	wall = wall.Add(-time.Hour) // the wall clock jumps back
	b := c.Tick()
	if b.Compare(a) <= 0 {
		t.Fatalf("tick after backwards jump %v not after %v", b, a)
	}
	remote := schema.HLC{WallMS: wall.Add(3 * time.Hour).UnixMilli(), Logical: 7, Node: "server"}
	c.Observe(remote)
	if d := c.Tick(); d.Compare(remote) <= 0 {
		t.Fatalf("tick %v not after observed %v", d, remote)
	}
}

func TestClock_OffsetCorrectsPhysicalTime(t *testing.T) {
	wall := time.Date(2026, 1, 1, 15, 0, 0, 0, time.UTC) // three hours ahead of true time
	c := schema.NewClock("dev", func() time.Time { return wall })
	c.SetOffset(-3 * time.Hour)
	if got := c.Tick().Time(); !got.Equal(wall.Add(-3 * time.Hour)) {
		t.Fatalf("corrected tick at %v", got)
	}
}

func TestClock_ConcurrentTicksAreUnique(t *testing.T) {
	c := schema.NewClock("n", nil)
	var mu sync.Mutex
	var all []string
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s := c.Tick().String()
				mu.Lock()
				all = append(all, s)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("duplicate HLC %s", all[i])
		}
	}
}
