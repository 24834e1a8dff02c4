package e2e_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/storage"
)

// ledgerFindings lists the findings of a venue's item that the leader sees.
func ledgerFindings(t *testing.T, c *client, venue, item string) []schema.Finding {
	t.Helper()
	var page store.FindingPage
	q := url.Values{"venue": {venue}, "item": {item}, "limit": {"200"}}
	if st := c.call("GET", "/api/v1/findings?"+q.Encode(), nil, &page); st != 200 {
		t.Fatalf("GET findings of %s %s: HTTP %d", venue, item, st)
	}
	return page.Findings
}

// freeItem is an item of the checklist with no unresolved finding at the
// venue yet, so that failing it opens a new one (the demo district has
// history).
func freeItem(t *testing.T, c *client, venue string) string {
	t.Helper()
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for _, it := range cl.Items {
		busy := false
		for _, f := range ledgerFindings(t, c, venue, it.ID) {
			busy = busy || f.Unresolved()
		}
		if !busy {
			return it.ID
		}
	}
	t.Fatalf("every item of venue %s has an unresolved finding", venue)
	return ""
}

// recheckOf records, on d, a re-check of f answering every item pass and
// f's item with the photo.
func recheckOf(d *mobilesync.Device, f schema.Finding, co, photo string) (string, error) {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		return "", err
	}
	in := mobilesync.InspectionInput{VenueID: f.VenueID, CoInspectors: []string{co}, RecheckOf: f.ID}
	for _, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == f.ItemID {
			item.Note, item.Photos = "已整改，现场拍照", []string{photo}
		}
		in.Items = append(in.Items, item)
	}
	return d.RecordInspection(context.Background(), in)
}

// TestLedger_TwoDevicesRecheckOneFindingOffline: both devices of a squad
// hold the order to correct a finding, go out of coverage and each
// re-check it at once; both sync, and the leader approves both
// re-checks. The finding is re-checked once, by the first approval: the
// second approves its inspection and leaves the finding as it is, no
// second finding appears, the audit chain holds, and both devices end
// with the server's copy.
func TestLedger_TwoDevicesRecheckOneFindingOffline(t *testing.T) {
	e := newEnv(t)
	twoDevicesRecheck(t, e, e, e.srv.Store())
}

// TestLedger_TwoDevicesRecheckOneFindingOffline_Replicas is the same on
// PostgreSQL behind two replicas: each device syncs with its own, and
// each replica takes one of the two approvals at the same time.
func TestLedger_TwoDevicesRecheckOneFindingOffline_Replicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	blobs, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reps := startReplicas(t, 2, dsn, blobs)
	if _, err := demo.Seed(context.Background(), reps[0].Store, demo.Options{Venues: 36, Schools: 6, MonthsHistory: 1, HashPassword: cheapHash}); err != nil {
		t.Fatal(err)
	}
	twoDevicesRecheck(t, &env{t: t, URL: reps[0].URL}, &env{t: t, URL: reps[1].URL}, reps[0].Store)
}

