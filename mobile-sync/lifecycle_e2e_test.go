package mobilesync_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// review takes a squad leader's action (approve or return) on an
// inspection through the API. A server from before approve/return refuses
// the action as an unknown decision of its old review; the test then
// skips, so that it runs for real once the server has the lifecycle.
func (e *env) review(t *testing.T, id, action, comment string) schema.Inspection {
	t.Helper()
	var out schema.Inspection
	err := e.srv.Leader(1).Do("POST", schema.PathInspections+"/"+id+"/review", map[string]string{"action": action, "comment": comment}, &out)
	if schema.ErrorCode(err) == schema.CodeInvalid && strings.Contains(err.Error(), "correction_ordered") {
		t.Skip("server lifecycle not merged yet")
	}
	if err != nil {
		t.Fatalf("%s %s: %v", action, id, err)
	}
	return out
}

func TestTasks_ReturnedAmendedResubmitted_E2E(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	in := e.submitted(t)
	const comment = "NC03：请写明是哪几台电脑有未成年人"
	if got := e.review(t, in.ID, schema.ReviewReturn, comment); got.Status != schema.StatusReturned {
		t.Fatalf("returned inspection on the server: %+v", got)
	}
	mustSync(t, e.dev)

	local, _ := e.dev.Inspection(ctx, in.ID)
	if local.Status != schema.StatusReturned || local.Version != 1 || local.Review == nil || local.Review.Note != comment {
		t.Fatalf("device copy %+v: want returned, version 1, the comment", local)
	}
	ts := tasks(t, e.dev)
	if len(ts) != 1 || ts[0].Kind != mobilesync.TaskAmend || ts[0].InspectionID != in.ID || ts[0].Comment != comment || ts[0].Due != nil {
		t.Fatalf("tasks %+v", ts)
	}

	if err := e.dev.AmendInspection(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.SetItem(ctx, in.ID, "NC03", schema.ResultFail, "PC 12 和 PC 14 各一名未成年人"); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Submit(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, e.dev); rep.Conflicts != 0 || rep.Rejected != 0 {
		t.Fatalf("sync of the amendment: %+v", rep)
	}
	srv, err := e.admin.Inspection(in.ID)
	if err != nil || srv.Status != schema.StatusSubmitted || srv.Version != 2 || srv.Items[2].Note != "PC 12 和 PC 14 各一名未成年人" {
		t.Fatalf("server copy after the amendment %+v, %v: want submitted, version 2, the new note", srv, err)
	}
	mustSync(t, e.dev)
	local, _ = e.dev.Inspection(ctx, in.ID)
	if local.Status != schema.StatusSubmitted || local.Version != 2 {
		t.Fatalf("device copy after the pull %+v: want submitted, version 2", local)
	}
	if ts := tasks(t, e.dev); len(ts) != 0 {
		t.Fatalf("tasks after the amendment %+v", ts)
	}
}

func TestTasks_RecheckLinksFinding_E2E(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	first := e.submitted(t) // NC03 failed
	e.review(t, first.ID, schema.ReviewApprove, "")
	mustSync(t, e.dev)

	var f schema.Finding
	for _, x := range findingsOf(t, e.dev) {
		if x.InspectionID == first.ID && x.ItemID == "NC03" {
			f = x
		}
	}
	if f.ID == "" || f.VenueID != venue1 || !f.Unresolved() {
		t.Fatalf("findings on the device %+v: want the open finding of NC03", findingsOf(t, e.dev))
	}
	// An order to correct makes it a re-check due, where the server
	// offers orders through the API (the workbench may be the only way).
	deadline := serverNow.AddDate(0, 0, 7)
	status := e.srv.Leader(1).Call("POST", "/api/v1/findings/"+f.ID+"/order",
		map[string]any{"deadline": deadline, "action": "立即清退未成年人并登记身份证"}, nil)
	switch {
	case status < 300:
		mustSync(t, e.dev)
		ts := tasks(t, e.dev)
		if len(ts) != 1 || ts[0].Kind != mobilesync.TaskRecheck || ts[0].FindingID != f.ID || ts[0].Due == nil || !ts[0].Due.Equal(deadline) {
			t.Fatalf("tasks after the order %+v", ts)
		}
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		t.Logf("no order route on the API (HTTP %d); re-checking the open finding", status)
	default:
		t.Fatalf("order: HTTP %d", status)
	}

	pic, _ := writePNG(t, 6)
	id, err := e.dev.RecordInspection(ctx, recheckInput(t, f, pic))
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	if ts := tasks(t, e.dev); len(ts) != 0 {
		t.Fatalf("tasks with the re-check submitted %+v", ts)
	}
	srv, err := e.admin.Inspection(id)
	if err != nil || srv.RecheckOf != f.ID {
		t.Fatalf("server copy of the re-check %+v, %v: want recheck_of %s", srv, err, f.ID)
	}
	e.clock.Advance(time.Minute)
	e.review(t, id, schema.ReviewApprove, "")
	mustSync(t, e.dev)
	got, err := e.dev.Finding(ctx, f.ID)
	if err != nil || got.Status != schema.FindingRechecked || got.RecheckInspectionID != id {
		t.Fatalf("finding after the approved re-check %+v, %v", got, err)
	}
	if ts := tasks(t, e.dev); len(ts) != 0 {
		t.Fatalf("tasks after the re-check %+v", ts)
	}
}

// recheckInput answers every item pass, the finding's with a photo: a
// pass without evidence proves no fix.
func recheckInput(t *testing.T, f schema.Finding, pic string) mobilesync.InspectionInput {
	t.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	in := mobilesync.InspectionInput{VenueID: f.VenueID, CoInspectors: []string{"inspector2"}, RecheckOf: f.ID}
	for _, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == f.ItemID {
			item.Note, item.Photos = "已清退，登记台账齐全", []string{pic}
		}
		in.Items = append(in.Items, item)
	}
	return in
}
