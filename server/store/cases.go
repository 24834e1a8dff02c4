package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
)

// Cases are the administrative cases (立案) leaders open from a critical
// or escalated finding or a confirmed black café, and carry through
// investigation and decision to closing. Every step is decided by
// schema.DecideCase inside the adapter's write transaction and audited
// there (entity kind "case").
type Cases interface {
	// OpenCase opens a case of a source the scope covers (one it does not
	// cover is not found). A source that holds a case not closed yet is
	// answered with that case and created false. A case of an escalated
	// finding escalates the finding (schema.DecideFinding) in the same
	// transaction, and every case of a finding sets the finding's case id.
	OpenCase(ctx context.Context, in OpenCaseInput, scope schema.Scope) (c schema.Case, created bool, err error)
	// Case returns one case the scope covers with its evidence, DaysLeft
	// and Overdue as of now.
	Case(ctx context.Context, id string, scope schema.Scope) (schema.Case, error)
	// ListCases lists one page of cases, newest opened first, without
	// their evidence.
	ListCases(ctx context.Context, f CaseFilter) (CasePage, error)
	// ActOnCase applies one action to a case the scope covers: evidence
	// must be of the case's squad (another squad's is not found) and
	// venue, a photo proven-claimed by an inspection of the venue;
	// handlers are resolved against the squad's members.
	ActOnCase(ctx context.Context, id string, in CaseInput, scope schema.Scope) (schema.Case, error)
}

// OpenCaseInput is what a case is opened from: a schema.CaseFrom source,
// the finding id (or, for a black café, the venue id), the summary (案由)
// and who opens it.
type OpenCaseInput struct {
	Source   string
	SourceID string
	Summary  string
	By       string
}

// CaseInput is a leader's action on a case. Handlers are usernames;
// Evidence carries kind, ref and note.
type CaseInput struct {
	Action   string
	By       string
	Note     string
	Evidence []schema.CaseEvidence
	Handlers []string
	Decision schema.CaseDecision
}

// CaseFilter selects a page of cases; After is the Next of the previous
// page.
type CaseFilter struct {
	SquadID *int64 // nil: every squad (admins)
	Status  string // one of schema.CaseStates, or ""
	VenueID string
	Overdue bool // only undecided cases past their limit
	After   string
	Limit   int
}

// CasePage is one page of cases; Next is "" on the last page.
type CasePage struct {
	Cases []schema.Case `json:"cases"`
	Next  string        `json:"next,omitempty"`
}

// Case list page sizes.
const (
	DefaultCaseLimit = 100
	MaxCaseLimit     = 1000
)

// caseSort is the sort name the cursor of a case list carries.
const caseSort = "case"

// CheckCaseFilter refuses a filter no adapter can run and fills in its
// defaults.
func CheckCaseFilter(f *CaseFilter) error {
	if f.Status != "" {
		ok := false
		for _, s := range schema.CaseStates {
			ok = ok || s == f.Status
		}
		if !ok {
			return schema.Errorf(schema.CodeInvalid, "status %q is not one of opened, investigating, decided, closed", truncateText(f.Status, 20))
		}
	}
	if f.After != "" {
		if _, err := DecodeFindingCursor(f.After, caseSort); err != nil {
			return err
		}
	}
	if f.Limit <= 0 {
		f.Limit = DefaultCaseLimit
	}
	if f.Limit > MaxCaseLimit {
		f.Limit = MaxCaseLimit
	}
	return nil
}

// CaseAfter is the keyset position (opened_at as stored, id) a checked
// filter's After names; ok is false without one.
func CaseAfter(f CaseFilter) (openedAt, id string, ok bool) {
	if f.After == "" {
		return "", "", false
	}
	c, err := DecodeFindingCursor(f.After, caseSort)
	if err != nil {
		return "", "", false
	}
	return c.Key, c.ID, true
}

// CasePageOf trims the rows an adapter read (Limit+1 at most, newest
// first) to a page, with the cursor of the next one, and sets each
// case's clock as of now.
func CasePageOf(rows []schema.Case, limit int, now time.Time) CasePage {
	p := CasePage{Cases: rows}
	if p.Cases == nil {
		p.Cases = []schema.Case{}
	}
	if len(p.Cases) > limit {
		p.Cases = p.Cases[:limit]
		last := p.Cases[limit-1]
		p.Next = FindingCursor{Sort: caseSort, Key: schema.FormatTime(last.OpenedAt), ID: last.ID}.Encode()
	}
	for i := range p.Cases {
		p.Cases[i] = schema.CaseClock(p.Cases[i], now)
	}
	return p
}

