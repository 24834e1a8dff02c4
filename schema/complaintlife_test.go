package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

var complaintNow = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

func complaintIn(status string, replyWanted bool) schema.Complaint {
	received := complaintNow.AddDate(0, 0, -3)
	lim := schema.DefaultComplaintLimits()
	c := schema.Complaint{ID: "c1", Number: schema.ComplaintNumber(2026, 1), Status: status, SquadID: 1,
		ReceivedAt: received, ReplyWanted: replyWanted, AcceptBy: schema.ComplaintAcceptBy(received, lim)}
	if status != schema.ComplaintReceived && status != schema.ComplaintRejected {
		at := received.Add(time.Hour)
		c.AcceptedAt = &at
	}
	c.Due = schema.ComplaintDue(c, lim)
	return c
}

// actionFor is a complete, valid request of each action.
func actionFor(act string) schema.ComplaintAction {
	a := schema.ComplaintAction{Action: act, By: "lead1"}
	switch act {
	case schema.ComplaintActReject:
		a.Reason = "not within the bureau's remit"
	case schema.ComplaintActAssign:
		a.Reason, a.SquadID = "venue lies in squad 2's area", 2
	case schema.ComplaintActExtend:
		a.Reason, a.Days = "the owner is away", 30
	case schema.ComplaintActHandle:
		a.Text = "warned the owner; minors turned away"
	case schema.ComplaintActAnswer:
		a.Text, a.Method = "we inspected and warned the venue", "phone"
	}
	return a
}

