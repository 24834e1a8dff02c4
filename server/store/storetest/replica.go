package storetest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// replica is what a device holds from the server: one row per kind and
// id, as the JSON of its payload.
type replica map[string]string

func key(kind, id string) string { return kind + "/" + id }

func (r replica) apply(p store.PullPage) {
	if p.Reset {
		// The device drops what this pull sequence does not deliver again;
		// the whole sequence follows, so dropping first ends the same.
		clear(r)
	}
	for _, c := range p.Changes {
		k := key(c.Kind, c.ID)
		if c.Removed {
			delete(r, k)
			continue
		}
		c.Seq = 0
		b, err := json.Marshal(c)
		if err != nil {
			panic(err)
		}
		r[k] = string(b)
	}
}

// has reports whether the replica holds a row of kind and id.
func (r replica) has(kind, id string) bool {
	_, ok := r[key(kind, id)]
	return ok
}

// ids lists the ids the replica holds of one kind, sorted.
func (r replica) ids(kind string) []string {
	var out []string
	for k := range r {
		if rest, ok := strings.CutPrefix(k, kind+"/"); ok {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out
}

// diff describes how got differs from want, "" when it does not.
func (got replica) diff(want replica) string {
	var lines []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			lines = append(lines, "missing "+k)
		case g != w:
			lines = append(lines, fmt.Sprintf("differs %s:\n    held  %s\n    fresh %s", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, "extra "+k)
		}
	}
	sort.Strings(lines)
	if len(lines) > 12 {
		lines = append(lines[:12], fmt.Sprintf("… and %d more", len(lines)-12))
	}
	return strings.Join(lines, "\n  ")
}

// change decodes a held row back into its change.
func (r replica) change(t *testing.T, kind, id string) schema.Change {
	t.Helper()
	raw, ok := r[key(kind, id)]
	if !ok {
		t.Fatalf("no %s/%s held", kind, id)
	}
	var c schema.Change
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	return c
}
