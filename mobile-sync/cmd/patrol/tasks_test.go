package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// pullInjector adds rows to the last page of pulls, as if the server had
// sent them, so the device applies them by its real pull path.
type pullInjector struct{ changes []schema.Change }

func (p *pullInjector) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.URL.Path != schema.PathPull || resp.StatusCode != http.StatusOK || len(p.changes) == 0 {
		return resp, err
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
		pr.Changes = append(pr.Changes, p.changes...)
		p.changes = nil
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
}

// withInjector makes the commands' devices pull through inj until the test ends.
func withInjector(t *testing.T, inj *pullInjector) {
	prev := tuneOptions
	tuneOptions = func(o *mobilesync.Options) {
		if prev != nil {
			prev(o)
		}
		o.HTTPClient = &http.Client{Transport: inj, Timeout: 10 * time.Second}
	}
	t.Cleanup(func() { tuneOptions = prev })
}

func orderedFinding(venue, item string, due time.Time) schema.Finding {
	return schema.Finding{ID: uuid.NewString(), InspectionID: uuid.NewString(), VenueID: venue, SquadID: squad1.ID, ItemID: item,
		Status: schema.FindingOrdered, Deadline: &due, OpenedAt: due.AddDate(0, 0, -20),
		Order: &schema.Order{Number: "责改〔2026〕7号", Deadline: due, Action: "立即整改", OrderedBy: "leader1", OrderedAt: due.AddDate(0, 0, -15)}}
}

// submitCLI starts, answers and submits an inspection of venue1 by the CLI.
func submitCLI(t *testing.T, db string) string {
	t.Helper()
	id := lastLine(mustPatrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2"))
	for i := 1; i <= 16; i++ {
		mustPatrol(t, db, "inspect", "item", id, "NC"+pad(i), "pass")
	}
	mustPatrol(t, db, "inspect", "submit", id)
	return id
}

func TestCLI_TasksJSONAmendAndRecheckRefusals(t *testing.T) {
	srv, code := newServer(t)
	inj := &pullInjector{}
	withInjector(t, inj)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code, "--name", "test phone")
	mustPatrol(t, db, "sync")
	back, keep := submitCLI(t, db), submitCLI(t, db)
	mustPatrol(t, db, "sync")

	in, err := srv.Admin().Inspection(back)
	if err != nil {
		t.Fatal(err)
	}
	in.Status, in.Version, in.Venue = schema.StatusReturned, 1, nil
	in.Review = &schema.Review{ReviewedBy: "leader1", ReviewedAt: time.Now().Add(-time.Hour), Decision: schema.StatusReturned, Note: "补拍 NC12 照片", Version: 1}
	// Deadlines far from now: which is overdue does not depend on when the test runs.
	later := orderedFinding(squad1.Venues[1].ID, "NC07", time.Now().AddDate(0, 0, 30))
	overdue := orderedFinding(venue1, "NC03", time.Now().AddDate(0, 0, -30))
	inj.changes = []schema.Change{
		{Kind: schema.ChangeFinding, ID: later.ID, Finding: &later},
		{Kind: schema.ChangeInspection, ID: in.ID, Inspection: &in},
		{Kind: schema.ChangeFinding, ID: overdue.ID, Finding: &overdue},
	}
	mustPatrol(t, db, "sync")

	var tasks []map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "tasks", "--json")), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 {
		t.Fatalf("tasks %v", tasks)
	}
	hasKeys(t, tasks[0], "kind", "inspection_id", "venue_id", "due", "overdue", "comment")
	if tasks[0]["kind"] != "amend" || tasks[0]["inspection_id"] != back || tasks[0]["due"] != nil || tasks[0]["overdue"] != false || tasks[0]["comment"] != "补拍 NC12 照片" {
		t.Fatalf("first task %v: want the amendment, no due date", tasks[0])
	}
	for i, f := range []schema.Finding{overdue, later} {
		x := tasks[i+1]
		hasKeys(t, x, "kind", "finding_id", "venue_id", "item_id", "due", "overdue")
		if x["kind"] != "recheck" || x["finding_id"] != f.ID || x["venue_id"] != f.VenueID || x["item_id"] != f.ItemID || x["overdue"] != (i == 0) {
			t.Fatalf("task %d %v: want the re-check of %s, soonest first", i+1, x, f.ID)
		}
		if due, err := time.Parse(time.RFC3339Nano, x["due"].(string)); err != nil || !due.Equal(f.Order.Deadline) {
			t.Fatalf("task %d due %v, %v", i+1, x["due"], err)
		}
	}
	if out := mustPatrol(t, db, "tasks"); !strings.Contains(out, "不接纳未成年人") || !strings.Contains(out, "OVERDUE") || !strings.Contains(out, "补拍 NC12 照片") {
		t.Fatalf("tasks:\n%s", out)
	}

	if _, errs, code := patrol(t, db, "inspect", "amend", keep); code != 1 || !strings.Contains(errs, "only a returned inspection can be amended") {
		t.Fatalf("amend of a submitted inspection: exit %d, %s", code, errs)
	}
	if _, errs, code := patrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2", "--recheck", uuid.NewString()); code != 1 || !strings.Contains(errs, "no finding") {
		t.Fatalf("start --recheck of an unknown finding: exit %d, %s", code, errs)
	}
	if _, errs, code := patrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2", "--recheck", later.ID); code != 1 || !strings.Contains(errs, "another venue") {
		t.Fatalf("start --recheck of another venue's finding: exit %d, %s", code, errs)
	}
	rc := lastLine(mustPatrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2", "--recheck", overdue.ID))
	if out := mustPatrol(t, db, "inspect", "show", rc); !strings.Contains(out, overdue.ID) {
		t.Fatalf("show of the re-check:\n%s", out)
	}

	mustPatrol(t, db, "inspect", "amend", back)
	mustPatrol(t, db, "inspect", "item", back, "NC12", "pass", "--note", "已补")
	mustPatrol(t, db, "inspect", "submit", back)
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "tasks", "--json")), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0]["kind"] != "recheck" {
		t.Fatalf("tasks after the resubmission %v", tasks)
	}
}

