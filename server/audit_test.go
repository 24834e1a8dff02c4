package server_test

import (
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestAudit_LeadersSeeOnlyTheirSquad(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.enroll("inspector1"), e.enroll("inspector3")
	v1, v2 := e.venues(1)[0], e.venues(2)[0]
	in1 := d1.inspection(v1.ID)
	d1.push(d1.upsert(in1))
	admin := e.login("admin")
	admin.must(204, "DELETE", schema.PathVenues+"/"+v1.ID, nil, nil)
	admin.must(204, "DELETE", schema.PathVenues+"/"+v2.ID, nil, nil)
	leader1, leader2 := e.login("leader1"), e.login("leader2")
	leader1.must(200, "POST", schema.PathInspections+"/"+in1.ID+"/review", map[string]string{"action": "approve"}, nil)

	read := func(c *client, query string) []schema.AuditEntry {
		t.Helper()
		var list []schema.AuditEntry
		c.must(200, "GET", schema.PathAudit+query, nil, &list)
		return list
	}
	all := read(admin, "?limit=1000")
	if schema.VerifyChain(reverse(all)) != nil {
		t.Fatalf("the admin's view of the whole log is not an intact chain: %v", schema.VerifyChain(reverse(all)))
	}
	var squad1 int
	for _, a := range all {
		if a.SquadID != nil && *a.SquadID == 1 {
			squad1++
		}
	}
	if squad1 < 4 {
		t.Fatalf("%d entries of squad 1 in %+v; want the code, the enrollment, the deletion and the review", squad1, all)
	}
	review := read(leader1, "?entity=inspection&id="+in1.ID+"&actor=leader1")
	if len(review) != 1 || review[0].Actor != "leader1" || review[0].Address != "127.0.0.1" || review[0].To != schema.StatusApproved {
		t.Fatalf("leader1's review: %+v; want one entry by leader1 from 127.0.0.1", review)
	}
	if got := read(leader1, "?entity=device&id="+d1.id); len(got) != 1 || got[0].Actor != "inspector1" || got[0].Action != "enroll" {
		t.Fatalf("inspector1's device: %+v; want its enrollment, by inspector1", got)
	}

	// Whatever leader2 asks, no entry of squad 1 comes back.
	for _, q := range []string{"", "?limit=1000", "?actor=admin", "?actor=leader1", "?entity=venue&id=" + v1.ID, "?entity=inspection&id=" + in1.ID,
		"?entity=device&id=" + d1.id, "?entity=enrollment_code", "?before=1000000", "?format=json"} {
		for _, a := range read(leader2, q) {
			if a.SquadID == nil || *a.SquadID != 2 {
				t.Errorf("leader2 %q: entry %+v of another squad", q, a)
			}
		}
	}
	if got := read(leader2, "?entity=device&id="+d2.id); len(got) != 1 {
		t.Errorf("leader2 on its inspector's device: %+v; want its enrollment", got)
	}
	r := leader2.raw("GET", schema.PathAudit+"?format=csv&entity=inspection&id="+in1.ID, nil, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || strings.Count(string(r.body), "\n") != 1 {
		t.Errorf("leader2 CSV of squad 1's inspection: %d %q %q; want the header only", r.status, r.header.Get("Content-Type"), r.body)
	}
	csv := admin.raw("GET", schema.PathAudit+"?format=csv", nil, nil)
	if lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n"); csv.status != 200 || len(lines) != len(all)+1 || !strings.HasPrefix(lines[0], "seq,at,actor") {
		t.Errorf("admin CSV: %d, %d lines; want a header and %d entries", csv.status, len(lines), len(all))
	}
	// Keyset paging walks the whole log.
	var paged []schema.AuditEntry
	for before := int64(0); ; {
		q := "?limit=2"
		if before > 0 {
			q += "&before=" + itoa(before)
		}
		page := read(admin, q)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[len(page)-1].Seq
	}
	if len(paged) != len(all) {
		t.Errorf("paged through %d entries; the log holds %d", len(paged), len(all))
	}

	for _, c := range []struct {
		name  string
		c     *client
		query string
		want  int
	}{
		{"leader2 names squad 1", leader2, "?squad=1", 403},
		{"inspector", e.login("inspector1"), "", 403},
		{"device token", d1.client, "", 403},
		{"no token", e.anon(), "", 401},
		{"unknown kind", admin, "?entity=spaceship", 400},
		{"id without kind", admin, "?id=" + in1.ID, 400},
		{"hostile id", admin, "?entity=venue&id=%27%3B%20DROP", 400},
		{"bad before", admin, "?before=-3", 400},
		{"bad format", admin, "?format=xml", 400},
	} {
		if r := c.c.call("GET", schema.PathAudit+c.query, nil, nil); r.status != c.want {
			t.Errorf("%s: %d (%s); want %d", c.name, r.status, r.err.Message, c.want)
		}
	}
}

func reverse(list []schema.AuditEntry) []schema.AuditEntry {
	out := make([]schema.AuditEntry, len(list))
	for i, a := range list {
		out[len(list)-1-i] = a
	}
	return out
}

// TestAudit_SignInAndOutAreRecorded: a login and a logout each leave an
// entry naming the user and the address they came from.
func TestAudit_SignInAndOutAreRecorded(t *testing.T) {
	e := newEnv(t)
	leader := e.login("leader1")
	leader.must(204, "POST", schema.PathLogout, nil, nil)
	var list []schema.AuditEntry
	e.login("admin").must(200, "GET", schema.PathAudit+"?entity=user&actor=leader1", nil, &list)
	var actions []string
	for _, a := range list {
		if a.Address == "" {
			t.Errorf("entry %d names no address", a.Seq)
		}
		actions = append(actions, a.Action)
	}
	if len(actions) != 2 || actions[0] != "logout" || actions[1] != "login" {
		t.Fatalf("leader1's sign-in entries, newest first: %v; want logout, login", actions)
	}
}
