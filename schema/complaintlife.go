package schema

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Bounds of what intake and the actions on a complaint accept: the
// complainant's words are kept whole up to a long letter, everything
// else is short.
const (
	MaxComplaintContent = 8000 // bytes of the complaint's content
	MaxComplaintContact = 200  // bytes of the complainant's contact
	MaxComplaintPlace   = 500  // bytes of a described place
	MaxComplaintIDLen   = 64   // bytes of a complaint id or venue id named from outside
	// MaxComplaintPast is how long before its intake a complaint may have
	// been received (a letter entered late); a later time is a typing error.
	MaxComplaintPast = 366 * 24 * time.Hour
)

// ComplaintReplyMethods are how a complainant may be answered.
var ComplaintReplyMethods = []string{"phone", "sms", "letter", "visit", "online"}

// ComplaintIntake is what the bureau's staff enter of a new complaint.
// Either VenueID (a known venue) or Place (a described place) is set;
// Lat/Lng locate a described place so that the squad whose area holds it
// is assigned; SquadID assigns explicitly when neither locates it.
type ComplaintIntake struct {
	Channel     string    `json:"channel"`
	Category    string    `json:"category"`
	ReceivedAt  time.Time `json:"received_at"` // zero: now
	Contact     string    `json:"contact"`
	ReplyWanted bool      `json:"reply_wanted"`
	VenueID     string    `json:"venue_id"`
	Place       string    `json:"place"`
	Content     string    `json:"content"`
	SquadID     *int64    `json:"squad_id"`
	Lat         *float64  `json:"lat"`
	Lng         *float64  `json:"lng"`
}

