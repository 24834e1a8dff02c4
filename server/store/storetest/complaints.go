package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

var complaintCases = []contractCase{
	withEnv("AssignByVenueAreaOrNamed", testComplaintAssign),
	withEnv("EveryTransitionAudited", testComplaintTransitions),
	withEnv("OverdueByTheClock", testComplaintOverdue),
	withEnv("ScopeAndContact", testComplaintScope),
	withEnv("PullCarriesTheTaskNeverTheContact", testComplaintPull),
	withEnv("PushLinksTheInspection", testComplaintPushLink),
	withEnv("OfficeUsers", testComplaintOfficeUser),
}

// complaintContact is the complainant's contact in every case: it must
// never appear in a pull.
const complaintContact = "张女士 13912345678"

var (
	adminAccess  = schema.ComplaintAccessOf(schema.RoleAdmin, nil, false)
	officeAccess = schema.ComplaintAccessOf(schema.RoleOffice, nil, false)
	lead1Access  = schema.ComplaintAccessOf(schema.RoleLeader, ptr(int64(1)), false)
	lead2Access  = schema.ComplaintAccessOf(schema.RoleLeader, ptr(int64(2)), false)
	complaintLim = schema.DefaultComplaintLimits()
)

// complain takes a complaint in about venue (a district venue key) as the
// office clerk.
func (e *env) complain(venueKey string) schema.Complaint {
	e.t.Helper()
	c, err := e.s.CreateComplaint(e.ctx, schema.ComplaintIntake{Channel: schema.Channel12345, Category: schema.CategoryCafe,
		Contact: complaintContact, ReplyWanted: true, VenueID: e.venues[venueKey].ID, Content: "未成年人深夜上网"}, "clerk", complaintLim)
	if err != nil {
		e.t.Fatalf("CreateComplaint about %s: %v", venueKey, err)
	}
	return c
}

func (e *env) actOn(id string, a schema.ComplaintAccess, act schema.ComplaintAction) schema.Complaint {
	e.t.Helper()
	c, err := e.s.ActOnComplaint(e.ctx, id, act, a, complaintLim)
	if err != nil {
		e.t.Fatalf("%s complaint %s: %v", act.Action, id, err)
	}
	return c
}

// testComplaintAssign: a complaint goes to the squad of its venue; a
// described place to the squad whose area holds it; else to the squad
// named; else it is refused saying what is missing. Numbers count up.
func testComplaintAssign(t *testing.T, e *env) {
	c := e.complain("v2a")
	if c.SquadID != 2 || c.Status != schema.ComplaintReceived || c.Contact != complaintContact || c.Number != "投诉〔2026〕1号" ||
		!c.AcceptBy.Equal(start.AddDate(0, 0, 15)) || !c.Due.Equal(start.AddDate(0, 0, 60)) || c.ReceivedBy != "clerk" || c.Overdue {
		t.Fatalf("complaint about v2a = %+v; want squad 2, received, numbered 1, accept in 15 days, due in 60", c)
	}
	e.importAreas(store.ImportSquadArea{SquadID: 2, Area: geo.MultiPolygon{box(36.00, 117.00, 36.10, 117.10)}})
	place := schema.ComplaintIntake{Channel: schema.ChannelLetter, Category: schema.CategoryArcade, Place: "火车站后巷无名游戏厅",
		Content: "无证经营", Lat: ptr(36.05), Lng: ptr(117.05), SquadID: ptr(int64(1))}
	got, err := e.s.CreateComplaint(e.ctx, place, "clerk", complaintLim)
	if err != nil || got.SquadID != 2 || got.Number != "投诉〔2026〕2号" || got.VenueID != "" {
		t.Fatalf("a place inside squad 2's area = %+v, %v; want squad 2 (the area wins over the squad named)", got, err)
	}
	place.Lat, place.Lng = ptr(35.05), ptr(118.35) // no area holds it
	if got, err := e.s.CreateComplaint(e.ctx, place, "clerk", complaintLim); err != nil || got.SquadID != 1 {
		t.Fatalf("a place no area holds, squad 1 named = %+v, %v", got, err)
	}
	place.SquadID = nil
	_, err = e.s.CreateComplaint(e.ctx, place, "clerk", complaintLim)
	wantCode(t, "a place no area holds, no squad named", err, schema.CodeInvalid)
	place.Lat, place.Lng = nil, nil
	_, err = e.s.CreateComplaint(e.ctx, place, "clerk", complaintLim)
	wantCode(t, "a place without a position or squad", err, schema.CodeInvalid)
	place.SquadID = ptr(int64(99))
	_, err = e.s.CreateComplaint(e.ctx, place, "clerk", complaintLim)
	wantCode(t, "a squad that does not exist", err, schema.CodeInvalid)
	_, err = e.s.CreateComplaint(e.ctx, schema.ComplaintIntake{Channel: "12345", Category: "cafe", Content: "x", VenueID: "no-such-venue"}, "clerk", complaintLim)
	wantCode(t, "an unknown venue", err, schema.CodeInvalid)
	_, err = e.s.CreateComplaint(e.ctx, schema.ComplaintIntake{Channel: "fax", Category: "cafe", Content: "x", Place: "p", SquadID: ptr(int64(1))}, "clerk", complaintLim)
	wantCode(t, "an unknown channel", err, schema.CodeInvalid)
	entries, err := e.s.AuditEntries(e.ctx, store.AuditFilter{EntityKind: schema.AuditComplaint, EntityID: c.ID})
	if err != nil || len(entries) != 1 || entries[0].Action != "complaint_received" || entries[0].Actor != "clerk" ||
		strings.Contains(entries[0].Reason, "139") {
		t.Fatalf("audit of intake = %+v, %v; want one complaint_received by clerk, without the contact", entries, err)
	}
}

