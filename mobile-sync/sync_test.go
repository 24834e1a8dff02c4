package mobilesync_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// pastReassignmentGrace is longer than the server's grace (30 days) during
// which a squad's devices may still deliver inspections of a venue that
// left it.
const pastReassignmentGrace = 31 * 24 * time.Hour

func TestSync_InitialPullAndGzip(t *testing.T) {
	e := newEnv(t)
	rep := mustSync(t, e.dev)
	// The embedded checklists, the national zone rule, squad 1's leader and
	// two inspectors, and its three venues.
	if want := len(schema.Checklists()) + 1 + 3 + 3; rep.Pulled != want {
		t.Fatalf("pulled %d, want %d", rep.Pulled, want)
	}
	vs, err := e.dev.Venues(context.Background())
	if err != nil || len(vs) != 3 {
		t.Fatalf("venues %v, %v", vs, err)
	}
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	if pushes, gz := e.hooks.pushLog(); len(pushes) != 1 || gz != 1 {
		t.Fatalf("%d pushes, %d gzip-compressed; want 1 and 1", len(pushes), gz)
	}
	if in, err := e.admin.Inspection(id); err != nil || in.Status != schema.StatusSubmitted {
		t.Fatalf("server inspection %+v, %v", in, err)
	}
	st, _ := e.dev.Status(context.Background())
	if st.LastSync == nil || !st.LastSync.Equal(serverNow) {
		t.Fatalf("last sync %v", st.LastSync)
	}
}

// TestPush_ResultHandling: one push answered with each outcome the real
// merge gives — applied (a new venue), conflict (a field the admin changed
// meanwhile), rejected (an inspection of a venue that left the squad
// longer ago than the grace period) and duplicate (an inspection whose
// earlier answers were lost) — is settled row by row.
func TestPush_ResultHandling(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)

	// The server commits insp2, but none of its answers reach the device.
	insp2 := completeInspection(t, e.dev, venue2)
	if err := e.dev.Submit(ctx, insp2); err != nil {
		t.Fatal(err)
	}
	e.hooks.set(nil, func(r *http.Request, resp *http.Response) (*http.Response, error) {
		if r.URL.Path == schema.PathPush {
			resp.Body.Close()
			return nil, errors.New("connection reset by peer")
		}
		return resp, nil
	})
	if _, err := e.dev.Sync(ctx); !errors.Is(err, mobilesync.ErrUnreachable) {
		t.Fatalf("sync with every push answer lost: %v", err)
	}
	e.hooks.set(nil, nil)
	if _, err := e.admin.Inspection(insp2); err != nil {
		t.Fatalf("the first push did not reach the server: %v", err)
	}

	nv, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "Black café", Kind: schema.KindNetCafe, Lat: 35.05, Lng: 118.33})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldPhone: "0539-1234567"}); err != nil {
		t.Fatal(err)
	}
	insp := completeInspection(t, e.dev, venue3)
	if err := e.dev.Submit(ctx, insp); err != nil {
		t.Fatal(err)
	}
	// A second later the admin changes the same phone (the later clock
	// wins the merge) and moves venue3 to squad 2; the device pushes after
	// the reassignment grace has passed.
	e.clock.Advance(time.Second)
	e.adminEdit(t, venue1, schema.FieldPhone, "0539-7654321")
	if _, err := e.admin.MoveVenue(venue3, 2); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(pastReassignmentGrace)

	rep, err := e.dev.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pushed != 4 || rep.Conflicts != 1 || rep.Rejected != 1 || rep.PendingMutations != 0 {
		t.Fatalf("report %+v", rep)
	}
	log, _ := e.hooks.pushLog()
	last := log[len(log)-1]
	if len(last) != 4 || last[0] != log[0][0] {
		t.Fatalf("push log %v: the last push must resend insp2's mutation first", log)
	}
	if r := e.hooks.result(last[0]); r.Outcome != schema.OutcomeDuplicate || r.Original != schema.OutcomeApplied {
		t.Fatalf("answer to the resent inspection %+v, want a duplicate of an applied mutation", r)
	}
	answers, err := e.dev.Answers(ctx)
	if err != nil || len(answers) != 2 {
		t.Fatalf("answers %+v, %v", answers, err)
	}
	byOutcome := map[string]mobilesync.Answer{}
	for _, a := range answers {
		byOutcome[a.Outcome] = a
	}
	if a := byOutcome[schema.OutcomeRejected]; a.EntityID != insp || a.Code != string(schema.CodeForbidden) ||
		!strings.Contains(a.Reason, "not in your squad") || a.Mutation.Inspection == nil {
		t.Fatalf("rejection %+v", a)
	}
	if a := byOutcome[schema.OutcomeConflict]; a.EntityID != venue1 || a.ConflictID == "" {
		t.Fatalf("conflict %+v", a)
	}
	v, _ := venueByID(t, e.dev, venue1)
	if v.Phone != "0539-7654321" {
		t.Fatalf("conflict did not take the server's version: phone %q", v.Phone)
	}
	var localOnly int
	if err := e.dev.DB().R.QueryRow(`SELECT local_only FROM venues WHERE id = ?`, nv.ID).Scan(&localOnly); err != nil || localOnly != 0 {
		t.Fatalf("applied venue.create still local_only=%d (%v)", localOnly, err)
	}
	var dirty int
	e.dev.DB().R.QueryRow(`SELECT dirty FROM inspections WHERE id = ?`, insp2).Scan(&dirty)
	if dirty != 0 {
		t.Fatal("duplicate answer did not settle the inspection")
	}
	e.dev.DB().R.QueryRow(`SELECT dirty FROM inspections WHERE id = ?`, insp).Scan(&dirty)
	if dirty != 1 {
		t.Fatal("a rejected inspection must stay marked as not on the server")
	}
}