// CheckComplaintIntake validates an intake and fills a zero ReceivedAt
// with now. Every text is someone's hostile text: bounded, UTF-8, no
// control characters.
func CheckComplaintIntake(in *ComplaintIntake, now time.Time) error {
	if !slices.Contains(ComplaintChannels, in.Channel) {
		return Errorf(CodeInvalid, "channel %q is not one of %s", clip(in.Channel), strings.Join(ComplaintChannels, ", "))
	}
	if !slices.Contains(ComplaintCategories, in.Category) {
		return Errorf(CodeInvalid, "category %q is not one of %s", clip(in.Category), strings.Join(ComplaintCategories, ", "))
	}
	if strings.TrimSpace(in.Content) == "" {
		return Errorf(CodeInvalid, "content is empty; write down what the complainant reports")
	}
	for _, f := range []struct {
		name, s string
		max     int
	}{{"content", in.Content, MaxComplaintContent}, {"contact", in.Contact, MaxComplaintContact},
		{"place", in.Place, MaxComplaintPlace}, {"venue_id", in.VenueID, MaxComplaintIDLen}} {
		if err := CheckText(f.name, f.s, f.max); err != nil {
			return err
		}
	}
	if in.VenueID == "" && strings.TrimSpace(in.Place) == "" {
		return Errorf(CodeInvalid, "name the venue complained of (venue_id) or describe the place (place)")
	}
	if in.ReplyWanted && strings.TrimSpace(in.Contact) == "" {
		return Errorf(CodeInvalid, "a reply is wanted but contact is empty; note how to reach the complainant")
	}
	if (in.Lat == nil) != (in.Lng == nil) {
		return Errorf(CodeInvalid, "lat and lng go together; give both or neither")
	}
	if in.Lat != nil && (math.IsNaN(*in.Lat) || math.IsNaN(*in.Lng) || *in.Lat < -90 || *in.Lat > 90 || *in.Lng < -180 || *in.Lng > 180) {
		return Errorf(CodeInvalid, "lat/lng %v,%v is no position on earth", *in.Lat, *in.Lng)
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = now
	}
	if in.ReceivedAt.After(now.Add(MaxHLCLead)) {
		return Errorf(CodeInvalid, "received_at %s lies in the future", in.ReceivedAt.UTC().Format(time.RFC3339))
	}
	if in.ReceivedAt.Before(now.Add(-MaxComplaintPast)) {
		return Errorf(CodeInvalid, "received_at %s is more than a year ago", in.ReceivedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// clip shortens hostile text quoted in a refusal.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ComplaintAction is one step a leader or an admin takes on a complaint.
type ComplaintAction struct {
	Action  string `json:"action"`
	By      string `json:"by"`
	Reason  string `json:"reason"`   // reject, assign, extend
	Days    int    `json:"days"`     // extend
	SquadID int64  `json:"squad_id"` // assign: the new squad
	Text    string `json:"text"`     // handle: the result; answer: the reply
	Method  string `json:"method"`   // answer: how the complainant was replied to
}

// ComplaintActions lists the actions.
var ComplaintActions = []string{ComplaintActAccept, ComplaintActReject, ComplaintActAssign, ComplaintActExtend,
	ComplaintActHandle, ComplaintActAnswer, ComplaintActClose}

// ComplaintOpen reports whether a complaint still waits for its
// investigation: the states in which the squad's devices carry its task.
func ComplaintOpen(status string) bool {
	return status == ComplaintReceived || status == ComplaintAccepted || status == ComplaintInvestigating
}

// ComplaintFinished reports whether nothing remains to be done against
// the time limit.
func ComplaintFinished(status string) bool {
	return status == ComplaintHandled || status == ComplaintAnswered || status == ComplaintClosed || status == ComplaintRejected
}

// ComplaintAcceptBy is when acceptance must be decided.
func ComplaintAcceptBy(receivedAt time.Time, lim ComplaintLimits) time.Time {
	return receivedAt.AddDate(0, 0, lim.AcceptDays)
}

// ComplaintDue is when a complaint must be finished: its acceptance (else
// its receipt) plus the finishing days, plus the extension.
func ComplaintDue(c Complaint, lim ComplaintLimits) time.Time {
	base := c.ReceivedAt
	if c.AcceptedAt != nil {
		base = *c.AcceptedAt
	}
	days := lim.FinishDays
	if c.Extension != nil {
		days += c.Extension.Days
	}
	return base.AddDate(0, 0, days)
}

// ComplaintOverdue reports whether a complaint is past a limit at now:
// still received past AcceptBy, or not finished past Due.
func ComplaintOverdue(c Complaint, now time.Time) bool {
	if c.Status == ComplaintReceived && now.After(c.AcceptBy) {
		return true
	}
	return !ComplaintFinished(c.Status) && now.After(c.Due)
}

// ComplaintNumber is the document number of the n-th complaint of a year.
func ComplaintNumber(year, n int) string { return docNumber("投诉", year, n) }

// ParseComplaintNumber reads the year and sequence back from a number
// that ComplaintNumber made; ok is false for any other text.
func ParseComplaintNumber(s string) (year, n int, ok bool) { return parseDocNumber("投诉", s) }

// DecideComplaint applies an action to a complaint at now under the
// limits, or refuses it saying why: conflict when the complaint's state
// does not allow the action, invalid when the action lacks what it needs.
// It changes nothing but the returned copy; the squad of an assignment
// is the caller's to check.
func DecideComplaint(c Complaint, a ComplaintAction, lim ComplaintLimits, now time.Time) (Complaint, error) {
	refuse := func(format string, args ...any) (Complaint, error) {
		return c, Errorf(CodeConflict, "complaint %s is %s: %s", c.Number, c.Status, fmt.Sprintf(format, args...))
	}
	for _, f := range []struct{ name, s string }{{"reason", a.Reason}, {"text", a.Text}} {
		if err := CheckText(f.name, f.s, MaxCommentLen); err != nil {
			return c, err
		}
	}
	need := func(name, s string) error {
		if strings.TrimSpace(s) == "" {
			return Errorf(CodeInvalid, "%s %s needs a %s", a.Action, c.Number, name)
		}
		return nil
	}
	out := c
	out.UpdatedAt = now
	t := now
	switch a.Action {
	case ComplaintActAccept:
		if c.Status != ComplaintReceived {
			return refuse("only a received complaint can be accepted")
		}
		out.Status, out.AcceptedAt, out.AcceptedBy = ComplaintAccepted, &t, a.By
		out.Due = ComplaintDue(out, lim)
	case ComplaintActReject:
		if c.Status != ComplaintReceived {
			return refuse("only a received complaint can be rejected; one accepted is handled instead")
		}
		if err := need("reason", a.Reason); err != nil {
			return c, err
		}
		out.Status, out.RejectReason = ComplaintRejected, a.Reason
	case ComplaintActAssign:
		if c.Status != ComplaintReceived && c.Status != ComplaintAccepted {
			return refuse("only a received or accepted complaint can go to another squad")
		}
		if err := need("reason", a.Reason); err != nil {
			return c, err
		}
		if a.SquadID <= 0 {
			return c, Errorf(CodeInvalid, "assign %s needs the squad_id of the squad to take it", c.Number)
		}
		if a.SquadID == c.SquadID {
			return c, Errorf(CodeInvalid, "complaint %s is squad %d's already", c.Number, c.SquadID)
		}
		out.SquadID = a.SquadID
	case ComplaintActExtend:
		if !ComplaintOpen(c.Status) {
			return refuse("only a complaint not yet handled can be extended")
		}
		if c.Extension != nil {
			return refuse("it was extended once already (%d days); one extension is allowed", c.Extension.Days)
		}
		if a.Days < 1 || a.Days > lim.MaxExtensionDays {
			return c, Errorf(CodeInvalid, "an extension is 1 to %d days, not %d", lim.MaxExtensionDays, a.Days)
		}
		if err := need("reason", a.Reason); err != nil {
			return c, err
		}
		out.Extension = &ComplaintExtension{Days: a.Days, Reason: a.Reason, By: a.By, At: now}
		out.Due = c.Due.AddDate(0, 0, a.Days)
	case ComplaintActHandle:
		if c.Status != ComplaintAccepted && c.Status != ComplaintInvestigating {
			return refuse("only an accepted complaint can be handled; accept it first")
		}
		if err := need("text (the result of the handling)", a.Text); err != nil {
			return c, err
		}
		out.Status, out.Handling, out.HandledBy, out.HandledAt = ComplaintHandled, a.Text, a.By, &t
	case ComplaintActAnswer:
		if c.Status != ComplaintHandled {
			return refuse("only a handled complaint can be answered; handle it first")
		}
		if err := need("text (the reply)", a.Text); err != nil {
			return c, err
		}
		if !slices.Contains(ComplaintReplyMethods, a.Method) {
			return c, Errorf(CodeInvalid, "method %q is not one of %s", clip(a.Method), strings.Join(ComplaintReplyMethods, ", "))
		}
		out.Status, out.Reply = ComplaintAnswered, &ComplaintReply{Text: a.Text, Method: a.Method, By: a.By, At: now}
	case ComplaintActClose:
		switch {
		case c.Status == ComplaintAnswered:
		case c.Status == ComplaintHandled && !c.ReplyWanted:
		case c.Status == ComplaintHandled:
			return refuse("the complainant wants a reply; answer before closing")
		default:
			return refuse("only an answered complaint (or a handled one when no reply is wanted) can be closed")
		}
		out.Status, out.ClosedBy, out.ClosedAt = ComplaintClosed, a.By, &t
	default:
		return c, Errorf(CodeInvalid, "action %q is not one of %s", clip(a.Action), strings.Join(ComplaintActions, ", "))
	}
	out.Overdue = ComplaintOverdue(out, now)
	return out, nil
}

// ComplaintAccess is what a reader may do with complaints: which squads'
// complaints it reads, whose complainants' contacts it reads, and whose
// complaints it acts on. It is data, like Scope, so that a store applies
// it in its own transaction.
type ComplaintAccess struct {
	Read    Scope
	Contact Scope
	Act     Scope
	Intake  bool // may take complaints in
}

// ComplaintAccessOf is the access of a user of role and squad: an admin
// everything; a leader their squad's complaints with contacts, acting on
// them, and intake (a call that reaches a squad is taken in there); the office (intake staff) intake and reading every complaint
// without contacts; an inspector or a device nothing — a complaint reaches
// a device only as its ComplaintTask.
func ComplaintAccessOf(role string, squad *int64, device bool) ComplaintAccess {
	switch {
	case device:
		return ComplaintAccess{}
	case role == RoleAdmin:
		return ComplaintAccess{Read: AllSquads(), Contact: AllSquads(), Act: AllSquads(), Intake: true}
	case role == RoleLeader && squad != nil:
		s := SquadScope(*squad)
		return ComplaintAccess{Read: s, Contact: s, Act: s, Intake: true}
	case role == RoleOffice:
		return ComplaintAccess{Read: AllSquads(), Intake: true}
	}
	return ComplaintAccess{}
}

// ComplaintSeenBy is the complaint as a reader with access a may see it:
// without the complainant's contact unless a covers its squad.
func ComplaintSeenBy(c Complaint, a ComplaintAccess) Complaint {
	if !a.Contact.Covers(c.SquadID) {
		c.Contact = ""
	}
	return c
}

// TaskOf is the complaint as a device of its squad receives it.
func TaskOf(c Complaint) ComplaintTask {
	return ComplaintTask{ID: c.ID, Number: c.Number, SquadID: c.SquadID, Category: c.Category, VenueID: c.VenueID,
		Place: c.Place, Content: c.Content, Status: c.Status, Due: c.Due}
}

// ComplaintLinkRefusal is why a pushed inspection may not name a
// complaint ("" when it may), and whether the server records it as an
// inspection of the complaint (link). found is whether the server holds
// the complaint; left whether the complaint was the pushing squad's and
// was reassigned away from it.
//
// An inspection is evidence, so the complaint's later fate never sets it
// aside: one of a complaint handled or closed since is linked (its state
// stays as it is), and one of a complaint reassigned to another squad
// since is kept without the link. Only a complaint the squad never had, or
// another venue than the complaint names, is refused: no honest device
// makes such a record.
func ComplaintLinkRefusal(c Complaint, found, left bool, squad int64, venueID string) (code Code, reason string, link bool) {
	switch {
	case found && c.SquadID != squad && left:
		return "", "", false
	case !found || c.SquadID != squad:
		return CodeNotFound, "complaint_id names no complaint of your squad; start the inspection without it or pull again", false
	case c.VenueID != "" && c.VenueID != venueID:
		return CodeInvalid, fmt.Sprintf("complaint %s is about venue %s, not %s; inspect that venue or start without the complaint", c.Number, c.VenueID, clip(venueID)), false
	}
	return "", "", true
}

// CheckComplaintLimits refuses limits a server cannot work with.
func CheckComplaintLimits(l ComplaintLimits) error {
	if l.AcceptDays < 1 || l.FinishDays < 1 || l.MaxExtensionDays < 0 || l.AcceptDays > 3650 || l.FinishDays > 3650 || l.MaxExtensionDays > 3650 {
		return fmt.Errorf("complaint limits %+v: accept and finish days must be 1 to 3650, extension 0 to 3650", l)
	}
	return nil
}
