package schema

import (
	"fmt"
	"strings"
	"time"
)

// Finding states of the ledger (台账): every failed item of an approved
// inspection opens one, and it is struck off (销号) only when a later
// inspection proved the fix and a leader closed it, or when it went to a
// case.
const (
	FindingOpen       = "open"
	FindingOrdered    = "ordered"
	FindingRechecked  = "rechecked"
	FindingClosed     = "closed"
	FindingEscalated  = "escalated"
	FindingOverdueTag = "overdue" // a filter and a mark, not a state: ordered, past deadline
)

// FindingStates lists the states in ledger order.
var FindingStates = []string{FindingOpen, FindingOrdered, FindingRechecked, FindingClosed, FindingEscalated}

// Finding actions. Leaders order, close and escalate; re-checks are
// decided by the server when a later inspection of the venue is approved.
const (
	FindingActOrder       = "order"
	FindingActRecheckPass = "recheck_pass"
	FindingActRecheckFail = "recheck_fail"
	FindingActClose       = "close"
	FindingActEscalate    = "escalate"
)

// Bounds of an order to correct (责令改正): its deadline lies after the
// order and no further than MaxOrderDays away.
const MaxOrderDays = 180

// Order is an order to correct a finding: its number, by when, what the
// venue must do and under which article.
type Order struct {
	Number     string    `json:"number"`
	Deadline   time.Time `json:"deadline"`
	Action     string    `json:"action"`
	LegalBasis string    `json:"legal_basis"`
	Comment    string    `json:"comment,omitempty"`
	OrderedBy  string    `json:"ordered_by"`
	OrderedAt  time.Time `json:"ordered_at"`
}

