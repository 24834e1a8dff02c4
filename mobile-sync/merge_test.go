package mobilesync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// TestMerge_PullRepointsUnsentWork: the device recorded a black café that
// its leader merged into a known venue; while the device pulls that merge
// it still holds an unsent inspection naming the café (recorded just as
// the pull went out). The page that removes the café re-points, in its
// own transaction, the local inspection and the outbox mutation to the
// survivor, so what goes up next names a venue the server knows.
func TestMerge_PullRepointsUnsentWork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	known := e.serverVenue(t, venue1)
	dup, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "黑网吧", Kind: schema.KindNetCafe, Lat: known.Lat + 0.0001, Lng: known.Lng})
	if err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, e.dev); rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("sync of the café: %+v", rep)
	}
	if _, err := e.srv.Server().Store().MergeVenue(ctx, dup.ID, venue1, "leader1", schema.SquadScope(1)); err != nil {
		t.Fatalf("merge: %v", err)
	}
	var once sync.Once
	var mu sync.Mutex
	var late string
	var after []string // bodies of pushes sent after the pull went out
	e.hooks.set(func(r *http.Request) {
		switch r.URL.Path {
		case schema.PathPull:
			once.Do(func() {
				id := completeInspection(t, e.dev, dup.ID, "inspector2")
				if err := e.dev.Submit(ctx, id); err != nil {
					t.Errorf("submit: %v", err)
				}
				mu.Lock()
				late = id
				mu.Unlock()
			})
		case schema.PathPush:
			mu.Lock()
			defer mu.Unlock()
			if late == "" {
				return
			}
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if r.Header.Get("Content-Encoding") == "gzip" {
				if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
					b, _ = io.ReadAll(zr)
				}
			}
			after = append(after, string(b))
		}
	}, nil)
	mustSync(t, e.dev) // the pull re-points what was recorded meanwhile
	if rep := mustSync(t, e.dev); rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("sync of the re-pointed inspection: %+v", rep)
	}
	e.hooks.set(nil, nil)
	if late == "" {
		t.Fatal("no inspection was recorded during the pull")
	}
	in, err := e.dev.Inspection(ctx, late)
	if err != nil || in.VenueID != venue1 {
		t.Fatalf("local inspection: venue %q, %v; want %s", in.VenueID, err, venue1)
	}
	if len(after) == 0 {
		t.Fatal("the inspection never went up")
	}
	for _, body := range after {
		if strings.Contains(body, dup.ID) || !strings.Contains(body, venue1) {
			t.Fatalf("a push after the merge still names the merged café: %.300s", body)
		}
	}
	if got := e.srv.Server().Store(); got != nil {
		stored, err := got.Inspection(ctx, late)
		if err != nil || stored.VenueID != venue1 {
			t.Fatalf("server holds the inspection on %q, %v", stored.VenueID, err)
		}
	}
	if _, ok := venueByID(t, e.dev, dup.ID); ok {
		t.Fatal("the device still holds the merged café")
	}
	if to, err := e.dev.MergedInto(ctx, dup.ID); err != nil || to != venue1 {
		t.Fatalf("MergedInto = %q, %v", to, err)
	}
}
