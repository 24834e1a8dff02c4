package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/demo"
)

// TestComplaintPages_OfficeAndSquads: the office takes a complaint in
// through the workbench (refused without its CSRF token), reads it
// without the contact, acts on nothing and opens no other page; the
// squad's leader reads the contact and acts; another squad's leader gets
// 404 on both the page and its forms.
func TestComplaintPages_OfficeAndSquads(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	admin.must(http.StatusCreated, "POST", schema.PathUsers, server.CreateUserRequest{Username: "office1", DisplayName: "受理员",
		Role: schema.RoleOffice, Password: demo.Password}, nil)
	v := e.venues(2)[0]
	office := e.browser("office1")
	_, page := office.get("/complaints/new")
	form := url.Values{"channel": {schema.Channel12345}, "category": {schema.CategoryCafe}, "contact": {"李女士 13900001111"},
		"reply_wanted": {"1"}, "venue": {v.ID}, "content": {"夜间接纳未成年人\r\n第二行"}}
	if st, _ := office.post("/complaints/new", form); st != http.StatusForbidden {
		t.Fatalf("intake without its csrf token: %d; want 403", st)
	}
	form.Set("csrf", csrfOf(t, page))
	st, shown := office.post("/complaints/new", form)
	if st != http.StatusOK || !strings.Contains(shown, "（仅分管中队长可见）") || strings.Contains(shown, "13900001111") ||
		!strings.Contains(shown, "第2中队") || !strings.Contains(shown, "夜间接纳未成年人\n第二行") {
		t.Fatalf("after intake: %d\n%.3000s", st, shown)
	}
	var list server.ComplaintPage
	admin.must(http.StatusOK, "GET", schema.PathComplaints+"?limit=500", nil, &list)
	var got *schema.Complaint
	for i, c := range list.Complaints {
		if c.ReceivedBy == "office1" {
			got = &list.Complaints[i]
		}
	}
	if got == nil || got.Contact != "李女士 13900001111" || got.SquadID != 2 {
		t.Fatalf("the stored complaint: %+v", got)
	}
	id := got.ID
	csrf := csrfOf(t, shown)
	if st, _ := office.post("/complaints/"+id+"/accept", url.Values{"csrf": {csrf}}); st != http.StatusForbidden {
		t.Fatalf("the office accepting: %d; want 403", st)
	}
	for _, path := range []string{"/", "/findings", "/dashboard", "/bulletin", "/zones", "/discoveries", "/plan", "/audit",
		"/admin/devices", "/admin/users", "/venues/" + v.ID} {
		if st, _ := office.get(path); st != http.StatusForbidden {
			t.Fatalf("the office on %s: %d; want 403", path, st)
		}
	}

	other := e.browser("leader1")
	_, own := other.get("/complaints")
	if strings.Contains(own, id) {
		t.Fatal("leader1 lists squad 2's complaint")
	}
	if st, _ := other.get("/complaints/" + id); st != http.StatusNotFound {
		t.Fatalf("leader1 on squad 2's complaint: %d; want 404", st)
	}
	if st, _ := other.post("/complaints/"+id+"/accept", url.Values{"csrf": {csrfOf(t, own)}}); st != http.StatusNotFound {
		t.Fatalf("leader1 accepting squad 2's complaint: %d; want 404", st)
	}

	lead := e.browser("leader2")
	_, mine := lead.get("/complaints/" + id)
	if !strings.Contains(mine, "李女士 13900001111") || !strings.Contains(mine, `action="/complaints/`+id+`/accept"`) {
		t.Fatalf("leader2's page lacks the contact or the accept form:\n%.3000s", mine)
	}
	if st, after := lead.post("/complaints/"+id+"/accept", url.Values{"csrf": {csrfOf(t, mine)}}); st != http.StatusOK || !strings.Contains(after, "已受理。") {
		t.Fatalf("leader2 accepting: %d\n%.2000s", st, after)
	}
	if st, bad := lead.post("/complaints/"+id+"/extend", url.Values{"csrf": {csrfOf(t, mine)}, "days": {"31"}, "reason": {"太久"}}); st != http.StatusBadRequest ||
		!strings.Contains(bad, "操作未执行") {
		t.Fatalf("an extension past the limit: %d\n%.2000s", st, bad)
	}

	// The complaint's audit trail through the API, as its squad's leader.
	var trail []schema.AuditEntry
	e.login("leader2").must(http.StatusOK, "GET", schema.PathAudit+"?entity=complaint&id="+id, nil, &trail)
	if len(trail) != 2 || trail[0].Action != "complaint_accepted" || trail[1].Action != "complaint_received" {
		t.Fatalf("the complaint's audit trail: %+v", trail)
	}

	// Keyset pages of 50 through every complaint of the squad, and the
	// overdue filter: 51 more complaints, one received 20 days ago and so
	// past its acceptance limit.
	for i := range 51 {
		in := schema.ComplaintIntake{Channel: schema.ChannelLetter, Category: schema.CategoryArcade, VenueID: v.ID, Content: "来信 " + itoa(int64(i))}
		if i == 0 {
			in.ReceivedAt = e.clock.Now().AddDate(0, 0, -20)
		}
		admin.must(http.StatusCreated, "POST", schema.PathComplaints, in, nil)
	}
	var all, overdue server.ComplaintPage
	admin.must(http.StatusOK, "GET", schema.PathComplaints+"?squad=2&limit=500", nil, &all)
	admin.must(http.StatusOK, "GET", schema.PathComplaints+"?squad=2&overdue=true&limit=500", nil, &overdue)
	rows, pages, path := 0, 0, "/complaints"
	for path != "" {
		_, page := lead.get(path)
		n := strings.Count(page, `<tr id="complaint-`)
		rows, pages, path = rows+n, pages+1, ""
		if next := nextLink.FindStringSubmatch(page); next != nil {
			if n != 50 {
				t.Fatalf("page %d has %d rows and a next link", pages, n)
			}
			path = html.UnescapeString(next[1])
		}
	}
	if rows != len(all.Complaints) || pages != (rows+49)/50 || rows < 52 {
		t.Fatalf("%d rows on %d pages; the squad has %d complaints", rows, pages, len(all.Complaints))
	}
	_, over := lead.get("/complaints?overdue=1")
	if n := strings.Count(over, `<tr id="complaint-`); n != len(overdue.Complaints) || !strings.Contains(over, "受理超期 5") {
		t.Fatalf("the overdue filter: %d rows of %d\n%.3000s", n, len(overdue.Complaints), over)
	}
	for _, c := range all.Complaints {
		listed := strings.Contains(over, `<tr id="complaint-`+c.ID+`" class="overdue"`)
		if listed != c.Overdue {
			t.Fatalf("complaint %s (overdue %v) listed under 只看超期: %v", c.Number, c.Overdue, listed)
		}
	}
}

var nextLink = regexp.MustCompile(`<a class="button" href="([^"]+)">下一页</a>`)
