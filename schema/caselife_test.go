package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// caseNow is 09:00 in Beijing on 2026-11-20.
var caseNow = time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)

var twoHandlers = []schema.Inspector{{Username: "inspector1"}, {Username: "inspector2"}}

func aCase(status string) schema.Case {
	c := schema.Case{ID: "c1", Number: "文立〔2026〕1号", SquadID: 1, VenueID: "v1", Source: schema.CaseFromCriticalFinding,
		SourceID: "f1", Status: status, OpenedAt: caseNow.AddDate(0, 0, -10), Handlers: twoHandlers}
	c.DecideBy = schema.CaseDecideBy(c.OpenedAt)
	if status == schema.CaseDecided || status == schema.CaseClosed {
		c.Decision = &schema.CaseDecision{Type: schema.DecisionWarning}
	}
	return c
}

// TestDecideCase_EveryTransition walks every action from every state: what
// the case's life allows lands in the state it names, the rest is refused
// as a conflict naming the state, and a refusal changes nothing.
func TestDecideCase_EveryTransition(t *testing.T) {
	const photo = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	acts := map[string]schema.CaseAction{
		schema.CaseActInvestigate: {Action: schema.CaseActInvestigate, By: "leader1"},
		schema.CaseActAttach:      {Action: schema.CaseActAttach, By: "leader1", Evidence: []schema.CaseEvidence{{Kind: schema.EvidencePhoto, Ref: photo}}},
		schema.CaseActHandlers: {Action: schema.CaseActHandlers, By: "leader1", Handlers: []schema.Inspector{
			{Username: "inspector1"}, {Username: "inspector2"}, {Username: "inspector3"}}},
		schema.CaseActDecide: {Action: schema.CaseActDecide, By: "leader1", Decision: schema.CaseDecision{Type: schema.DecisionFine, FineYuan: 5000}},
		schema.CaseActClose:  {Action: schema.CaseActClose, By: "leader1", Note: "罚款已缴纳"},
	}
	allowed := map[[2]string]string{
		{schema.CaseOpened, schema.CaseActInvestigate}:     schema.CaseInvestigating,
		{schema.CaseOpened, schema.CaseActAttach}:          schema.CaseOpened,
		{schema.CaseOpened, schema.CaseActHandlers}:        schema.CaseOpened,
		{schema.CaseInvestigating, schema.CaseActAttach}:   schema.CaseInvestigating,
		{schema.CaseInvestigating, schema.CaseActHandlers}: schema.CaseInvestigating,
		{schema.CaseInvestigating, schema.CaseActDecide}:   schema.CaseDecided,
		{schema.CaseDecided, schema.CaseActClose}:          schema.CaseClosed,
	}
	for _, from := range schema.CaseStates {
		for name, a := range acts {
			t.Run(from+"/"+name, func(t *testing.T) {
				c := aCase(from)
				got, err := schema.DecideCase(c, a, schema.CaseVenue{Licensed: true}, caseNow)
				to, ok := allowed[[2]string{from, name}]
				if !ok {
					if schema.ErrorCode(err) != schema.CodeConflict || !strings.Contains(err.Error(), "is "+from) {
						t.Fatalf("%s from %s = %s, %v; want a conflict naming the state", name, from, got.Status, err)
					}
					if got.Status != from || len(got.Evidence) != len(c.Evidence) || len(got.Handlers) != len(c.Handlers) {
						t.Fatalf("a refused action changed the case: %+v", got)
					}
					return
				}
				if err != nil || got.Status != to {
					t.Fatalf("%s from %s = %s, %v; want %s", name, from, got.Status, err, to)
				}
				switch name {
				case schema.CaseActAttach:
					if len(got.Evidence) != 1 || got.Evidence[0].AddedBy != "leader1" || !got.Evidence[0].AddedAt.Equal(caseNow) {
						t.Errorf("evidence = %+v", got.Evidence)
					}
				case schema.CaseActHandlers:
					if len(got.Handlers) != 3 {
						t.Errorf("handlers = %+v", got.Handlers)
					}
				case schema.CaseActDecide:
					if d := got.Decision; d == nil || d.Type != schema.DecisionFine || d.FineYuan != 5000 || d.DecidedBy != "leader1" {
						t.Errorf("decision = %+v", d)
					}
				case schema.CaseActClose:
					if got.ClosedBy != "leader1" || got.ClosedAt == nil || got.CloseNote != "罚款已缴纳" {
						t.Errorf("close-out not recorded: %+v", got)
					}
				}
			})
		}
	}
}