// Finding is one failed checklist item of an approved inspection, followed
// through the ledger. Deadline and Overdue repeat the order's deadline and
// whether it passed, for scripts that filter on them.
type Finding struct {
	ID           string `json:"id"`
	InspectionID string `json:"inspection_id"`
	VenueID      string `json:"venue_id"`
	SquadID      int64  `json:"squad_id"`
	ItemID       string `json:"item_id"`
	TitleZH      string `json:"title_zh,omitempty"`
	Severity     string `json:"severity,omitempty"`
	Critical     bool   `json:"critical"`
	Status       string `json:"status"`
	// Note is what the inspector wrote on the failed answer.
	Note     string     `json:"note,omitempty"`
	OpenedAt time.Time  `json:"opened_at"`
	Deadline *time.Time `json:"deadline"`
	Overdue  bool       `json:"overdue"`
	// Repeat counts the later approved inspections of the venue that failed
	// the item again while this finding stood (重复违规).
	Repeat int    `json:"repeat"`
	Order  *Order `json:"order,omitempty"`

	RecheckInspectionID string     `json:"recheck_inspection_id,omitempty"`
	RecheckedAt         *time.Time `json:"rechecked_at,omitempty"`
	ClosedAt            *time.Time `json:"closed_at,omitempty"`
	ClosedBy            string     `json:"closed_by,omitempty"`
	CloseNote           string     `json:"close_note,omitempty"`
	EscalatedAt         *time.Time `json:"escalated_at,omitempty"`
	EscalatedBy         string     `json:"escalated_by,omitempty"`
	EscalationReason    string     `json:"escalation_reason,omitempty"`
	CaseID              string     `json:"case_id,omitempty"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// Unresolved reports whether the finding still stands in the ledger
// waiting for a fix: open or ordered.
func (f Finding) Unresolved() bool {
	return f.Status == FindingOpen || f.Status == FindingOrdered
}

// IsOverdue is the one definition of overdue: ordered, its deadline passed
// and no re-check yet.
func IsOverdue(f Finding, now time.Time) bool {
	return f.Status == FindingOrdered && f.Order != nil && now.After(f.Order.Deadline)
}

// FindingAction is one step a person or the server takes on a finding.
type FindingAction struct {
	Action string
	By     string // username, or "system" for re-checks
	// order
	Deadline   time.Time
	Text       string // order: the required action; close: the note; escalate: the reason
	Comment    string // order: an optional comment
	LegalBasis string // order: from the checklist item
	Number     string // order: assigned by the store
	// re-checks
	InspectionID string
}

// DecideFinding applies one action to a finding, or refuses it with a
// reason a person can act on: CodeInvalid for bad input, CodeConflict for
// an action the finding's state does not allow.
func DecideFinding(f Finding, a FindingAction, now time.Time) (Finding, error) {
	refuse := func(format string, args ...any) (Finding, error) {
		return f, Errorf(CodeConflict, "finding %s is %s: %s", f.ID, f.Status, fmt.Sprintf(format, args...))
	}
	if err := CheckText("text", a.Text, MaxCommentLen); err != nil {
		return f, err
	}
	if err := CheckText("comment", a.Comment, MaxCommentLen); err != nil {
		return f, err
	}
	out := f
	out.UpdatedAt = now
	switch a.Action {
	case FindingActOrder:
		if strings.TrimSpace(a.Text) == "" {
			return f, Errorf(CodeInvalid, "an order to correct needs the action the venue must take")
		}
		if !a.Deadline.After(now) {
			return f, Errorf(CodeInvalid, "the deadline %s is not after now", FormatTime(a.Deadline))
		}
		if a.Deadline.After(now.AddDate(0, 0, MaxOrderDays)) {
			return f, Errorf(CodeInvalid, "the deadline is more than %d days away", MaxOrderDays)
		}
		if f.Status != FindingOpen {
			return refuse("only an open finding can be ordered corrected")
		}
		d := a.Deadline
		out.Status = FindingOrdered
		out.Deadline = &d
		out.Order = &Order{Number: a.Number, Deadline: d, Action: a.Text, LegalBasis: a.LegalBasis, Comment: a.Comment, OrderedBy: a.By, OrderedAt: now}
	case FindingActRecheckPass:
		if !f.Unresolved() {
			return refuse("only an open or ordered finding can be re-checked")
		}
		if a.InspectionID == "" {
			return f, Errorf(CodeInvalid, "a re-check names the inspection that made it")
		}
		t := now
		out.Status = FindingRechecked
		out.RecheckInspectionID = a.InspectionID
		out.RecheckedAt = &t
	case FindingActRecheckFail:
		if !f.Unresolved() {
			return refuse("only an open or ordered finding counts a repeat")
		}
		out.Repeat++
	case FindingActClose:
		if strings.TrimSpace(a.Text) == "" {
			return f, Errorf(CodeInvalid, "closing a finding needs a note saying how the fix was verified")
		}
		if f.Status != FindingRechecked {
			return refuse("it can be closed only after a re-check passed")
		}
		t := now
		out.Status = FindingClosed
		out.ClosedAt, out.ClosedBy, out.CloseNote = &t, a.By, a.Text
	case FindingActEscalate:
		if strings.TrimSpace(a.Text) == "" {
			return f, Errorf(CodeInvalid, "escalating a finding to a case needs a reason")
		}
		if f.Status == FindingClosed || f.Status == FindingEscalated {
			return refuse("a closed or escalated finding cannot be escalated")
		}
		t := now
		out.Status = FindingEscalated
		out.EscalatedAt, out.EscalatedBy, out.EscalationReason = &t, a.By, a.Text
	default:
		return f, Errorf(CodeInvalid, "action %q is not order, close or escalate", truncate(a.Action, 20))
	}
	out.Overdue = IsOverdue(out, now)
	return out, nil
}

// FindingChange is one transition FindingsOnApproval decided for a
// finding that existed already.
type FindingChange struct {
	Action string
	Before Finding
	After  Finding
}

// FindingsOnApproval decides what approving in does to the ledger, given
// the unresolved (open or ordered) findings of its venue. A failed item
// opens a finding, unless one of the venue and item stands already: that
// one counts a repeat instead. A passed item with at least one photo
// re-checks the standing findings of the venue and item, and so does the
// item of the finding the inspection names in RecheckOf. A pass without a
// photo proves nothing and changes nothing.
func FindingsOnApproval(in Inspection, cl Checklist, unresolved []Finding, now time.Time, newID func() string) ([]Finding, []FindingChange) {
	byItem := map[string][]Finding{}
	for _, f := range unresolved {
		if f.VenueID == in.VenueID && f.Unresolved() {
			byItem[f.ItemID] = append(byItem[f.ItemID], f)
		}
	}
	var created []Finding
	var changed []FindingChange
	step := func(f Finding, act string) {
		after, err := DecideFinding(f, FindingAction{Action: act, By: "system", InspectionID: in.ID}, now)
		if err == nil {
			changed = append(changed, FindingChange{Action: act, Before: f, After: after})
		}
	}
	for _, it := range in.Items {
		standing := byItem[it.ItemID]
		switch {
		case it.Result == ResultFail && len(standing) > 0:
			for _, f := range standing {
				step(f, FindingActRecheckFail)
			}
		case it.Result == ResultFail:
			ci, _ := cl.Item(it.ItemID)
			created = append(created, Finding{
				ID: newID(), InspectionID: in.ID, VenueID: in.VenueID, SquadID: in.SquadID, ItemID: it.ItemID,
				TitleZH: ci.TitleZH, Severity: ci.Severity, Critical: ci.Severity == SeverityCritical,
				Status: FindingOpen, Note: it.Note, OpenedAt: now, UpdatedAt: now,
			})
		case it.Result == ResultPass && len(it.Photos) > 0:
			for _, f := range standing {
				step(f, FindingActRecheckPass)
			}
		}
	}
	return created, changed
}

// RecheckTarget checks the finding an inspection says it re-checks: it must
// be one of the inspection's venue and still stand.
func RecheckTarget(in Inspection, f Finding) error {
	if f.VenueID != in.VenueID {
		return Errorf(CodeInvalid, "finding %s is of another venue than inspection %s", f.ID, in.ID)
	}
	if !f.Unresolved() {
		return Errorf(CodeConflict, "finding %s is %s; only an open or ordered finding is re-checked", f.ID, f.Status)
	}
	return nil
}

// OrderNumber formats the number of an order to correct: the year and its
// sequence in that year, as the bureau's documents number them.
func OrderNumber(year, n int) string { return docNumber("责改", year, n) }

// ParseOrderNumber reads the year and sequence back from a number that
// OrderNumber made; ok is false for any other text.
func ParseOrderNumber(s string) (year, n int, ok bool) { return parseDocNumber("责改", s) }

// docNumber is the form of every document number the bureau gives in
// sequence per year: PREFIX〔YYYY〕N号.
func docNumber(prefix string, year, n int) string {
	return fmt.Sprintf("%s〔%d〕%d号", prefix, year, n)
}

// parseDocNumber reads the year and sequence back from a number that
// docNumber made with prefix; ok is false for any other text.
func parseDocNumber(prefix, s string) (year, n int, ok bool) {
	var rest string
	if _, err := fmt.Sscanf(s, prefix+"〔%d〕%d%s", &year, &n, &rest); err != nil || rest != "号" || n <= 0 {
		return 0, 0, false
	}
	return year, n, docNumber(prefix, year, n) == s
}