func TestCLI_TasksJSONVisitGoneOnceInspected(t *testing.T) {
	srv, code := newServer(t)
	inj := &pullInjector{}
	withInjector(t, inj)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code, "--name", "test phone")
	// Days far from now either way: which one is due first does not
	// depend on when the test runs.
	today := schema.PlanVisit{ID: uuid.NewString(), SquadID: squad1.ID, VenueID: venue1, Day: "2026-03-14",
		Starts: time.Now().Add(-2 * time.Hour), Inspectors: [2]string{"inspector1", "inspector2"}}
	later := schema.PlanVisit{ID: uuid.NewString(), SquadID: squad1.ID, VenueID: squad1.Venues[1].ID, Day: "2026-03-20",
		Starts: time.Now().AddDate(0, 0, 6), Inspectors: [2]string{"inspector2", "inspector1"}}
	inj.changes = []schema.Change{{Kind: schema.ChangeVisit, ID: later.ID, Visit: &later}, {Kind: schema.ChangeVisit, ID: today.ID, Visit: &today}}
	mustPatrol(t, db, "sync")

	visits := func() []map[string]any {
		var tasks, out []map[string]any
		if err := json.Unmarshal([]byte(mustPatrol(t, db, "tasks", "--json")), &tasks); err != nil {
			t.Fatal(err)
		}
		for _, x := range tasks {
			if x["kind"] == "visit" {
				out = append(out, x)
			}
		}
		return out
	}
	got := visits()
	if len(got) != 2 {
		t.Fatalf("visit tasks %v", got)
	}
	hasKeys(t, got[0], "kind", "venue_id", "due", "overdue", "visit_id", "day")
	if got[0]["venue_id"] != venue1 || got[0]["visit_id"] != today.ID || got[1]["venue_id"] != later.VenueID || got[0]["overdue"] != false {
		t.Fatalf("visit tasks %v: want venue1's first, not overdue on its day", got)
	}
	if due, err := time.Parse(time.RFC3339Nano, got[1]["due"].(string)); err != nil || !due.Equal(later.Starts) {
		t.Fatalf("due of the later visit %v, %v", got[1]["due"], err)
	}
	if out := mustPatrol(t, db, "tasks"); !strings.Contains(out, "visit 计划检查  2026-03-14") {
		t.Fatalf("tasks:\n%s", out)
	}
	submitCLI(t, db)
	if got := visits(); len(got) != 1 || got[0]["visit_id"] != later.ID {
		t.Fatalf("visit tasks after venue1 was inspected %v; want only the later one", got)
	}
}
