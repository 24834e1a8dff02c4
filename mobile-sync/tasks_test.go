package mobilesync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// injectPull adds changes to the last page of the device's next pull, as
// if the server had sent them: they go through the device's real apply
// path, in the page's transaction. reset marks that page a reset.
func (e *env) injectPull(t *testing.T, reset bool, changes ...schema.Change) {
	t.Helper()
	e.hooks.set(nil, func(r *http.Request, resp *http.Response) (*http.Response, error) {
		if r.URL.Path != schema.PathPull || resp.StatusCode != http.StatusOK {
			return resp, nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		var rd io.Reader = bytes.NewReader(body)
		if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
			if rd, err = gzip.NewReader(rd); err != nil {
				return nil, err
			}
		}
		var pr schema.PullResponse
		if err := json.NewDecoder(rd).Decode(&pr); err != nil {
			return nil, err
		}
		if !pr.More {
			e.hooks.set(nil, nil)
			pr.Changes = append(pr.Changes, changes...)
			pr.Reset = pr.Reset || reset
		}
		out, err := json.Marshal(pr)
		if err != nil {
			return nil, err
		}
		resp.Header.Del("Content-Encoding")
		resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
		resp.ContentLength = int64(len(out))
		resp.Body = io.NopCloser(bytes.NewReader(out))
		return resp, nil
	})
}

// finding is a finding of venue and item in status; ordered ones are due
// after days (negative: overdue).
func finding(venue, item, status string, days int) schema.Finding {
	f := schema.Finding{ID: uuid.NewString(), InspectionID: uuid.NewString(), VenueID: venue, SquadID: 1, ItemID: item,
		Status: status, OpenedAt: serverNow.AddDate(0, 0, -30), UpdatedAt: serverNow.AddDate(0, 0, -1)}
	if status == schema.FindingOrdered {
		d := serverNow.AddDate(0, 0, days)
		f.Deadline = &d
		f.Order = &schema.Order{Number: schema.OrderNumber(2026, len(item)), Deadline: d, Action: "整改 " + item,
			OrderedBy: "leader1", OrderedAt: serverNow.AddDate(0, 0, -20)}
	}
	return f
}

func findingChange(f schema.Finding) schema.Change {
	return schema.Change{Kind: schema.ChangeFinding, ID: f.ID, Finding: &f}
}

// returned is the server's copy of in, returned by leader1 at at.
func returned(in schema.Inspection, comment string, at time.Time) schema.Change {
	in.Status = schema.StatusReturned
	in.Version = 1
	in.Review = &schema.Review{ReviewedBy: "leader1", ReviewedAt: at, Decision: schema.StatusReturned, Note: comment, Version: 1}
	return schema.Change{Kind: schema.ChangeInspection, ID: in.ID, Inspection: &in}
}

func tasks(t *testing.T, d *mobilesync.Device) []mobilesync.Task {
	t.Helper()
	ts, err := d.Tasks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func findingsOf(t *testing.T, d *mobilesync.Device) map[string]schema.Finding {
	t.Helper()
	list, err := d.Findings(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]schema.Finding{}
	for _, f := range list {
		m[f.ID] = f
	}
	return m
}

// submitted makes, submits and syncs an inspection of venue1.
func (e *env) submitted(t *testing.T) schema.Inspection {
	t.Helper()
	ctx := context.Background()
	id := completeInspection(t, e.dev, venue1, "inspector2")
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "minors at PC 12"); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	in, err := e.dev.Inspection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestFinding_PulledUpsertRemovedAndReset(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	a := finding(venue1, "NC03", schema.FindingOrdered, 5)
	b := finding(venue2, "NC07", schema.FindingOpen, 0)
	e.injectPull(t, false, findingChange(a), findingChange(b))
	mustSync(t, e.dev)
	got := findingsOf(t, e.dev)
	if len(got) != 2 || got[a.ID].Order == nil || got[a.ID].Order.Number != a.Order.Number || got[b.ID].Status != schema.FindingOpen {
		t.Fatalf("findings %+v", got)
	}
	if list, _ := e.dev.Findings(ctx, venue2); len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("findings of venue2: %+v", list)
	}

	// A re-sent finding replaces the stored one; a removed one goes.
	a.Status = schema.FindingRechecked
	e.injectPull(t, false, findingChange(a), schema.Change{Kind: schema.ChangeFinding, ID: b.ID, Removed: true})
	mustSync(t, e.dev)
	got = findingsOf(t, e.dev)
	if len(got) != 1 || got[a.ID].Status != schema.FindingRechecked {
		t.Fatalf("findings after update and removal: %+v", got)
	}
	if _, err := e.dev.Finding(ctx, b.ID); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("removed finding: %v", err)
	}

	// A reset drops what it does not deliver again, and keeps what it does.
	c := finding(venue3, "NC01", schema.FindingOrdered, 9)
	e.injectPull(t, true, findingChange(c))
	mustSync(t, e.dev)
	got = findingsOf(t, e.dev)
	if len(got) != 1 || got[c.ID].ID != c.ID {
		t.Fatalf("findings after reset: %+v, want only the one delivered again", got)
	}
}

