package schema_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

var ledgerNow = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func finding(status string) schema.Finding {
	f := schema.Finding{ID: "f1", InspectionID: "i1", VenueID: "v1", SquadID: 1, ItemID: "NC04", Status: status}
	if status == schema.FindingOrdered {
		d := ledgerNow.AddDate(0, 0, 7)
		f.Deadline = &d
		f.Order = &schema.Order{Number: "n", Deadline: d, Action: "补登记"}
	}
	return f
}

// TestDecideFinding_EveryTransition walks every action from every state:
// what the ledger allows lands in the state it names, the rest is refused
// with a reason.
func TestDecideFinding_EveryTransition(t *testing.T) {
	acts := map[string]schema.FindingAction{
		schema.FindingActOrder:       {Action: schema.FindingActOrder, By: "leader1", Deadline: ledgerNow.AddDate(0, 0, 15), Text: "整改实名登记", Number: "责改〔2026〕1号"},
		schema.FindingActRecheckPass: {Action: schema.FindingActRecheckPass, By: "system", InspectionID: "i2"},
		schema.FindingActRecheckFail: {Action: schema.FindingActRecheckFail, By: "system", InspectionID: "i2"},
		schema.FindingActClose:       {Action: schema.FindingActClose, By: "leader1", Text: "复查合格"},
		schema.FindingActEscalate:    {Action: schema.FindingActEscalate, By: "leader1", Text: "屡查屡犯，立案"},
	}
	allowed := map[[2]string]string{ // (from, action) → to
		{schema.FindingOpen, schema.FindingActOrder}:          schema.FindingOrdered,
		{schema.FindingOpen, schema.FindingActRecheckPass}:    schema.FindingRechecked,
		{schema.FindingOpen, schema.FindingActRecheckFail}:    schema.FindingOpen,
		{schema.FindingOpen, schema.FindingActEscalate}:       schema.FindingEscalated,
		{schema.FindingOrdered, schema.FindingActRecheckPass}: schema.FindingRechecked,
		{schema.FindingOrdered, schema.FindingActRecheckFail}: schema.FindingOrdered,
		{schema.FindingOrdered, schema.FindingActEscalate}:    schema.FindingEscalated,
		{schema.FindingRechecked, schema.FindingActClose}:     schema.FindingClosed,
		{schema.FindingRechecked, schema.FindingActEscalate}:  schema.FindingEscalated,
	}
	for _, from := range schema.FindingStates {
		for name, a := range acts {
			t.Run(from+"/"+name, func(t *testing.T) {
				f := finding(from)
				got, err := schema.DecideFinding(f, a, ledgerNow)
				to, ok := allowed[[2]string{from, name}]
				if !ok {
					if schema.ErrorCode(err) != schema.CodeConflict || !strings.Contains(err.Error(), "is "+from) {
						t.Fatalf("%s from %s = %+v, %v; want a conflict naming the state", name, from, got, err)
					}
					if got.Status != from {
						t.Fatalf("a refused action changed the state to %s", got.Status)
					}
					return
				}
				if err != nil || got.Status != to {
					t.Fatalf("%s from %s = %s, %v; want %s", name, from, got.Status, err, to)
				}
				switch name {
				case schema.FindingActRecheckFail:
					if got.Repeat != f.Repeat+1 {
						t.Errorf("repeat = %d; want %d", got.Repeat, f.Repeat+1)
					}
				case schema.FindingActOrder:
					if got.Order == nil || got.Order.Number != a.Number || got.Deadline == nil || !got.Deadline.Equal(a.Deadline) || got.Order.OrderedBy != "leader1" {
						t.Errorf("order = %+v", got.Order)
					}
				case schema.FindingActRecheckPass:
					if got.RecheckInspectionID != "i2" || got.RecheckedAt == nil {
						t.Errorf("re-check not linked: %+v", got)
					}
				case schema.FindingActClose:
					if got.ClosedBy != "leader1" || got.CloseNote != "复查合格" || got.ClosedAt == nil {
						t.Errorf("close-out not recorded: %+v", got)
					}
				case schema.FindingActEscalate:
					if got.EscalatedBy != "leader1" || got.EscalationReason == "" {
						t.Errorf("escalation not recorded: %+v", got)
					}
				}
			})
		}
	}
}

func TestDecideFinding_RefusesBadInput(t *testing.T) {
	cases := []struct {
		name   string
		from   string
		a      schema.FindingAction
		code   schema.Code
		reason string
	}{
		{"an order without action", schema.FindingOpen, schema.FindingAction{Action: schema.FindingActOrder, Deadline: ledgerNow.Add(time.Hour)}, schema.CodeInvalid, "needs the action"},
		{"an order due in the past", schema.FindingOpen, schema.FindingAction{Action: schema.FindingActOrder, Deadline: ledgerNow.Add(-time.Hour), Text: "x"}, schema.CodeInvalid, "not after now"},
		{"an order due too far", schema.FindingOpen, schema.FindingAction{Action: schema.FindingActOrder, Deadline: ledgerNow.AddDate(1, 0, 0), Text: "x"}, schema.CodeInvalid, "days away"},
		{"a close without note", schema.FindingRechecked, schema.FindingAction{Action: schema.FindingActClose}, schema.CodeInvalid, "needs a note"},
		{"an escalation without reason", schema.FindingOpen, schema.FindingAction{Action: schema.FindingActEscalate}, schema.CodeInvalid, "needs a reason"},
		{"a re-check without inspection", schema.FindingOpen, schema.FindingAction{Action: schema.FindingActRecheckPass}, schema.CodeInvalid, "names the inspection"},
		{"a control character", schema.FindingRechecked, schema.FindingAction{Action: schema.FindingActClose, Text: "ok\x00"}, schema.CodeInvalid, "control character"},
		{"an unknown action", schema.FindingOpen, schema.FindingAction{Action: "delete"}, schema.CodeInvalid, "not order, close or escalate"},
		{"closing an open one", schema.FindingOpen, schema.FindingAction{Action: schema.FindingActClose, Text: "x"}, schema.CodeConflict, "only after a re-check passed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := schema.DecideFinding(finding(c.from), c.a, ledgerNow)
			if schema.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("DecideFinding = %v; want %s mentioning %q", err, c.code, c.reason)
			}
		})
	}
}