// EvidenceTarget is what a case's evidence check needs of an inspection
// or a finding: its squad and venue.
type EvidenceTarget struct {
	SquadID int64
	VenueID string
}

// CaseWriter is what an adapter's write transaction offers the case
// decisions (OpenCase, ActOnCase, and ActOnFinding's escalation).
// Implementations hold no case logic, only their SQL.
type CaseWriter interface {
	// LoadCase reads a case with its evidence, locking it where the
	// database can; not found: schema.CodeNotFound.
	LoadCase(ctx context.Context, id string) (schema.Case, error)
	// CaseOfSource reads the case not closed of a source key
	// (schema.CaseSourceKey); found is false when there is none.
	CaseOfSource(ctx context.Context, key string) (c schema.Case, found bool, err error)
	// WriteCase inserts a case or overwrites its row (not its evidence).
	WriteCase(ctx context.Context, c *schema.Case) error
	// AddEvidence appends one piece of evidence at position pos.
	AddEvidence(ctx context.Context, caseID string, pos int, e schema.CaseEvidence) error
	// NextCaseNumber takes the next case number of a year.
	NextCaseNumber(ctx context.Context, year int) (int, error)
	// SquadMembers reads the members of a squad (its active users and
	// allowed co-inspectors).
	SquadMembers(ctx context.Context, squad int64) ([]schema.Member, error)
	// InspectionTarget and FindingTarget read the squad and venue of an
	// inspection or a finding; not found: schema.CodeNotFound.
	InspectionTarget(ctx context.Context, id string) (EvidenceTarget, error)
	FindingTarget(ctx context.Context, id string) (EvidenceTarget, error)
	// PhotoProven reports whether an inspection of venue by squad names
	// the photo with a proven claim.
	PhotoProven(ctx context.Context, sha, venueID string, squad int64) (bool, error)
	// DiscoveryVenue reads a venue and its discovery state.
	DiscoveryVenue(ctx context.Context, id string) (v schema.Venue, discovery string, err error)
	// LoadFinding, WriteFinding and RecordChange are the ledger's
	// (LedgerWriter).
	LoadFinding(ctx context.Context, id string) (schema.Finding, error)
	WriteFinding(ctx context.Context, f *schema.Finding) error
	RecordChange(ctx context.Context, c Change) error
}

// Audit actions of cases (entity kind AuditCase).
const (
	AuditCase              = "case"
	AuditCaseOpened        = "case_opened"
	AuditCaseInvestigating = "case_investigating"
	AuditCaseEvidence      = "case_evidence"
	AuditCaseHandlers      = "case_handlers"
	AuditCaseDecided       = "case_decided"
	AuditCaseClosed        = "case_closed"
)

// caseAudit names an action on a case as the audit log does.
var caseAudit = map[string]string{
	schema.CaseActInvestigate: AuditCaseInvestigating,
	schema.CaseActAttach:      AuditCaseEvidence,
	schema.CaseActHandlers:    AuditCaseHandlers,
	schema.CaseActDecide:      AuditCaseDecided,
	schema.CaseActClose:       AuditCaseClosed,
}

// CheckOpenCase refuses an opening no adapter needs to look up: an
// unknown source, an id that is not one, a summary missing or too long.
func CheckOpenCase(in OpenCaseInput) error {
	switch in.Source {
	case schema.CaseFromCriticalFinding, schema.CaseFromEscalatedFinding, schema.CaseFromBlackCafe:
	default:
		return schema.Errorf(schema.CodeInvalid, "source %q is not critical_finding, escalated_finding or black_cafe", truncateText(in.Source, 30))
	}
	if err := schema.ValidUUID(in.SourceID); err != nil {
		return schema.Errorf(schema.CodeInvalid, "source_id: %v", err)
	}
	if strings.TrimSpace(in.Summary) == "" {
		return schema.Errorf(schema.CodeInvalid, "a case needs a summary (案由): what the venue did")
	}
	return schema.CheckText("summary", in.Summary, schema.MaxCaseSummary)
}

