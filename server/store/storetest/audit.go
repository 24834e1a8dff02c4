package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var auditCases = []contractCase{
	withEnv("ChainHoldsUnderConcurrentAppends", testAuditConcurrent),
	withEnv("StateChangesAudited", testAuditStateChanges),
	withEnv("RefusedChangeWritesNoEntry", testAuditRefused),
	withEnv("FiltersAndPaging", testAuditFilters),
	withEnv("ScanStreamsInBatches", testAuditScan),
}

// verifyAudit checks the whole chain and returns its length.
func (e *env) verifyAudit() int64 {
	e.t.Helper()
	n, brk, err := store.VerifyAudit(e.ctx, e.s)
	if err != nil {
		e.t.Fatalf("VerifyAudit: %v", err)
	}
	if brk != nil {
		e.t.Fatalf("audit chain broken after %d entries: %v", n, brk)
	}
	if c, err := e.s.CountAudit(e.ctx); err != nil || c != n {
		e.t.Fatalf("CountAudit = %d, %v; the chain holds %d", c, err, n)
	}
	return n
}

func (e *env) auditEntries(f store.AuditFilter) []schema.AuditEntry {
	e.t.Helper()
	list, err := e.s.AuditEntries(e.ctx, f)
	if err != nil {
		e.t.Fatalf("AuditEntries %+v: %v", f, err)
	}
	return list
}