func TestDecideComplaint_Table(t *testing.T) {
	lim := schema.DefaultComplaintLimits()
	// allowed[state][action] = resulting state; absent = refused (conflict).
	allowed := map[string]map[string]string{
		schema.ComplaintReceived: {schema.ComplaintActAccept: schema.ComplaintAccepted, schema.ComplaintActReject: schema.ComplaintRejected,
			schema.ComplaintActAssign: schema.ComplaintReceived, schema.ComplaintActExtend: schema.ComplaintReceived},
		schema.ComplaintAccepted: {schema.ComplaintActAssign: schema.ComplaintAccepted, schema.ComplaintActExtend: schema.ComplaintAccepted,
			schema.ComplaintActHandle: schema.ComplaintHandled},
		schema.ComplaintInvestigating: {schema.ComplaintActExtend: schema.ComplaintInvestigating, schema.ComplaintActHandle: schema.ComplaintHandled},
		schema.ComplaintHandled:       {schema.ComplaintActAnswer: schema.ComplaintAnswered},
		schema.ComplaintAnswered:      {schema.ComplaintActClose: schema.ComplaintClosed},
		schema.ComplaintClosed:        {},
		schema.ComplaintRejected:      {},
	}
	for _, st := range schema.ComplaintStates {
		for _, act := range schema.ComplaintActions {
			for _, reply := range []bool{true, false} {
				c := complaintIn(st, reply)
				want, ok := allowed[st][act]
				if st == schema.ComplaintHandled && act == schema.ComplaintActClose && !reply {
					want, ok = schema.ComplaintClosed, true
				}
				out, err := schema.DecideComplaint(c, actionFor(act), lim, complaintNow)
				if !ok {
					if schema.ErrorCode(err) != schema.CodeConflict || !strings.Contains(err.Error(), st) {
						t.Errorf("%s %s (reply %v): err %v, want a conflict naming the state", act, st, reply, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s %s (reply %v): %v", act, st, reply, err)
					continue
				}
				if out.Status != want {
					t.Errorf("%s %s: status %s, want %s", act, st, out.Status, want)
				}
				if !out.UpdatedAt.Equal(complaintNow) {
					t.Errorf("%s %s: updated_at %v", act, st, out.UpdatedAt)
				}
			}
		}
	}
}

func TestDecideComplaint_Refusals(t *testing.T) {
	lim := schema.DefaultComplaintLimits()
	ext := complaintIn(schema.ComplaintAccepted, false)
	ext.Extension = &schema.ComplaintExtension{Days: 5, Reason: "x"}
	cases := []struct {
		name string
		c    schema.Complaint
		a    schema.ComplaintAction
		code schema.Code
		says string
	}{
		{"reject without reason", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "reject"}, schema.CodeInvalid, "reason"},
		{"assign without reason", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "assign", SquadID: 2}, schema.CodeInvalid, "reason"},
		{"assign without squad", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "assign", Reason: "r"}, schema.CodeInvalid, "squad_id"},
		{"assign to own squad", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "assign", Reason: "r", SquadID: 1}, schema.CodeInvalid, "already"},
		{"extend twice", ext, actionFor("extend"), schema.CodeConflict, "once"},
		{"extend too long", complaintIn(schema.ComplaintAccepted, false), schema.ComplaintAction{Action: "extend", Reason: "r", Days: 31}, schema.CodeInvalid, "1 to 30"},
		{"extend zero", complaintIn(schema.ComplaintAccepted, false), schema.ComplaintAction{Action: "extend", Reason: "r"}, schema.CodeInvalid, "1 to 30"},
		{"extend without reason", complaintIn(schema.ComplaintAccepted, false), schema.ComplaintAction{Action: "extend", Days: 3}, schema.CodeInvalid, "reason"},
		{"handle without result", complaintIn(schema.ComplaintAccepted, false), schema.ComplaintAction{Action: "handle"}, schema.CodeInvalid, "result"},
		{"handle before accept", complaintIn(schema.ComplaintReceived, false), actionFor("handle"), schema.CodeConflict, "accept it first"},
		{"answer without text", complaintIn(schema.ComplaintHandled, true), schema.ComplaintAction{Action: "answer", Method: "phone"}, schema.CodeInvalid, "reply"},
		{"answer bad method", complaintIn(schema.ComplaintHandled, true), schema.ComplaintAction{Action: "answer", Text: "t", Method: "pigeon"}, schema.CodeInvalid, "method"},
		{"close without answer", complaintIn(schema.ComplaintHandled, true), actionFor("close"), schema.CodeConflict, "answer before closing"},
		{"unknown action", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "bury"}, schema.CodeInvalid, "not one of"},
		{"control chars", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "reject", Reason: "a\x00b"}, schema.CodeInvalid, "control"},
		{"huge reason", complaintIn(schema.ComplaintReceived, false), schema.ComplaintAction{Action: "reject", Reason: strings.Repeat("长", 1000)}, schema.CodeInvalid, "at most"},
	}
	for _, tc := range cases {
		_, err := schema.DecideComplaint(tc.c, tc.a, lim, complaintNow)
		if schema.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want %s saying %q", tc.name, err, tc.code, tc.says)
		}
	}
}

func TestComplaintTimes_AcceptDueOverdue(t *testing.T) {
	lim := schema.ComplaintLimits{AcceptDays: 15, FinishDays: 60, MaxExtensionDays: 30}
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := schema.Complaint{Number: "n", Status: schema.ComplaintReceived, ReceivedAt: received}
	c.AcceptBy = schema.ComplaintAcceptBy(received, lim)
	c.Due = schema.ComplaintDue(c, lim)
	if want := received.AddDate(0, 0, 15); !c.AcceptBy.Equal(want) {
		t.Fatalf("accept_by %v, want %v", c.AcceptBy, want)
	}
	if schema.ComplaintOverdue(c, received.AddDate(0, 0, 15)) || !schema.ComplaintOverdue(c, received.AddDate(0, 0, 15).Add(time.Second)) {
		t.Fatal("received: overdue exactly past accept_by")
	}
	acc, err := schema.DecideComplaint(c, schema.ComplaintAction{Action: "accept", By: "l"}, lim, received.AddDate(0, 0, 10))
	if err != nil {
		t.Fatal(err)
	}
	if want := received.AddDate(0, 0, 70); !acc.Due.Equal(want) {
		t.Fatalf("due %v, want accepted + 60 = %v", acc.Due, want)
	}
	if schema.ComplaintOverdue(acc, received.AddDate(0, 0, 20)) {
		t.Fatal("accepted in time: not overdue at acceptance")
	}
	if !schema.ComplaintOverdue(acc, received.AddDate(0, 0, 71)) {
		t.Fatal("accepted, past due: overdue")
	}
	ext, err := schema.DecideComplaint(acc, schema.ComplaintAction{Action: "extend", Days: 30, Reason: "r"}, lim, received.AddDate(0, 0, 60))
	if err != nil {
		t.Fatal(err)
	}
	if want := received.AddDate(0, 0, 100); !ext.Due.Equal(want) || schema.ComplaintOverdue(ext, received.AddDate(0, 0, 71)) {
		t.Fatalf("extended due %v, want %v and not overdue at day 71", ext.Due, want)
	}
	if schema.ComplaintDue(ext, lim) != ext.Due {
		t.Fatal("ComplaintDue counts the extension")
	}
	done, err := schema.DecideComplaint(ext, actionFor("handle"), lim, received.AddDate(0, 0, 99))
	if err != nil {
		t.Fatal(err)
	}
	if schema.ComplaintOverdue(done, received.AddDate(0, 0, 500)) {
		t.Fatal("a handled complaint is never overdue")
	}
}