// TestPush_EditOfDeletedVenue: an offline edit of a venue the admin has
// deleted meanwhile is answered as a conflict with code gone; the venue
// leaves the device and the edit is kept with the answer, not resurrected.
func TestPush_EditOfDeletedVenue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	if err := e.dev.EditVenue(ctx, venue2, map[string]string{schema.FieldOpenState: schema.OpenStateClosed}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.DeleteVenue(venue2); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, e.dev)
	if rep.Pushed != 1 || rep.Conflicts != 1 || rep.PendingMutations != 0 {
		t.Fatalf("report %+v", rep)
	}
	answers, err := e.dev.Answers(ctx)
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers %+v, %v", answers, err)
	}
	if a := answers[0]; a.Outcome != schema.OutcomeConflict || a.Code != string(schema.CodeGone) || a.EntityID != venue2 ||
		a.ConflictID == "" || a.Mutation.VenueUpdate.Fields[schema.FieldOpenState].Value != schema.OpenStateClosed {
		t.Fatalf("answer %+v: want a gone conflict that keeps the edit", a)
	}
	if _, ok := venueByID(t, e.dev, venue2); ok {
		t.Fatal("the deleted venue is still on the device")
	}
	if _, err := e.admin.EditVenue(venue2, map[string]string{schema.FieldName: "x"}); schema.ErrorCode(err) != schema.CodeGone {
		t.Fatalf("the venue came back on the server: %v", err)
	}
}

func TestPush_ResponseLostAfterCommit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldName: "Star Net Café (2F)"}); err != nil {
		t.Fatal(err)
	}
	dropped := false
	e.hooks.set(nil, func(r *http.Request, resp *http.Response) (*http.Response, error) {
		if r.URL.Path == schema.PathPush && !dropped {
			dropped = true
			resp.Body.Close()
			return nil, errors.New("connection reset by peer")
		}
		return resp, nil
	})
	rep := mustSync(t, e.dev)
	log, _ := e.hooks.pushLog()
	if len(log) != 2 || !slices.Equal(log[0], log[1]) || len(log[0]) != 2 {
		t.Fatalf("push log %v: the retry must resend the same ids", log)
	}
	// Applied once: one inspection, the name changed, and no conflict (an
	// edit applied a second time would no longer match its base clock).
	list, err := e.admin.Inspections(nil)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("server holds inspections %+v (%v); want only %s", list, err, id)
	}
	if sv := e.serverVenue(t, venue1); sv.Name != "Star Net Café (2F)" {
		t.Fatalf("server venue name %q", sv.Name)
	}
	if cs, err := e.admin.Conflicts(); err != nil || len(cs) != 0 {
		t.Fatalf("conflicts %+v, %v: the retried push was applied again", cs, err)
	}
	if rep.Pushed != 2 || rep.PendingMutations != 0 || rep.Conflicts != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := e.sleeps.all(); len(got) != 1 {
		t.Fatalf("sleeps %v, want one backoff", got)
	}
	if a, _ := e.dev.Answers(ctx); len(a) != 0 {
		t.Fatalf("answers %+v", a)
	}
	var edits int
	e.dev.DB().R.QueryRow(`SELECT count(*) FROM venue_edits`).Scan(&edits)
	if edits != 0 {
		t.Fatalf("%d venue edits left after acknowledgement", edits)
	}
}