// TestDecideCase_Refusals: input a person can correct is invalid, a
// precondition not met yet is a conflict, each with its reason.
func TestDecideCase_Refusals(t *testing.T) {
	one := aCase(schema.CaseInvestigating)
	one.Handlers = twoHandlers[:1]
	tests := []struct {
		name   string
		c      schema.Case
		a      schema.CaseAction
		venue  schema.CaseVenue
		code   schema.Code
		reason string
	}{
		{"decide with one handler", one, schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionWarning}}, schema.CaseVenue{}, schema.CodeConflict, "at least 2"},
		{"fine without amount", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionFine}}, schema.CaseVenue{}, schema.CodeInvalid, "amount"},
		{"fine too large", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionFine, FineYuan: schema.MaxFineYuan + 1}}, schema.CaseVenue{}, schema.CodeInvalid, "amount"},
		{"negative fine", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionFine, FineYuan: -5}}, schema.CaseVenue{}, schema.CodeInvalid, "amount"},
		{"warning with amount", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionWarning, FineYuan: 10}}, schema.CaseVenue{}, schema.CodeInvalid, "only a fine"},
		{"closure of a licensed venue", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionClosure}}, schema.CaseVenue{Licensed: true}, schema.CodeInvalid, "unlicensed"},
		{"revocation of an unlicensed venue", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionRevocation}}, schema.CaseVenue{}, schema.CodeInvalid, "no licence"},
		{"unknown decision", aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: "jail"}}, schema.CaseVenue{}, schema.CodeInvalid, "is not warning"},
		{"close without note", aCase(schema.CaseDecided), schema.CaseAction{Action: schema.CaseActClose, Note: "  "}, schema.CaseVenue{}, schema.CodeInvalid, "carried out"},
		{"attach nothing", aCase(schema.CaseOpened), schema.CaseAction{Action: schema.CaseActAttach}, schema.CaseVenue{}, schema.CodeInvalid, "at least one"},
		{"attach unknown kind", aCase(schema.CaseOpened), schema.CaseAction{Action: schema.CaseActAttach, Evidence: []schema.CaseEvidence{{Kind: "rumour", Ref: "x"}}}, schema.CaseVenue{}, schema.CodeInvalid, "kind"},
		{"attach bad photo ref", aCase(schema.CaseOpened), schema.CaseAction{Action: schema.CaseActAttach, Evidence: []schema.CaseEvidence{{Kind: schema.EvidencePhoto, Ref: "ABC"}}}, schema.CaseVenue{}, schema.CodeInvalid, "SHA-256"},
		{"attach bad inspection ref", aCase(schema.CaseOpened), schema.CaseAction{Action: schema.CaseActAttach, Evidence: []schema.CaseEvidence{{Kind: schema.EvidenceInspection, Ref: "<script>"}}}, schema.CaseVenue{}, schema.CodeInvalid, "UUID"},
		{"one handler", aCase(schema.CaseOpened), schema.CaseAction{Action: schema.CaseActHandlers, Handlers: twoHandlers[:1]}, schema.CaseVenue{}, schema.CodeInvalid, "2 to"},
		{"unknown action", aCase(schema.CaseOpened), schema.CaseAction{Action: "reopen"}, schema.CaseVenue{}, schema.CodeInvalid, "is not investigate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := schema.DecideCase(tc.c, tc.a, tc.venue, caseNow)
			if schema.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v; want %s saying %q", err, tc.code, tc.reason)
			}
			if got.Status != tc.c.Status || got.Decision != tc.c.Decision {
				t.Fatalf("a refusal changed the case: %+v", got)
			}
		})
	}
}

