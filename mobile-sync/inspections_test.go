package mobilesync_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

func TestOutbox_SurvivesReopen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	v, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "Back-alley net bar", Kind: schema.KindNetCafe, Lat: 35.05, Lng: 118.33})
	if err != nil {
		t.Fatal(err)
	}
	id := completeInspection(t, e.dev, v.ID, "inspector2")
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	if n := pending(t, e.dev); n != 2 {
		t.Fatalf("pending after reopen = %d, want 2 (venue.create, inspection.upsert)", n)
	}
	rep := mustSync(t, e.dev)
	if rep.Pushed != 2 || rep.PendingMutations != 0 {
		t.Fatalf("report %+v, want 2 pushed, 0 pending", rep)
	}
	got, err := e.admin.Inspection(id)
	if err != nil || got.Status != schema.StatusSubmitted || len(got.Items) != 16 || len(got.Inspectors) != 2 {
		t.Fatalf("server inspection %+v, %v", got, err)
	}
	if got.Inspectors[1].BadgeNo != "JX-0002" {
		t.Fatalf("co-inspector badge not filled from members: %+v", got.Inspectors)
	}
	sv, err := e.admin.Venue(v.ID)
	if err != nil || sv.Licensed != false || sv.SquadID != 1 {
		t.Fatalf("server venue %+v, %v", sv, err)
	}
}

func TestSubmit_RefusesIncomplete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id, err := e.dev.StartInspection(ctx, venue1)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{"NC01", "NC02", "NC04"} {
		if err := e.dev.SetItem(ctx, id, item, schema.ResultPass, ""); err != nil {
			t.Fatal(err)
		}
	}
	err = e.dev.Submit(ctx, id)
	if schema.ErrorCode(err) != schema.CodeInvalid || !strings.Contains(err.Error(), "NC03") || strings.Contains(err.Error(), "NC04,") {
		t.Fatalf("submit of incomplete inspection: %v", err)
	}
	in, err := e.dev.Inspection(ctx, id)
	if err != nil || in.Status != schema.StatusDraft {
		t.Fatalf("inspection %+v, %v", in, err)
	}
	if n := pending(t, e.dev); n != 0 {
		t.Fatalf("a draft was queued: %d pending", n)
	}
}

func TestSetItem_Validates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id, err := e.dev.StartInspection(ctx, venue1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.SetItem(ctx, id, "NC99", "pass", ""); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("unknown item: %v", err)
	}
	if err := e.dev.SetItem(ctx, id, "NC01", "maybe", ""); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("bad result: %v", err)
	}
	if _, err := e.dev.StartInspection(ctx, venue1, "nobody"); err == nil || !strings.Contains(err.Error(), "inspector2") {
		t.Fatalf("unknown co-inspector: %v", err)
	}
	if _, err := e.dev.StartInspection(ctx, "01900000-0000-7000-8000-00000000dead"); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("unknown venue: %v", err)
	}
}

func TestStartInspection_ChecklistByKind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id, err := e.dev.StartInspection(ctx, venue2) // an arcade: no specific checklist, the default
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.dev.Inspection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if in.ChecklistVersion != schema.DefaultChecklistVersion || in.Inspectors[0].Username != "inspector1" || in.Inspectors[0].Name != "Li Wei" {
		t.Fatalf("inspection %+v", in)
	}
}

func TestOutbox_CompactionKeepsInflight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Amending before any push supersedes the queued snapshot.
	if err := e.dev.SetItem(ctx, id, "NC05", schema.ResultFail, "logs kept 20 days"); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, e.dev); n != 1 {
		t.Fatalf("pending = %d, want 1 after compaction", n)
	}
	// An amendment while the snapshot is in flight must not delete it.
	amended := false
	e.hooks.set(func(r *http.Request) {
		if r.URL.Path != schema.PathPush || amended {
			return
		}
		amended = true
		if err := e.dev.SetItem(ctx, id, "NC06", schema.ResultFail, "open at 01:00"); err != nil {
			t.Errorf("amend during push: %v", err)
		}
		if n := pending(t, e.dev); n != 2 {
			t.Errorf("pending during push = %d, want 2 (in-flight row kept)", n)
		}
	}, nil)
	rep := mustSync(t, e.dev)
	if rep.Pushed != 2 || rep.PendingMutations != 0 {
		t.Fatalf("report %+v", rep)
	}
	got, err := e.admin.Inspection(id)
	if err != nil {
		t.Fatal(err)
	}
	fails := 0
	for _, it := range got.Items {
		if it.Result == schema.ResultFail {
			fails++
		}
	}
	if fails != 2 {
		t.Fatalf("server has %d failed items, want 2: %+v", fails, got.Items)
	}
}

func TestClock_DeviceThreeHoursAhead(t *testing.T) {
	ahead := serverNow.Add(3 * time.Hour)
	e := newEnv(t, func(o *mobilesync.Options) { o.Now = func() time.Time { return ahead } })
	ctx := context.Background()
	mustSync(t, e.dev)
	st, err := e.dev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ClockOffsetMS != (3 * time.Hour).Milliseconds() {
		t.Fatalf("clock offset %d ms, want +3h", st.ClockOffsetMS)
	}
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	in, _ := e.dev.Inspection(ctx, id)
	if !in.StartedAt.Equal(serverNow) || !in.FinishedAt.Equal(serverNow) {
		t.Fatalf("times not corrected: started %v finished %v, want %v", in.StartedAt, in.FinishedAt, serverNow)
	}
	// The correction survives a restart.
	e.reopen(t)
	id2, err := e.dev.StartInspection(ctx, venue1)
	if err != nil {
		t.Fatal(err)
	}
	in2, _ := e.dev.Inspection(ctx, id2)
	if !in2.StartedAt.Equal(serverNow) {
		t.Fatalf("after reopen started_at %v, want %v", in2.StartedAt, serverNow)
	}
	h, _ := schema.ParseHLC(in2.HLC)
	if h.Time().After(serverNow.Add(time.Second)) {
		t.Fatalf("hlc %s runs on the uncorrected clock", in2.HLC)
	}
}

func TestDevice_NotEnrolled(t *testing.T) {
	ctx := context.Background()
	d, err := mobilesync.Open(ctx, mobilesync.Options{Path: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Sync(ctx); !errors.Is(err, mobilesync.ErrNotEnrolled) {
		t.Fatalf("sync: %v", err)
	}
	if _, err := d.AddVenue(ctx, mobilesync.NewVenue{Name: "x", Kind: schema.KindNetCafe, Lat: 35, Lng: 118}); !errors.Is(err, mobilesync.ErrNotEnrolled) {
		t.Fatalf("add venue: %v", err)
	}
	st, err := d.Status(ctx)
	if err != nil || st.Enrolled || st.LastSync != nil {
		t.Fatalf("status %+v, %v", st, err)
	}
}