// OpenCase opens a case inside the caller's write transaction
// (Cases.OpenCase).
func OpenCase(ctx context.Context, w CaseWriter, in OpenCaseInput, scope schema.Scope, now time.Time) (schema.Case, bool, error) {
	if err := CheckOpenCase(in); err != nil {
		return schema.Case{}, false, err
	}
	src := schema.CaseSource{Kind: in.Source}
	if in.Source == schema.CaseFromBlackCafe {
		v, discovery, err := w.DiscoveryVenue(ctx, in.SourceID)
		if err != nil {
			return schema.Case{}, false, err
		}
		if !scope.Covers(v.SquadID) {
			return schema.Case{}, false, schema.Errorf(schema.CodeNotFound, "venue %s not found", in.SourceID)
		}
		src.Venue, src.Discovery = v, discovery
	} else {
		f, err := w.LoadFinding(ctx, in.SourceID)
		if err != nil {
			return schema.Case{}, false, err
		}
		if !scope.Covers(f.SquadID) {
			return schema.Case{}, false, schema.Errorf(schema.CodeNotFound, "finding %s not found", in.SourceID)
		}
		src.Finding = &f
	}
	if c, found, err := w.CaseOfSource(ctx, schema.CaseSourceKey(in.Source, in.SourceID)); err != nil || found {
		return schema.CaseClock(c, now), false, err
	}
	if err := schema.CheckCaseSource(src); err != nil {
		return schema.Case{}, false, err
	}
	c, err := openCase(ctx, w, src, in.Summary, in.By, now)
	if err != nil {
		return schema.Case{}, false, err
	}
	if f := src.Finding; f != nil {
		after := *f
		if in.Source == schema.CaseFromEscalatedFinding && f.Status != schema.FindingEscalated {
			a := schema.FindingAction{Action: schema.FindingActEscalate, By: in.By, Text: c.Number + ": " + in.Summary}
			if after, err = schema.DecideFinding(*f, a, now); err != nil {
				return schema.Case{}, false, err
			}
			if err := w.RecordChange(ctx, Change{Actor: in.By, EntityKind: "finding", EntityID: f.ID, SquadID: &f.SquadID,
				Action: findingChangeAction(a.Action), From: f.Status, To: after.Status, Reason: a.Text}); err != nil {
				return schema.Case{}, false, err
			}
		}
		after.CaseID, after.UpdatedAt = c.ID, now
		if err := w.WriteFinding(ctx, &after); err != nil {
			return schema.Case{}, false, err
		}
	}
	return c, true, nil
}

// openCase numbers, writes and audits a case of a checked source.
func openCase(ctx context.Context, w CaseWriter, src schema.CaseSource, summary, by string, now time.Time) (schema.Case, error) {
	year := schema.CaseYear(now)
	n, err := w.NextCaseNumber(ctx, year)
	if err != nil {
		return schema.Case{}, fmt.Errorf("case number: %w", err)
	}
	c := schema.NewCase(uuid.NewString(), schema.CaseNumber(year, n), src, summary, by, now)
	if err := w.WriteCase(ctx, &c); err != nil {
		return schema.Case{}, err
	}
	if err := w.RecordChange(ctx, Change{Actor: by, EntityKind: AuditCase, EntityID: c.ID, SquadID: &c.SquadID,
		Action: AuditCaseOpened, To: c.Status, Reason: c.Number + " · " + summary}); err != nil {
		return schema.Case{}, err
	}
	return c, nil
}

// caseOfEscalation opens the case of a finding an escalation just decided
// (ActOnFinding), or finds the one its source holds, and links it.
func caseOfEscalation(ctx context.Context, w CaseWriter, f *schema.Finding, reason, by string, now time.Time) error {
	if f.CaseID != "" {
		return nil
	}
	c, found, err := w.CaseOfSource(ctx, schema.CaseSourceKey(schema.CaseFromEscalatedFinding, f.ID))
	if err != nil {
		return err
	}
	if !found {
		if c, err = openCase(ctx, w, schema.CaseSource{Kind: schema.CaseFromEscalatedFinding, Finding: f}, reason, by, now); err != nil {
			return err
		}
	}
	f.CaseID = c.ID
	return nil
}

// CheckCaseInput refuses an action no adapter needs to look up.
func CheckCaseInput(in CaseInput) error {
	if _, ok := caseAudit[in.Action]; !ok {
		return schema.Errorf(schema.CodeInvalid, "action %q is not investigate, attach, handlers, decide or close", truncateText(in.Action, 20))
	}
	for _, e := range in.Evidence {
		if err := schema.CheckEvidence(e); err != nil {
			return err
		}
	}
	return nil
}

