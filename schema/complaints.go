package schema

import "time"

// Complaints from the public (12318, merged into 12345 since 2021): intake
// → assignment to the squad whose area holds the venue → investigation (an
// inspection) → handling → reply to the complainant. Acceptance must be
// decided within ComplaintAcceptDays, the complaint finished within
// ComplaintFinishDays of acceptance, with one extension of at most
// ComplaintMaxExtensionDays (信访工作条例 arts. 22, 34); the server's
// limits are configurable, these are the defaults.

// Complaint channels.
const (
	Channel12318  = "12318"
	Channel12345  = "12345"
	ChannelLetter = "letter"
	ChannelVisit  = "visit"
	ChannelOnline = "online"
)

// ComplaintChannels lists the channels.
var ComplaintChannels = []string{Channel12318, Channel12345, ChannelLetter, ChannelVisit, ChannelOnline}

// Complaint categories.
const (
	CategoryCafe         = "cafe"         // 网吧
	CategoryArcade       = "arcade"       // 游艺娱乐 (arcades, KTV)
	CategoryPublications = "publications" // 出版物
)

// ComplaintCategories lists the categories.
var ComplaintCategories = []string{CategoryCafe, CategoryArcade, CategoryPublications}

// Complaint states, in order; rejected (不予受理) ends a complaint at
// acceptance.
const (
	ComplaintReceived      = "received"
	ComplaintAccepted      = "accepted"
	ComplaintInvestigating = "investigating" // an inspection of it reached the server
	ComplaintHandled       = "handled"
	ComplaintAnswered      = "answered" // the complainant was replied to
	ComplaintClosed        = "closed"
	ComplaintRejected      = "rejected"
)

// ComplaintStates lists the states.
var ComplaintStates = []string{ComplaintReceived, ComplaintAccepted, ComplaintInvestigating, ComplaintHandled,
	ComplaintAnswered, ComplaintClosed, ComplaintRejected}

// Complaint actions.
const (
	ComplaintActAccept = "accept" // received → accepted
	ComplaintActReject = "reject" // received → rejected, with a reason
	ComplaintActAssign = "assign" // change the squad (received or accepted), with a reason
	ComplaintActExtend = "extend" // once, ≤ max days, with a reason
	ComplaintActHandle = "handle" // accepted|investigating → handled, with the result
	ComplaintActAnswer = "answer" // handled → answered, with the reply
	ComplaintActClose  = "close"  // answered (or handled when no reply is wanted) → closed
)

// Default time limits of complaint handling, in days.
const (
	ComplaintAcceptDays       = 15
	ComplaintFinishDays       = 60
	ComplaintMaxExtensionDays = 30
)

// ComplaintLimits are the time limits a server applies.
type ComplaintLimits struct {
	AcceptDays       int `json:"accept_days"`
	FinishDays       int `json:"finish_days"`
	MaxExtensionDays int `json:"max_extension_days"`
}

// DefaultComplaintLimits are the limits of the general petition rules.
func DefaultComplaintLimits() ComplaintLimits {
	return ComplaintLimits{AcceptDays: ComplaintAcceptDays, FinishDays: ComplaintFinishDays, MaxExtensionDays: ComplaintMaxExtensionDays}
}

// ComplaintExtension is the one extension of a complaint's due date.
type ComplaintExtension struct {
	Days   int       `json:"days"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// ComplaintReply is the reply to the complainant.
type ComplaintReply struct {
	Text   string    `json:"text"`
	Method string    `json:"method"` // phone, sms, letter, visit, online
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Complaint is one complaint as the workbench and the API show it.
// Contact is the complainant's contact, filled only for readers allowed
// to see it (admins and the assigned squad's leader); it never reaches a
// device. Overdue is computed on reading: received past AcceptBy, or
// not finished past Due.
type Complaint struct {
	ID           string              `json:"id"`
	Number       string              `json:"number"` // 投诉〔YYYY〕N号
	Channel      string              `json:"channel"`
	Category     string              `json:"category"`
	ReceivedAt   time.Time           `json:"received_at"`
	ReceivedBy   string              `json:"received_by"`
	Contact      string              `json:"contact,omitempty"`
	ReplyWanted  bool                `json:"reply_wanted"`
	VenueID      string              `json:"venue_id,omitempty"`
	Place        string              `json:"place,omitempty"` // a described place when no known venue
	Content      string              `json:"content"`
	SquadID      int64               `json:"squad_id"`
	Status       string              `json:"status"`
	AcceptBy     time.Time           `json:"accept_by"`
	Due          time.Time           `json:"due"`
	Overdue      bool                `json:"overdue"`
	AcceptedAt   *time.Time          `json:"accepted_at,omitempty"`
	AcceptedBy   string              `json:"accepted_by,omitempty"`
	RejectReason string              `json:"reject_reason,omitempty"`
	Extension    *ComplaintExtension `json:"extension,omitempty"`
	// InspectionIDs are the inspections that investigated it.
	InspectionIDs []string        `json:"inspection_ids"`
	Handling      string          `json:"handling,omitempty"`
	HandledBy     string          `json:"handled_by,omitempty"`
	HandledAt     *time.Time      `json:"handled_at,omitempty"`
	Reply         *ComplaintReply `json:"reply,omitempty"`
	ClosedBy      string          `json:"closed_by,omitempty"`
	ClosedAt      *time.Time      `json:"closed_at,omitempty"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// ComplaintTask is what a device of the assigned squad receives of a
// complaint to investigate: never the complainant or their contact.
type ComplaintTask struct {
	ID       string    `json:"id"`
	Number   string    `json:"number"`
	SquadID  int64     `json:"squad_id"`
	Category string    `json:"category"`
	VenueID  string    `json:"venue_id,omitempty"`
	Place    string    `json:"place,omitempty"`
	Content  string    `json:"content"`
	Status   string    `json:"status"`
	Due      time.Time `json:"due"`
}
