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
	"github.com/patrolhq/patrol/mobile-sync/internal/fakeserver"
	"github.com/patrolhq/patrol/schema"
)

func TestSync_InitialPullAndGzip(t *testing.T) {
	e := newEnv(t)
	rep := mustSync(t, e.dev)
	if rep.Pulled != 5 { // 2 members of squad 1, 2 venues, 1 school
		t.Fatalf("pulled %d, want 5", rep.Pulled)
	}
	vs, err := e.dev.Venues(context.Background())
	if err != nil || len(vs) != 2 {
		t.Fatalf("venues %v, %v", vs, err)
	}
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	e.srv.Lock()
	gz := e.srv.GzipPushes
	e.srv.Unlock()
	if gz != 1 {
		t.Fatalf("gzip pushes = %d, want 1", gz)
	}
	st, _ := e.dev.Status(context.Background())
	if st.LastSync == nil || !st.LastSync.Equal(serverNow) {
		t.Fatalf("last sync %v", st.LastSync)
	}
}

func TestPush_ResultHandling(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	nv, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "Black café", Kind: schema.KindNetCafe, Lat: 35.05, Lng: 118.33})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.EditVenue(ctx, venue1, map[string]string{schema.FieldPhone: "0539-1234567"}); err != nil {
		t.Fatal(err)
	}
	insp := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, insp); err != nil {
		t.Fatal(err)
	}
	insp2 := completeInspection(t, e.dev, venue2)
	if err := e.dev.Submit(ctx, insp2); err != nil {
		t.Fatal(err)
	}
	serverVenue, _ := e.srv.Venue(venue1)
	serverVenue.Phone = "0539-7654321"
	e.srv.Lock()
	e.srv.PushOverride = func(_ string, req *schema.PushRequest) *schema.PushResponse {
		r := make([]schema.MutationResult, len(req.Mutations))
		r[0] = schema.MutationResult{ID: req.Mutations[0].ID, Outcome: schema.OutcomeApplied}
		r[1] = schema.MutationResult{ID: req.Mutations[1].ID, Outcome: schema.OutcomeConflict, Reason: "phone changed on the server", ConflictID: "c1", ServerVenue: &serverVenue}
		r[2] = schema.MutationResult{ID: req.Mutations[2].ID, Outcome: schema.OutcomeRejected, Code: schema.CodeForbidden, Reason: "venue not in your squad"}
		r[3] = schema.MutationResult{ID: req.Mutations[3].ID, Outcome: schema.OutcomeDuplicate, Original: schema.OutcomeApplied}
		return &schema.PushResponse{Results: r, ServerTime: serverNow}
	}
	e.srv.Unlock()
	rep, err := e.dev.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pushed != 4 || rep.Conflicts != 1 || rep.Rejected != 1 || rep.PendingMutations != 0 {
		t.Fatalf("report %+v", rep)
	}
	answers, err := e.dev.Answers(ctx)
	if err != nil || len(answers) != 2 {
		t.Fatalf("answers %+v, %v", answers, err)
	}
	byOutcome := map[string]mobilesync.Answer{}
	for _, a := range answers {
		byOutcome[a.Outcome] = a
	}
	if a := byOutcome[schema.OutcomeRejected]; a.EntityID != insp || a.Reason != "venue not in your squad" || a.Mutation.Inspection == nil {
		t.Fatalf("rejection %+v", a)
	}
	if a := byOutcome[schema.OutcomeConflict]; a.EntityID != venue1 || a.ConflictID != "c1" {
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
	e.srv.Lock()
	log := slices.Clone(e.srv.PushLog)
	applies := e.srv.Applies
	e.srv.Unlock()
	if len(log) != 2 || !slices.Equal(log[0], log[1]) || len(log[0]) != 2 {
		t.Fatalf("push log %v: the retry must resend the same ids", log)
	}
	if applies != 2 || e.srv.InspectionCount() != 1 {
		t.Fatalf("server applied %d mutations, holds %d inspections", applies, e.srv.InspectionCount())
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
		e.srv.EditVenue(venue1, schema.FieldName, "Star Net (admin)")
		e.srv.EditVenue(venue1, schema.FieldPhone, "0539-000")
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
	sv, _ := e.srv.Venue(venue1)
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
	e.srv.MoveVenue(venue2, 2)
	e.srv.ResetAll()
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
		e.srv.MoveVenue(venue2, 2)
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
	if _, ok := e.srv.Inspection(id); !ok {
		t.Fatal("the inspection of the purged venue never reached the server")
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
	e.srv.Review(id)
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "minor at PC 12"); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, e.dev)
	if rep.Conflicts != 1 {
		t.Fatalf("report %+v: an amendment of a reviewed inspection must be a conflict", rep)
	}
	in, _ := e.dev.Inspection(ctx, id)
	if in.Status != schema.StatusReviewed || in.Review == nil {
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
	e.srv.AddFaults(
		fakeserver.Fault{Path: schema.PathPull, Status: 503, RetryAfter: "7"},
		fakeserver.Fault{Path: schema.PathPull, Status: 429, RetryAfter: date},
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
		e.srv.AddFaults(fakeserver.Fault{Path: schema.PathPull, Status: 502})
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
		e.srv.AddFaults(fakeserver.Fault{Path: schema.PathPush, Status: 503})
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
	e.srv.RevokeAll()
	_, err := e.dev.Sync(ctx)
	if !errors.Is(err, mobilesync.ErrEnrollAgain) || schema.ErrorCode(err) != schema.CodeUnauthorized {
		t.Fatalf("sync: %v", err)
	}
	if len(e.sleeps.all()) != 0 {
		t.Fatal("a 401 was retried")
	}
	e.srv.AddCode("CODE2", "inspector1")
	if err := e.dev.Enroll(ctx, e.srv.URL, "CODE2", "phone"); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, e.dev); rep.Pushed != 1 {
		t.Fatalf("work was not kept across re-enrolment: %+v", rep)
	}
}
