package mobilesync_test

import (
	"context"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
)

// planPath is squad 1's plan of serverNow's month (March 2026, Asia/Shanghai).
const planPath = schema.PathPlan + "?squad=1&month=2026-03"

// putPlan saves squad 1's plan as its leader.
func (e *env) putPlan(t *testing.T, visits ...schema.PlanVisit) server.PlanResponse {
	t.Helper()
	var out server.PlanResponse
	if err := e.srv.Leader(1).Do("PUT", planPath, server.PlanRequest{Visits: visits}, &out); err != nil {
		t.Fatalf("PUT plan: %v", err)
	}
	return out
}

func planned(venue, day string) schema.PlanVisit {
	return schema.PlanVisit{VenueID: venue, Day: day, Inspectors: [2]string{"inspector1", "inspector2"}}
}

// visitTasks are the device's visit tasks as "venue day".
func visitTasks(t *testing.T, d *mobilesync.Device) []string {
	t.Helper()
	var out []string
	for _, ts := range tasks(t, d) {
		if ts.Kind == mobilesync.TaskVisit {
			out = append(out, ts.VenueID+" "+ts.Day)
		}
	}
	return out
}

func TestPlan_LeaderPlansDeviceVisitsInspectionDoesIt_E2E(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cst, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no zone database")
	}

	var before server.PlanResponse
	if err := e.srv.Leader(1).Do("GET", planPath, nil, &before); err != nil {
		t.Fatal(err)
	}
	if before.Today != "2026-03-14" || len(before.Flags) != 1 || before.Flags[0].Kind != schema.PlanFlagUncovered || before.Flags[0].VenueID != venue1 {
		t.Fatalf("plan before any visit: %+v; want venue1 flagged uncovered", before)
	}
	if err := e.srv.Leader(2).Do("PUT", planPath, server.PlanRequest{}, nil); schema.ErrorCode(err) != schema.CodeForbidden {
		t.Fatalf("leader of squad 2 saving squad 1's plan: %v; want forbidden", err)
	}
	if err := e.srv.Leader(1).Do("PUT", planPath, server.PlanRequest{Visits: []schema.PlanVisit{planned(venue1, "2026-03-13")}}, nil); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("a visit yesterday: %v; want invalid", err)
	}

	saved := e.putPlan(t, planned(venue1, "2026-03-14"), planned(venue2, "2026-03-15"), planned(venue1, "2026-03-20"))
	if len(saved.Visits) != 3 || len(saved.Flags) != 0 {
		t.Fatalf("saved plan: %+v", saved)
	}
	mustSync(t, e.dev)
	ts := tasks(t, e.dev)
	want := []string{venue1 + " 2026-03-14", venue2 + " 2026-03-15", venue1 + " 2026-03-20"}
	if got := visitTasks(t, e.dev); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("visit tasks %v; want %v", got, want)
	}
	first := ts[len(ts)-3]
	if first.Due == nil || !first.Due.Equal(time.Date(2026, 3, 14, 0, 0, 0, 0, cst)) || first.Overdue {
		t.Fatalf("first visit task %+v: want due at the start of 14 March in Shanghai, not overdue", first)
	}

	// The leader drops the arcade: the device drops its task.
	e.putPlan(t, planned(venue1, "2026-03-14"), planned(venue1, "2026-03-20"))
	mustSync(t, e.dev)
	if got := visitTasks(t, e.dev); len(got) != 2 || got[0] != want[0] || got[1] != want[2] {
		t.Fatalf("visit tasks after the arcade was dropped %v", got)
	}

	// The inspection of today does today's visit, not the one of the 20th.
	id := completeInspection(t, e.dev, venue1, "inspector2")
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, e.dev); rep.Rejected != 0 {
		t.Fatalf("sync of the inspection: %+v", rep)
	}
	if got := visitTasks(t, e.dev); len(got) != 1 || got[0] != want[2] {
		t.Fatalf("visit tasks after the inspection %v; want only the 20th", got)
	}
	var after server.PlanResponse
	if err := e.srv.Leader(1).Do("GET", planPath, nil, &after); err != nil {
		t.Fatal(err)
	}
	done := map[string]string{}
	for _, v := range after.Visits {
		done[v.Day] = v.DoneInspectionID
	}
	if done["2026-03-14"] != id || done["2026-03-20"] != "" || len(after.Flags) != 0 {
		t.Fatalf("server plan after the inspection: %+v; want the 14th done by %s", after, id)
	}
}
