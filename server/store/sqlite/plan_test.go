package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// ledgerStore is a squad's ledger of a few thousand findings over 100
// venues, imported (which refreshes the planner's statistics).
func ledgerStore(t *testing.T, now time.Time) (*Store, []schema.Venue, string) {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "patrol.db"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	squad := int64(1)
	d := store.Dataset{Squads: []store.Squad{{ID: squad, Name: "s", Bounds: [4]float64{35, 118, 35.2, 118.4}}},
		Users: []store.User{{ID: "u1", Username: "inspector1", DisplayName: "I", Role: schema.RoleInspector, SquadID: &squad, PasswordHash: "x"}}}
	for i := range 100 {
		d.Venues = append(d.Venues, schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindNetCafe, Name: fmt.Sprint("网吧 ", i),
			Lat: 35.1, Lng: 118.3, Clocks: map[string]string{}})
	}
	states := []string{schema.FindingOpen, schema.FindingOrdered, schema.FindingOrdered, schema.FindingRechecked, schema.FindingClosed}
	for i := range 1000 {
		start := now.AddDate(0, 0, -700+i*700/1000)
		end := start.Add(time.Hour)
		in := schema.Inspection{ID: uuid.NewString(), VenueID: d.Venues[i%100].ID, SquadID: squad, DeviceID: "dev-1",
			Status: schema.StatusApproved, ChecklistVersion: cl.Version, StartedAt: start, FinishedAt: &end, HLC: "h",
			Inspectors: []schema.Inspector{{Username: "inspector1"}, {Username: "co-inspector"}},
			Review:     &schema.Review{ReviewedBy: "leader1", ReviewedAt: end, Decision: schema.StatusApproved, Version: 1}}
		d.Inspections = append(d.Inspections, store.ImportedInspection{Inspection: in, AuthorID: "u1", ReceivedAt: end})
		for k := range 4 {
			item := cl.Items[(i+k)%len(cl.Items)]
			f := schema.Finding{ID: uuid.NewString(), InspectionID: in.ID, VenueID: in.VenueID, SquadID: squad, ItemID: item.ID,
				TitleZH: item.TitleZH, Severity: item.Severity, Status: states[(i+k)%len(states)], OpenedAt: end, UpdatedAt: end}
			if f.Status != schema.FindingOpen {
				dl := end.AddDate(0, 0, 15)
				f.Deadline = &dl
				f.Order = &schema.Order{Number: schema.OrderNumber(end.Year(), i*4+k+1), Deadline: dl, Action: "限期整改", OrderedBy: "leader1", OrderedAt: end}
			}
			if f.Status == schema.FindingClosed {
				closed := end.AddDate(0, 0, 20)
				f.ClosedAt, f.ClosedBy = &closed, "leader1"
			}
			d.Findings = append(d.Findings, f)
		}
	}
	if err := st.Import(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return st, d.Venues, cl.Items[2].ID
}

// plan is the query plan SQLite chooses for the ledger page of f.
func plan(t *testing.T, s *Store, f store.FindingFilter) string {
	t.Helper()
	if err := store.CheckFindingFilter(&f); err != nil {
		t.Fatal(err)
	}
	q, args := findingsQuery(f, s.now())
	rows, err := s.db.R.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestFindingsPlan_UsesTheNarrowIndex: with the statistics Import
// refreshes, a ledger filtered by venue reads the venue's rows
// (findings_venue_item) instead of walking the squad's ledger index, and
// the overdue ledger by deadline is one range of
// findings_squad_status_deadline with no sort.
func TestFindingsPlan_UsesTheNarrowIndex(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s, venues, item := ledgerStore(t, now)
	var stats int
	if err := s.db.R.QueryRow(`SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'findings'`).Scan(&stats); err != nil || stats == 0 {
		t.Fatalf("no planner statistics of findings after Import (%d rows, %v)", stats, err)
	}
	sq := int64(1)
	for _, c := range []struct {
		name   string
		f      store.FindingFilter
		want   string
		refuse string
	}{
		{"item, venue and dates", store.FindingFilter{SquadID: &sq, Status: schema.FindingOrdered, ItemID: item, VenueID: venues[7].ID,
			From: now.AddDate(-1, 0, 0), To: now}, "USING INDEX findings_venue_item", "findings_ledger"},
		{"overdue by deadline", store.FindingFilter{SquadID: &sq, Status: schema.FindingOverdueTag, Sort: store.SortDeadline},
			"USING INDEX findings_squad_status_deadline ", "TEMP B-TREE"},
		{"overdue by deadline, second page", store.FindingFilter{SquadID: &sq, Status: schema.FindingOverdueTag, Sort: store.SortDeadline,
			After: store.FindingCursor{Sort: store.SortDeadline, Key: schema.FormatTime(now.AddDate(-1, 0, 0)), ID: "x"}.Encode()},
			"USING INDEX findings_squad_status_deadline ", "TEMP B-TREE"},
	} {
		got := plan(t, s, c.f)
		if !strings.Contains(got+" ", c.want) || strings.Contains(got, c.refuse) {
			t.Errorf("%s: plan\n%s\nwant %q and no %q", c.name, got, c.want, c.refuse)
		}
	}
}