func TestComplaintNumber_RoundTrip(t *testing.T) {
	s := schema.ComplaintNumber(2026, 17)
	if s != "投诉〔2026〕17号" {
		t.Fatalf("number %q", s)
	}
	if y, n, ok := schema.ParseComplaintNumber(s); !ok || y != 2026 || n != 17 {
		t.Fatalf("parse %q: %d %d %v", s, y, n, ok)
	}
	for _, bad := range []string{"", "责改〔2026〕1号", "投诉〔2026〕0号", "投诉〔2026〕1号x"} {
		if _, _, ok := schema.ParseComplaintNumber(bad); ok {
			t.Errorf("parse %q: ok", bad)
		}
	}
}

func TestCheckComplaintIntake(t *testing.T) {
	f := func(lat float64) *float64 { return &lat }
	good := func() schema.ComplaintIntake {
		return schema.ComplaintIntake{Channel: "12345", Category: "cafe", Content: "minors at night", Place: "behind the station", Contact: "138"}
	}
	in := good()
	if err := schema.CheckComplaintIntake(&in, complaintNow); err != nil || !in.ReceivedAt.Equal(complaintNow) {
		t.Fatalf("good intake: %v, received %v", err, in.ReceivedAt)
	}
	cases := []struct {
		name string
		edit func(*schema.ComplaintIntake)
		says string
	}{
		{"channel", func(i *schema.ComplaintIntake) { i.Channel = "fax" }, "channel"},
		{"category", func(i *schema.ComplaintIntake) { i.Category = "bar" }, "category"},
		{"empty content", func(i *schema.ComplaintIntake) { i.Content = "  " }, "content is empty"},
		{"huge content", func(i *schema.ComplaintIntake) { i.Content = strings.Repeat("x", schema.MaxComplaintContent+1) }, "content"},
		{"huge contact", func(i *schema.ComplaintIntake) { i.Contact = strings.Repeat("x", schema.MaxComplaintContact+1) }, "contact"},
		{"control contact", func(i *schema.ComplaintIntake) { i.Contact = "a\x1bb" }, "control"},
		{"bad utf8", func(i *schema.ComplaintIntake) { i.Content = "\xff" }, "UTF-8"},
		{"no venue nor place", func(i *schema.ComplaintIntake) { i.Place = "" }, "venue_id"},
		{"reply without contact", func(i *schema.ComplaintIntake) { i.ReplyWanted, i.Contact = true, "" }, "contact"},
		{"lat only", func(i *schema.ComplaintIntake) { i.Lat = f(30) }, "together"},
		{"lat range", func(i *schema.ComplaintIntake) { i.Lat, i.Lng = f(91), f(120) }, "no position"},
		{"future", func(i *schema.ComplaintIntake) { i.ReceivedAt = complaintNow.Add(time.Hour) }, "future"},
		{"ancient", func(i *schema.ComplaintIntake) { i.ReceivedAt = complaintNow.AddDate(-2, 0, 0) }, "year ago"},
	}
	for _, tc := range cases {
		in := good()
		tc.edit(&in)
		err := schema.CheckComplaintIntake(&in, complaintNow)
		if schema.ErrorCode(err) != schema.CodeInvalid || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want invalid saying %q", tc.name, err, tc.says)
		}
	}
}

