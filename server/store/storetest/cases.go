package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// caseCases are cases (立案): opened from each source and once per source,
// carried through every state with audit entries, evidence of the case's
// squad and venue only, scope, the 90-day limit on a fixed clock and two
// openings racing.
var caseCases = []contractCase{
	withEnv("OpenFromEachSource", testCaseOpenFromEachSource),
	withEnv("Lifecycle", testCaseLifecycle),
	withEnv("Evidence", testCaseEvidence),
	withEnv("Scope", testCaseScope),
	withEnv("OverdueAtDay91", testCaseOverdue),
	withEnv("EscalationOpensTheCase", testCaseEscalation),
	withEnv("TwoOpensOneCase", testCaseRace),
	{name: "ImportedCasesKeepTheirNumbers", run: testCaseImported},
	withEnv("CoInspectorHandles", testCaseCoInspector),
}

// caseFindings approves an inspection of v1a by insp1a that failed NC04
// (critical) and NC01 (major), and returns the inspection and the two
// findings it opened.
func (e *env) caseFindings() (in *schema.Inspection, critical, major schema.Finding) {
	e.t.Helper()
	d := e.enroll("insp1a")
	in = failing(d.inspection(e.venues["v1a"].ID), "NC04", "NC01")
	d.mustApply(d.upsert(in))
	e.approve(in.ID)
	for _, f := range e.findingsOf(in.VenueID) {
		switch f.ItemID {
		case "NC04":
			critical = f
		case "NC01":
			major = f
		}
	}
	if critical.ID == "" || !critical.Critical || major.ID == "" || major.Critical {
		e.t.Fatalf("findings of the approval: %+v %+v", critical, major)
	}
	return in, critical, major
}

func (e *env) openCase(source, id string) (schema.Case, bool, error) {
	return e.s.OpenCase(e.ctx, store.OpenCaseInput{Source: source, SourceID: id, Summary: "未核对上网人员身份证件", By: "leader1"}, schema.SquadScope(1))
}

func (e *env) mustOpenCase(source, id string) schema.Case {
	e.t.Helper()
	c, created, err := e.openCase(source, id)
	if err != nil || !created {
		e.t.Fatalf("open case of %s %s: %+v, created %t, %v", source, id, c, created, err)
	}
	return c
}

func (e *env) actCase(id string, in store.CaseInput) (schema.Case, error) {
	if in.By == "" {
		in.By = "leader1"
	}
	return e.s.ActOnCase(e.ctx, id, in, schema.SquadScope(1))
}

func (e *env) mustActCase(id string, in store.CaseInput) schema.Case {
	e.t.Helper()
	c, err := e.actCase(id, in)
	if err != nil {
		e.t.Fatalf("%s case %s: %v", in.Action, id, err)
	}
	return c
}