// testComplaintTransitions walks a complaint through every state, each
// step audited, and one through rejection and one through reassignment.
func testComplaintTransitions(t *testing.T, e *env) {
	c := e.complain("v1a")
	e.clock.Advance(24 * time.Hour)
	c = e.actOn(c.ID, lead1Access, schema.ComplaintAction{Action: "accept", By: "leader1"})
	if c.Status != schema.ComplaintAccepted || c.AcceptedBy != "leader1" || !c.Due.Equal(start.AddDate(0, 0, 61)) {
		t.Fatalf("accepted = %+v; want due 60 days after acceptance", c)
	}
	_, err := e.s.ActOnComplaint(e.ctx, c.ID, schema.ComplaintAction{Action: "accept", By: "leader1"}, lead1Access, complaintLim)
	wantCode(t, "accept twice", err, schema.CodeConflict)
	c = e.actOn(c.ID, lead1Access, schema.ComplaintAction{Action: "extend", By: "leader1", Days: 30, Reason: "业主外出"})
	if c.Extension == nil || c.Extension.Days != 30 || !c.Due.Equal(start.AddDate(0, 0, 91)) {
		t.Fatalf("extended = %+v", c)
	}
	_, err = e.s.ActOnComplaint(e.ctx, c.ID, schema.ComplaintAction{Action: "extend", By: "leader1", Days: 1, Reason: "again"}, lead1Access, complaintLim)
	wantCode(t, "extend twice", err, schema.CodeConflict)
	c = e.actOn(c.ID, lead1Access, schema.ComplaintAction{Action: "handle", By: "leader1", Text: "责令改正"})
	_, err = e.s.ActOnComplaint(e.ctx, c.ID, schema.ComplaintAction{Action: "close", By: "leader1"}, lead1Access, complaintLim)
	wantCode(t, "close before the wanted reply", err, schema.CodeConflict)
	c = e.actOn(c.ID, lead1Access, schema.ComplaintAction{Action: "answer", By: "leader1", Text: "已查处", Method: "phone"})
	c = e.actOn(c.ID, adminAccess, schema.ComplaintAction{Action: "close", By: "admin"})
	read, err := e.s.Complaint(e.ctx, c.ID, adminAccess)
	if err != nil || read.Status != schema.ComplaintClosed || read.Handling != "责令改正" || read.Reply == nil || read.Reply.Method != "phone" ||
		read.ClosedBy != "admin" || read.Extension == nil || read.Extension.Reason != "业主外出" || read.AcceptedAt == nil || read.HandledAt == nil {
		t.Fatalf("closed complaint read back = %+v, %v", read, err)
	}
	entries, err := e.s.AuditEntries(e.ctx, store.AuditFilter{EntityKind: schema.AuditComplaint, EntityID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i := len(entries) - 1; i >= 0; i-- {
		actions = append(actions, entries[i].Action)
	}
	want := []string{"complaint_received", "complaint_accepted", "complaint_extended", "complaint_handled", "complaint_answered", "complaint_closed"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit = %v; want %v", actions, want)
	}

	r := e.complain("v1b")
	_, err = e.s.ActOnComplaint(e.ctx, r.ID, schema.ComplaintAction{Action: "reject", By: "leader1"}, lead1Access, complaintLim)
	wantCode(t, "reject without a reason", err, schema.CodeInvalid)
	r = e.actOn(r.ID, lead1Access, schema.ComplaintAction{Action: "reject", By: "leader1", Reason: "不属本局管辖"})
	if r.Status != schema.ComplaintRejected || r.RejectReason != "不属本局管辖" {
		t.Fatalf("rejected = %+v", r)
	}
	m := e.complain("v1b")
	_, err = e.s.ActOnComplaint(e.ctx, m.ID, schema.ComplaintAction{Action: "assign", By: "leader1", Reason: "r", SquadID: 99}, lead1Access, complaintLim)
	wantCode(t, "assign to no squad", err, schema.CodeInvalid)
	m = e.actOn(m.ID, lead1Access, schema.ComplaintAction{Action: "assign", By: "leader1", Reason: "属二中队辖区", SquadID: 2})
	if m.SquadID != 2 || m.Contact != "" {
		t.Fatalf("reassigned = %+v; want squad 2, its contact no longer leader1's to read", m)
	}
	if _, err := e.s.Complaint(e.ctx, m.ID, lead1Access); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("leader1 reads the complaint it gave away: %v", err)
	}
	if got, err := e.s.Complaint(e.ctx, m.ID, lead2Access); err != nil || got.Contact != complaintContact {
		t.Fatalf("leader2 reads the complaint it received: %+v, %v", got, err)
	}
}

// testComplaintOverdue: received past accept_by, and accepted past due,
// are overdue and listed by the overdue filter; finished ones never are.
func testComplaintOverdue(t *testing.T, e *env) {
	late := e.complain("v1a")
	e.clock.Advance(time.Minute)
	onTime := e.complain("v1b")
	e.clock.Advance(time.Hour)
	onTime = e.actOn(onTime.ID, lead1Access, schema.ComplaintAction{Action: "accept", By: "leader1"})
	e.clock.Advance(15*24*time.Hour + time.Minute)
	list, err := e.s.ListComplaints(e.ctx, store.ComplaintFilter{Overdue: true}, adminAccess)
	if err != nil || len(list) != 1 || list[0].ID != late.ID || !list[0].Overdue {
		t.Fatalf("overdue after 15 days = %+v, %v; want only the one not accepted", list, err)
	}
	if got, _ := e.s.Complaint(e.ctx, onTime.ID, adminAccess); got.Overdue {
		t.Fatal("accepted in time is not overdue at 15 days")
	}
	e.clock.Advance(45 * 24 * time.Hour)
	list, err = e.s.ListComplaints(e.ctx, store.ComplaintFilter{Overdue: true}, lead1Access)
	if err != nil || len(list) != 2 {
		t.Fatalf("overdue after 60 days = %+v, %v; want both", list, err)
	}
	e.actOn(onTime.ID, lead1Access, schema.ComplaintAction{Action: "handle", By: "leader1", Text: "done"})
	list, err = e.s.ListComplaints(e.ctx, store.ComplaintFilter{Overdue: true, SquadID: ptr(int64(1))}, officeAccess)
	if err != nil || len(list) != 1 || list[0].ID != late.ID {
		t.Fatalf("overdue after handling one = %+v, %v", list, err)
	}
	list, err = e.s.ListComplaints(e.ctx, store.ComplaintFilter{Status: schema.ComplaintHandled}, adminAccess)
	if err != nil || len(list) != 1 || list[0].ID != onTime.ID || list[0].Overdue {
		t.Fatalf("handled = %+v, %v", list, err)
	}
	_, err = e.s.ListComplaints(e.ctx, store.ComplaintFilter{Status: "lost"}, adminAccess)
	wantCode(t, "an unknown status", err, schema.CodeInvalid)
	// Keyset paging, newest received first.
	page1, err := e.s.ListComplaints(e.ctx, store.ComplaintFilter{Limit: 1}, adminAccess)
	if err != nil || len(page1) != 1 || page1[0].ID != onTime.ID {
		t.Fatalf("page 1 = %+v, %v", page1, err)
	}
	page2, err := e.s.ListComplaints(e.ctx, store.ComplaintFilter{Limit: 1, After: store.ComplaintCursorOf(page1[0])}, adminAccess)
	if err != nil || len(page2) != 1 || page2[0].ID != late.ID {
		t.Fatalf("page 2 = %+v, %v", page2, err)
	}
	_, err = e.s.ListComplaints(e.ctx, store.ComplaintFilter{After: "garbage"}, adminAccess)
	wantCode(t, "a cursor that is none", err, schema.CodeInvalid)
}

// testComplaintScope: a leader of another squad finds nothing; the office
// reads every complaint without the contact and acts on none.
func testComplaintScope(t *testing.T, e *env) {
	c := e.complain("v1a")
	if _, err := e.s.Complaint(e.ctx, c.ID, lead2Access); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("leader2 reads squad 1's complaint: %v", err)
	}
	_, err := e.s.ActOnComplaint(e.ctx, c.ID, schema.ComplaintAction{Action: "accept", By: "leader2"}, lead2Access, complaintLim)
	wantCode(t, "leader2 accepts squad 1's complaint", err, schema.CodeNotFound)
	_, err = e.s.ActOnComplaint(e.ctx, c.ID, schema.ComplaintAction{Action: "accept", By: "clerk"}, officeAccess, complaintLim)
	wantCode(t, "the office accepts", err, schema.CodeForbidden)
	if list, err := e.s.ListComplaints(e.ctx, store.ComplaintFilter{}, lead2Access); err != nil || len(list) != 0 {
		t.Fatalf("leader2's list = %+v, %v", list, err)
	}
	if list, err := e.s.ListComplaints(e.ctx, store.ComplaintFilter{SquadID: ptr(int64(1))}, lead2Access); err != nil || len(list) != 0 {
		t.Fatalf("leader2's list of squad 1 = %+v, %v", list, err)
	}
	got, err := e.s.Complaint(e.ctx, c.ID, officeAccess)
	if err != nil || got.Contact != "" || got.Content == "" {
		t.Fatalf("office reads %+v, %v; want the complaint without its contact", got, err)
	}
	list, err := e.s.ListComplaints(e.ctx, store.ComplaintFilter{}, officeAccess)
	if err != nil || len(list) != 1 || list[0].Contact != "" {
		t.Fatalf("office's list = %+v, %v", list, err)
	}
	if got, err := e.s.Complaint(e.ctx, c.ID, lead1Access); err != nil || got.Contact != complaintContact {
		t.Fatalf("leader1 reads %+v, %v; want the contact", got, err)
	}
	if _, err := e.s.Complaint(e.ctx, c.ID, schema.ComplaintAccessOf(schema.RoleInspector, ptr(int64(1)), false)); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("an inspector reads a complaint: %v", err)
	}
	_, err = e.s.Complaint(e.ctx, "no-such-complaint", adminAccess)
	wantCode(t, "an unknown complaint", err, schema.CodeNotFound)
}

