package schema

import (
	"fmt"
	"strings"
	"time"
)

// The life of a case (立案) as plain rules: which action each state
// allows, what a decision must carry, who may handle it and how its
// 90-day limit is counted. The server's stores apply them inside their
// write transactions; nothing here reads a database.

// Bounds of a fine in yuan. Articles 31, 33 and 34 of the regulation fine
// up to ¥15,000 and article 27 (a black café) 5 to 10 times the illegal
// turnover, at least ¥10,000 to ¥50,000 or more: any whole yuan amount up
// to MaxFineYuan is accepted, and the bureau's legal staff answer for
// which article it follows.
const (
	MinFineYuan = 1
	MaxFineYuan = 10_000_000
)

// Bounds of what a case carries.
const (
	MaxCaseSummary  = 2000
	MaxCaseEvidence = 200
	MinCaseHandlers = 2 // 行政处罚法 art. 42: at least two officers handle a case
)

// CaseAction is one step a leader takes on a case. Evidence is checked
// (CheckEvidence) and the handlers resolved against the squad's members
// (CaseHandlers) before DecideCase applies it.
type CaseAction struct {
	Action   string
	By       string
	Note     string         // investigate: optional; close: how the decision was carried out
	Evidence []CaseEvidence // attach
	Handlers []Inspector    // handlers, resolved by CaseHandlers
	Decision CaseDecision   // decide: Type, FineYuan, Note
}

// CaseVenue is what a decision needs to know of the case's venue.
type CaseVenue struct {
	Licensed bool
}

// DecideCase applies one action to a case, or refuses it with a reason a
// person can act on: CodeInvalid for bad input, CodeConflict for an
// action the case's state (or its handlers) does not allow yet.
func DecideCase(c Case, a CaseAction, v CaseVenue, now time.Time) (Case, error) {
	refuse := func(format string, args ...any) (Case, error) {
		return c, Errorf(CodeConflict, "case %s is %s: %s", c.Number, c.Status, fmt.Sprintf(format, args...))
	}
	if err := CheckText("note", a.Note, MaxCommentLen); err != nil {
		return c, err
	}
	undecided := c.Status == CaseOpened || c.Status == CaseInvestigating
	out := c
	out.UpdatedAt = now
	switch a.Action {
	case CaseActInvestigate:
		if c.Status != CaseOpened {
			return refuse("only an opened case starts its investigation")
		}
		out.Status = CaseInvestigating
	case CaseActAttach:
		if len(a.Evidence) == 0 {
			return c, Errorf(CodeInvalid, "attach names at least one piece of evidence")
		}
		if !undecided {
			return refuse("evidence is attached only before the decision")
		}
		out.Evidence = append([]CaseEvidence(nil), c.Evidence...)
		for _, e := range a.Evidence {
			if err := CheckEvidence(e); err != nil {
				return c, err
			}
			if !hasEvidence(out.Evidence, e) {
				e.AddedBy, e.AddedAt = a.By, now
				out.Evidence = append(out.Evidence, e)
			}
		}
		if len(out.Evidence) > MaxCaseEvidence {
			return c, Errorf(CodeInvalid, "a case holds at most %d pieces of evidence", MaxCaseEvidence)
		}
	case CaseActHandlers:
		if len(a.Handlers) < MinCaseHandlers || len(a.Handlers) > MaxInspectors {
			return c, Errorf(CodeInvalid, "a case is handled by %d to %d inspectors, not %d", MinCaseHandlers, MaxInspectors, len(a.Handlers))
		}
		if !undecided {
			return refuse("the handlers are set only before the decision")
		}
		out.Handlers = append([]Inspector(nil), a.Handlers...)
	case CaseActDecide:
		if err := CheckDecision(a.Decision, v); err != nil {
			return c, err
		}
		if c.Status != CaseInvestigating {
			return refuse("only a case under investigation is decided")
		}
		if len(c.Handlers) < MinCaseHandlers {
			return refuse("it has %d handling inspectors; name at least %d before deciding", len(c.Handlers), MinCaseHandlers)
		}
		d := a.Decision
		d.DecidedBy, d.DecidedAt = a.By, now
		out.Status = CaseDecided
		out.Decision = &d
	case CaseActClose:
		if strings.TrimSpace(a.Note) == "" {
			return c, Errorf(CodeInvalid, "closing a case needs a note saying how the decision was carried out")
		}
		if c.Status != CaseDecided {
			return refuse("only a decided case is closed")
		}
		t := now
		out.Status = CaseClosed
		out.ClosedBy, out.ClosedAt, out.CloseNote = a.By, &t, a.Note
	default:
		return c, Errorf(CodeInvalid, "action %q is not investigate, attach, handlers, decide or close", truncate(a.Action, 20))
	}
	return CaseClock(out, now), nil
}