func testCaseOpenFromEachSource(t *testing.T, e *env) {
	_, critical, major := e.caseFindings()
	year := schema.CaseYear(start)

	c := e.mustOpenCase(schema.CaseFromCriticalFinding, critical.ID)
	if c.Number != schema.CaseNumber(year, 1) || c.Status != schema.CaseOpened || c.SquadID != 1 || c.VenueID != critical.VenueID ||
		c.SourceID != critical.ID || c.OpenedBy != "leader1" || c.DaysLeft != schema.CaseDecisionDays || c.Overdue {
		t.Fatalf("case of the critical finding: %+v", c)
	}
	if f := e.finding(critical.ID); f.CaseID != c.ID || f.Status != critical.Status {
		t.Errorf("critical finding after opening: case %q status %s", f.CaseID, f.Status)
	}
	again, created, err := e.openCase(schema.CaseFromCriticalFinding, critical.ID)
	if err != nil || created || again.ID != c.ID {
		t.Errorf("opening again: %+v created %t, %v; want the same case", again.ID, created, err)
	}
	// Through the other finding source the same finding still holds one case.
	if again, created, err = e.openCase(schema.CaseFromEscalatedFinding, critical.ID); err != nil || created || again.ID != c.ID {
		t.Errorf("opening as escalated: %s created %t, %v; want the same case", again.ID, created, err)
	}

	_, _, err = e.openCase(schema.CaseFromCriticalFinding, major.ID)
	wantCode(t, "a major finding as critical", err, schema.CodeInvalid)
	esc := e.mustOpenCase(schema.CaseFromEscalatedFinding, major.ID)
	if esc.Number != schema.CaseNumber(year, 2) {
		t.Errorf("second case number %s", esc.Number)
	}
	f := e.finding(major.ID)
	if f.Status != schema.FindingEscalated || f.CaseID != esc.ID || f.EscalatedBy != "leader1" {
		t.Fatalf("escalated finding: %+v", f)
	}
	var escalated []string
	for _, a := range e.auditEntries(store.AuditFilter{EntityKind: "finding", EntityID: major.ID}) {
		if a.Action == "escalated" {
			escalated = append(escalated, a.From+">"+a.To)
		}
	}
	if !slices.Equal(escalated, []string{"open>escalated"}) {
		t.Errorf("finding audit of the escalation: %v", escalated)
	}

	x := e.discover()
	_, _, err = e.openCase(schema.CaseFromBlackCafe, x.va.ID)
	wantCode(t, "a pending discovery", err, schema.CodeConflict)
	if _, err := e.s.ConfirmVenue(e.ctx, x.va.ID, "leader1", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	black := e.mustOpenCase(schema.CaseFromBlackCafe, x.va.ID)
	if black.VenueID != x.va.ID || black.SourceID != x.va.ID || black.Source != schema.CaseFromBlackCafe {
		t.Errorf("black café case: %+v", black)
	}
	_, _, err = e.openCase(schema.CaseFromBlackCafe, e.venues["v1a"].ID)
	wantCode(t, "a licensed venue of the register", err, schema.CodeInvalid)
	_, _, err = e.openCase(schema.CaseFromBlackCafe, uuid.NewString())
	wantCode(t, "an unknown venue", err, schema.CodeNotFound)
	_, _, err = e.openCase(schema.CaseFromCriticalFinding, uuid.NewString())
	wantCode(t, "an unknown finding", err, schema.CodeNotFound)
	_, _, err = e.openCase("rumour", uuid.NewString())
	wantCode(t, "an unknown source", err, schema.CodeInvalid)
	_, _, err = e.s.OpenCase(e.ctx, store.OpenCaseInput{Source: schema.CaseFromBlackCafe, SourceID: x.vb.ID, By: "leader1"}, schema.SquadScope(1))
	wantCode(t, "no summary", err, schema.CodeInvalid)

	page, err := e.s.ListCases(e.ctx, store.CaseFilter{SquadID: ptr(int64(1))})
	if err != nil || len(page.Cases) != 3 {
		t.Fatalf("cases of squad 1: %d, %v", len(page.Cases), err)
	}
	opened := 0
	for _, a := range e.auditEntries(store.AuditFilter{EntityKind: store.AuditCase}) {
		if a.Action == store.AuditCaseOpened {
			opened++
		}
	}
	if opened != 3 {
		t.Errorf("%d case_opened entries; want 3", opened)
	}
}

func testCaseLifecycle(t *testing.T, e *env) {
	_, critical, _ := e.caseFindings()
	c := e.mustOpenCase(schema.CaseFromCriticalFinding, critical.ID)
	_, err := e.actCase(c.ID, store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionWarning}})
	wantCode(t, "decide an opened case", err, schema.CodeConflict)
	c = e.mustActCase(c.ID, store.CaseInput{Action: schema.CaseActInvestigate, Note: "调取监控"})
	if c.Status != schema.CaseInvestigating {
		t.Fatalf("investigate: %s", c.Status)
	}
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionWarning}})
	wantCode(t, "decide without handlers", err, schema.CodeConflict)
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"insp1a", "insp2"}})
	wantCode(t, "a handler of another squad", err, schema.CodeInvalid)
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"insp1a", "retired1"}})
	wantCode(t, "a disabled handler", err, schema.CodeInvalid)
	c = e.mustActCase(c.ID, store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"insp1a", "insp1b"}})
	if len(c.Handlers) != 2 || c.Handlers[0].Name != "Officer insp1a" || c.Handlers[1].BadgeNo != "B-insp1b" {
		t.Fatalf("handlers: %+v", c.Handlers)
	}
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionClosure}})
	wantCode(t, "closure of a licensed café", err, schema.CodeInvalid)
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionFine}})
	wantCode(t, "a fine without amount", err, schema.CodeInvalid)
	e.clock.Advance(time.Hour)
	c = e.mustActCase(c.ID, store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionFine, FineYuan: 8000, Note: "第31条"}})
	if c.Status != schema.CaseDecided || c.Decision == nil || c.Decision.FineYuan != 8000 || c.Decision.DecidedBy != "leader1" ||
		!c.Decision.DecidedAt.Equal(e.clock.Now()) {
		t.Fatalf("decide: %+v %+v", c, c.Decision)
	}
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"insp1a", "insp1b"}})
	wantCode(t, "handlers after the decision", err, schema.CodeConflict)
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActClose})
	wantCode(t, "close without a note", err, schema.CodeInvalid)
	c = e.mustActCase(c.ID, store.CaseInput{Action: schema.CaseActClose, Note: "罚款已缴清"})
	if c.Status != schema.CaseClosed || c.ClosedBy != "leader1" || c.ClosedAt == nil || c.CloseNote != "罚款已缴清" {
		t.Fatalf("close: %+v", c)
	}
	got, err := e.s.Case(e.ctx, c.ID, schema.SquadScope(1))
	if err != nil || got.Status != schema.CaseClosed || got.Decision == nil || got.Decision.Type != schema.DecisionFine || len(got.Handlers) != 2 {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	_, err = e.actCase(c.ID, store.CaseInput{Action: schema.CaseActInvestigate})
	wantCode(t, "investigate a closed case", err, schema.CodeConflict)
	var trail []string
	entries := e.auditEntries(store.AuditFilter{EntityKind: store.AuditCase, EntityID: c.ID})
	for i := len(entries) - 1; i >= 0; i-- {
		a := entries[i]
		trail = append(trail, a.Action+":"+a.From+">"+a.To)
		if a.Actor != "leader1" || a.SquadID == nil || *a.SquadID != 1 {
			t.Errorf("entry %s by %q squad %v", a.Action, a.Actor, a.SquadID)
		}
	}
	want := []string{"case_opened:>opened", "case_investigating:opened>investigating", "case_handlers:investigating>investigating",
		"case_decided:investigating>decided", "case_closed:decided>closed"}
	if !slices.Equal(trail, want) {
		t.Errorf("audit trail %v; want %v", trail, want)
	}
	// A closed case frees its source: a new one may be opened.
	if _, created, err := e.openCase(schema.CaseFromCriticalFinding, critical.ID); err != nil || !created {
		t.Errorf("reopen after close: created %t, %v", created, err)
	}
}

