package schema

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HLC is a hybrid logical clock timestamp: physical milliseconds, a logical
// counter for events within the same millisecond, and the node that made it
// as the final tie-break. Edits are merged in HLC order, never by raw device
// wall time, because device clocks are wrong.
type HLC struct {
	WallMS  int64
	Logical uint32
	Node    string
}

// hlcWallDigits is wide enough for any millisecond timestamp until year 33658,
// so that the string form sorts like the value.
const hlcWallDigits = 15

// String encodes the HLC so that comparing strings byte-wise orders them
// exactly like Compare: "000001732700000000.00001.node".
func (h HLC) String() string {
	if h.IsZero() {
		return ""
	}
	return fmt.Sprintf("%0*d.%05d.%s", hlcWallDigits, h.WallMS, h.Logical, h.Node)
}

// IsZero reports whether h is the zero timestamp (never set).
func (h HLC) IsZero() bool { return h.WallMS == 0 && h.Logical == 0 && h.Node == "" }

// Time returns the physical part as a time.
func (h HLC) Time() time.Time { return time.UnixMilli(h.WallMS).UTC() }

// ParseHLC decodes the String form. The empty string is the zero HLC.
func ParseHLC(s string) (HLC, error) {
	if s == "" {
		return HLC{}, nil
	}
	parts := strings.SplitN(s, ".", 3)
	if len(parts) != 3 || len(parts[0]) != hlcWallDigits || len(parts[1]) != 5 || parts[2] == "" || len(parts[2]) > 64 {
		return HLC{}, Errorf(CodeInvalid, "hlc %q is not of the form WALLMS.LOGICAL.NODE", truncate(s, 80))
	}
	wall, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || wall < 0 {
		return HLC{}, Errorf(CodeInvalid, "hlc %q has a bad wall time", truncate(s, 80))
	}
	logical, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return HLC{}, Errorf(CodeInvalid, "hlc %q has a bad logical counter", truncate(s, 80))
	}
	return HLC{WallMS: wall, Logical: uint32(logical), Node: parts[2]}, nil
}

// Compare orders two HLCs: -1 if a < b, 0 if equal, +1 if a > b.
func (a HLC) Compare(b HLC) int {
	switch {
	case a.WallMS != b.WallMS:
		if a.WallMS < b.WallMS {
			return -1
		}
		return 1
	case a.Logical != b.Logical:
		if a.Logical < b.Logical {
			return -1
		}
		return 1
	default:
		return strings.Compare(a.Node, b.Node)
	}
}

// CompareHLCStrings compares two encoded HLCs; the encoding sorts like the
// value, so this is a plain string compare kept here to say so once.
func CompareHLCStrings(a, b string) int { return strings.Compare(a, b) }

// Clock issues HLC timestamps for one node. Now is the physical clock; a
// device sets Offset to its best estimate of (server time - device time) so
// that a device whose wall clock is hours off still stamps edits close to
// true time. Clock is safe for concurrent use.
type Clock struct {
	Node   string
	Now    func() time.Time
	mu     sync.Mutex
	last   HLC
	offset time.Duration
}

// NewClock returns a clock for node that reads now (time.Now when nil).
func NewClock(node string, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{Node: node, Now: now}
}

// SetOffset sets the correction added to the physical clock.
func (c *Clock) SetOffset(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}

// Offset returns the correction added to the physical clock.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Physical returns the corrected physical time (wall clock plus offset).
func (c *Clock) Physical() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Now().Add(c.offset)
}

// Tick returns a new timestamp greater than every one this clock has issued
// or observed.
func (c *Clock) Tick() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.Now().Add(c.offset).UnixMilli()
	if pt > c.last.WallMS {
		c.last = HLC{WallMS: pt, Node: c.Node}
	} else {
		c.last = HLC{WallMS: c.last.WallMS, Logical: c.last.Logical + 1, Node: c.Node}
	}
	return c.last
}

// Observe merges a remote timestamp so that every later Tick is after it.
// It ignores zero timestamps.
func (c *Clock) Observe(remote HLC) {
	if remote.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if remote.WallMS > c.last.WallMS || (remote.WallMS == c.last.WallMS && remote.Logical > c.last.Logical) {
		c.last = HLC{WallMS: remote.WallMS, Logical: remote.Logical, Node: c.Node}
	}
}

// Last returns the latest timestamp issued or observed (for persisting).
func (c *Clock) Last() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