func TestIsOverdue(t *testing.T) {
	f := finding(schema.FindingOrdered)
	if schema.IsOverdue(f, ledgerNow) {
		t.Error("overdue before the deadline")
	}
	if !schema.IsOverdue(f, ledgerNow.AddDate(0, 0, 8)) {
		t.Error("not overdue after the deadline")
	}
	f.Status = schema.FindingRechecked
	if schema.IsOverdue(f, ledgerNow.AddDate(0, 0, 8)) {
		t.Error("a re-checked finding is overdue")
	}
}

func TestFindingsOnApproval(t *testing.T) {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	photo := []schema.PhotoRef{{SHA256: strings.Repeat("a", 64)}}
	in := schema.Inspection{ID: "i2", VenueID: "v1", SquadID: 1, Items: []schema.ItemResult{
		{ItemID: "NC03", Result: schema.ResultFail, Note: "有未成年人"}, // new finding, critical
		{ItemID: "NC04", Result: schema.ResultFail},                // standing: a repeat
		{ItemID: "NC05", Result: schema.ResultPass, Photos: photo}, // standing: re-checked
		{ItemID: "NC06", Result: schema.ResultPass},                // standing, but no photo: nothing
		{ItemID: "NC07", Result: schema.ResultPass, Photos: photo}, // nothing stands
	}}
	standing := []schema.Finding{
		{ID: "f4", VenueID: "v1", ItemID: "NC04", Status: schema.FindingOrdered},
		{ID: "f5", VenueID: "v1", ItemID: "NC05", Status: schema.FindingOpen},
		{ID: "f6", VenueID: "v1", ItemID: "NC06", Status: schema.FindingOpen},
		{ID: "fx", VenueID: "v2", ItemID: "NC03", Status: schema.FindingOpen}, // another venue
	}
	n := 0
	created, changed := schema.FindingsOnApproval(in, cl, standing, ledgerNow, func() string { n++; return fmt.Sprintf("new%d", n) })
	if len(created) != 1 || created[0].ItemID != "NC03" || !created[0].Critical || created[0].Status != schema.FindingOpen ||
		created[0].TitleZH != "不接纳未成年人" || created[0].Note != "有未成年人" || created[0].InspectionID != "i2" || created[0].ID != "new1" {
		t.Fatalf("created = %+v; want one critical open NC03 finding", created)
	}
	if len(changed) != 2 {
		t.Fatalf("changed = %+v; want a repeat of f4 and a re-check of f5", changed)
	}
	if c := changed[0]; c.Before.ID != "f4" || c.Action != schema.FindingActRecheckFail || c.After.Repeat != 1 || c.After.Status != schema.FindingOrdered {
		t.Errorf("f4 = %+v", c)
	}
	if c := changed[1]; c.Before.ID != "f5" || c.Action != schema.FindingActRecheckPass || c.After.Status != schema.FindingRechecked || c.After.RecheckInspectionID != "i2" {
		t.Errorf("f5 = %+v", c)
	}
}

func TestRecheckTarget(t *testing.T) {
	in := schema.Inspection{ID: "i2", VenueID: "v1"}
	if err := schema.RecheckTarget(in, finding(schema.FindingOrdered)); err != nil {
		t.Errorf("an ordered finding of the venue: %v", err)
	}
	other := finding(schema.FindingOpen)
	other.VenueID = "v2"
	if schema.ErrorCode(schema.RecheckTarget(in, other)) != schema.CodeInvalid {
		t.Error("a finding of another venue is accepted")
	}
	if schema.ErrorCode(schema.RecheckTarget(in, finding(schema.FindingClosed))) != schema.CodeConflict {
		t.Error("a closed finding is accepted")
	}
}

func TestParseOrderNumber_RoundTrips(t *testing.T) {
	for _, c := range []struct{ year, n int }{{2026, 1}, {2026, 417}, {2031, 10000}} {
		y, n, ok := schema.ParseOrderNumber(schema.OrderNumber(c.year, c.n))
		if !ok || y != c.year || n != c.n {
			t.Errorf("ParseOrderNumber(OrderNumber(%d, %d)) = %d, %d, %v", c.year, c.n, y, n, ok)
		}
	}
	for _, s := range []string{"", "责改〔2026〕号", "责改〔2026〕0号", "责改〔2026〕12", "责改〔2026〕12号x", "2026-12"} {
		if _, _, ok := schema.ParseOrderNumber(s); ok {
			t.Errorf("ParseOrderNumber(%q) is ok", s)
		}
	}
}