// TestDecideCase_Decisions: every decision type on the venue it suits.
func TestDecideCase_Decisions(t *testing.T) {
	for _, tc := range []struct {
		d        schema.CaseDecision
		licensed bool
	}{
		{schema.CaseDecision{Type: schema.DecisionWarning}, true},
		{schema.CaseDecision{Type: schema.DecisionFine, FineYuan: schema.MinFineYuan}, true},
		{schema.CaseDecision{Type: schema.DecisionFine, FineYuan: schema.MaxFineYuan}, false},
		{schema.CaseDecision{Type: schema.DecisionSuspension}, true},
		{schema.CaseDecision{Type: schema.DecisionRevocation}, true},
		{schema.CaseDecision{Type: schema.DecisionClosure}, false},
	} {
		got, err := schema.DecideCase(aCase(schema.CaseInvestigating), schema.CaseAction{Action: schema.CaseActDecide, By: "l", Decision: tc.d},
			schema.CaseVenue{Licensed: tc.licensed}, caseNow)
		if err != nil || got.Decision.Type != tc.d.Type {
			t.Errorf("%+v (licensed %t): %v", tc.d, tc.licensed, err)
		}
	}
}

// TestDecideCase_AttachTwiceKeepsOne: the same evidence attached again is
// kept once, with who added it first.
func TestDecideCase_AttachTwiceKeepsOne(t *testing.T) {
	e := schema.CaseEvidence{Kind: schema.EvidenceInspection, Ref: "0192f5c2-7a3b-7c1d-8e2f-3a4b5c6d7e8f"}
	c, err := schema.DecideCase(aCase(schema.CaseOpened), schema.CaseAction{Action: schema.CaseActAttach, By: "a", Evidence: []schema.CaseEvidence{e}}, schema.CaseVenue{}, caseNow)
	if err != nil {
		t.Fatal(err)
	}
	c, err = schema.DecideCase(c, schema.CaseAction{Action: schema.CaseActAttach, By: "b", Evidence: []schema.CaseEvidence{e, e}}, schema.CaseVenue{}, caseNow)
	if err != nil || len(c.Evidence) != 1 || c.Evidence[0].AddedBy != "a" {
		t.Fatalf("evidence = %+v, %v", c.Evidence, err)
	}
}

// TestCaseClock_LocalDays: the limit ends with the 90th Beijing day after
// the day of opening, whatever the hour; a decided case is never overdue.
func TestCaseClock_LocalDays(t *testing.T) {
	// 23:30 in Beijing on 2026-01-10 is 15:30 UTC: day 0 is the 10th.
	opened := time.Date(2026, 1, 10, 15, 30, 0, 0, time.UTC)
	c := schema.NewCase("c", "n", schema.CaseSource{Kind: schema.CaseFromBlackCafe, Venue: schema.Venue{ID: "v", SquadID: 1}}, "s", "l", opened)
	if want := time.Date(2026, 4, 10, 15, 59, 59, 999999999, time.UTC); !c.DecideBy.Equal(want) {
		t.Fatalf("decide by %s; want %s (end of 2026-04-10 in Beijing)", c.DecideBy, want)
	}
	for _, tc := range []struct {
		at      time.Time
		left    int
		overdue bool
	}{
		{opened, 90, false},
		{opened.Add(time.Hour), 89, false},          // 07:30 on the 11th in Beijing
		{c.DecideBy, 0, false},                      // the last instant
		{c.DecideBy.Add(time.Nanosecond), -1, true}, // day 91
		{opened.AddDate(0, 0, 91), -1, true},
	} {
		got := schema.CaseClock(c, tc.at)
		if got.DaysLeft != tc.left || got.Overdue != tc.overdue {
			t.Errorf("at %s: %d days left, overdue %t; want %d, %t", tc.at, got.DaysLeft, got.Overdue, tc.left, tc.overdue)
		}
	}
	for _, st := range []string{schema.CaseDecided, schema.CaseClosed} {
		d := c
		d.Status = st
		if schema.CaseOverdue(d, opened.AddDate(1, 0, 0)) {
			t.Errorf("a %s case counts as overdue", st)
		}
	}
}