// ActOnCase applies a leader's action to a case inside the caller's write
// transaction (Cases.ActOnCase).
func ActOnCase(ctx context.Context, w CaseWriter, id string, in CaseInput, scope schema.Scope, now time.Time) (schema.Case, error) {
	if err := CheckCaseInput(in); err != nil {
		return schema.Case{}, err
	}
	c, err := w.LoadCase(ctx, id)
	if err != nil {
		return schema.Case{}, err
	}
	if !scope.Covers(c.SquadID) {
		return schema.Case{}, schema.Errorf(schema.CodeNotFound, "case %s not found", id)
	}
	a := schema.CaseAction{Action: in.Action, By: in.By, Note: in.Note, Evidence: in.Evidence, Decision: in.Decision}
	var venue schema.CaseVenue
	switch in.Action {
	case schema.CaseActHandlers:
		members, err := w.SquadMembers(ctx, c.SquadID)
		if err != nil {
			return schema.Case{}, err
		}
		if a.Handlers, err = schema.CaseHandlers(in.Handlers, c.SquadID, members); err != nil {
			return schema.Case{}, err
		}
	case schema.CaseActDecide:
		v, _, err := w.DiscoveryVenue(ctx, c.VenueID)
		if err != nil {
			return schema.Case{}, err
		}
		venue.Licensed = v.Licensed
	}
	out, err := schema.DecideCase(c, a, venue, now)
	if err != nil {
		return schema.Case{}, err
	}
	added := out.Evidence[len(c.Evidence):]
	for _, e := range added {
		if err := checkEvidenceTarget(ctx, w, c, e); err != nil {
			return schema.Case{}, err
		}
	}
	if err := w.WriteCase(ctx, &out); err != nil {
		return schema.Case{}, err
	}
	for i, e := range added {
		if err := w.AddEvidence(ctx, c.ID, len(c.Evidence)+i, e); err != nil {
			return schema.Case{}, err
		}
	}
	if err := w.RecordChange(ctx, Change{Actor: in.By, EntityKind: AuditCase, EntityID: c.ID, SquadID: &c.SquadID,
		Action: caseAudit[in.Action], From: c.Status, To: out.Status, Reason: caseReason(out, in, added)}); err != nil {
		return schema.Case{}, err
	}
	return out, nil
}

// checkEvidenceTarget checks that a piece of evidence is of the case's
// squad (another squad's is not found: the leader cannot tell it exists)
// and venue; a photo must be proven-claimed by an inspection of the
// venue by the squad.
func checkEvidenceTarget(ctx context.Context, w CaseWriter, c schema.Case, e schema.CaseEvidence) error {
	var t EvidenceTarget
	var err error
	switch e.Kind {
	case schema.EvidencePhoto:
		ok, err := w.PhotoProven(ctx, e.Ref, c.VenueID, c.SquadID)
		if err != nil {
			return err
		}
		if !ok {
			return schema.Errorf(schema.CodeNotFound, "photo %s not found among the proven photos of this venue's inspections", e.Ref)
		}
		return nil
	case schema.EvidenceFinding:
		t, err = w.FindingTarget(ctx, e.Ref)
	default: // inspection, record
		t, err = w.InspectionTarget(ctx, e.Ref)
	}
	if err != nil {
		return err
	}
	if t.SquadID != c.SquadID {
		return schema.Errorf(schema.CodeNotFound, "%s %s not found", e.Kind, e.Ref)
	}
	if t.VenueID != c.VenueID {
		return schema.Errorf(schema.CodeInvalid, "%s %s is of another venue than case %s", e.Kind, e.Ref, c.Number)
	}
	return nil
}

// caseReason is the audit reason of an action: what it added or decided.
func caseReason(c schema.Case, in CaseInput, added []schema.CaseEvidence) string {
	switch in.Action {
	case schema.CaseActAttach:
		parts := make([]string, 0, len(added))
		for _, e := range added {
			parts = append(parts, e.Kind+" "+e.Ref)
		}
		if len(parts) == 0 {
			return "attached again: nothing new"
		}
		return strings.Join(parts, "; ")
	case schema.CaseActHandlers:
		names := make([]string, 0, len(c.Handlers))
		for _, h := range c.Handlers {
			names = append(names, h.Username)
		}
		return strings.Join(names, ", ")
	case schema.CaseActDecide:
		r := c.Decision.Type
		if c.Decision.FineYuan > 0 {
			r += fmt.Sprintf(" ¥%d", c.Decision.FineYuan)
		}
		if c.Decision.Note != "" {
			r += ": " + c.Decision.Note
		}
		return r
	}
	return in.Note
}

// CaseNumbersUsed is, per year, the highest case number the cases carry
// (schema.ParseCaseNumber), so that an import moves each year's sequence
// past them and the next case opened never repeats a number.
func CaseNumbersUsed(list []schema.Case) map[int]int {
	used := map[int]int{}
	for _, c := range list {
		if y, n, ok := schema.ParseCaseNumber(c.Number); ok && n > used[y] {
			used[y] = n
		}
	}
	return used
}
