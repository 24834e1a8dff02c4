package server_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store"
)

// quietVenue is a venue of squad 1 with nothing in the ledger yet.
func (e *env) quietVenue(leader *client) schema.Venue {
	e.t.Helper()
	for _, v := range e.venues(1) {
		var l store.VenueLedger
		leader.must(200, "GET", schema.PathVenues+"/"+v.ID+"/ledger", nil, &l)
		if len(l.Findings) == 0 {
			return v
		}
	}
	e.t.Fatal("every venue of squad 1 has findings")
	return schema.Venue{}
}

func reviewPath(id string) string { return schema.PathInspections + "/" + id + "/review" }

func TestReview_ReturnAmendApproveOverHTTP(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	leader := e.login("leader1")
	v := e.quietVenue(leader)
	in := d.inspection(v.ID)
	in.Items[3].Result, in.Items[3].Note = schema.ResultFail, "no ID check"
	d.push(d.upsert(in))

	if r := leader.call("POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewReturn}, nil); r.status != 400 || !strings.Contains(r.err.Message, "comment") {
		t.Fatalf("return without comment: %d %q", r.status, r.err.Message)
	}
	var got schema.Inspection
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewReturn, Comment: "photograph the register", Version: 1}, &got)
	if got.Status != schema.StatusReturned || got.Review.Note != "photograph the register" {
		t.Fatalf("returned: %+v", got)
	}
	changes, _ := d.pullAll(0)
	if c := byID(changes, schema.ChangeInspection, in.ID); len(c) != 1 || c[0].Inspection.Status != schema.StatusReturned || c[0].Inspection.Review.Note != "photograph the register" {
		t.Fatalf("device pulled %+v", c)
	}
	e.clock.Advance(time.Minute)
	in.Items[3].Note = "register photographed"
	if r := d.push(d.upsert(in))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("amendment: %+v", r)
	}
	var vs server.VersionsResponse
	leader.must(200, "GET", schema.PathInspections+"/"+in.ID+"/versions", nil, &vs)
	if len(vs.Versions) != 2 || len(vs.Changes) != 1 || len(vs.Changes[0]) != 1 || vs.Changes[0][0].Field != "note" || vs.Versions[0].Review == nil {
		t.Fatalf("versions %+v", vs)
	}
	if r := leader.call("POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove, Version: 1}, nil); r.status != 409 || !strings.Contains(r.err.Message, "version 2") {
		t.Fatalf("approve a stale version: %d %q", r.status, r.err.Message)
	}
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove, Version: 2}, &got)
	if got.Status != schema.StatusApproved || got.Version != 2 {
		t.Fatalf("approved: %s v%d", got.Status, got.Version)
	}
	var list []schema.Inspection
	leader.must(200, "GET", schema.PathInspections+"?status=approved", nil, &list)
	found := false
	for _, x := range list {
		found = found || x.ID == in.ID
	}
	if !found {
		t.Fatal("approved inspection not listed under status=approved")
	}
}