func TestTasks_OrderedSoonestFirstOverdueMarked(t *testing.T) {
	e := newEnv(t)
	mustSync(t, e.dev)
	in := e.submitted(t)
	later := finding(venue2, "NC07", schema.FindingOrdered, 10)
	overdue := finding(venue1, "NC03", schema.FindingOrdered, -2)
	soon := finding(venue3, "NC05", schema.FindingOrdered, 1)
	open := finding(venue1, "NC09", schema.FindingOpen, 0)
	closed := finding(venue1, "NC10", schema.FindingClosed, 0)
	unseen := finding(uuid.NewString(), "NC04", schema.FindingOrdered, 3) // a venue not on this device
	e.injectPull(t, false, findingChange(later), findingChange(overdue), findingChange(soon), findingChange(open),
		findingChange(closed), findingChange(unseen), returned(in, "NC03 需补拍照片", serverNow.Add(-time.Hour)))
	mustSync(t, e.dev)

	ts := tasks(t, e.dev)
	var kinds []string
	for _, x := range ts {
		kinds = append(kinds, x.Kind+":"+x.InspectionID+x.FindingID)
	}
	want := []string{"amend:" + in.ID, "recheck:" + overdue.ID, "recheck:" + soon.ID, "recheck:" + later.ID}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("tasks\n%v\nwant\n%v", kinds, want)
	}
	am := ts[0]
	if am.Due != nil || am.Overdue || am.Comment != "NC03 需补拍照片" || am.VenueID != venue1 || am.ReturnedBy != "leader1" {
		t.Fatalf("amend task %+v", am)
	}
	if !ts[1].Overdue || ts[2].Overdue || ts[3].Overdue {
		t.Fatalf("overdue marks %v %v %v, want only the first re-check", ts[1].Overdue, ts[2].Overdue, ts[3].Overdue)
	}
	if r := ts[1]; r.ItemID != "NC03" || r.TitleZH == "" || r.Due == nil || !r.Due.Equal(*overdue.Deadline) || r.VenueName == "" {
		t.Fatalf("recheck task %+v: want item, its Chinese title from the checklist, due and venue name", r)
	}
	// The device keeps the server's state of its own inspection.
	got, _ := e.dev.Inspection(context.Background(), in.ID)
	if got.Status != schema.StatusReturned || got.Version != 1 || got.Review == nil || got.Review.Note != "NC03 需补拍照片" {
		t.Fatalf("pulled returned inspection %+v", got)
	}
}

func TestRecheck_StartLinksFindingAndRefuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	due := finding(venue1, "NC03", schema.FindingOrdered, 5)
	other := finding(venue2, "NC03", schema.FindingOrdered, 5)
	closed := finding(venue1, "NC04", schema.FindingClosed, 0)
	e.injectPull(t, false, findingChange(due), findingChange(other), findingChange(closed))
	mustSync(t, e.dev)

	start := func(id string) (string, error) {
		return e.dev.StartInspectionWith(ctx, venue1, mobilesync.StartOptions{CoInspectors: []string{"inspector2"}, RecheckOf: id})
	}
	for _, c := range []struct {
		name, id string
		code     schema.Code
		msg      string
	}{
		{"unknown", uuid.NewString(), schema.CodeNotFound, "no finding"},
		{"not an id", "NC03", schema.CodeInvalid, "finding id"},
		{"other venue", other.ID, schema.CodeInvalid, "another venue"},
		{"closed", closed.ID, schema.CodeConflict, "closed"},
	} {
		if _, err := start(c.id); schema.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %s mentioning %q", c.name, err, c.code, c.msg)
		}
	}
	if all, _ := e.dev.Inspections(ctx); len(all) != 0 {
		t.Fatalf("a refused start left %d drafts", len(all))
	}

	id, err := start(due.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := e.dev.Inspection(ctx, id); in.RecheckOf != due.ID {
		t.Fatalf("recheck_of %q", in.RecheckOf)
	}
	// A draft re-check leaves the task standing, naming the draft.
	ts := tasks(t, e.dev)
	if len(ts) != 2 || ts[0].FindingID != due.ID && ts[1].FindingID != due.ID {
		t.Fatalf("tasks %+v", ts)
	}
	for _, x := range ts {
		if x.FindingID == due.ID && x.DraftID != id {
			t.Fatalf("task %+v: want the draft named", x)
		}
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for _, it := range cl.Items {
		if err := e.dev.SetItem(ctx, id, it.ID, schema.ResultPass, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	isDue := func() bool {
		for _, x := range tasks(t, e.dev) {
			if x.FindingID == due.ID {
				return true
			}
		}
		return false
	}
	if isDue() {
		t.Fatal("a submitted re-check still lists its finding as due")
	}
	mustSync(t, e.dev)
	if isDue() {
		t.Fatal("after the sync the finding is due again")
	}
	if in, _ := e.dev.Inspection(ctx, id); in.RecheckOf != due.ID || in.Status != schema.StatusSubmitted {
		t.Fatalf("after sync: %+v", in)
	}
}

func TestAmend_ReturnedReopenedWithSameIDAndResubmitted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	in := e.submitted(t)
	other := e.submitted(t)
	if err := e.dev.AmendInspection(ctx, other.ID); schema.ErrorCode(err) != schema.CodeConflict || !strings.Contains(err.Error(), "only a returned inspection") {
		t.Fatalf("amend of a submitted inspection: %v", err)
	}
	e.injectPull(t, false, returned(in, "NC03 写清楚哪台电脑", serverNow.Add(-time.Hour)))
	mustSync(t, e.dev)

	if err := e.dev.AmendInspection(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	draft, _ := e.dev.Inspection(ctx, in.ID)
	if draft.Status != schema.StatusDraft || len(draft.Items) != len(in.Items) || draft.Review == nil || draft.Review.Note != "NC03 写清楚哪台电脑" {
		t.Fatalf("reopened %+v: want a draft with its items and the comment", draft)
	}
	if ts := tasks(t, e.dev); len(ts) != 1 || ts[0].Kind != mobilesync.TaskAmend || !ts[0].Amending {
		t.Fatalf("tasks while amending %+v", ts)
	}
	if err := e.dev.SetItem(ctx, in.ID, "NC03", schema.ResultFail, "minors at PC 12 and PC 14"); err != nil {
		t.Fatal(err)
	}
	if pending(t, e.dev) != 0 {
		t.Fatal("an amendment in progress went to the outbox before submit")
	}
	if err := e.dev.Submit(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	sent, _ := e.dev.Inspection(ctx, in.ID)
	if sent.Status != schema.StatusSubmitted || !sent.FinishedAt.Equal(*in.FinishedAt) || sent.HLC <= in.HLC {
		t.Fatalf("resubmitted %+v: want submitted, the visit's finish time, a newer clock", sent)
	}
	if ts := tasks(t, e.dev); len(ts) != 0 {
		t.Fatalf("tasks after resubmission %+v", ts)
	}
	mustSync(t, e.dev)
	srv, err := e.admin.Inspection(in.ID)
	if err != nil || srv.Items[2].Note != "minors at PC 12 and PC 14" {
		t.Fatalf("server copy %+v, %v", srv, err)
	}
	if pending(t, e.dev) != 0 {
		t.Fatal("the amendment is still queued")
	}
}