func TestPull_RebaseKeepsUnsentEdits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	// Between this sync's push and its pull, an inspector edits the name
	// here while an admin edits name and phone on the server.
	e.hooks.set(func(r *http.Request) {
		if r.URL.Path != schema.PathPull {
			return
		}
		e.hooks.set(nil, nil)
		if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldName: "Star Net (device)"}); err != nil {
			t.Errorf("edit: %v", err)
		}
		e.adminEdit(t, venue1, schema.FieldName, "Star Net (admin)")
		e.adminEdit(t, venue1, schema.FieldPhone, "0539-000")
	}, nil)
	mustSync(t, e.dev)
	v, _ := venueByID(t, e.dev, venue1)
	if v.Name != "Star Net (device)" || v.Phone != "0539-000" {
		t.Fatalf("after pull: name %q phone %q; the unsent name must stay, the phone must arrive", v.Name, v.Phone)
	}
	// The next sync pushes the edit; the server records the concurrent edit
	// and both sides converge on its merge.
	rep := mustSync(t, e.dev)
	if rep.Conflicts != 1 {
		t.Fatalf("report %+v, want the concurrent edit as a conflict", rep)
	}
	sv := e.serverVenue(t, venue1)
	v, _ = venueByID(t, e.dev, venue1)
	if v.Name != sv.Name || v.Phone != sv.Phone {
		t.Fatalf("device %q/%q, server %q/%q", v.Name, v.Phone, sv.Name, sv.Phone)
	}
}

func TestPull_ResetKeepsOwnUnsentWork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	sent := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, sent); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	if _, err := e.admin.MoveVenue(venue2, 2); err != nil {
		t.Fatal(err)
	}
	// The server answers a cursor it can no longer use (as after a change
	// of the squad's jurisdiction) with a reset: the whole visible set again.
	if _, err := e.dev.DB().W.Exec(`UPDATE meta SET value = 'stale' WHERE key = 'cursor'`); err != nil {
		t.Fatal(err)
	}
	var local schema.Venue
	var draft string
	e.hooks.set(func(r *http.Request) {
		if r.URL.Path != schema.PathPull {
			return
		}
		e.hooks.set(nil, nil)
		var err error
		if local, err = e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "Unlicensed bar", Kind: schema.KindNetCafe, Lat: 35.01, Lng: 118.31}); err != nil {
			t.Error(err)
		}
		if draft, err = e.dev.StartInspection(ctx, venue2); err != nil {
			t.Error(err)
		}
		if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldOpenState: schema.OpenStateClosed}); err != nil {
			t.Error(err)
		}
	}, nil)
	rep := mustSync(t, e.dev)
	if !rep.Reset {
		t.Fatalf("report %+v, want reset", rep)
	}
	if _, ok := venueByID(t, e.dev, venue2); ok {
		t.Fatal("a venue no longer visible survived the reset")
	}
	v1, ok := venueByID(t, e.dev, venue1)
	if !ok || v1.OpenState != schema.OpenStateClosed {
		t.Fatalf("venue1 %+v: the unsent edit must survive the reset", v1)
	}
	if _, ok := venueByID(t, e.dev, local.ID); !ok {
		t.Fatal("the unsent local venue was dropped")
	}
	if _, err := e.dev.Inspection(ctx, draft); err != nil {
		t.Fatalf("draft dropped: %v", err)
	}
	if _, err := e.dev.Inspection(ctx, sent); err != nil {
		t.Fatalf("the server's copy of a sent inspection was not delivered again: %v", err)
	}
	if rep.PendingMutations != 2 {
		t.Fatalf("pending %d, want venue.create and venue.update", rep.PendingMutations)
	}
	rep = mustSync(t, e.dev)
	if rep.PendingMutations != 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestPull_RemovedVenueUnsentInspectionStillGoesUp(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	var id string
	e.hooks.set(func(r *http.Request) {
		if r.URL.Path != schema.PathPull {
			return
		}
		e.hooks.set(nil, nil)
		id = completeInspection(t, e.dev, venue2)
		if err := e.dev.Submit(ctx, id); err != nil {
			t.Error(err)
		}
		if _, err := e.admin.MoveVenue(venue2, 2); err != nil {
			t.Errorf("move: %v", err)
		}
	}, nil)
	rep := mustSync(t, e.dev)
	if _, ok := venueByID(t, e.dev, venue2); ok {
		t.Fatal("the reassigned venue was not purged")
	}
	if rep.PendingMutations != 1 {
		t.Fatalf("pending %d, want the unsent inspection", rep.PendingMutations)
	}
	if _, err := e.dev.Inspection(ctx, id); err != nil {
		t.Fatalf("inspection of the purged venue lost: %v", err)
	}
	mustSync(t, e.dev)
	// Work done before the reassignment is still taken (within the grace).
	if _, err := e.admin.Inspection(id); err != nil {
		t.Fatalf("the inspection of the purged venue never reached the server: %v", err)
	}
}