// hasEvidence reports whether list holds e already (same kind and ref).
func hasEvidence(list []CaseEvidence, e CaseEvidence) bool {
	for _, x := range list {
		if x.Kind == e.Kind && x.Ref == e.Ref {
			return true
		}
	}
	return false
}

// CheckEvidence refuses a piece of evidence whose kind is unknown or whose
// reference cannot name what the kind says.
func CheckEvidence(e CaseEvidence) error {
	switch e.Kind {
	case EvidenceInspection, EvidenceFinding, EvidenceRecord:
		if err := ValidUUID(e.Ref); err != nil {
			return Errorf(CodeInvalid, "%s evidence names %q: %v", e.Kind, truncate(e.Ref, 40), err)
		}
	case EvidencePhoto:
		if !ValidSHA256(e.Ref) {
			return Errorf(CodeInvalid, "photo evidence names %q, which is not a SHA-256 (64 lowercase hex digits)", truncate(e.Ref, 70))
		}
	default:
		return Errorf(CodeInvalid, "evidence kind %q is not inspection, photo, finding or record", truncate(e.Kind, 20))
	}
	return CheckText("evidence note", e.Note, MaxCommentLen)
}

// CheckDecision refuses a decision the regulation does not allow for the
// venue: an unknown type; a fine without an amount within
// MinFineYuan..MaxFineYuan, or an amount on anything but a fine; closure
// (取缔) of a licensed venue, which is revoked, not closed; revocation of
// a venue that holds no licence to revoke.
func CheckDecision(d CaseDecision, v CaseVenue) error {
	if err := CheckText("decision note", d.Note, MaxCommentLen); err != nil {
		return err
	}
	known := false
	for _, t := range DecisionTypes {
		known = known || t == d.Type
	}
	switch {
	case !known:
		return Errorf(CodeInvalid, "decision %q is not warning, fine, suspension, revocation or closure", truncate(d.Type, 20))
	case d.Type == DecisionFine && (d.FineYuan < MinFineYuan || d.FineYuan > MaxFineYuan):
		return Errorf(CodeInvalid, "a fine needs an amount of %d to %d yuan, not %d", MinFineYuan, MaxFineYuan, d.FineYuan)
	case d.Type != DecisionFine && d.FineYuan != 0:
		return Errorf(CodeInvalid, "only a fine carries an amount; a %s does not", d.Type)
	case d.Type == DecisionClosure && v.Licensed:
		return Errorf(CodeInvalid, "closure (取缔) is the decision on an unlicensed venue; a licensed one has its licence revoked")
	case d.Type == DecisionRevocation && !v.Licensed:
		return Errorf(CodeInvalid, "the venue holds no licence to revoke; an unlicensed venue is closed (取缔)")
	}
	return nil
}

// CaseHandlers resolves the usernames a leader names as a case's handlers
// against the members of the case's squad: each must be one who
// MayInspectFor the squad (its inspectors and allowed co-inspectors),
// named once. The answer carries the members' own names and badge numbers.
func CaseHandlers(usernames []string, squad int64, members []Member) ([]Inspector, error) {
	if len(usernames) < MinCaseHandlers || len(usernames) > MaxInspectors {
		return nil, Errorf(CodeInvalid, "a case is handled by %d to %d inspectors, not %d", MinCaseHandlers, MaxInspectors, len(usernames))
	}
	out := make([]Inspector, 0, len(usernames))
	for i, u := range usernames {
		u = strings.ToLower(strings.TrimSpace(u))
		if u == "" {
			return nil, Errorf(CodeInvalid, "handler %d has no username", i+1)
		}
		for _, prev := range out {
			if prev.Username == u {
				return nil, Errorf(CodeInvalid, "handler %s is named twice", truncate(u, 40))
			}
		}
		m, ok := memberNamed(members, u)
		if !ok || !m.MayInspectFor(squad) {
			return nil, Errorf(CodeInvalid, "%s is not an active inspector of squad %d or one of its co-inspectors", truncate(u, 40), squad)
		}
		out = append(out, Inspector{Username: m.Username, Name: m.Name, BadgeNo: m.BadgeNo})
	}
	return out, nil
}

// CaseSource is what a case is opened from, as the store read it: the
// finding (for the finding sources) or the venue and its discovery state
// (for a black café).
type CaseSource struct {
	Kind      string // one of the CaseFrom constants
	Finding   *Finding
	Venue     Venue
	Discovery string // the venue's discovery state
}

