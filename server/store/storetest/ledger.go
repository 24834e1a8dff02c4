package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// ledgerCases are the inspection lifecycle (approve, return, amend as a
// new version) and the findings ledger: every allowed and refused
// transition through the store, its pages and what devices receive.
var ledgerCases = []contractCase{
	withEnv("ReturnAmendApprove", testLedgerReturnAmendApprove),
	withEnv("ApprovalOpensRepeatsAndRechecks", testLedgerApprovalFindings),
	withEnv("FindingTransitions", testLedgerFindingTransitions),
	withEnv("PagesAndFilters", testLedgerPages),
	withEnv("ConcurrentActionsOnOneFinding", testLedgerConcurrentAct),
	withEnv("TwoApprovalsRecheckOneFinding", testLedgerConcurrentRecheck),
	withEnv("FindingsFollowTheirVenue", testLedgerFindingsFollowVenue),
	{name: "ImportedOrderNumbersAreNotReused", run: testLedgerImportedOrderNumbers},
}

// failing answers item ids with fail (and a note), the rest with pass.
func failing(in *schema.Inspection, items ...string) *schema.Inspection {
	for i := range in.Items {
		if slices.Contains(items, in.Items[i].ItemID) {
			in.Items[i].Result, in.Items[i].Note = schema.ResultFail, "failed "+in.Items[i].ItemID
		}
	}
	return in
}

// passingWithPhoto answers item with pass and a photo: proof of a fix.
func (d *device) passingWithPhoto(in *schema.Inspection, item string) *schema.Inspection {
	for i := range in.Items {
		if in.Items[i].ItemID == item {
			in.Items[i].Result = schema.ResultPass
			in.Items[i].Photos = []schema.PhotoRef{photoRef(sha("fix "+in.ID+item), d.id, in.StartedAt.Add(time.Minute))}
		}
	}
	return in
}

func (e *env) review(id, action, comment string, version int) (schema.Inspection, error) {
	return e.s.ReviewInspection(e.ctx, id, store.ReviewInput{Action: action, Comment: comment, By: "leader1", Version: version}, schema.SquadScope(1))
}

func (e *env) approve(id string) schema.Inspection {
	e.t.Helper()
	in, err := e.review(id, schema.ReviewApprove, "", 0)
	if err != nil {
		e.t.Fatalf("approve %s: %v", id, err)
	}
	return in
}

// findingsOf lists every finding of a venue, as they were opened.
func (e *env) findingsOf(venueID string) []schema.Finding {
	e.t.Helper()
	l, err := e.s.VenueLedger(e.ctx, venueID)
	if err != nil {
		e.t.Fatalf("VenueLedger %s: %v", venueID, err)
	}
	return l.Findings
}

func (e *env) finding(id string) schema.Finding {
	e.t.Helper()
	f, err := e.s.Finding(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Finding %s: %v", id, err)
	}
	return f
}

func (e *env) act(id string, a schema.FindingAction) (schema.Finding, error) {
	if a.By == "" {
		a.By = "leader1"
	}
	return e.s.ActOnFinding(e.ctx, id, a, schema.SquadScope(1))
}

// testLedgerImportedOrderNumbers: a district imported with numbered
// orders moves the year's sequence past them, so that the next order a
// leader makes gets a number no document carries yet.
func testLedgerImportedOrderNumbers(t *testing.T, open Open) {
	clock := &fakeClock{t: start}
	e := &env{t: t, ctx: context.Background(), clock: clock, s: openStore(t, open, clock)}
	d := e.district()
	year := store.OrderYear(start)
	deadline := start.AddDate(0, 0, 10)
	ordered := schema.Finding{ID: uuid.NewString(), InspectionID: e.past.ID, VenueID: e.past.VenueID, SquadID: 1, ItemID: "NC01",
		Status: schema.FindingOrdered, OpenedAt: start.Add(-48 * time.Hour), Deadline: &deadline, UpdatedAt: start,
		Order: &schema.Order{Number: schema.OrderNumber(year, 41), Deadline: deadline, Action: "亮证", OrderedBy: "leader1", OrderedAt: start}}
	open2 := schema.Finding{ID: uuid.NewString(), InspectionID: e.past.ID, VenueID: e.past.VenueID, SquadID: 1, ItemID: "NC02",
		Status: schema.FindingOpen, OpenedAt: start.Add(-48 * time.Hour), UpdatedAt: start}
	d.Findings = append(d.Findings, ordered, open2)
	if err := e.s.Import(e.ctx, d); err != nil {
		t.Fatalf("Import: %v", err)
	}
	f, err := e.s.ActOnFinding(e.ctx, open2.ID, order(start.AddDate(0, 0, 15)), schema.SquadScope(1))
	if err != nil || f.Order == nil || f.Order.Number != schema.OrderNumber(year, 42) {
		t.Fatalf("order after the import: %+v, %v; want number %s", f.Order, err, schema.OrderNumber(year, 42))
	}
}

