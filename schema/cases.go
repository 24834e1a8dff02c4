package schema

import "time"

// Cases (立案). A critical finding, an escalated finding or a confirmed
// black café becomes a case: evidence is attached, inspectors handle it,
// and it must be decided within CaseDecisionDays of being opened
// (行政处罚法 art. 60), then closed once the decision is carried out.

// Case states, in order.
const (
	CaseOpened        = "opened"
	CaseInvestigating = "investigating"
	CaseDecided       = "decided"
	CaseClosed        = "closed"
)

// CaseStates lists the case states in order.
var CaseStates = []string{CaseOpened, CaseInvestigating, CaseDecided, CaseClosed}

// What a case was opened from.
const (
	CaseFromCriticalFinding  = "critical_finding"
	CaseFromEscalatedFinding = "escalated_finding"
	CaseFromBlackCafe        = "black_cafe" // a confirmed field-discovered unlicensed venue
)

// Decision types of a case (行政处罚决定的种类 as the regulation uses them).
const (
	DecisionWarning    = "warning"    // 警告
	DecisionFine       = "fine"       // 罚款 (with an amount)
	DecisionSuspension = "suspension" // 责令停业整顿
	DecisionRevocation = "revocation" // 吊销许可证
	DecisionClosure    = "closure"    // 取缔 (a black café)
)

// DecisionTypes lists the decision types.
var DecisionTypes = []string{DecisionWarning, DecisionFine, DecisionSuspension, DecisionRevocation, DecisionClosure}

// Case actions.
const (
	CaseActInvestigate = "investigate" // opened → investigating
	CaseActAttach      = "attach"      // add evidence (opened or investigating)
	CaseActHandlers    = "handlers"    // set the handling inspectors (before decided)
	CaseActDecide      = "decide"      // investigating → decided, with a decision
	CaseActClose       = "close"       // decided → closed
)

// CaseDecisionDays is the limit from opening to decision (行政处罚法 art. 60).
const CaseDecisionDays = 90

// Kinds of evidence attached to a case.
const (
	EvidenceInspection = "inspection" // an inspection (its on-site record goes with it)
	EvidencePhoto      = "photo"      // a photo by SHA-256
	EvidenceFinding    = "finding"
	EvidenceRecord     = "record" // an on-site record, by its inspection id
)

// CaseEvidence is one piece of evidence attached to a case.
type CaseEvidence struct {
	Kind    string    `json:"kind"`
	Ref     string    `json:"ref"` // inspection or finding id, or photo SHA-256
	Note    string    `json:"note,omitempty"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// CaseDecision is the decision on a case.
type CaseDecision struct {
	Type string `json:"type"` // one of DecisionTypes
	// FineYuan is the fine in yuan (DecisionFine only).
	FineYuan  int64     `json:"fine_yuan,omitempty"`
	Note      string    `json:"note,omitempty"`
	DecidedBy string    `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

// Case is one administrative case (立案) of a venue. DaysLeft and Overdue
// are computed on reading: the Beijing days until DecideBy, and whether
// it passed undecided.
type Case struct {
	ID      string `json:"id"`
	Number  string `json:"number"` // 文立〔YYYY〕N号, from a per-year sequence
	SquadID int64  `json:"squad_id"`
	VenueID string `json:"venue_id"`
	// Source and SourceID say what the case was opened from: a finding id
	// or, for a black café, the venue id.
	Source   string         `json:"source"`
	SourceID string         `json:"source_id"`
	Summary  string         `json:"summary"`
	Status   string         `json:"status"`
	OpenedBy string         `json:"opened_by"`
	OpenedAt time.Time      `json:"opened_at"`
	DecideBy time.Time      `json:"decide_by"`
	DaysLeft int            `json:"days_left"`
	Overdue  bool           `json:"overdue"`
	Handlers []Inspector    `json:"handlers"`
	Evidence []CaseEvidence `json:"evidence"`
	Decision *CaseDecision  `json:"decision,omitempty"`
	ClosedBy string         `json:"closed_by,omitempty"`
	ClosedAt *time.Time     `json:"closed_at,omitempty"`
	// CloseNote says how the decision was carried out.
	CloseNote string    `json:"close_note,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}