func testAuditConcurrent(t *testing.T, e *env) {
	base := e.verifyAudit()
	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := store.WithAuditor(e.ctx, fmt.Sprintf("user%d", w), "10.0.0.1")
			for i := range each {
				if _, err := e.s.AppendAudit(ctx, schema.AuditEntry{EntityKind: schema.AuditUser, EntityID: fmt.Sprintf("u%d", w),
					Action: "login", Reason: fmt.Sprint(i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	// State changes append beside them.
	for _, key := range []string{"v1a", "v1b", "v2a"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.s.DeleteVenue(store.WithAuditor(e.ctx, "admin", "10.0.0.9"), e.venues[key].ID); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := e.verifyAudit(); n != base+workers*each+3 {
		t.Fatalf("%d entries; want %d", n, base+workers*each+3)
	}
}

func testAuditStateChanges(t *testing.T, e *env) {
	ctx := store.WithAuditor(e.ctx, "leader1", "192.0.2.7")
	lctx := func() context.Context { e.clock.Advance(time.Second); return ctx }
	d := e.enroll("insp1a") // enrolled without an auditor: the code's owner enrols
	if err := e.s.RevokeDevice(lctx(), d.id); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RevokeDevice(lctx(), d.id); err != nil { // again: nothing changes
		t.Fatal(err)
	}
	u, err := e.s.CreateUser(lctx(), store.User{Username: "newbie", Role: schema.RoleInspector, SquadID: ptr(int64(1)), PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AddCoInspector(lctx(), 1, "insp2", "leader1", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RemoveCoInspector(lctx(), 1, "insp2", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ReviewInspection(lctx(), e.past.ID, store.ReviewInput{Action: schema.ReviewApprove, Comment: "fine", By: "leader1"}, schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.MoveVenue(lctx(), e.venues["v1b"].ID, 2); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteVenue(lctx(), e.venues["v1a"].ID); err != nil {
		t.Fatal(err)
	}
	d2 := e.enroll("insp2")
	e.clock.Advance(time.Minute)
	if _, _, err := e.s.EditVenue(e.ctx, e.venues["v2a"].ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "server"}}, nil, serverActor("admin"), schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	r := d2.push(d2.edit(e.venues["v2a"].ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "device", Base: e.venues["v2a"].Clocks[schema.FieldName]}}))[0]
	wantOutcome(t, "stale edit", r, schema.OutcomeConflict, schema.CodeConflict)
	if _, err := e.s.ResolveConflict(store.WithAuditor(e.ctx, "leader2", "198.51.100.2"), r.ConflictID, "leader2", schema.SquadScope(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ResolveConflict(ctx, r.ConflictID, "leader2", schema.AllSquads()); err != nil { // resolved already
		t.Fatal(err)
	}

	type row struct {
		actor, addr, kind, id string
		squad                 int64
		action, from, to      string
	}
	var got []row
	list := e.auditEntries(store.AuditFilter{Limit: store.MaxAuditLimit})
	slices.Reverse(list)
	for _, a := range list {
		sq := int64(-1)
		if a.SquadID != nil {
			sq = *a.SquadID
		}
		if a.EntityKind == schema.AuditEnrollmentCode {
			a.EntityID = "" // named by a prefix of its hash
		}
		got = append(got, row{a.Actor, a.Address, a.EntityKind, a.EntityID, sq, a.Action, a.From, a.To})
		if a.At.IsZero() || a.Hash == "" {
			t.Errorf("entry %d without time or hash: %+v", a.Seq, a)
		}
	}
	c := "co-inspector of squad 1"
	want := []row{
		{"system", "", schema.AuditEnrollmentCode, "", 1, "create", "", "pending"},
		{"insp1a", "", schema.AuditDevice, d.id, 1, "enroll", "", "active"},
		{"system", "", schema.AuditEnrollmentCode, "", 1, "use", "pending", "used"},
		{"leader1", "192.0.2.7", schema.AuditDevice, d.id, 1, "revoke", "active", "revoked"},
		{"leader1", "192.0.2.7", schema.AuditUser, u.ID, 1, "create", "", "active"},
		{"leader1", "192.0.2.7", schema.AuditUser, e.users["insp2"].ID, 1, "co_inspector_add", "", c},
		{"leader1", "192.0.2.7", schema.AuditUser, e.users["insp2"].ID, 1, "co_inspector_remove", c, ""},
		{"leader1", "192.0.2.7", schema.AuditInspection, e.past.ID, 1, schema.ReviewApprove, schema.StatusSubmitted, schema.StatusApproved},
		{"leader1", "192.0.2.7", schema.AuditVenue, e.venues["v1b"].ID, 1, "move", "squad 1", "squad 2"},
		{"leader1", "192.0.2.7", schema.AuditVenue, e.venues["v1a"].ID, 1, "delete", "active", "deleted"},
		{"system", "", schema.AuditEnrollmentCode, "", 2, "create", "", "pending"},
		{"insp2", "", schema.AuditDevice, d2.id, 2, "enroll", "", "active"},
		{"system", "", schema.AuditEnrollmentCode, "", 2, "use", "pending", "used"},
		{"leader2", "198.51.100.2", schema.AuditConflict, r.ConflictID, 2, "resolve", "open", "resolved"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit log:\n%s\nwant:\n%s", fmt.Sprint(got), fmt.Sprint(want))
	}
	e.verifyAudit()
}

func testAuditRefused(t *testing.T, e *env) {
	before := e.verifyAudit()
	ctx := store.WithAuditor(e.ctx, "leader2", "192.0.2.8")
	_, err := e.s.MoveVenue(ctx, e.venues["v1a"].ID, 1)
	wantCode(t, "move into its own squad", err, schema.CodeInvalid)
	_, err = e.s.ResolveConflict(ctx, newID(), "leader2", schema.SquadScope(2))
	wantCode(t, "resolve a missing conflict", err, schema.CodeNotFound)
	_, err = e.s.ReviewInspection(ctx, e.past.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader2"}, schema.SquadScope(2))
	wantCode(t, "review another squad's inspection", err, schema.CodeNotFound)
	_, err = e.s.CreateUser(ctx, store.User{Username: "leader1", Role: schema.RoleLeader, PasswordHash: "x"})
	wantCode(t, "create a taken username", err, schema.CodeConflict)
	_, err = e.s.AppendAudit(ctx, schema.AuditEntry{})
	wantCode(t, "append an entry about nothing", err, schema.CodeInvalid)
	if n := e.verifyAudit(); n != before {
		t.Fatalf("%d entries after refused changes; want %d", n, before)
	}
}

func testAuditFilters(t *testing.T, e *env) {
	var seqs = map[string][]int64{} // by actor, ascending
	for i := range 12 {
		actor := []string{"leader1", "leader2", "admin"}[i%3]
		squad := []*int64{ptr(int64(1)), ptr(int64(2)), nil}[i%3]
		e.clock.Advance(time.Second)
		a, err := e.s.AppendAudit(store.WithAuditor(e.ctx, actor, "10.1.1.1"), schema.AuditEntry{EntityKind: schema.AuditVenue,
			EntityID: fmt.Sprintf("venue-%d", i%2), SquadID: squad, Action: "note"})
		if err != nil {
			t.Fatal(err)
		}
		if a.Actor != actor || a.Address != "10.1.1.1" || !a.At.Equal(e.clock.Now()) || a.Hash != schema.AuditHash(a.PrevHash, a) {
			t.Fatalf("appended %+v; want actor %s at %v, sealed", a, actor, e.clock.Now())
		}
		seqs[actor] = append(seqs[actor], a.Seq)
		seqs[fmt.Sprintf("venue-%d", i%2)] = append(seqs[fmt.Sprintf("venue-%d", i%2)], a.Seq)
		seqs["all"] = append(seqs["all"], a.Seq)
	}
	got := func(f store.AuditFilter) []int64 {
		t.Helper()
		var out []int64
		for _, a := range e.auditEntries(f) {
			out = append(out, a.Seq)
		}
		return out
	}
	newest := func(s []int64, n int) []int64 {
		c := slices.Clone(s)
		slices.Reverse(c)
		return c[:min(n, len(c))]
	}
	all := seqs["all"]
	for _, c := range []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"actor", store.AuditFilter{Actor: "leader2"}, newest(seqs["leader2"], 99)},
		{"squad 1", store.AuditFilter{SquadID: ptr(int64(1))}, newest(seqs["leader1"], 99)},
		{"entity", store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: "venue-1"}, newest(seqs["venue-1"], 99)},
		{"entity of squad", store.AuditFilter{EntityKind: schema.AuditVenue, EntityID: "venue-0", SquadID: ptr(int64(1))}, []int64{all[6], all[0]}},
		{"limit", store.AuditFilter{Limit: 5}, newest(all, 5)},
		{"next page", store.AuditFilter{Limit: 5, BeforeSeq: all[len(all)-5]}, newest(all[:len(all)-5], 5)},
		{"last page", store.AuditFilter{Limit: 5, BeforeSeq: all[2], EntityKind: schema.AuditVenue}, newest(all[:2], 5)},
		{"nobody", store.AuditFilter{Actor: "nobody"}, nil},
	} {
		if g := got(c.f); !slices.Equal(g, c.want) {
			t.Errorf("AuditEntries %s: %v; want %v", c.name, g, c.want)
		}
	}
	e.verifyAudit()
}

func testAuditScan(t *testing.T, e *env) {
	n := store.AuditBatch + 7
	for range n {
		if _, err := e.s.AppendAudit(e.ctx, schema.AuditEntry{EntityKind: schema.AuditUser, EntityID: "u", Action: "login"}); err != nil {
			t.Fatal(err)
		}
	}
	total := e.verifyAudit()
	var seen []int64
	if err := e.s.ScanAudit(e.ctx, total-int64(n)+3, func(a schema.AuditEntry) error { seen = append(seen, a.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n-3 || seen[0] != total-int64(n)+4 || seen[len(seen)-1] != total {
		t.Fatalf("ScanAudit after %d: %d entries %d…%d; want %d from %d to %d", total-int64(n)+3, len(seen), seen[0], seen[len(seen)-1], n-3, total-int64(n)+4, total)
	}
	stop := fmt.Errorf("stop")
	calls := 0
	if err := e.s.ScanAudit(e.ctx, 0, func(schema.AuditEntry) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("ScanAudit stopped: %v after %d calls; want the callback's error after 1", err, calls)
	}
}