func order(deadline time.Time) schema.FindingAction {
	return schema.FindingAction{Action: schema.FindingActOrder, Deadline: deadline, Text: "fix it", Comment: "by the deadline"}
}

func testLedgerReturnAmendApprove(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	in := failing(d.inspection(e.venues["v1a"].ID), "NC04")
	d.mustApply(d.upsert(in))
	if got := e.inspection(in.ID); got.Version != 1 || got.Status != schema.StatusSubmitted {
		t.Fatalf("first push: version %d %s; want 1 submitted", got.Version, got.Status)
	}
	_, err := e.review(in.ID, schema.ReviewReturn, "  ", 0)
	wantCode(t, "return without a comment", err, schema.CodeInvalid)
	_, err = e.review(in.ID, "reject", "no", 0)
	wantCode(t, "unknown action", err, schema.CodeInvalid)
	_, err = e.s.ReviewInspection(e.ctx, in.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader2"}, schema.SquadScope(2))
	wantCode(t, "review by another squad's leader", err, schema.CodeNotFound)
	e.clock.Advance(time.Minute)
	rv, err := e.review(in.ID, schema.ReviewReturn, "NC04: photograph the register", 1)
	if err != nil || rv.Status != schema.StatusReturned || rv.Review == nil || rv.Review.Note != "NC04: photograph the register" || rv.Review.Version != 1 {
		t.Fatalf("return: %+v, %v", rv.Review, err)
	}
	if got := e.findingsOf(in.VenueID); len(got) != 0 {
		t.Fatalf("a returned inspection opened findings: %+v", got)
	}
	_, err = e.review(in.ID, schema.ReviewApprove, "", 0)
	wantCode(t, "approve a returned inspection", err, schema.CodeConflict)
	// The device sees the return and its comment.
	changes, _ := d.sync(0)
	pc := change(t, changes, schema.ChangeInspection, in.ID).Inspection
	if pc.Status != schema.StatusReturned || pc.Review == nil || pc.Review.Note != "NC04: photograph the register" || pc.Version != 1 {
		t.Fatalf("device pulled %s v%d review %+v", pc.Status, pc.Version, pc.Review)
	}

	// The inspector amends it: version 2, submitted again.
	e.clock.Advance(time.Minute)
	in.Items[3].Note = "register photographed"
	d.mustApply(d.upsert(in))
	got := e.inspection(in.ID)
	if got.Version != 2 || got.Status != schema.StatusSubmitted || got.Items[3].Note != "register photographed" {
		t.Fatalf("amendment: version %d %s %q; want 2 submitted", got.Version, got.Status, got.Items[3].Note)
	}
	vs, err := e.s.InspectionVersions(e.ctx, in.ID)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[0].Review == nil || vs[0].Review.Decision != schema.StatusReturned ||
		vs[1].Review != nil || vs[0].Record.Items[3].Note != "failed NC04" || vs[1].Record.Items[3].Note != "register photographed" || vs[1].DeviceID != d.id {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	if diff := schema.DiffVersions(vs[0].Record, vs[1].Record); len(diff) != 1 || diff[0].ItemID != "NC04" || diff[0].Field != "note" {
		t.Fatalf("diff of the versions %+v", diff)
	}
	_, err = e.review(in.ID, schema.ReviewApprove, "", 1)
	wantCode(t, "approve the version seen before the amendment", err, schema.CodeConflict)
	e.clock.Advance(time.Minute)
	if rv, err = e.review(in.ID, schema.ReviewApprove, "", 2); err != nil || rv.Status != schema.StatusApproved || rv.Review.Version != 2 {
		t.Fatalf("approve version 2: %+v, %v", rv, err)
	}
	_, err = e.review(in.ID, schema.ReviewApprove, "", 0)
	wantCode(t, "approve twice", err, schema.CodeConflict)
	_, err = e.review(in.ID, schema.ReviewReturn, "too late", 0)
	wantCode(t, "return an approved inspection", err, schema.CodeConflict)
	// The approval opened the failed item's finding.
	fs := e.findingsOf(in.VenueID)
	if len(fs) != 1 || fs[0].ItemID != "NC04" || fs[0].Status != schema.FindingOpen || fs[0].InspectionID != in.ID || fs[0].Note != "register photographed" {
		t.Fatalf("findings after approval %+v", fs)
	}
	// An edit after approval is a conflict; the approved record stands.
	in.Items[3].Result = schema.ResultPass
	r := d.push(d.upsert(in))[0]
	wantOutcome(t, "edit after approval", r, schema.OutcomeConflict, schema.CodeConflict)
	if got := e.inspection(in.ID); got.Version != 2 || got.Status != schema.StatusApproved {
		t.Fatalf("approved inspection changed: v%d %s", got.Version, got.Status)
	}
	_, err = e.s.InspectionVersions(e.ctx, "00000000-0000-4000-8000-000000000000")
	wantCode(t, "versions of no inspection", err, schema.CodeNotFound)
}

func testLedgerApprovalFindings(t *testing.T, e *env) {
	d, mate, other := e.enroll("insp1a"), e.enroll("insp1b"), e.enroll("insp2")
	v := e.venues["v1a"].ID
	first := failing(d.inspection(v), "NC04", "NC12")
	d.mustApply(d.upsert(first))
	e.approve(first.ID)
	fs := e.findingsOf(v)
	if len(fs) != 2 {
		t.Fatalf("findings %+v; want NC04 and NC12", fs)
	}
	nc04, nc12 := fs[0], fs[1]
	if nc04.ItemID != "NC04" {
		nc04, nc12 = nc12, nc04
	}
	if nc04.Status != schema.FindingOpen || nc04.SquadID != 1 || nc04.VenueID != v || nc04.TitleZH != "实名登记" || !nc04.Critical ||
		nc04.Severity != schema.SeverityCritical || nc04.Deadline != nil || nc04.Order != nil || !nc04.OpenedAt.Equal(e.clock.Now()) {
		t.Fatalf("NC04 finding %+v", nc04)
	}
	// The squad's devices receive the findings; another squad's do not.
	for _, dev := range []*device{d, mate} {
		changes, _ := dev.sync(0)
		if f := change(t, changes, schema.ChangeFinding, nc04.ID).Finding; f.Status != schema.FindingOpen || f.ItemID != "NC04" {
			t.Fatalf("%s pulled %+v", dev.user.Username, f)
		}
	}
	changes, _ := other.sync(0)
	for _, c := range changes {
		if c.Kind == schema.ChangeFinding {
			t.Fatalf("squad 2 device pulled finding %s", c.ID)
		}
	}

	// A later inspection fails NC04 again: a repeat, no new finding. It
	// passes NC12 without a photo: that proves nothing.
	e.clock.Advance(24 * time.Hour)
	second := failing(d.inspection(v), "NC04")
	d.mustApply(d.upsert(second))
	e.approve(second.ID)
	if got := e.findingsOf(v); len(got) != 2 {
		t.Fatalf("a repeat opened a finding: %+v", got)
	}
	if f := e.finding(nc04.ID); f.Repeat != 1 || f.Status != schema.FindingOpen {
		t.Fatalf("NC04 after the repeat: %+v", f)
	}
	if f := e.finding(nc12.ID); f.Status != schema.FindingOpen {
		t.Fatalf("a pass without photo changed NC12: %+v", f)
	}
	changes, _ = d.sync(0)
	if f := change(t, changes, schema.ChangeFinding, nc04.ID).Finding; f.Repeat != 1 {
		t.Fatalf("device pulled the repeat as %+v", f)
	}

	// A third passes NC04 with a photo and names NC12 to re-check, but
	// answers NC12 with a pass without photo: NC04 is re-checked, NC12 stands.
	e.clock.Advance(24 * time.Hour)
	third := d.passingWithPhoto(d.inspection(v), "NC04")
	third.RecheckOf = nc12.ID
	d.mustApply(d.upsert(third))
	e.approve(third.ID)
	f := e.finding(nc04.ID)
	if f.Status != schema.FindingRechecked || f.RecheckInspectionID != third.ID || f.RecheckedAt == nil || !f.RecheckedAt.Equal(e.clock.Now()) {
		t.Fatalf("NC04 after a pass with photo: %+v", f)
	}
	if f := e.finding(nc12.ID); f.Status != schema.FindingOpen {
		t.Fatalf("NC12 re-checked without proof: %+v", f)
	}

	// A re-check naming another venue's finding is ignored at approval.
	e.clock.Advance(time.Hour)
	stray := d.passingWithPhoto(d.inspection(e.venues["v1b"].ID), "NC12")
	stray.RecheckOf = nc12.ID
	d.mustApply(d.upsert(stray))
	e.approve(stray.ID)
	if f := e.finding(nc12.ID); f.Status != schema.FindingOpen {
		t.Fatalf("another venue's inspection re-checked NC12: %+v", f)
	}

	l, err := e.s.VenueLedger(e.ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ItemRecord{{ItemID: "NC04", Findings: 1, Repeats: 1}, {ItemID: "NC12", Findings: 1, Open: 1}}
	if !slices.Equal(l.Items, want) || len(l.Inspections) != 4 || // with the imported past one
		l.Venue.ID != v || len(l.Findings) != 2 {
		t.Fatalf("venue ledger items %+v (want %+v), %d inspections, %d findings", l.Items, want, len(l.Inspections), len(l.Findings))
	}
	_, err = e.s.VenueLedger(e.ctx, "00000000-0000-4000-8000-000000000000")
	wantCode(t, "ledger of no venue", err, schema.CodeNotFound)
}

// openFindings approves an inspection of venue failing items and returns
// its findings by item.
func (e *env) openFindings(d *device, venueID string, items ...string) map[string]schema.Finding {
	e.t.Helper()
	in := failing(d.inspection(venueID), items...)
	d.mustApply(d.upsert(in))
	e.approve(in.ID)
	out := map[string]schema.Finding{}
	for _, f := range e.findingsOf(venueID) {
		if f.InspectionID == in.ID {
			out[f.ItemID] = f
		}
	}
	if len(out) != len(items) {
		e.t.Fatalf("approval opened %d findings; want %d", len(out), len(items))
	}
	return out
}

func testLedgerFindingTransitions(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	fs := e.openFindings(d, e.venues["v1a"].ID, "NC01", "NC02", "NC04")
	now := e.clock.Now()
	a, b, c := fs["NC01"].ID, fs["NC02"].ID, fs["NC04"].ID

	for _, r := range []struct {
		name string
		id   string
		a    schema.FindingAction
		code schema.Code
	}{
		{"order with a past deadline", a, order(now.Add(-time.Hour)), schema.CodeInvalid},
		{"order beyond 180 days", a, order(now.AddDate(0, 0, schema.MaxOrderDays+1)), schema.CodeInvalid},
		{"order without an action", a, schema.FindingAction{Action: schema.FindingActOrder, Deadline: now.Add(time.Hour)}, schema.CodeInvalid},
		{"close an open finding", a, schema.FindingAction{Action: schema.FindingActClose, Text: "fixed"}, schema.CodeConflict},
		{"escalate without a reason", a, schema.FindingAction{Action: schema.FindingActEscalate}, schema.CodeInvalid},
		{"a re-check by hand", a, schema.FindingAction{Action: schema.FindingActRecheckPass, InspectionID: a}, schema.CodeInvalid},
		{"an unknown action", a, schema.FindingAction{Action: "delete"}, schema.CodeInvalid},
		{"an unknown finding", "00000000-0000-4000-8000-000000000000", order(now.Add(time.Hour)), schema.CodeNotFound},
	} {
		_, err := e.act(r.id, r.a)
		wantCode(t, r.name, err, r.code)
	}
	_, err := e.s.ActOnFinding(e.ctx, a, order(now.Add(time.Hour)), schema.SquadScope(2))
	wantCode(t, "order by another squad's leader", err, schema.CodeNotFound)
	if f := e.finding(a); f.Status != schema.FindingOpen || f.Order != nil {
		t.Fatalf("refused actions changed the finding: %+v", f)
	}

	deadline := now.Add(15 * 24 * time.Hour)
	f, err := e.act(a, order(deadline))
	year := store.OrderYear(now)
	if err != nil || f.Status != schema.FindingOrdered || f.Order == nil || f.Order.Number != schema.OrderNumber(year, 1) ||
		!f.Order.Deadline.Equal(deadline) || f.Deadline == nil || !f.Deadline.Equal(deadline) || f.Order.Action != "fix it" ||
		f.Order.Comment != "by the deadline" || f.Order.OrderedBy != "leader1" || !strings.Contains(f.Order.LegalBasis, "第二十条") || f.Overdue {
		t.Fatalf("order: %+v %+v, %v", f, f.Order, err)
	}
	if got := e.finding(a); got.Order == nil || got.Order.Number != f.Order.Number || got.Order.LegalBasis != f.Order.LegalBasis {
		t.Fatalf("stored order %+v", got.Order)
	}
	_, err = e.act(a, order(deadline))
	wantCode(t, "order twice", err, schema.CodeConflict)
	_, err = e.act(a, schema.FindingAction{Action: schema.FindingActClose, Text: "fixed"})
	wantCode(t, "close an ordered finding", err, schema.CodeConflict)
	if f, err := e.act(b, order(deadline)); err != nil || f.Order.Number != schema.OrderNumber(year, 2) {
		t.Fatalf("second order: %+v, %v", f.Order, err)
	}
	// Past the deadline it is overdue, in reads; a refused order used no number.
	e.clock.Advance(16 * 24 * time.Hour)
	if got := e.finding(a); !got.Overdue {
		t.Fatalf("ordered finding past its deadline not overdue: %+v", got)
	}
	if f, err := e.act(c, order(e.clock.Now().Add(time.Hour))); err != nil || f.Order.Number != schema.OrderNumber(year, 3) {
		t.Fatalf("third order: %+v, %v", f.Order, err)
	}

	f, err = e.act(a, schema.FindingAction{Action: schema.FindingActEscalate, Text: "refused to comply"})
	if err != nil || f.Status != schema.FindingEscalated || f.EscalatedBy != "leader1" || f.EscalationReason != "refused to comply" || f.EscalatedAt == nil || f.Overdue {
		t.Fatalf("escalate: %+v, %v", f, err)
	}
	_, err = e.act(a, schema.FindingAction{Action: schema.FindingActEscalate, Text: "again"})
	wantCode(t, "escalate twice", err, schema.CodeConflict)
	_, err = e.act(a, order(e.clock.Now().Add(time.Hour)))
	wantCode(t, "order an escalated finding", err, schema.CodeConflict)

	// b is fixed: a later inspection proves it, the leader closes it.
	fix := d.passingWithPhoto(d.inspection(e.venues["v1a"].ID), "NC02")
	d.mustApply(d.upsert(fix))
	e.approve(fix.ID)
	if got := e.finding(b); got.Status != schema.FindingRechecked || got.Overdue {
		t.Fatalf("after the re-check: %+v", got)
	}
	_, err = e.act(b, schema.FindingAction{Action: schema.FindingActClose})
	wantCode(t, "close without a note", err, schema.CodeInvalid)
	_, err = e.act(b, order(e.clock.Now().Add(time.Hour)))
	wantCode(t, "order a re-checked finding", err, schema.CodeConflict)
	f, err = e.act(b, schema.FindingAction{Action: schema.FindingActClose, Text: "photo shows the sign"})
	if err != nil || f.Status != schema.FindingClosed || f.ClosedBy != "leader1" || f.CloseNote != "photo shows the sign" || f.ClosedAt == nil {
		t.Fatalf("close: %+v, %v", f, err)
	}
	for _, act := range []schema.FindingAction{{Action: schema.FindingActClose, Text: "x"}, {Action: schema.FindingActEscalate, Text: "x"}, order(e.clock.Now().Add(time.Hour))} {
		_, err = e.act(b, act)
		wantCode(t, act.Action+" a closed finding", err, schema.CodeConflict)
	}
	// The device holds every state as it now is.
	changes, _ := d.sync(0)
	for id, status := range map[string]string{a: schema.FindingEscalated, b: schema.FindingClosed, c: schema.FindingOrdered} {
		if got := change(t, changes, schema.ChangeFinding, id).Finding; got.Status != status {
			t.Fatalf("device holds %s as %s; want %s", id, got.Status, status)
		}
	}
}

func testLedgerPages(t *testing.T, e *env) {
	d, d2 := e.enroll("insp1a"), e.enroll("insp2")
	items := []string{"NC01", "NC02", "NC03", "NC05", "NC06"}
	e.openFindings(d, e.venues["v1a"].ID, items...)
	e.clock.Advance(time.Hour)
	mid := e.clock.Now()
	e.openFindings(d, e.venues["v1b"].ID, "NC01", "NC02")
	in := failing(d2.inspection(e.venues["v2a"].ID), "NC01")
	d2.mustApply(d2.upsert(in))
	if _, err := e.s.ReviewInspection(e.ctx, in.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader2"}, schema.SquadScope(2)); err != nil {
		t.Fatal(err)
	}
	all := func(f store.FindingFilter) []schema.Finding {
		t.Helper()
		var out []schema.Finding
		for i := 0; ; i++ {
			p, err := e.s.Findings(e.ctx, f)
			if err != nil {
				t.Fatalf("Findings %+v: %v", f, err)
			}
			if len(p.Findings) > max(f.Limit, 1) && f.Limit > 0 {
				t.Fatalf("page of %d with limit %d", len(p.Findings), f.Limit)
			}
			out = append(out, p.Findings...)
			if p.Next == "" {
				return out
			}
			if i > 100 {
				t.Fatal("pages do not end")
			}
			f.After = p.Next
		}
	}
	ids := func(fs []schema.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	whole := all(store.FindingFilter{})
	if len(whole) != 8 {
		t.Fatalf("%d findings; want 8", len(whole))
	}
	for i := 1; i < len(whole); i++ {
		if whole[i].OpenedAt.After(whole[i-1].OpenedAt) {
			t.Fatalf("not newest first: %v after %v", whole[i].OpenedAt, whole[i-1].OpenedAt)
		}
	}
	for _, limit := range []int{1, 2, 3, 7} {
		if got := ids(all(store.FindingFilter{Limit: limit})); !slices.Equal(got, ids(whole)) {
			t.Fatalf("pages of %d: %v; want %v", limit, got, ids(whole))
		}
	}
	byVenue := map[string]schema.Finding{}
	for _, f := range whole {
		byVenue[f.VenueID+f.ItemID] = f
	}
	v1a, v1b := e.venues["v1a"].ID, e.venues["v1b"].ID
	ordered := byVenue[v1a+"NC02"].ID
	if _, err := e.act(ordered, order(e.clock.Now().Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	soon := byVenue[v1b+"NC01"].ID
	if _, err := e.act(soon, order(e.clock.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    store.FindingFilter
		n    int
	}{
		{"squad 1", store.FindingFilter{SquadID: ptr(int64(1))}, 7},
		{"squad 2", store.FindingFilter{SquadID: ptr(int64(2))}, 1},
		{"ordered", store.FindingFilter{Status: schema.FindingOrdered}, 2},
		{"open in squad 1", store.FindingFilter{SquadID: ptr(int64(1)), Status: schema.FindingOpen}, 5},
		{"item NC01", store.FindingFilter{ItemID: "NC01"}, 3},
		{"venue v1b", store.FindingFilter{VenueID: v1b}, 2},
		{"opened from mid", store.FindingFilter{From: mid}, 3},
		{"opened before mid", store.FindingFilter{To: mid}, 5},
		{"overdue, none yet", store.FindingFilter{Overdue: true}, 0},
	} {
		if got := all(c.f); len(got) != c.n {
			t.Errorf("%s: %d findings; want %d", c.name, len(got), c.n)
		}
	}
	// Soonest deadline first, those without one last, across pages.
	bd := all(store.FindingFilter{Sort: store.SortDeadline, Limit: 3})
	if len(bd) != 8 || bd[0].ID != soon || bd[1].ID != ordered || bd[7].Deadline != nil {
		t.Fatalf("by deadline %v", ids(bd))
	}
	e.clock.Advance(90 * time.Minute)
	over := all(store.FindingFilter{Overdue: true})
	if len(over) != 1 || over[0].ID != soon || !over[0].Overdue {
		t.Fatalf("overdue %+v", over)
	}
	if got := all(store.FindingFilter{Status: schema.FindingOverdueTag}); len(got) != 1 {
		t.Fatalf("status overdue: %d", len(got))
	}
	for _, bad := range []store.FindingFilter{{Status: "lost"}, {Sort: "name"}, {After: "not a cursor"},
		{Sort: store.SortDeadline, After: store.FindingCursor{Sort: store.SortOpened, Key: "x", ID: "y"}.Encode()}} {
		_, err := e.s.Findings(e.ctx, bad)
		wantCode(t, fmt.Sprintf("filter %+v", bad), err, schema.CodeInvalid)
	}
}

func testLedgerConcurrentAct(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	f := e.openFindings(d, e.venues["v1a"].ID, "NC04")["NC04"]
	deadline := e.clock.Now().Add(24 * time.Hour)
	for _, acts := range [][2]schema.FindingAction{
		{order(deadline), order(deadline)},
		{{Action: schema.FindingActEscalate, Text: "one"}, {Action: schema.FindingActEscalate, Text: "two"}},
	} {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range acts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.act(f.ID, acts[i])
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if schema.ErrorCode(err) != schema.CodeConflict {
				t.Fatalf("concurrent %s: %v; want one to win, the other a conflict", acts[0].Action, err)
			}
		}
		if won != 1 {
			t.Fatalf("concurrent %s: %d won; want 1 (%v)", acts[0].Action, won, errs)
		}
	}
	if got := e.finding(f.ID); got.Status != schema.FindingEscalated || got.Order == nil || got.Order.Number != schema.OrderNumber(store.OrderYear(e.clock.Now()), 1) {
		t.Fatalf("after the races: %+v %+v", got, got.Order)
	}
}

func testLedgerConcurrentRecheck(t *testing.T, e *env) {
	d, mate := e.enroll("insp1a"), e.enroll("insp1b")
	v := e.venues["v1a"].ID
	f := e.openFindings(d, v, "NC04")["NC04"]
	e.clock.Advance(time.Hour)
	var checks []*schema.Inspection
	for _, dev := range []*device{d, mate} {
		in := dev.passingWithPhoto(dev.inspection(v), "NC04")
		in.RecheckOf = f.ID
		dev.mustApply(dev.upsert(in))
		checks = append(checks, in)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, in := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.review(in.ID, schema.ReviewApprove, "", 0)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("approval %d: %v; both approvals stand", i, err)
		}
	}
	got := e.finding(f.ID)
	if got.Status != schema.FindingRechecked || (got.RecheckInspectionID != checks[0].ID && got.RecheckInspectionID != checks[1].ID) || got.Repeat != 0 {
		t.Fatalf("finding after two re-checks: %+v", got)
	}
	if fs := e.findingsOf(v); len(fs) != 1 {
		t.Fatalf("re-checks opened findings: %+v", fs)
	}
}

func testLedgerFindingsFollowVenue(t *testing.T, e *env) {
	d1, d2 := e.enroll("insp1a"), e.enroll("insp2")
	v := e.venues["v1b"].ID
	f := e.openFindings(d1, v, "NC04")["NC04"]
	d1.sync(0)
	d2.sync(0)
	if !d1.held.has(schema.ChangeFinding, f.ID) || d2.held.has(schema.ChangeFinding, f.ID) {
		t.Fatal("finding held by the wrong squad before the move")
	}
	if _, err := e.s.MoveVenue(e.ctx, v, 2); err != nil {
		t.Fatal(err)
	}
	d1.sync(0)
	d2.sync(0)
	if d1.held.has(schema.ChangeFinding, f.ID) || !d2.held.has(schema.ChangeFinding, f.ID) {
		t.Fatalf("after the move: squad 1 holds it %v, squad 2 holds it %v", d1.held.has(schema.ChangeFinding, f.ID), d2.held.has(schema.ChangeFinding, f.ID))
	}
	if got := e.finding(f.ID); got.SquadID != 2 {
		t.Fatalf("moved venue's finding in squad %d", got.SquadID)
	}
	_, err := e.act(f.ID, order(e.clock.Now().Add(time.Hour)))
	wantCode(t, "the old squad orders it", err, schema.CodeNotFound)
	if r := d1.fresh(); r.has(schema.ChangeFinding, f.ID) {
		t.Fatal("a fresh squad 1 device receives the moved venue's finding")
	}
}