func TestPull_ReviewedInspectionConflict(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	if _, err := e.srv.Leader(1).Review(id, schema.ReviewApprove, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "minor at PC 12"); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, e.dev)
	if rep.Conflicts != 1 {
		t.Fatalf("report %+v: an amendment of a reviewed inspection must be a conflict", rep)
	}
	in, _ := e.dev.Inspection(ctx, id)
	if in.Status != schema.StatusApproved || in.Review == nil {
		t.Fatalf("inspection %+v: the device must show the server's reviewed record", in)
	}
	answers, _ := e.dev.Answers(ctx)
	if len(answers) != 1 || answers[0].Mutation.Inspection.Items[2].Result != schema.ResultFail {
		t.Fatalf("answers %+v: the amendment must be kept with the conflict", answers)
	}
}

func TestRetry_RetryAfterHonoured(t *testing.T) {
	e := newEnv(t)
	date := serverNow.Add(42 * time.Second).Format(http.TimeFormat)
	e.hooks.fail(
		fault{path: schema.PathPull, status: 503, retryAfter: "7"},
		fault{path: schema.PathPull, status: 429, retryAfter: date},
	)
	mustSync(t, e.dev)
	got := e.sleeps.all()
	if len(got) != 2 || got[0] != 7*time.Second || got[1] != 42*time.Second {
		t.Fatalf("sleeps %v, want [7s 42s]", got)
	}
}

func TestRetry_BackoffWithFullJitter(t *testing.T) {
	rnd := []float64{0.5, 0.25, 1 - 1e-9, 0}
	i := 0
	e := newEnv(t, func(o *mobilesync.Options) { o.Rand = func() float64 { v := rnd[i%len(rnd)]; i++; return v } })
	for range 4 {
		e.hooks.fail(fault{path: schema.PathPull, status: 502})
	}
	mustSync(t, e.dev)
	got := e.sleeps.all()
	want := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 800 * time.Millisecond, 0}
	if len(got) != 4 {
		t.Fatalf("sleeps %v", got)
	}
	for k := range want {
		if d := got[k] - want[k]; d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("sleep %d = %v, want ≈ %v (all %v)", k, got[k], want[k], got)
		}
	}
}

func TestRetry_GivesUpKeepingWork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	for range mobilesync.DefaultMaxAttempts {
		e.hooks.fail(fault{path: schema.PathPush, status: 503})
	}
	rep, err := e.dev.Sync(ctx)
	if schema.ErrorCode(err) != schema.CodeUnavailable || !strings.Contains(err.Error(), "work is kept") {
		t.Fatalf("sync: %v", err)
	}
	if rep.PendingMutations != 1 || len(e.sleeps.all()) != mobilesync.DefaultMaxAttempts-1 {
		t.Fatalf("report %+v, sleeps %v", rep, e.sleeps.all())
	}
	var inflight int
	e.dev.DB().R.QueryRow(`SELECT count(*) FROM outbox WHERE inflight = 1`).Scan(&inflight)
	if inflight != 0 {
		t.Fatal("rows left marked in flight")
	}
	if rep := mustSync(t, e.dev); rep.Pushed != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestSync_Unreachable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldPhone: "1"}); err != nil {
		t.Fatal(err)
	}
	e.hooks.set(nil, func(r *http.Request, resp *http.Response) (*http.Response, error) {
		resp.Body.Close()
		return nil, errors.New("dial tcp: connect: connection refused")
	})
	_, err := e.dev.Sync(ctx)
	if !errors.Is(err, mobilesync.ErrUnreachable) || !strings.Contains(err.Error(), "your work is kept") || !strings.Contains(err.Error(), e.srv.URL) {
		t.Fatalf("sync: %v", err)
	}
	if pending(t, e.dev) != 1 {
		t.Fatal("work lost while offline")
	}
}

func TestSync_RevokedToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldPhone: "1"}); err != nil {
		t.Fatal(err)
	}
	idn, err := e.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.RevokeDevice(idn.DeviceID); err != nil {
		t.Fatal(err)
	}
	_, err = e.dev.Sync(ctx)
	if !errors.Is(err, mobilesync.ErrEnrollAgain) || schema.ErrorCode(err) != schema.CodeUnauthorized {
		t.Fatalf("sync: %v", err)
	}
	if len(e.sleeps.all()) != 0 {
		t.Fatal("a 401 was retried")
	}
	code, err := e.admin.EnrollmentCode("inspector1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Enroll(ctx, e.srv.URL, code, "phone"); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, e.dev); rep.Pushed != 1 {
		t.Fatalf("work was not kept across re-enrolment: %+v", rep)
	}
}