// CheckCaseSource refuses to open a case from what cannot lead to one: a
// finding that is not critical (critical_finding) or is closed; an
// escalated_finding that went to a case already; for a black café, a
// venue that is licensed, deleted, merged away or not a field discovery a
// leader confirmed.
func CheckCaseSource(s CaseSource) error {
	switch s.Kind {
	case CaseFromCriticalFinding, CaseFromEscalatedFinding:
		f := s.Finding
		if f == nil {
			return Errorf(CodeInvalid, "a case from a finding names the finding")
		}
		if f.Status == FindingClosed {
			return Errorf(CodeConflict, "finding %s is closed: it was fixed and struck off, there is nothing to open a case of", f.ID)
		}
		if s.Kind == CaseFromCriticalFinding && !f.Critical {
			return Errorf(CodeInvalid, "finding %s is not critical; escalate it (source escalated_finding) to open a case of it", f.ID)
		}
	case CaseFromBlackCafe:
		v := s.Venue
		switch {
		case v.Deleted || v.MergedInto != "":
			return Errorf(CodeGone, "venue %s was deleted or merged away", v.ID)
		case v.Licensed:
			return Errorf(CodeInvalid, "venue %s is licensed; a black café case is of an unlicensed venue", v.ID)
		case s.Discovery != DiscoveryConfirmed:
			return Errorf(CodeConflict, "venue %s is not a field discovery a leader confirmed; confirm it on the discoveries page first", v.ID)
		}
	default:
		return Errorf(CodeInvalid, "source %q is not critical_finding, escalated_finding or black_cafe", truncate(s.Kind, 30))
	}
	return nil
}

// NewCase is the case opened from a checked source: opened now, to be
// decided by CaseDecideBy.
func NewCase(id, number string, s CaseSource, summary, by string, now time.Time) Case {
	c := Case{ID: id, Number: number, Source: s.Kind, Summary: summary, Status: CaseOpened, OpenedBy: by,
		OpenedAt: now, DecideBy: CaseDecideBy(now), UpdatedAt: now, Handlers: []Inspector{}, Evidence: []CaseEvidence{}}
	if s.Finding != nil {
		c.SquadID, c.VenueID, c.SourceID = s.Finding.SquadID, s.Finding.VenueID, s.Finding.ID
	} else {
		c.SquadID, c.VenueID, c.SourceID = s.Venue.SquadID, s.Venue.ID, s.Venue.ID
	}
	return CaseClock(c, now)
}

// CaseSourceKey names what a case was opened from so that one source
// holds one open case: a finding whichever finding source named it, or the
// venue of a black café.
func CaseSourceKey(source, sourceID string) string {
	if source == CaseFromBlackCafe {
		return "venue:" + sourceID
	}
	return "finding:" + sourceID
}

// CaseDecideBy is the end of the limit of a case opened at opened: the
// last instant of the 90th Beijing day after the day it was opened.
func CaseDecideBy(opened time.Time) time.Time {
	y, m, d := opened.In(bureauTime).Date()
	return time.Date(y, m, d+CaseDecisionDays+1, 0, 0, 0, 0, bureauTime).Add(-time.Nanosecond)
}

// CaseDaysLeft counts the Beijing days from now to the decision limit: 0
// on its last day, negative once it passed.
func CaseDaysLeft(c Case, now time.Time) int {
	return localDay(c.DecideBy) - localDay(now)
}

// CaseOverdue is the one definition of an overdue case: not decided yet
// (opened or investigating) and past its decision limit.
func CaseOverdue(c Case, now time.Time) bool {
	return (c.Status == CaseOpened || c.Status == CaseInvestigating) && now.After(c.DecideBy)
}

// CaseClock fills in the case's DaysLeft and Overdue as of now.
func CaseClock(c Case, now time.Time) Case {
	c.DaysLeft, c.Overdue = CaseDaysLeft(c, now), CaseOverdue(c, now)
	return c
}

// localDay numbers the Beijing day of t (days since 1970-01-01 there).
func localDay(t time.Time) int {
	y, m, d := t.In(bureauTime).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// CaseNumber formats the number of a case: 文立〔YYYY〕N号, the year and
// its sequence in that year.
func CaseNumber(year, n int) string { return docNumber("文立", year, n) }

// ParseCaseNumber reads the year and sequence back from a number that
// CaseNumber made; ok is false for any other text.
func ParseCaseNumber(s string) (year, n int, ok bool) { return parseDocNumber("文立", s) }

// CaseYear is the year a case opened at t is numbered in (Beijing time).
func CaseYear(t time.Time) int {
	return t.In(bureauTime).Year()
}
