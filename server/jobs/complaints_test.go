package jobs_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
)

// TestRollupDay_Complaints: at the end of 15 March squad 2 of the
// hand-built month has four complaints open, two of them overdue, each
// named with its limit and the days over; squad 1's extended complaint
// is open and not overdue; the stored body carries the figures.
func TestRollupDay_Complaints(t *testing.T) {
	s, f, c := month(t)
	ks, err := f.AddComplaints(context.Background(), s, c.Set)
	if err != nil {
		t.Fatal(err)
	}
	got := rollup(t, s, cst(3, 15, 0, 0), cst(3, 16, 2, 0))
	two := got[1]
	want := []jobs.OverdueComplaint{
		{ID: ks["k2"].ID, Number: ks["k2"].Number, Limit: store.ComplaintLimitFinish, Since: cst(3, 6, 10, 0).UTC(), DaysOver: 9},
		{ID: ks["k1"].ID, Number: ks["k1"].Number, Limit: store.ComplaintLimitAccept, Since: cst(2, 16, 10, 0).UTC(), DaysOver: 27},
	}
	if two.ComplaintsOpen != 4 || two.ComplaintsOverdue != 2 || !reflect.DeepEqual(two.OverdueComplaints, want) {
		t.Fatalf("squad 2 on 15 March: open %d, overdue %d, %+v\nwant 4, 2, %+v", two.ComplaintsOpen, two.ComplaintsOverdue, two.OverdueComplaints, want)
	}
	if one, three := got[0], got[2]; one.ComplaintsOpen != 1 || one.ComplaintsOverdue != 0 || three.ComplaintsOpen != 0 {
		t.Fatalf("squads 1 and 3 on 15 March: %d/%d, %d", one.ComplaintsOpen, one.ComplaintsOverdue, three.ComplaintsOpen)
	}
	body := string(stored(t, s, "2026-03-15")[1].Body)
	for _, key := range []string{`"complaints_open":4`, `"complaints_overdue":2`, `"days_over":27`, `"limit":"accept"`} {
		if !strings.Contains(body, key) {
			t.Fatalf("the stored day lacks %s: %s", key, body)
		}
	}
	var back jobs.SquadDay
	if err := json.Unmarshal([]byte(body), &back); err != nil || !reflect.DeepEqual(back.OverdueComplaints, want) {
		t.Fatalf("the stored day reads back as %+v (%v)", back.OverdueComplaints, err)
	}
	// On 4 March k4 was handled but not yet answered: open, and k1 alone overdue.
	early := rollup(t, s, cst(3, 4, 0, 0), cst(3, 16, 3, 0))[1]
	if early.ComplaintsOpen != 4 || early.ComplaintsOverdue != 1 || early.OverdueComplaints[0].DaysOver != 16 {
		t.Fatalf("squad 2 on 4 March: %d open, %+v", early.ComplaintsOpen, early.OverdueComplaints)
	}
}