func TestComplaintAccessOf_Contact(t *testing.T) {
	one, two := int64(1), int64(2)
	c := schema.Complaint{SquadID: 1, Contact: "13800000000"}
	cases := []struct {
		name        string
		a           schema.ComplaintAccess
		read, sees  bool
		act, intake bool
	}{
		{"admin", schema.ComplaintAccessOf(schema.RoleAdmin, nil, false), true, true, true, true},
		{"leader of the squad", schema.ComplaintAccessOf(schema.RoleLeader, &one, false), true, true, true, true},
		{"leader of another squad", schema.ComplaintAccessOf(schema.RoleLeader, &two, false), false, false, false, true},
		{"office", schema.ComplaintAccessOf(schema.RoleOffice, nil, false), true, false, false, true},
		{"inspector", schema.ComplaintAccessOf(schema.RoleInspector, &one, false), false, false, false, false},
		{"device of an admin", schema.ComplaintAccessOf(schema.RoleAdmin, &one, true), false, false, false, false},
	}
	for _, tc := range cases {
		seen := schema.ComplaintSeenBy(c, tc.a)
		if tc.a.Read.Covers(1) != tc.read || (seen.Contact != "") != tc.sees || tc.a.Act.Covers(1) != tc.act || tc.a.Intake != tc.intake {
			t.Errorf("%s: read %v contact %q act %v intake %v", tc.name, tc.a.Read.Covers(1), seen.Contact, tc.a.Act.Covers(1), tc.a.Intake)
		}
	}
}

func TestComplaintLinkRefusal(t *testing.T) {
	c := schema.Complaint{Number: "n", SquadID: 1, Status: schema.ComplaintAccepted, VenueID: "v1"}
	closed := c
	closed.Status = schema.ComplaintClosed
	place := c
	place.VenueID = ""
	for _, tc := range []struct {
		name        string
		c           schema.Complaint
		found, left bool
		squad       int64
		venue       string
		code        schema.Code
		link        bool
	}{
		{"own open complaint of the venue", c, true, false, 1, "v1", "", true},
		{"unknown", c, false, false, 1, "v1", schema.CodeNotFound, false},
		{"another squad's", c, true, false, 2, "v1", schema.CodeNotFound, false},
		{"reassigned away since: kept, not linked", c, true, true, 2, "v1", "", false},
		{"closed since: linked, its state kept", closed, true, false, 1, "v1", "", true},
		{"other venue", c, true, false, 1, "v2", schema.CodeInvalid, false},
		{"described place, any venue", place, true, false, 1, "v9", "", true},
	} {
		code, reason, link := schema.ComplaintLinkRefusal(tc.c, tc.found, tc.left, tc.squad, tc.venue)
		if code != tc.code || link != tc.link || (code != "" && reason == "") {
			t.Errorf("%s: %s %q link %v, want %s link %v", tc.name, code, reason, link, tc.code, tc.link)
		}
	}
}

func TestCheckAccount_Office(t *testing.T) {
	one := int64(1)
	if p, err := schema.CheckAccount(schema.NewAccount{Username: "clerk", DisplayName: "受理员", Role: schema.RoleOffice}); p != schema.AccountOK {
		t.Fatalf("office without badge or squad: %v %v", p, err)
	}
	if p, _ := schema.CheckAccount(schema.NewAccount{Username: "clerk", DisplayName: "受理员", Role: schema.RoleOffice, SquadID: &one}); p != schema.AccountBadSquad {
		t.Fatalf("office with a squad: %v", p)
	}
}