func testCaseEvidence(t *testing.T, e *env) {
	in, critical, major := e.caseFindings()
	c := e.mustOpenCase(schema.CaseFromCriticalFinding, critical.ID)
	d2 := e.enroll("insp2")
	in2 := failing(d2.inspection(e.venues["v2a"].ID), "NC04")
	d2.mustApply(d2.upsert(in2))
	if _, err := e.s.ReviewInspection(e.ctx, in2.ID, store.ReviewInput{Action: schema.ReviewApprove, By: "leader2"}, schema.SquadScope(2)); err != nil {
		t.Fatal(err)
	}
	f2 := e.findingsOf(in2.VenueID)[0]
	d1 := e.enroll("insp1b")
	other := d1.inspection(e.venues["v1b"].ID)
	d1.mustApply(d1.upsert(other))

	attach := func(kind, ref string) (schema.Case, error) {
		return e.actCase(c.ID, store.CaseInput{Action: schema.CaseActAttach, Evidence: []schema.CaseEvidence{{Kind: kind, Ref: ref, Note: "证据 " + kind}}})
	}
	for _, tc := range []struct {
		what, kind, ref string
		code            schema.Code
	}{
		{"another squad's inspection", schema.EvidenceInspection, in2.ID, schema.CodeNotFound},
		{"another squad's finding", schema.EvidenceFinding, f2.ID, schema.CodeNotFound},
		{"an unknown inspection", schema.EvidenceInspection, uuid.NewString(), schema.CodeNotFound},
		{"an inspection of another venue", schema.EvidenceInspection, other.ID, schema.CodeInvalid},
		{"a photo no inspection of the venue proved", schema.EvidencePhoto, sha("never delivered"), schema.CodeNotFound},
		{"a photo that is no SHA-256", schema.EvidencePhoto, "nope", schema.CodeInvalid},
	} {
		_, err := attach(tc.kind, tc.ref)
		wantCode(t, tc.what, err, tc.code)
	}
	if got, _ := e.s.Case(e.ctx, c.ID, schema.SquadScope(1)); len(got.Evidence) != 0 {
		t.Fatalf("refused evidence was kept: %+v", got.Evidence)
	}
	if _, err := attach(schema.EvidenceInspection, in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := attach(schema.EvidenceFinding, major.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := attach(schema.EvidencePhoto, pastPhoto); err != nil {
		t.Fatalf("the proven photo of the venue's imported inspection: %v", err)
	}
	got, err := attach(schema.EvidenceInspection, in.ID) // again: kept once
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range got.Evidence {
		kinds = append(kinds, ev.Kind)
		if ev.AddedBy != "leader1" || ev.Note == "" || ev.AddedAt.IsZero() {
			t.Errorf("evidence %+v", ev)
		}
	}
	if !slices.Equal(kinds, []string{schema.EvidenceInspection, schema.EvidenceFinding, schema.EvidencePhoto}) {
		t.Fatalf("evidence in order: %v", kinds)
	}
	n := 0
	for _, a := range e.auditEntries(store.AuditFilter{EntityKind: store.AuditCase, EntityID: c.ID}) {
		if a.Action == store.AuditCaseEvidence {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d case_evidence entries; want 4", n)
	}
}

func testCaseScope(t *testing.T, e *env) {
	_, critical, major := e.caseFindings()
	c := e.mustOpenCase(schema.CaseFromCriticalFinding, critical.ID)
	two := schema.SquadScope(2)
	_, err := e.s.Case(e.ctx, c.ID, two)
	wantCode(t, "read by another squad", err, schema.CodeNotFound)
	_, err = e.s.ActOnCase(e.ctx, c.ID, store.CaseInput{Action: schema.CaseActInvestigate, By: "leader2"}, two)
	wantCode(t, "act by another squad", err, schema.CodeNotFound)
	_, _, err = e.s.OpenCase(e.ctx, store.OpenCaseInput{Source: schema.CaseFromEscalatedFinding, SourceID: major.ID, Summary: "x", By: "leader2"}, two)
	wantCode(t, "open by another squad", err, schema.CodeNotFound)
	_, err = e.s.Case(e.ctx, c.ID, schema.Scope{})
	wantCode(t, "read with no scope", err, schema.CodeNotFound)
	if f := e.finding(major.ID); f.Status != schema.FindingOpen || f.CaseID != "" {
		t.Errorf("a refused opening changed the finding: %+v", f)
	}
	page, err := e.s.ListCases(e.ctx, store.CaseFilter{SquadID: ptr(int64(2))})
	if err != nil || len(page.Cases) != 0 {
		t.Errorf("cases of squad 2: %+v, %v", page.Cases, err)
	}
	if got, err := e.s.Case(e.ctx, c.ID, schema.AllSquads()); err != nil || got.ID != c.ID {
		t.Errorf("admin reads: %v", err)
	}
	_, err = e.s.Case(e.ctx, uuid.NewString(), schema.AllSquads())
	wantCode(t, "an unknown case", err, schema.CodeNotFound)
}

func testCaseOverdue(t *testing.T, e *env) {
	_, critical, major := e.caseFindings()
	late := e.mustOpenCase(schema.CaseFromCriticalFinding, critical.ID)
	decided := e.mustOpenCase(schema.CaseFromEscalatedFinding, major.ID)
	e.mustActCase(decided.ID, store.CaseInput{Action: schema.CaseActInvestigate})
	e.mustActCase(decided.ID, store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"insp1a", "insp1b"}})
	e.mustActCase(decided.ID, store.CaseInput{Action: schema.CaseActDecide, Decision: schema.CaseDecision{Type: schema.DecisionWarning}})
	overdue := func() []string {
		t.Helper()
		page, err := e.s.ListCases(e.ctx, store.CaseFilter{SquadID: ptr(int64(1)), Overdue: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range page.Cases {
			ids = append(ids, c.ID)
		}
		return ids
	}
	// Day 90 (Beijing): the last day of the limit.
	e.clock.Advance(90 * 24 * time.Hour)
	if c, _ := e.s.Case(e.ctx, late.ID, schema.SquadScope(1)); c.DaysLeft != 0 || c.Overdue {
		t.Fatalf("day 90: %d days left, overdue %t; want 0, false", c.DaysLeft, c.Overdue)
	}
	if got := overdue(); len(got) != 0 {
		t.Fatalf("overdue on day 90: %v", got)
	}
	// Day 91: past it.
	e.clock.Advance(24 * time.Hour)
	c, _ := e.s.Case(e.ctx, late.ID, schema.SquadScope(1))
	if c.DaysLeft != -1 || !c.Overdue {
		t.Fatalf("day 91: %d days left, overdue %t; want -1, true", c.DaysLeft, c.Overdue)
	}
	if got := overdue(); !slices.Equal(got, []string{late.ID}) {
		t.Fatalf("overdue on day 91: %v; want only the undecided case", got)
	}
	if d, _ := e.s.Case(e.ctx, decided.ID, schema.SquadScope(1)); d.Overdue {
		t.Errorf("a decided case is overdue")
	}
	// Investigating does not stop the clock; deciding does.
	e.mustActCase(late.ID, store.CaseInput{Action: schema.CaseActInvestigate})
	if got := overdue(); len(got) != 1 {
		t.Errorf("investigating case not overdue: %v", got)
	}
	page, err := e.s.ListCases(e.ctx, store.CaseFilter{Status: schema.CaseDecided, Limit: 1})
	if err != nil || len(page.Cases) != 1 || page.Cases[0].ID != decided.ID || page.Next != "" {
		t.Errorf("decided cases: %+v, %v", page, err)
	}
	first, err := e.s.ListCases(e.ctx, store.CaseFilter{Limit: 1})
	if err != nil || len(first.Cases) != 1 || first.Next == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	second, err := e.s.ListCases(e.ctx, store.CaseFilter{Limit: 1, After: first.Next})
	if err != nil || len(second.Cases) != 1 || second.Cases[0].ID == first.Cases[0].ID {
		t.Fatalf("second page: %+v, %v", second, err)
	}
	_, err = e.s.ListCases(e.ctx, store.CaseFilter{Status: "lost"})
	wantCode(t, "an unknown status", err, schema.CodeInvalid)
}

func testCaseEscalation(t *testing.T, e *env) {
	_, _, major := e.caseFindings()
	f, err := e.act(major.ID, schema.FindingAction{Action: schema.FindingActEscalate, Text: "屡查屡犯"})
	if err != nil || f.Status != schema.FindingEscalated || f.CaseID == "" {
		t.Fatalf("escalate: %+v, %v", f, err)
	}
	c, err := e.s.Case(e.ctx, f.CaseID, schema.SquadScope(1))
	if err != nil || c.Source != schema.CaseFromEscalatedFinding || c.SourceID != major.ID || c.Summary != "屡查屡犯" || c.Status != schema.CaseOpened {
		t.Fatalf("case of the escalation: %+v, %v", c, err)
	}
	if again, created, err := e.openCase(schema.CaseFromEscalatedFinding, major.ID); err != nil || created || again.ID != c.ID {
		t.Errorf("opening the escalated finding's case: %s %t %v", again.ID, created, err)
	}
	if got := e.finding(major.ID); got.CaseID != c.ID {
		t.Errorf("finding case id %q", got.CaseID)
	}
}

func testCaseRace(t *testing.T, e *env) {
	_, critical, _ := e.caseFindings()
	var wg sync.WaitGroup
	got := make([]schema.Case, 2)
	created := make([]bool, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got[i], created[i], errs[i] = e.openCase(schema.CaseFromCriticalFinding, critical.ID)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if got[0].ID != got[1].ID || created[0] == created[1] {
		t.Fatalf("two opens: %s (created %t) and %s (created %t); want one case, created once", got[0].ID, created[0], got[1].ID, created[1])
	}
	page, err := e.s.ListCases(e.ctx, store.CaseFilter{})
	if err != nil || len(page.Cases) != 1 {
		t.Fatalf("cases after the race: %d, %v", len(page.Cases), err)
	}
}

// testCaseImported: a district imported with a numbered case and its
// evidence reads back as it was, and the next case opened gets the next
// number of the year.
func testCaseImported(t *testing.T, open Open) {
	clock := &fakeClock{t: start}
	e := &env{t: t, ctx: context.Background(), clock: clock, s: openStore(t, open, clock)}
	d := e.district()
	year := schema.CaseYear(start)
	crit := schema.Finding{ID: uuid.NewString(), InspectionID: e.past.ID, VenueID: e.past.VenueID, SquadID: 1, ItemID: "NC04",
		Critical: true, Status: schema.FindingOpen, OpenedAt: start.Add(-48 * time.Hour), UpdatedAt: start}
	other := crit
	other.ID, other.ItemID = uuid.NewString(), "NC06"
	opened := start.Add(-100 * 24 * time.Hour)
	c := schema.NewCase(uuid.NewString(), schema.CaseNumber(year, 7), schema.CaseSource{Kind: schema.CaseFromCriticalFinding, Finding: &crit},
		"imported", "leader1", opened)
	c.Status = schema.CaseInvestigating
	c.Handlers = []schema.Inspector{{Username: "insp1a", Name: "Officer insp1a"}, {Username: "insp1b"}}
	c.Evidence = []schema.CaseEvidence{{Kind: schema.EvidenceInspection, Ref: e.past.ID, AddedBy: "leader1", AddedAt: opened}}
	crit.CaseID = c.ID
	d.Findings = append(d.Findings, crit, other)
	d.Cases = []schema.Case{c}
	if err := e.s.Import(e.ctx, d); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got, err := e.s.Case(e.ctx, c.ID, schema.SquadScope(1))
	if err != nil || got.Number != c.Number || len(got.Evidence) != 1 || got.Evidence[0].Ref != e.past.ID || len(got.Handlers) != 2 ||
		!got.Overdue || got.Status != schema.CaseInvestigating {
		t.Fatalf("imported case: %+v, %v", got, err)
	}
	next := e.mustOpenCase(schema.CaseFromCriticalFinding, other.ID)
	if next.Number != schema.CaseNumber(year, 8) {
		t.Fatalf("next case number %s; want %s", next.Number, schema.CaseNumber(year, 8))
	}
	if again, created, err := e.openCase(schema.CaseFromCriticalFinding, crit.ID); err != nil || created || again.ID != c.ID {
		t.Fatalf("opening the imported case's source: %s %t %v", again.ID, created, err)
	}
}

// testCaseCoInspector: an inspector of another squad handles a squad's
// case once its leader allowed them as a co-inspector, and no longer once
// withdrawn.
func testCaseCoInspector(t *testing.T, e *env) {
	_, critical, _ := e.caseFindings()
	c := e.mustOpenCase(schema.CaseFromCriticalFinding, critical.ID)
	two := store.CaseInput{Action: schema.CaseActHandlers, Handlers: []string{"insp1a", "insp2"}}
	_, err := e.actCase(c.ID, two)
	wantCode(t, "another squad's inspector", err, schema.CodeInvalid)
	if _, err := e.s.AddCoInspector(e.ctx, 1, "insp2", "leader1", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	got := e.mustActCase(c.ID, two)
	if len(got.Handlers) != 2 || got.Handlers[1].Username != "insp2" || got.Handlers[1].Name != "Officer insp2" {
		t.Fatalf("handlers with a co-inspector: %+v", got.Handlers)
	}
	if err := e.s.RemoveCoInspector(e.ctx, 1, "insp2", schema.SquadScope(1)); err != nil {
		t.Fatal(err)
	}
	_, err = e.actCase(c.ID, two)
	wantCode(t, "a withdrawn co-inspector", err, schema.CodeInvalid)
}