// twoDevicesRecheck runs the scenario with device a and the first
// approval on server ea, device b and the second approval on eb (the same
// server, or two replicas of one database); audit is the log to verify.
func twoDevicesRecheck(t *testing.T, ea, eb *env, audit store.Audit) {
	ctx := context.Background()
	admin, leader := ea.login("admin"), ea.login("leader1")
	leaders := []*client{leader, eb.login("leader1")}
	netA, netB := newFaultNet(t), newFaultNet(t)
	a := ea.newDevice(admin, "inspector1", netA.opts())
	b := eb.newDevice(eb.login("admin"), "inspector2", netB.opts())
	mustSync(t, a)
	mustSync(t, b)

	// A failed item, approved and ordered: a re-check due for the squad.
	venue := nthVenue(t, a, schema.KindNetCafe, 0).ID
	item := freeItem(t, leader, venue)
	before := len(ledgerFindings(t, leader, venue, item))
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	first := mobilesync.InspectionInput{VenueID: venue, CoInspectors: []string{"inspector2"}}
	for _, it := range cl.Items {
		r := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == item {
			r.Result, r.Note = schema.ResultFail, "现场发现问题"
		}
		first.Items = append(first.Items, r)
	}
	in, err := a.RecordInspection(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, a)
	if st := leader.call("POST", schema.PathInspections+"/"+in+"/review", map[string]any{"action": schema.ReviewApprove}, nil); st != 200 {
		t.Fatalf("approve %s: HTTP %d", in, st)
	}
	var f schema.Finding
	for _, x := range ledgerFindings(t, leader, venue, item) {
		if x.InspectionID == in {
			f = x
		}
	}
	if f.ID == "" || f.Status != schema.FindingOpen {
		t.Fatalf("no open finding of %s from inspection %s: %+v", item, in, ledgerFindings(t, leader, venue, item))
	}
	if st := leader.call("POST", "/api/v1/findings/"+f.ID+"/order", map[string]any{"deadline": time.Now().AddDate(0, 0, 7), "action": "限期整改"}, &f); st != 200 {
		t.Fatalf("order %s: HTTP %d", f.ID, st)
	}
	for name, d := range map[string]*mobilesync.Device{"a": a, "b": b} {
		mustSync(t, d)
		ts, err := d.Tasks(ctx)
		n := 0
		for _, task := range ts {
			if task.FindingID == f.ID && task.Kind == mobilesync.TaskRecheck {
				n++
			}
		}
		if err != nil || n != 1 { // the demo district has orders of its own
			t.Fatalf("device %s's tasks after the order %+v, %v; want one re-check of %s", name, ts, err, f.ID)
		}
	}

	// Out of coverage, both re-check it at once, each with its photo.
	netA.down.Store(true)
	netB.down.Store(true)
	dir := t.TempDir()
	photoA, _ := writePhoto(t, dir, 40_000, 71)
	photoB, _ := writePhoto(t, dir, 40_000, 72)
	type side struct {
		d         *mobilesync.Device
		co, photo string
		id        string
		err       error
	}
	sides := []*side{{d: a, co: "inspector2", photo: photoA}, {d: b, co: "inspector1", photo: photoB}}
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Go(func() {
			if s.id, s.err = recheckOf(s.d, f, s.co, s.photo); s.err != nil {
				return
			}
			if _, err := s.d.Sync(ctx); !errors.Is(err, mobilesync.ErrUnreachable) {
				s.err = errors.Join(errors.New("sync out of coverage did not fail as unreachable"), err)
			}
		})
	}
	wg.Wait()
	for _, s := range sides {
		if s.err != nil {
			t.Fatal(s.err)
		}
		if st := pendingOf(t, s.d); st.PendingMutations != 1 {
			t.Fatalf("re-check %s: %d mutations pending offline; want 1", s.id, st.PendingMutations)
		}
	}

	// Back in coverage, both sync at once; then the leader approves both
	// at once. Neither approval is an error.
	netA.down.Store(false)
	netB.down.Store(false)
	reps := make([]mobilesync.SyncReport, len(sides))
	for i, s := range sides {
		wg.Go(func() { reps[i], s.err = s.d.Sync(ctx) })
	}
	wg.Wait()
	for i, s := range sides {
		if s.err != nil || reps[i].Pushed != 1 || reps[i].Conflicts != 0 || reps[i].Rejected != 0 || reps[i].PhotosUploaded != 1 {
			t.Fatalf("sync of re-check %s: %+v, %v; want it pushed with its photo", s.id, reps[i], s.err)
		}
	}
	status := make([]int, len(sides))
	approved := make([]schema.Inspection, len(sides))
	for i, s := range sides {
		wg.Go(func() {
			status[i] = leaders[i].Call("POST", schema.PathInspections+"/"+s.id+"/review", map[string]any{"action": schema.ReviewApprove}, &approved[i])
		})
	}
	wg.Wait()
	for i, s := range sides {
		if status[i] != 200 || approved[i].Status != schema.StatusApproved {
			t.Fatalf("approval of re-check %s: HTTP %d, %+v", s.id, status[i], approved[i].Status)
		}
	}

	// The finding was re-checked once, by one of the two, and is the only
	// new finding of the item.
	var got schema.Finding
	if st := leader.call("GET", "/api/v1/findings/"+f.ID, nil, &got); st != 200 {
		t.Fatalf("GET finding: HTTP %d", st)
	}
	if got.Status != schema.FindingRechecked || (got.RecheckInspectionID != sides[0].id && got.RecheckInspectionID != sides[1].id) || got.Repeat != 0 {
		t.Fatalf("finding after both approvals %+v; want rechecked by %s or %s", got, sides[0].id, sides[1].id)
	}
	if n := len(ledgerFindings(t, leader, venue, item)); n != before+1 {
		t.Fatalf("%d findings of %s at the venue; want %d (the one ordered)", n, item, before+1)
	}
	var trail []schema.AuditEntry
	if st := leader.call("GET", "/api/v1/audit?entity=finding&id="+f.ID, nil, &trail); st != 200 {
		t.Fatalf("GET audit: HTTP %d", st)
	}
	var actions []string
	for i := len(trail) - 1; i >= 0; i-- {
		actions = append(actions, trail[i].Action)
	}
	if len(actions) != 3 || actions[0] != "created" || actions[1] != "ordered" || actions[2] != "rechecked" ||
		trail[0].Reason != "inspection "+got.RecheckInspectionID {
		t.Fatalf("audit of the finding %v (last: %q); want created, ordered and one rechecked by %s", actions, trail[0].Reason, got.RecheckInspectionID)
	}
	if n, brk, err := store.VerifyAudit(ctx, audit); err != nil || brk != nil || n == 0 {
		t.Fatalf("audit chain: %d entries, break %+v, %v", n, brk, err)
	}

	// Both devices pull the same state and have nothing left to do.
	for name, d := range map[string]*mobilesync.Device{"a": a, "b": b} {
		mustSync(t, d)
		local, err := d.Finding(ctx, f.ID)
		if err != nil || local.Status != got.Status || local.RecheckInspectionID != got.RecheckInspectionID || !local.UpdatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("device %s's copy of the finding %+v, %v; want the server's %+v", name, local, err, got)
		}
		ts, err := d.Tasks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range ts {
			if task.FindingID == f.ID {
				t.Fatalf("device %s's tasks at the end %+v; want none for %s", name, ts, f.ID)
			}
		}
	}
}
