package server_test

import (
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store"
)

// TestCase_LifecycleOverHTTP opens a case of a critical finding and
// carries it to closing over the API, and escalates another finding
// through the ledger's route, which opens its case too.
func TestCase_LifecycleOverHTTP(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	leader := e.login("leader1")
	v := e.quietVenue(leader)
	in := d.inspection(v.ID)
	in.Items[0].Result = schema.ResultFail // NC01, major
	in.Items[3].Result = schema.ResultFail // NC04, critical
	d.push(d.upsert(in))
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	var page store.FindingPage
	leader.must(200, "GET", schema.PathFindings+"?venue="+v.ID, nil, &page)
	var critical, major schema.Finding
	for _, f := range page.Findings {
		if f.Critical {
			critical = f
		} else {
			major = f
		}
	}
	if critical.ID == "" || major.ID == "" {
		t.Fatalf("findings %+v", page.Findings)
	}
	for _, bad := range []struct {
		body any
		want int
	}{
		{server.OpenCaseRequest{Source: "rumour", SourceID: critical.ID, Summary: "x"}, 400},
		{server.OpenCaseRequest{Source: schema.CaseFromCriticalFinding, SourceID: "nope", Summary: "x"}, 400},
		{server.OpenCaseRequest{Source: schema.CaseFromCriticalFinding, SourceID: critical.ID}, 400},
		{server.OpenCaseRequest{Source: schema.CaseFromCriticalFinding, SourceID: major.ID, Summary: "x"}, 400},
		{map[string]any{"source": 5}, 400},
	} {
		if r := leader.call("POST", schema.PathCases, bad.body, nil); r.status != bad.want || r.err.Message == "" {
			t.Errorf("open %+v: %d %q; want %d", bad.body, r.status, r.err.Message, bad.want)
		}
	}
	var c schema.Case
	leader.must(201, "POST", schema.PathCases, server.OpenCaseRequest{Source: schema.CaseFromCriticalFinding, SourceID: critical.ID, Summary: "未核验身份证"}, &c)
	if y, _, ok := schema.ParseCaseNumber(c.Number); !ok || y != 2026 || c.DaysLeft != schema.CaseDecisionDays {
		t.Fatalf("opened %+v", c)
	}
	p := schema.PathCases + "/" + c.ID
	leader.must(200, "POST", p+"/investigate", nil, &c)
	leader.must(200, "POST", p+"/attach", server.AttachRequest{Evidence: []schema.CaseEvidence{{Kind: schema.EvidenceInspection, Ref: in.ID, Note: "现场检查"}}}, &c)
	if r := leader.call("POST", p+"/decide", server.DecideRequest{Type: schema.DecisionWarning}, nil); r.status != 409 {
		t.Errorf("decide without handlers: %d %s", r.status, r.err.Message)
	}
	leader.must(200, "POST", p+"/handlers", server.HandlersRequest{Handlers: []string{"inspector1", "inspector2"}}, &c)
	if r := leader.call("POST", p+"/decide", server.DecideRequest{Type: schema.DecisionFine}, nil); r.status != 400 {
		t.Errorf("a fine without amount: %d %s", r.status, r.err.Message)
	}
	if r := leader.call("POST", p+"/decide", map[string]any{"type": "fine", "fine_yuan": "lots"}, nil); r.status != 400 {
		t.Errorf("a fine amount that is text: %d %s", r.status, r.err.Message)
	}
	leader.must(200, "POST", p+"/decide", server.DecideRequest{Type: schema.DecisionFine, FineYuan: 5000, Note: "第31条"}, &c)
	leader.must(200, "POST", p+"/close", server.CaseNoteRequest{Note: "已缴纳"}, &c)
	if c.Status != schema.CaseClosed || len(c.Evidence) != 1 || len(c.Handlers) != 2 || c.Decision.FineYuan != 5000 {
		t.Fatalf("closed %+v", c)
	}

	var f schema.Finding
	leader.must(200, "POST", schema.PathFindings+"/"+major.ID+"/escalate", server.EscalateRequest{Reason: "屡查屡犯"}, &f)
	if f.CaseID == "" {
		t.Fatalf("escalation opened no case: %+v", f)
	}
	var list store.CasePage
	leader.must(200, "GET", schema.PathCases+"?status=opened&venue="+v.ID, nil, &list)
	if len(list.Cases) != 1 || list.Cases[0].ID != f.CaseID || list.Cases[0].Source != schema.CaseFromEscalatedFinding {
		t.Fatalf("opened cases of the venue: %+v", list.Cases)
	}
	for _, q := range []string{"?overdue=maybe", "?squad=one", "?after=xyz", "?venue=nope"} {
		if r := leader.call("GET", schema.PathCases+q, nil, nil); r.status != 400 {
			t.Errorf("list %s: %d", q, r.status)
		}
	}
}
