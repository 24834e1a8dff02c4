package server_test

import (
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/demo"
)

func TestAuthz_SquadOneCannotReachSquadTwo(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.enroll("inspector1"), e.enroll("inspector3")
	v2 := e.venues(2)[0]
	in2 := d2.inspection(v2.ID)
	in2.Items[5].Result = schema.ResultFail
	d2.push(d2.upsert(in2))
	leader1 := e.login("leader1")
	// Squad 2's leader approves it: the failed item opens a finding of squad 2.
	leader2 := e.login("leader2")
	leader2.must(200, "POST", schema.PathInspections+"/"+in2.ID+"/review", map[string]string{"action": "approve"}, nil)
	var page struct{ Findings []schema.Finding }
	leader2.must(200, "GET", schema.PathFindings+"?venue="+v2.ID+"&item="+in2.Items[5].ItemID+"&status=open", nil, &page)
	if len(page.Findings) == 0 {
		t.Fatal("approval opened no finding in squad 2")
	}
	f2 := schema.PathFindings + "/" + page.Findings[0].ID
	inspector1 := e.login("inspector1")

	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		want   int
	}{
		{"list inspections of squad 2", leader1, "GET", schema.PathInspections + "?squad=2", nil, 403},
		{"read inspection of squad 2", leader1, "GET", schema.PathInspections + "/" + in2.ID, nil, 404},
		{"review inspection of squad 2", leader1, "POST", schema.PathInspections + "/" + in2.ID + "/review", map[string]string{"action": "approve"}, 404},
		{"list venues of squad 2", leader1, "GET", schema.PathVenues + "?squad=2", nil, 403},
		{"read venue of squad 2", leader1, "GET", schema.PathVenues + "/" + v2.ID, nil, 404},
		{"edit venue of squad 2", leader1, "PATCH", schema.PathVenues + "/" + v2.ID, map[string]any{"fields": map[string]string{"name": "x"}}, 404},
		{"move a venue", leader1, "POST", schema.PathVenues + "/" + v2.ID + "/move", map[string]int64{"squad_id": 1}, 403},
		{"delete a venue", leader1, "DELETE", schema.PathVenues + "/" + v2.ID, nil, 403},
		{"conflicts of squad 2", leader1, "GET", schema.PathConflicts + "?squad=2", nil, 403},
		{"enrollment code for squad 2", leader1, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: "inspector3"}, 404},
		{"revoke a squad 2 device", leader1, "POST", "/api/v1/devices/" + d2.id + "/revoke", nil, 404},
		{"versions of a squad 2 inspection", leader1, "GET", schema.PathInspections + "/" + in2.ID + "/versions", nil, 404},
		{"findings of squad 2", leader1, "GET", schema.PathFindings + "?squad=2", nil, 403},
		{"read a squad 2 finding", leader1, "GET", f2, nil, 404},
		{"order a squad 2 finding", leader1, "POST", f2 + "/order", map[string]string{"deadline": "2026-03-20", "action": "fix"}, 404},
		{"close a squad 2 finding", leader1, "POST", f2 + "/close", map[string]string{"note": "x"}, 404},
		{"escalate a squad 2 finding", leader1, "POST", f2 + "/escalate", map[string]string{"reason": "x"}, 404},
		{"ledger of a squad 2 venue", leader1, "GET", schema.PathVenues + "/" + v2.ID + "/ledger", nil, 404},
		{"record PDF of a squad 2 inspection", leader1, "GET", schema.PathInspections + "/" + in2.ID + "/record.pdf", nil, 404},
		{"order PDF of a squad 2 finding", leader1, "GET", f2 + "/order.pdf", nil, 404},
		{"re-check PDF of a squad 2 finding", leader1, "GET", f2 + "/recheck.pdf", nil, 404},
		{"inspector on leader pages", inspector1, "GET", schema.PathInspections, nil, 403},
		{"inspector reviews", inspector1, "POST", schema.PathInspections + "/" + in2.ID + "/review", map[string]string{"action": "approve"}, 403},
		{"inspector reads versions", inspector1, "GET", schema.PathInspections + "/" + in2.ID + "/versions", nil, 403},
		{"inspector lists findings", inspector1, "GET", schema.PathFindings, nil, 403},
		{"inspector reads a finding", inspector1, "GET", f2, nil, 403},
		{"inspector orders", inspector1, "POST", f2 + "/order", map[string]string{"deadline": "2026-03-20", "action": "fix"}, 403},
		{"inspector closes", inspector1, "POST", f2 + "/close", map[string]string{"note": "x"}, 403},
		{"inspector escalates", inspector1, "POST", f2 + "/escalate", map[string]string{"reason": "x"}, 403},
		{"inspector reads a ledger", inspector1, "GET", schema.PathVenues + "/" + v2.ID + "/ledger", nil, 403},
		{"inspector prints a record", inspector1, "GET", schema.PathInspections + "/" + in2.ID + "/record.pdf", nil, 403},
		{"inspector prints an order", inspector1, "GET", f2 + "/order.pdf", nil, 403},
		{"inspector prints a re-check", inspector1, "GET", f2 + "/recheck.pdf", nil, 403},
		{"device prints a record", d1.client, "GET", schema.PathInspections + "/" + in2.ID + "/record.pdf", nil, 403},
		{"device prints an order", d1.client, "GET", f2 + "/order.pdf", nil, 403},
		{"device prints a re-check", d1.client, "GET", f2 + "/recheck.pdf", nil, 403},
		{"unknown inspection's record", leader1, "GET", schema.PathInspections + "/" + newID(t) + "/record.pdf", nil, 404},
		{"unknown finding's order", leader1, "GET", schema.PathFindings + "/" + newID(t) + "/order.pdf", nil, 404},
		{"squad 2's own record PDF without a record", leader2, "GET", schema.PathInspections + "/" + in2.ID + "/record.pdf", nil, 404},
		{"device reads inspection", d1.client, "GET", schema.PathInspections + "/" + in2.ID, nil, 403},
		{"unknown inspection", leader1, "GET", schema.PathInspections + "/" + newID(t), nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.call(tc.method, tc.path, tc.body, nil); r.status != tc.want {
				t.Fatalf("%s %s: %d (%s); want %d", tc.method, tc.path, r.status, r.err.Message, tc.want)
			}
		})
	}

	res := d1.push(
		d1.edit(v2.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "mine now"}}),
		d1.upsert(d1.inspection(v2.ID)),
		d1.upsert(in2), // another squad's inspection id
	)
	for i, r := range res {
		if r.Outcome != schema.OutcomeRejected || (r.Code != schema.CodeForbidden && r.Code != schema.CodeNotFound) {
			t.Errorf("push %d into squad 2: %+v", i, r)
		}
	}
	changes, _ := d1.pullAll(0)
	for _, c := range changes {
		if c.Venue != nil && c.Venue.SquadID != 1 || c.ID == in2.ID || c.ID == v2.ID {
			t.Fatalf("squad 1 device pulled %s %s", c.Kind, c.ID)
		}
	}
	var got schema.Venue
	leader2.must(200, "GET", schema.PathVenues+"/"+v2.ID, nil, &got)
	if got.Name != v2.Name {
		t.Fatalf("squad 2 venue renamed to %q", got.Name)
	}
	var list []schema.Inspection
	leader1.must(200, "GET", schema.PathInspections, nil, &list)
	for _, in := range list {
		if in.SquadID != 1 {
			t.Fatalf("leader 1 listed an inspection of squad %d", in.SquadID)
		}
	}
}