// testComplaintPull: the squad's devices receive the task, never the
// contact; another squad's never receive it; a reassignment moves it; a
// finished complaint is removed; a new device receives the open ones.
func testComplaintPull(t *testing.T, e *env) {
	d1, d2 := e.enroll("insp1a"), e.enroll("insp2")
	d1.sync(0)
	d2.sync(0)
	c := e.complain("v1a")
	changes, _ := d1.sync(0)
	got := change(t, changes, schema.ChangeComplaint, c.ID)
	if got.Complaint == nil || got.Complaint.Number != c.Number || got.Complaint.VenueID != c.VenueID || got.Complaint.Content != c.Content ||
		got.Complaint.Status != schema.ComplaintReceived || !got.Complaint.Due.Equal(c.Due) {
		t.Fatalf("task = %+v", got.Complaint)
	}
	noContact := func(who string, changes []schema.Change) {
		t.Helper()
		b, _ := json.Marshal(changes)
		if strings.Contains(string(b), "13912345678") || strings.Contains(string(b), "张女士") {
			t.Fatalf("the pull of %s carries the complainant's contact: %s", who, b)
		}
	}
	noContact("insp1a", changes)
	changes, _ = d2.sync(0)
	if slices.ContainsFunc(changes, func(ch schema.Change) bool { return ch.Kind == schema.ChangeComplaint }) {
		t.Fatalf("squad 2's device got squad 1's complaint: %+v", changes)
	}
	// Everything a fresh device of squad 1 gets, from the first seq on.
	_, all := d1.freshChanges(0)
	noContact("a fresh insp1a", all)
	if !d1.fresh().has(schema.ChangeComplaint, c.ID) {
		t.Fatal("a fresh device of squad 1 lacks the open complaint")
	}

	e.actOn(c.ID, lead1Access, schema.ComplaintAction{Action: "assign", By: "leader1", Reason: "辖区调整", SquadID: 2})
	changes, _ = d1.sync(0)
	if ch := change(t, changes, schema.ChangeComplaint, c.ID); !ch.Removed || d1.held.has(schema.ChangeComplaint, c.ID) {
		t.Fatalf("after the reassignment squad 1's device got %+v; want the task removed", ch)
	}
	changes, _ = d2.sync(0)
	if ch := change(t, changes, schema.ChangeComplaint, c.ID); ch.Complaint == nil || ch.Complaint.SquadID != 2 {
		t.Fatalf("after the reassignment squad 2's device got %+v; want the task", ch)
	}
	noContact("insp2", changes)
	if d1.fresh().has(schema.ChangeComplaint, c.ID) {
		t.Fatal("a fresh device of squad 1 still gets the complaint squad 2 took")
	}
	e.actOn(c.ID, lead2Access, schema.ComplaintAction{Action: "reject", By: "leader2", Reason: "重复投诉"})
	changes, _ = d2.sync(0)
	if ch := change(t, changes, schema.ChangeComplaint, c.ID); !ch.Removed || d2.held.has(schema.ChangeComplaint, c.ID) {
		t.Fatalf("a rejected complaint reached squad 2's device as %+v; want removed", ch)
	}
}