func TestFinding_OrderCloseEscalateOverHTTP(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	leader, inspector, leader2 := e.login("leader1"), e.login("inspector1"), e.login("leader2")
	v := e.quietVenue(leader)
	in := d.inspection(v.ID)
	for _, i := range []int{0, 1} {
		in.Items[i].Result = schema.ResultFail
	}
	d.push(d.upsert(in))
	leader.must(200, "POST", reviewPath(in.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	var page store.FindingPage
	leader.must(200, "GET", schema.PathFindings+"?"+url.Values{"venue": {v.ID}, "status": {"open"}, "sort": {"opened"}, "limit": {"1"}}.Encode(), nil, &page)
	if len(page.Findings) != 1 || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	first := page.Findings[0]
	after := page.Next
	page = store.FindingPage{}
	leader.must(200, "GET", schema.PathFindings+"?"+url.Values{"venue": {v.ID}, "limit": {"1"}, "after": {after}}.Encode(), nil, &page)
	if len(page.Findings) != 1 || page.Findings[0].ID == first.ID || page.Next != "" {
		t.Fatalf("second page %+v", page)
	}
	second := page.Findings[0]
	fp := schema.PathFindings + "/" + first.ID

	// Inspectors may not act; another squad's leader does not see it.
	for _, c := range []struct {
		who    *client
		method string
		path   string
		body   any
		want   int
	}{
		{inspector, "POST", fp + "/order", server.OrderRequest{Deadline: "2026-03-20", Action: "fix"}, 403},
		{inspector, "GET", fp, nil, 403},
		{inspector, "GET", schema.PathFindings, nil, 403},
		{leader2, "GET", fp, nil, 404},
		{leader2, "POST", fp + "/order", server.OrderRequest{Deadline: "2026-03-20", Action: "fix"}, 404},
		{leader2, "POST", fp + "/escalate", server.EscalateRequest{Reason: "x"}, 404},
		{leader2, "GET", schema.PathFindings + "?squad=1", nil, 403},
		{leader, "POST", fp + "/order", server.OrderRequest{Deadline: "2026-03-01", Action: "fix"}, 400},
		{leader, "POST", fp + "/order", server.OrderRequest{Deadline: "2026-03-20"}, 400},
		{leader, "POST", fp + "/close", server.CloseRequest{Note: "fixed"}, 409},
	} {
		if r := c.who.call(c.method, c.path, c.body, nil); r.status != c.want || r.err.Message == "" {
			t.Errorf("%s %s: %d %q; want %d", c.method, c.path, r.status, r.err.Message, c.want)
		}
	}
	var f schema.Finding
	leader.must(200, "POST", fp+"/order", server.OrderRequest{Deadline: "2026-03-20", Action: "display the licence", Comment: "in 18 days"}, &f)
	// A date is the end of that day in China.
	want := time.Date(2026, 3, 20, 23, 59, 59, 999999999, store.ChinaTime)
	if f.Status != schema.FindingOrdered || f.Order == nil || !f.Order.Deadline.Equal(want) || f.Order.OrderedBy != "leader1" {
		t.Fatalf("ordered: %+v %+v", f, f.Order)
	}
	// The demo district's orders took the first numbers of the year.
	if y, n, ok := schema.ParseOrderNumber(f.Order.Number); !ok || y != 2026 || n <= e.count("findings WHERE coalesce(order_number, '') NOT IN ('', '"+f.Order.Number+"')") {
		t.Fatalf("order number %q; want the next of 2026 after the imported ones", f.Order.Number)
	}
	leader.must(200, "POST", schema.PathFindings+"/"+second.ID+"/escalate", server.EscalateRequest{Reason: "repeat offender"}, &f)
	if f.Status != schema.FindingEscalated || f.EscalatedBy != "leader1" {
		t.Fatalf("escalated: %+v", f)
	}
	e.clock.Advance(19 * 24 * time.Hour)
	leader, leader2 = e.login("leader1"), e.login("leader2") // sessions last 12 hours
	page = store.FindingPage{}
	leader.must(200, "GET", schema.PathFindings+"?overdue=true&venue="+v.ID, nil, &page)
	if len(page.Findings) != 1 || page.Findings[0].ID != first.ID || !page.Findings[0].Overdue {
		t.Fatalf("overdue %+v", page.Findings)
	}
	// A re-check with a photo, then the close.
	fix := d.inspection(v.ID)
	fix.RecheckOf = first.ID
	for i := range fix.Items {
		if fix.Items[i].ItemID == first.ItemID {
			fix.Items[i].Photos = []schema.PhotoRef{{SHA256: strings.Repeat("ab", 32), Size: 100, MediaType: "image/jpeg", CapturedAt: fix.StartedAt, DeviceID: d.id}}
		}
	}
	if r := d.push(d.upsert(fix))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("re-check push: %+v", r)
	}
	leader.must(200, "POST", reviewPath(fix.ID), server.ReviewRequest{Action: schema.ReviewApprove}, nil)
	leader.must(200, "POST", fp+"/close", server.CloseRequest{Note: "licence on the wall"}, &f)
	if f.Status != schema.FindingClosed || f.RecheckInspectionID != fix.ID {
		t.Fatalf("closed: %+v", f)
	}
	var l store.VenueLedger
	leader.must(200, "GET", schema.PathVenues+"/"+v.ID+"/ledger", nil, &l)
	if len(l.Findings) != 2 || len(l.Items) != 2 || len(l.Inspections) < 2 {
		t.Fatalf("ledger %+v", l.Items)
	}
	if r := leader2.call("GET", schema.PathVenues+"/"+v.ID+"/ledger", nil, nil); r.status != 404 {
		t.Fatalf("leader2 reads squad 1's ledger: %d", r.status)
	}
	if r := e.login("admin").call("GET", schema.PathFindings+"/"+first.ID, nil, nil); r.status != 200 {
		t.Fatalf("admin reads a finding: %d", r.status)
	}
	if r := d.call("GET", fp, nil, nil); r.status != 403 {
		t.Fatalf("device token reads a finding: %d", r.status)
	}
}

func TestFinding_DeadlineForms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-03-20", time.Date(2026, 3, 20, 15, 59, 59, 999999999, time.UTC), true},
		{"2026-03-20T12:00:00+08:00", time.Date(2026, 3, 20, 4, 0, 0, 0, time.UTC), true},
		{"2026-03-20T12:00:00Z", time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC), true},
		{"20 March", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := server.ParseDeadline(c.in)
		if (err == nil) != c.ok || c.ok && !got.Equal(c.want) {
			t.Errorf("ParseDeadline(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