// TestEnrollCodes_AnswerDoesNotTellWhoExists: a leader asking for a code
// for a user of another squad, an admin, or a name nobody has gets the same
// answer; an inspector gets 403 whatever the name. Only admins, who see
// every user, learn that a name is unknown.
func TestEnrollCodes_AnswerDoesNotTellWhoExists(t *testing.T) {
	e := newEnv(t)
	leader1, inspector := e.login("leader1"), e.login("inspector1")
	for _, name := range []string{"inspector3", "admin", "leader2", "nobody", "Nobody "} {
		canon := strings.ToLower(strings.TrimSpace(name))
		r := leader1.call("POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: name}, nil)
		if want := "user " + canon + " not found in your squad"; r.status != 404 || r.err.Message != want {
			t.Errorf("leader1 asks for %q: %d %q; want 404 %q", name, r.status, r.err.Message, want)
		}
		r = inspector.call("POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: name}, nil)
		if r.status != 403 || r.err.Message != "only squad leaders and admins issue enrollment codes" {
			t.Errorf("inspector asks for %q: %d %q; want the same 403", name, r.status, r.err.Message)
		}
	}
	leader1.must(201, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: " Inspector2"}, nil)
	if r := e.login("admin").call("POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: "nobody"}, nil); r.status != 404 {
		t.Errorf("admin asks for an unknown user: %d", r.status)
	}
}

// TestAuthz_Complaints: the office takes complaints in and reads them
// without the contact, and nothing else; a leader reads and acts on their
// squad's (with the contact), another squad's is not found; inspectors
// and devices reach none of the complaint routes.
func TestAuthz_Complaints(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	admin.must(201, "POST", schema.PathUsers, map[string]any{"username": "clerk", "display_name": "受理员", "role": schema.RoleOffice,
		"password": demo.Password}, nil)
	clerk, leader1, leader2, inspector1 := e.login("clerk"), e.login("leader1"), e.login("leader2"), e.login("inspector1")
	d1 := e.enroll("inspector1")
	v1 := e.venues(1)[0]
	const contact = "李先生 13800138000"
	intake := map[string]any{"channel": "12345", "category": "cafe", "venue_id": v1.ID, "content": "接纳未成年人", "contact": contact, "reply_wanted": true}
	var made schema.Complaint
	r := clerk.must(201, "POST", schema.PathComplaints, intake, &made)
	if made.SquadID != 1 || made.Status != schema.ComplaintReceived || made.AcceptBy.IsZero() || made.Due.IsZero() || made.ID == "" {
		t.Fatalf("intake answered %s", r.body)
	}
	if strings.Contains(string(r.body), "13800138000") {
		t.Fatalf("the office's intake answer carries the contact: %s", r.body)
	}
	one := schema.PathComplaints + "/" + made.ID
	var lead schema.Complaint
	leader1.must(200, "GET", one, nil, &lead)
	if lead.Contact != contact {
		t.Fatalf("leader1 reads contact %q; want the complainant's", lead.Contact)
	}
	for _, c := range []*client{clerk} {
		for _, path := range []string{one, schema.PathComplaints, schema.PathComplaints + "?squad=1&status=received&overdue=false"} {
			if r := c.must(200, "GET", path, nil, nil); strings.Contains(string(r.body), "13800138000") {
				t.Fatalf("GET %s shows the office the contact: %s", path, r.body)
			}
		}
	}
	accept := map[string]any{}
	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		want   int
	}{
		{"office lists", clerk, "GET", schema.PathComplaints, nil, 200},
		{"office reads", clerk, "GET", one, nil, 200},
		{"office accepts", clerk, "POST", one + "/accept", accept, 403},
		{"office closes", clerk, "POST", one + "/close", accept, 403},
		{"office on inspections", clerk, "GET", schema.PathInspections, nil, 403},
		{"office on findings", clerk, "GET", schema.PathFindings, nil, 403},
		{"office on venues", clerk, "GET", schema.PathVenues, nil, 403},
		{"office on conflicts", clerk, "GET", schema.PathConflicts, nil, 403},
		{"office on the audit log", clerk, "GET", schema.PathAudit, nil, 403},
		{"office makes users", clerk, "POST", schema.PathUsers, map[string]any{"username": "x", "display_name": "x", "role": "office", "password": demo.Password}, 403},
		{"leader makes office staff", leader1, "POST", schema.PathUsers, map[string]any{"username": "clerk2", "display_name": "x", "role": "office", "password": demo.Password}, 403},
		{"leader of another squad reads", leader2, "GET", one, nil, 404},
		{"leader of another squad accepts", leader2, "POST", one + "/accept", accept, 404},
		{"leader of another squad assigns", leader2, "POST", one + "/assign", map[string]any{"squad_id": 2, "reason": "mine"}, 404},
		{"leader of another squad lists it", leader2, "GET", schema.PathComplaints + "?squad=1", nil, 403},
		{"leader takes complaints in", leader1, "POST", schema.PathComplaints, intake, 201},
		{"inspector lists", inspector1, "GET", schema.PathComplaints, nil, 403},
		{"inspector reads", inspector1, "GET", one, nil, 403},
		{"inspector takes complaints in", inspector1, "POST", schema.PathComplaints, intake, 403},
		{"inspector accepts", inspector1, "POST", one + "/accept", accept, 403},
		{"device lists", d1.client, "GET", schema.PathComplaints, nil, 403},
		{"device reads", d1.client, "GET", one, nil, 403},
		{"device takes complaints in", d1.client, "POST", schema.PathComplaints, intake, 403},
		{"device handles", d1.client, "POST", one + "/handle", map[string]any{"text": "x"}, 403},
		{"unknown complaint", leader1, "GET", schema.PathComplaints + "/" + newID(t), nil, 404},
		{"complaint id not canonical", leader1, "GET", schema.PathComplaints + "/NOT-AN-ID", nil, 400},
		{"leader accepts", leader1, "POST", one + "/accept", nil, 200},
		{"leader extends", leader1, "POST", one + "/extend", map[string]any{"days": 10, "reason": "业主外出"}, 200},
		{"admin reads", admin, "GET", one, nil, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.call(tc.method, tc.path, tc.body, nil); r.status != tc.want {
				t.Fatalf("%s %s: %d (%s); want %d", tc.method, tc.path, r.status, r.err.Message, tc.want)
			}
		})
	}
	// The squad's device gets the task, and never the contact.
	res := d1.raw("POST", schema.PathPull, strings.NewReader(`{"cursor":""}`), nil)
	if res.status != 200 || !strings.Contains(string(res.body), made.ID) || strings.Contains(string(res.body), "13800138000") ||
		strings.Contains(string(res.body), "李先生") {
		t.Fatalf("pull of the squad's device: %d, task there %v, contact there %v", res.status,
			strings.Contains(string(res.body), made.ID), strings.Contains(string(res.body), "13800138000"))
	}
	d3 := e.enroll("inspector3")
	if res := d3.raw("POST", schema.PathPull, strings.NewReader(`{"cursor":""}`), nil); strings.Contains(string(res.body), made.ID) {
		t.Fatal("another squad's device got the complaint")
	}
}