// testComplaintPushLink: an inspection naming its squad's open complaint
// links it (investigating, audited, read back on both sides); one naming
// a complaint finished since is linked and leaves its state alone, and one
// naming a complaint reassigned away since is kept without the link (an
// inspection is evidence: a complaint's later fate never sets it aside);
// one naming another squad's or another venue's is rejected with a reason,
// and the rest of the batch goes on.
func testComplaintPushLink(t *testing.T, e *env) {
	d1 := e.enroll("insp1a")
	c := e.complain("v1a")
	other := e.complain("v2a")
	done := e.complain("v1b")
	e.actOn(done.ID, lead1Access, schema.ComplaintAction{Action: "reject", By: "leader1", Reason: "r"})
	away := e.complain("v1b")
	e.actOn(away.ID, adminAccess, schema.ComplaintAction{Action: "assign", By: "admin", Reason: "地址在二中队辖区", SquadID: 2})

	good := d1.inspection(e.venues["v1a"].ID)
	good.ComplaintID = c.ID
	foreign := d1.inspection(e.venues["v1a"].ID)
	foreign.ComplaintID = other.ID
	closed := d1.inspection(e.venues["v1b"].ID)
	closed.ComplaintID = done.ID
	wrongVenue := d1.inspection(e.venues["v1b"].ID)
	wrongVenue.ComplaintID = c.ID
	unknown := d1.inspection(e.venues["v1b"].ID)
	unknown.ComplaintID = strings.Repeat("x", 5000)
	plain := d1.inspection(e.venues["v1b"].ID)
	moved := d1.inspection(e.venues["v1b"].ID)
	moved.ComplaintID = away.ID
	res := d1.push(d1.upsert(good), d1.upsert(foreign), d1.upsert(closed), d1.upsert(wrongVenue), d1.upsert(unknown), d1.upsert(plain),
		d1.upsert(moved))
	wantOutcome(t, "own open complaint", res[0], schema.OutcomeApplied, "")
	wantOutcome(t, "another squad's complaint", res[1], schema.OutcomeRejected, schema.CodeNotFound)
	wantOutcome(t, "a complaint rejected since", res[2], schema.OutcomeApplied, "")
	wantOutcome(t, "another venue's complaint", res[3], schema.OutcomeRejected, schema.CodeInvalid)
	wantOutcome(t, "a complaint that is none", res[4], schema.OutcomeRejected, schema.CodeNotFound)
	wantOutcome(t, "no complaint", res[5], schema.OutcomeApplied, "")
	wantOutcome(t, "a complaint reassigned away since", res[6], schema.OutcomeApplied, "")
	if got, _ := e.s.Complaint(e.ctx, done.ID, adminAccess); got.Status != schema.ComplaintRejected || !slices.Equal(got.InspectionIDs, []string{closed.ID}) {
		t.Fatalf("the rejected complaint after a late inspection = %+v; want rejected still, linked to %s", got, closed.ID)
	}
	if got, _ := e.s.Complaint(e.ctx, away.ID, adminAccess); got.SquadID != 2 || got.Status != schema.ComplaintReceived || len(got.InspectionIDs) != 0 {
		t.Fatalf("the reassigned complaint after squad 1's late inspection = %+v; want squad 2's, untouched", got)
	}
	if in := e.inspection(moved.ID); in.ComplaintID != "" {
		t.Fatalf("the late inspection of a reassigned complaint names %q; want it kept without the link", in.ComplaintID)
	}
	if strings.Contains(res[4].Reason, "xxxx") {
		t.Fatalf("the reason echoes the device's text: %q", res[4].Reason)
	}
	if in := e.inspection(good.ID); in.ComplaintID != c.ID {
		t.Fatalf("inspection read back names complaint %q; want %s", in.ComplaintID, c.ID)
	}
	got, err := e.s.Complaint(e.ctx, c.ID, lead1Access)
	if err != nil || got.Status != schema.ComplaintInvestigating || !slices.Equal(got.InspectionIDs, []string{good.ID}) {
		t.Fatalf("complaint after the push = %+v, %v; want investigating, linked to %s", got, err, good.ID)
	}
	if got, _ := e.s.Complaint(e.ctx, other.ID, adminAccess); got.Status != schema.ComplaintReceived || len(got.InspectionIDs) != 0 {
		t.Fatalf("squad 2's complaint after squad 1's push = %+v", got)
	}
	entries, err := e.s.AuditEntries(e.ctx, store.AuditFilter{EntityKind: schema.AuditComplaint, EntityID: c.ID})
	if err != nil || len(entries) != 2 || entries[0].Action != "complaint_investigating" || entries[0].From != schema.ComplaintReceived {
		t.Fatalf("audit = %+v, %v; want complaint_investigating after intake", entries, err)
	}
	// The squad's devices see the task investigating; a later version of
	// the inspection still names it, and links nothing twice.
	changes, _ := d1.sync(0)
	if ch := change(t, changes, schema.ChangeComplaint, c.ID); ch.Complaint == nil || ch.Complaint.Status != schema.ComplaintInvestigating {
		t.Fatalf("task after the link = %+v", ch)
	}
	if ch := change(t, changes, schema.ChangeInspection, good.ID); ch.Inspection.ComplaintID != c.ID {
		t.Fatalf("the device's inspection comes back naming %q", ch.Inspection.ComplaintID)
	}
	e.actOn(c.ID, lead1Access, schema.ComplaintAction{Action: "handle", By: "leader1", Text: "warned"})
	good.Version = 2
	good.Items[0].Note = "补充"
	res = d1.push(d1.upsert(good))
	wantOutcome(t, "a later version of a linked inspection", res[0], schema.OutcomeApplied, "")
	if got, _ := e.s.Complaint(e.ctx, c.ID, adminAccess); got.Status != schema.ComplaintHandled || len(got.InspectionIDs) != 1 {
		t.Fatalf("complaint after the second version = %+v", got)
	}
}

// testComplaintOfficeUsers: office staff are users of their own role.
func testComplaintOfficeUser(t *testing.T, e *env) {
	u, err := e.s.CreateUser(e.ctx, store.User{Username: "clerk", DisplayName: "受理员", Role: schema.RoleOffice, PasswordHash: "h"})
	if err != nil || u.Role != schema.RoleOffice || u.SquadID != nil {
		t.Fatalf("CreateUser office = %+v, %v", u, err)
	}
	if got, err := e.s.UserByUsername(e.ctx, "clerk"); err != nil || got.Role != schema.RoleOffice {
		t.Fatalf("UserByUsername office = %+v, %v", got, err)
	}
}