func TestCaseNumber_RoundTrip(t *testing.T) {
	n := schema.CaseNumber(2026, 17)
	if n != "文立〔2026〕17号" {
		t.Fatalf("number = %q", n)
	}
	if y, k, ok := schema.ParseCaseNumber(n); !ok || y != 2026 || k != 17 {
		t.Fatalf("parse = %d %d %t", y, k, ok)
	}
	for _, bad := range []string{"", "文立〔2026〕0号", "文立〔2026〕17", "责改〔2026〕17号", "文立〔2026〕17号x", "文立〔2026〕017号"} {
		if _, _, ok := schema.ParseCaseNumber(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestCheckCaseSource: what can and cannot be opened as a case.
func TestCheckCaseSource(t *testing.T) {
	crit := &schema.Finding{ID: "f", Critical: true, Status: schema.FindingOpen}
	minor := &schema.Finding{ID: "f", Status: schema.FindingOrdered}
	closed := &schema.Finding{ID: "f", Critical: true, Status: schema.FindingClosed}
	black := schema.Venue{ID: "v"}
	tests := []struct {
		name string
		s    schema.CaseSource
		code schema.Code
	}{
		{"critical open", schema.CaseSource{Kind: schema.CaseFromCriticalFinding, Finding: crit}, ""},
		{"minor as critical", schema.CaseSource{Kind: schema.CaseFromCriticalFinding, Finding: minor}, schema.CodeInvalid},
		{"minor escalated", schema.CaseSource{Kind: schema.CaseFromEscalatedFinding, Finding: minor}, ""},
		{"closed finding", schema.CaseSource{Kind: schema.CaseFromEscalatedFinding, Finding: closed}, schema.CodeConflict},
		{"confirmed black café", schema.CaseSource{Kind: schema.CaseFromBlackCafe, Venue: black, Discovery: schema.DiscoveryConfirmed}, ""},
		{"pending discovery", schema.CaseSource{Kind: schema.CaseFromBlackCafe, Venue: black, Discovery: schema.DiscoveryPending}, schema.CodeConflict},
		{"register venue", schema.CaseSource{Kind: schema.CaseFromBlackCafe, Venue: black}, schema.CodeConflict},
		{"licensed café", schema.CaseSource{Kind: schema.CaseFromBlackCafe, Venue: schema.Venue{ID: "v", Licensed: true}, Discovery: schema.DiscoveryConfirmed}, schema.CodeInvalid},
		{"merged café", schema.CaseSource{Kind: schema.CaseFromBlackCafe, Venue: schema.Venue{ID: "v", MergedInto: "w"}, Discovery: schema.DiscoveryConfirmed}, schema.CodeGone},
		{"unknown source", schema.CaseSource{Kind: "rumour"}, schema.CodeInvalid},
	}
	for _, tc := range tests {
		err := schema.CheckCaseSource(tc.s)
		if schema.ErrorCode(err) != tc.code || (tc.code == "") != (err == nil) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.code)
		}
	}
}

// TestCaseHandlers: only the squad's inspectors and its co-inspectors
// handle its cases, each once, with the server's names.
func TestCaseHandlers(t *testing.T) {
	members := []schema.Member{
		{Username: "inspector1", Name: "张三", Role: schema.RoleInspector, SquadID: 1},
		{Username: "inspector2", Name: "李四", Role: schema.RoleInspector, SquadID: 1},
		{Username: "inspector3", Name: "王五", Role: schema.RoleInspector, SquadID: 2, CoInspector: true},
		{Username: "leader1", Role: schema.RoleLeader, SquadID: 1},
		{Username: "inspector4", Role: schema.RoleInspector, SquadID: 2},
	}
	got, err := schema.CaseHandlers([]string{"inspector1", " Inspector3"}, 1, members)
	if err != nil || len(got) != 2 || got[1].Name != "王五" {
		t.Fatalf("handlers = %+v, %v", got, err)
	}
	for _, bad := range [][]string{{"inspector1"}, {"inspector1", "inspector1"}, {"inspector1", "leader1"}, {"inspector1", "inspector4"}, {"inspector1", "nobody"}, {"inspector1", ""}} {
		if _, err := schema.CaseHandlers(bad, 1, members); schema.ErrorCode(err) != schema.CodeInvalid {
			t.Errorf("%v: %v; want invalid", bad, err)
		}
	}
}