// TestComplaints_BadInput: refusals a clerk can act on, never a 500.
func TestComplaints_BadInput(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	v1 := e.venues(1)[0]
	good := func() map[string]any {
		return map[string]any{"channel": "12318", "category": "arcade", "venue_id": v1.ID, "content": "噪音扰民"}
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want int
		says string
	}{
		{"unknown channel", func(m map[string]any) { m["channel"] = "fax" }, 400, "channel"},
		{"no content", func(m map[string]any) { m["content"] = "" }, 400, "content"},
		{"neither venue nor place", func(m map[string]any) { delete(m, "venue_id") }, 400, "venue_id"},
		{"venue id not canonical", func(m map[string]any) { m["venue_id"] = "V1" }, 400, "venue_id"},
		{"unknown venue", func(m map[string]any) { m["venue_id"] = newID(t) }, 400, "names no venue"},
		{"place without position or squad", func(m map[string]any) { delete(m, "venue_id"); m["place"] = "车站后面" }, 400, "squad_id"},
		{"huge content", func(m map[string]any) { m["content"] = strings.Repeat("长", 4000) }, 400, "content"},
		{"control character", func(m map[string]any) { m["contact"] = "a\u0007b" }, 400, "control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.edit(m)
			r := admin.call("POST", schema.PathComplaints, m, nil)
			if r.status != tc.want || !strings.Contains(r.err.Message, tc.says) {
				t.Fatalf("%d %q; want %d saying %q", r.status, r.err.Message, tc.want, tc.says)
			}
		})
	}
	huge := `{"channel":"12345","category":"cafe","place":"p","squad_id":1,"content":"` + strings.Repeat("x", 100_000) + `"}`
	if r := admin.raw("POST", schema.PathComplaints, strings.NewReader(huge), nil); r.status != 413 {
		t.Fatalf("a body past the bound: %d", r.status)
	}
	var c schema.Complaint
	admin.must(201, "POST", schema.PathComplaints, good(), &c)
	for _, tc := range []struct {
		path string
		body any
		want int
	}{
		{"/extend", map[string]any{"days": 31, "reason": "r"}, 400},
		{"/handle", map[string]any{}, 409},
		{"/answer", map[string]any{"text": "t", "method": "phone"}, 409},
		{"/reject", map[string]any{}, 400},
		{"/assign", map[string]any{"squad_id": 99, "reason": "r"}, 400},
	} {
		if r := admin.call("POST", schema.PathComplaints+"/"+c.ID+tc.path, tc.body, nil); r.status != tc.want || r.err.Message == "" {
			t.Errorf("%s: %d %q; want %d with a message", tc.path, r.status, r.err.Message, tc.want)
		}
	}
	for _, q := range []string{"?status=lost", "?overdue=maybe", "?squad=x", "?after=garbage", "?limit=-1"} {
		if r := admin.call("GET", schema.PathComplaints+q, nil, nil); r.status != 400 {
			t.Errorf("GET %s: %d; want 400", q, r.status)
		}
	}
}

