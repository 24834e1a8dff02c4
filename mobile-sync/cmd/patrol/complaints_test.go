package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/patrolhq/patrol/schema"
)

func TestCLI_TasksJSONComplaintAndHostileContentMadeSafe(t *testing.T) {
	srv, code := newServer(t)
	inj := &pullInjector{}
	withInjector(t, inj)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code, "--name", "test phone")
	c, err := srv.Server().Store().CreateComplaint(context.Background(), schema.ComplaintIntake{Channel: schema.Channel12318,
		Category: schema.CategoryCafe, Contact: "13800000000", ReplyWanted: true, VenueID: venue1,
		Content: "晚上有未成年人上网，前台不登记身份证"}, "admin", schema.DefaultComplaintLimits())
	if err != nil {
		t.Fatal(err)
	}
	// A task as a broken or hostile server might send it: terminal escapes,
	// a bidirectional override, and a content too long for one line.
	hostile := schema.ComplaintTask{ID: uuid.NewString(), Number: "投诉〔2026〕\x1b[2J9号", SquadID: squad1.ID,
		Category: schema.CategoryPublications, Place: "沂河路\x1b]0;pwned\x07书摊", Status: schema.ComplaintAccepted,
		Content: "出售盗版\u202e教辅\x1b[31m" + strings.Repeat("长", 300), Due: time.Now().AddDate(0, 0, -3)}
	inj.changes = []schema.Change{{Kind: schema.ChangeComplaint, ID: hostile.ID, Complaint: &hostile}}
	mustPatrol(t, db, "sync")

	var tasks []map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "tasks", "--json")), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("tasks %v", tasks)
	}
	// Soonest due first: the overdue one.
	x, y := tasks[0], tasks[1]
	hasKeys(t, y, "kind", "complaint_id", "number", "venue_id", "venue_name", "content", "category", "due", "overdue")
	if y["kind"] != "complaint" || y["complaint_id"] != c.ID || y["number"] != c.Number || y["venue_id"] != venue1 ||
		y["venue_name"] != squad1.Venues[0].Name || y["content"] != c.Content || y["category"] != "cafe" || y["overdue"] != false {
		t.Fatalf("complaint task %v", y)
	}
	if due, err := time.Parse(time.RFC3339Nano, y["due"].(string)); err != nil || !due.Equal(c.Due) {
		t.Fatalf("due %v, %v; want %v", y["due"], err, c.Due)
	}
	if x["complaint_id"] != hostile.ID || x["overdue"] != true || x["content"] != hostile.Content || x["place"] != hostile.Place {
		t.Fatalf("hostile task %v: want it whole in JSON, overdue", x)
	}

	out := mustPatrol(t, db, "tasks")
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Fatalf("tasks printed %q to the terminal:\n%q", bad, out)
		}
	}
	for _, want := range []string{"complaint 投诉  " + hostile.ID, "OVERDUE", "出售盗版 教辅", "…", c.Number,
		"next     patrol inspect start --venue " + venue1 + " --complaint " + c.ID, "--venue ID --complaint " + hostile.ID} {
		if !strings.Contains(out, want) {
			t.Fatalf("tasks lack %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 160 {
			t.Fatalf("a line of %d characters: content not shortened\n%s", n, l)
		}
	}

	if _, errs, code := patrol(t, db, "inspect", "start", "--venue", squad1.Venues[1].ID, "--co-inspector", "inspector2", "--complaint", c.ID); code != 1 || !strings.Contains(errs, "--venue "+venue1) {
		t.Fatalf("start --complaint at another venue: exit %d, %s", code, errs)
	}
	started := mustPatrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2", "--complaint", c.ID)
	id := lastLine(started)
	if !strings.Contains(started, "investigates complaint "+c.Number) {
		t.Fatalf("start:\n%s", started)
	}
	if out := mustPatrol(t, db, "inspect", "show", id); !strings.Contains(out, "complaint   "+c.ID) {
		t.Fatalf("show:\n%s", out)
	}
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "tasks", "--json")), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[1]["draft_id"] != id {
		t.Fatalf("tasks with the draft %v", tasks)
	}
	for i := 1; i <= 16; i++ {
		mustPatrol(t, db, "inspect", "item", id, "NC"+pad(i), "pass")
	}
	mustPatrol(t, db, "inspect", "submit", id)
	mustPatrol(t, db, "sync")
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "tasks", "--json")), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0]["complaint_id"] != hostile.ID {
		t.Fatalf("tasks after the investigation %v", tasks)
	}
	got, err := srv.Server().Store().Complaint(context.Background(), c.ID, schema.ComplaintAccessOf(schema.RoleAdmin, nil, false))
	if err != nil || got.Status != schema.ComplaintInvestigating || len(got.InspectionIDs) != 1 || got.InspectionIDs[0] != id {
		t.Fatalf("server's complaint %+v, %v", got, err)
	}
}

func TestLine_OneSafeLineOfBoundedWidth(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"a\nb\x1b[31m\tc", 20, "a b [31m c"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijk", 10, "abcdefghi…"},
		{"长长长长长长", 10, "长长长长…"},
		{"长长长长长", 10, "长长长长长"},
		{"右\u202e左\u200b中", 20, "右 左 中"},
	} {
		if got := line(c.in, c.n); got != c.want {
			t.Errorf("line(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