// TestAuthz_Cases: a squad's cases are its leader's and the admins'; a
// leader of another squad finds none of them (404), and inspectors and
// devices may not use the case routes at all (403).
func TestAuthz_Cases(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.enroll("inspector1"), e.enroll("inspector3")
	v2 := e.venues(2)[0]
	in2 := d2.inspection(v2.ID)
	in2.Items[5].Result = schema.ResultFail // NC06, critical
	d2.push(d2.upsert(in2))
	leader1, leader2, admin := e.login("leader1"), e.login("leader2"), e.login("admin")
	leader2.must(200, "POST", schema.PathInspections+"/"+in2.ID+"/review", map[string]string{"action": "approve"}, nil)
	var page struct{ Findings []schema.Finding }
	leader2.must(200, "GET", schema.PathFindings+"?venue="+v2.ID+"&item="+in2.Items[5].ItemID+"&status=open", nil, &page)
	if len(page.Findings) == 0 || !page.Findings[0].Critical {
		t.Fatalf("approval opened no critical finding in squad 2: %+v", page.Findings)
	}
	f2 := page.Findings[0].ID
	open := map[string]string{"source": schema.CaseFromCriticalFinding, "source_id": f2, "summary": "未核验身份证"}
	// A leader of another squad cannot open it: the finding is not theirs.
	if r := leader1.call("POST", schema.PathCases, open, nil); r.status != 404 {
		t.Fatalf("leader1 opens a squad 2 case: %d %s", r.status, r.err.Message)
	}
	var c schema.Case
	leader2.must(201, "POST", schema.PathCases, open, &c)
	leader2.must(200, "POST", schema.PathCases, open, nil) // the same source answers the case it holds
	path := schema.PathCases + "/" + c.ID
	inspector1 := e.login("inspector1")
	bodies := map[string]any{
		schema.CaseActInvestigate: map[string]string{"note": "x"},
		schema.CaseActAttach:      map[string]any{"evidence": []map[string]string{{"kind": "inspection", "ref": in2.ID}}},
		schema.CaseActHandlers:    map[string]any{"handlers": []string{"inspector3", "inspector4"}},
		schema.CaseActDecide:      map[string]any{"type": "warning"},
		schema.CaseActClose:       map[string]string{"note": "x"},
	}
	type call struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		want   int
	}
	cases := []call{
		{"leader lists another squad", leader1, "GET", schema.PathCases + "?squad=2", nil, 403},
		{"leader reads another squad's case", leader1, "GET", path, nil, 404},
		{"inspector lists", inspector1, "GET", schema.PathCases, nil, 403},
		{"inspector reads", inspector1, "GET", path, nil, 403},
		{"inspector opens", inspector1, "POST", schema.PathCases, open, 403},
		{"device lists", d1.client, "GET", schema.PathCases, nil, 403},
		{"device reads", d1.client, "GET", path, nil, 403},
		{"device opens", d1.client, "POST", schema.PathCases, open, 403},
		{"unknown case", admin, "GET", schema.PathCases + "/" + newID(t), nil, 404},
		{"admin reads", admin, "GET", path, nil, 200},
		{"leader reads own", leader2, "GET", path, nil, 200},
		{"bad status", leader2, "GET", schema.PathCases + "?status=lost", nil, 400},
	}
	for act, body := range bodies {
		cases = append(cases,
			call{"leader of another squad: " + act, leader1, "POST", path + "/" + act, body, 404},
			call{"inspector: " + act, inspector1, "POST", path + "/" + act, body, 403},
			call{"device: " + act, d1.client, "POST", path + "/" + act, body, 403})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.call(tc.method, tc.path, tc.body, nil); r.status != tc.want {
				t.Fatalf("%s %s: %d (%s); want %d", tc.method, tc.path, r.status, r.err.Message, tc.want)
			}
		})
	}
	var list struct{ Cases []schema.Case }
	leader1.must(200, "GET", schema.PathCases, nil, &list)
	for _, x := range list.Cases {
		if x.SquadID != 1 {
			t.Fatalf("leader 1 listed a case of squad %d", x.SquadID)
		}
	}
	var got schema.Case
	leader2.must(200, "GET", path, nil, &got)
	if got.Status != schema.CaseOpened || len(got.Evidence) != 0 {
		t.Fatalf("refused calls changed the case: %+v", got)
	}
	// The case's audit trail: its squad's leader reads it, another's sees nothing of it.
	var trail []schema.AuditEntry
	leader2.must(200, "GET", schema.PathAudit+"?entity=case&id="+c.ID, nil, &trail)
	if len(trail) != 1 || trail[0].Action != "case_opened" || trail[0].Actor != "leader2" {
		t.Fatalf("leader 2 reads the case's audit: %+v", trail)
	}
	trail = nil
	leader1.must(200, "GET", schema.PathAudit+"?entity=case&id="+c.ID, nil, &trail)
	if len(trail) != 0 {
		t.Fatalf("leader 1 reads squad 2's case audit: %+v", trail)
	}
}
