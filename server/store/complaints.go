package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
)

// Complaints are the public's complaints (12318 / 12345): intake by the
// bureau's staff, assignment to a squad, the squad's handling and the reply.
// The complainant's contact is stored with the complaint and shown only to
// readers whose schema.ComplaintAccess covers its squad; a device receives
// a complaint only as a schema.ComplaintTask in its pull.
type Complaints interface {
	// CreateComplaint takes a complaint in (schema.CheckComplaintIntake)
	// and assigns it: to the squad of the venue it names; else to the squad
	// whose area holds its lat/lng; else to in.SquadID; else it is invalid,
	// saying what to add. It numbers it (投诉〔YYYY〕N号), sets accept_by and
	// due by lim, and audits complaint_received, all in one transaction,
	// and returns it as stored (with the contact: the caller took it in).
	CreateComplaint(ctx context.Context, in schema.ComplaintIntake, by string, lim schema.ComplaintLimits) (schema.Complaint, error)
	// Complaint reads one complaint as a reads it (schema.ComplaintSeenBy);
	// one whose squad a.Read does not cover is not found.
	Complaint(ctx context.Context, id string, a schema.ComplaintAccess) (schema.Complaint, error)
	// ListComplaints lists the complaints a may read that match f, newest
	// received first, each as a reads it.
	ListComplaints(ctx context.Context, f ComplaintFilter, a schema.ComplaintAccess) ([]schema.Complaint, error)
	// ActOnComplaint applies an action (schema.DecideComplaint) to a
	// complaint a.Act covers (else not found), in one transaction with its
	// audit entry; an assignment moves the squad's task off its devices and
	// onto the new squad's. It returns the complaint as a reads it after.
	ActOnComplaint(ctx context.Context, id string, act schema.ComplaintAction, a schema.ComplaintAccess, lim schema.ComplaintLimits) (schema.Complaint, error)
}

// ComplaintFilter selects complaints for the workbench and the API.
type ComplaintFilter struct {
	SquadID *int64 // nil: every squad the reader may read
	Status  string // "": any
	Overdue bool   // only those past a limit now
	// After continues the listing past the complaint of the cursor
	// (ComplaintCursorOf the last one of the previous page).
	After string
	Limit int
}

// Page sizes of ListComplaints.
const (
	DefaultComplaintLimit = 100
	MaxComplaintLimit     = 500
)

// ComplaintLimit is f.Limit clamped to the page sizes.
func (f ComplaintFilter) ComplaintLimit() int {
	switch {
	case f.Limit <= 0:
		return DefaultComplaintLimit
	case f.Limit > MaxComplaintLimit:
		return MaxComplaintLimit
	}
	return f.Limit
}

// ComplaintCursor is the keyset position of a complaint listing: the
// received_at (as stored) and id of the last complaint delivered.
type ComplaintCursor = InspectionCursor

// ComplaintCursorOf is the After that continues a listing past c.
func ComplaintCursorOf(c schema.Complaint) string {
	b, _ := json.Marshal(ComplaintCursor{Key: schema.FormatTime(c.ReceivedAt), ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeComplaintCursor decodes the After of a complaint filter; one that
// is not a cursor (a client may send any text) is invalid.
func DecodeComplaintCursor(s string) (ComplaintCursor, error) {
	c, err := DecodeInspectionCursor(s)
	if err != nil {
		return c, schema.Errorf(schema.CodeInvalid, "after is not a cursor of this complaint listing; start again without it")
	}
	return c, nil
}

// CheckComplaintFilter validates a filter's status and cursor.
func CheckComplaintFilter(f ComplaintFilter) (ComplaintCursor, error) {
	if f.Status != "" && !schema.ComplaintOpen(f.Status) && !schema.ComplaintFinished(f.Status) {
		return ComplaintCursor{}, schema.Errorf(schema.CodeInvalid, "status %q is not a complaint state", f.Status)
	}
	if f.After == "" {
		return ComplaintCursor{}, nil
	}
	return DecodeComplaintCursor(f.After)
}

// ComplaintRow is a complaint with what only the store keeps of it.
type ComplaintRow struct {
	schema.Complaint
	Lat, Lng *float64
}

// ComplaintWriter is what an adapter's write transaction offers the
// complaint decisions (CreateComplaint, ActOnComplaint): reads and the
// writes of a decision, only SQL.
type ComplaintWriter interface {
	// LoadComplaint reads a complaint with its contact; not found:
	// schema.CodeNotFound.
	LoadComplaint(ctx context.Context, id string) (schema.Complaint, error)
	// InsertComplaint writes a new complaint with a new seq.
	InsertComplaint(ctx context.Context, c ComplaintRow) error
	// UpdateComplaint writes a complaint's state with a new seq; leftSquad,
	// when not 0, is the squad it left by this change: its devices drop
	// the task (complaint_squad_left at the same seq).
	UpdateComplaint(ctx context.Context, c schema.Complaint, leftSquad int64) error
	// NextComplaintNumber takes the next complaint number of a year.
	NextComplaintNumber(ctx context.Context, year int) (int, error)
	// VenueSquad reads the squad of a venue that is not deleted; found is
	// false when there is none.
	VenueSquad(ctx context.Context, venueID string) (squad int64, found bool, err error)
	// SquadAreas reads every squad's jurisdiction polygon.
	SquadAreas(ctx context.Context) ([]SquadArea, error)
	// SquadExists fails with schema.CodeInvalid when the squad does not exist.
	SquadExists(ctx context.Context, id int64) error
	// RecordChange appends the audit entry of a change.
	RecordChange(ctx context.Context, c Change) error
}

// CreateComplaint takes a complaint in inside the caller's write
// transaction (Complaints.CreateComplaint).
func CreateComplaint(ctx context.Context, w ComplaintWriter, in schema.ComplaintIntake, by string, lim schema.ComplaintLimits, now time.Time) (schema.Complaint, error) {
	if err := schema.CheckComplaintIntake(&in, now); err != nil {
		return schema.Complaint{}, err
	}
	squad, how, err := assignComplaint(ctx, w, in)
	if err != nil {
		return schema.Complaint{}, err
	}
	year := OrderYear(in.ReceivedAt)
	n, err := w.NextComplaintNumber(ctx, year)
	if err != nil {
		return schema.Complaint{}, fmt.Errorf("complaint number: %w", err)
	}
	c := schema.Complaint{ID: uuid.NewString(), Number: schema.ComplaintNumber(year, n), Channel: in.Channel, Category: in.Category,
		ReceivedAt: in.ReceivedAt.UTC(), ReceivedBy: by, Contact: in.Contact, ReplyWanted: in.ReplyWanted, VenueID: in.VenueID,
		Place: in.Place, Content: in.Content, SquadID: squad, Status: schema.ComplaintReceived, InspectionIDs: []string{}, UpdatedAt: now}
	c.AcceptBy = schema.ComplaintAcceptBy(c.ReceivedAt, lim)
	c.Due = schema.ComplaintDue(c, lim)
	c.Overdue = schema.ComplaintOverdue(c, now)
	if err := w.InsertComplaint(ctx, ComplaintRow{Complaint: c, Lat: in.Lat, Lng: in.Lng}); err != nil {
		return schema.Complaint{}, err
	}
	sq := squad
	err = w.RecordChange(ctx, Change{Actor: by, EntityKind: schema.AuditComplaint, EntityID: c.ID, SquadID: &sq,
		Action: "complaint_received", To: c.Status,
		Reason: fmt.Sprintf("%s by %s, %s; squad %d %s", c.Number, c.Channel, c.Category, squad, how)})
	return c, err
}

// assignComplaint is the squad a new complaint goes to and how it was
// found: the venue's, the area's that holds the position, the one named.
func assignComplaint(ctx context.Context, w ComplaintWriter, in schema.ComplaintIntake) (int64, string, error) {
	if in.VenueID != "" {
		sq, found, err := w.VenueSquad(ctx, in.VenueID)
		if err != nil {
			return 0, "", err
		}
		if !found {
			return 0, "", schema.Errorf(schema.CodeInvalid, "venue_id %q names no venue; pick a known venue or describe the place instead", in.VenueID)
		}
		return sq, "by the venue", nil
	}
	if in.Lat != nil {
		areas, err := w.SquadAreas(ctx)
		if err != nil {
			return 0, "", err
		}
		if sq, ok := SquadAt(areas, *in.Lat, *in.Lng); ok {
			return sq, "by the area holding the place", nil
		}
	}
	if in.SquadID != nil {
		if err := w.SquadExists(ctx, *in.SquadID); err != nil {
			return 0, "", err
		}
		return *in.SquadID, "as named at intake", nil
	}
	if in.Lat != nil {
		return 0, "", schema.Errorf(schema.CodeInvalid, "no squad's area holds %v,%v; name the squad to take it (squad_id)", *in.Lat, *in.Lng)
	}
	return 0, "", schema.Errorf(schema.CodeInvalid, "a described place needs its position (lat, lng) or the squad to take it (squad_id)")
}

// ActOnComplaint applies an action inside the caller's write transaction
// (Complaints.ActOnComplaint).
func ActOnComplaint(ctx context.Context, w ComplaintWriter, id string, act schema.ComplaintAction, a schema.ComplaintAccess,
	lim schema.ComplaintLimits, now time.Time) (schema.Complaint, error) {
	c, err := w.LoadComplaint(ctx, id)
	if err != nil {
		return schema.Complaint{}, err
	}
	if !a.Act.Covers(c.SquadID) {
		if a.Read.Covers(c.SquadID) {
			return schema.Complaint{}, schema.Errorf(schema.CodeForbidden, "only the leader of squad %d or an admin acts on complaint %s", c.SquadID, c.Number)
		}
		return schema.Complaint{}, schema.Errorf(schema.CodeNotFound, "complaint %s not found", id)
	}
	out, err := schema.DecideComplaint(c, act, lim, now)
	if err != nil {
		return schema.Complaint{}, err
	}
	var left int64
	if out.SquadID != c.SquadID {
		if err := w.SquadExists(ctx, out.SquadID); err != nil {
			return schema.Complaint{}, err
		}
		left = c.SquadID
	}
	if err := w.UpdateComplaint(ctx, out, left); err != nil {
		return schema.Complaint{}, err
	}
	sq := out.SquadID
	ch := Change{Actor: act.By, EntityKind: schema.AuditComplaint, EntityID: c.ID, SquadID: &sq,
		Action: "complaint_" + pastTense[act.Action], From: c.Status, To: out.Status}
	switch act.Action {
	case schema.ComplaintActReject:
		ch.Reason = act.Reason
	case schema.ComplaintActHandle:
		ch.Reason = act.Text
	case schema.ComplaintActAssign:
		ch.Reason = fmt.Sprintf("squad %d → %d: %s", c.SquadID, out.SquadID, act.Reason)
	case schema.ComplaintActExtend:
		ch.Reason = fmt.Sprintf("%d days to %s: %s", act.Days, out.Due.In(ChinaTime).Format(time.DateOnly), act.Reason)
	case schema.ComplaintActAnswer:
		ch.Reason = "by " + act.Method
	}
	if err := w.RecordChange(ctx, ch); err != nil {
		return schema.Complaint{}, err
	}
	return schema.ComplaintSeenBy(out, a), nil
}

// pastTense names the audit action of each complaint action.
var pastTense = map[string]string{
	schema.ComplaintActAccept: "accepted", schema.ComplaintActReject: "rejected", schema.ComplaintActAssign: "assigned",
	schema.ComplaintActExtend: "extended", schema.ComplaintActHandle: "handled", schema.ComplaintActAnswer: "answered",
	schema.ComplaintActClose: "closed",
}

// ComplaintLink is a pushed inspection that names a complaint its squad
// may link it to (schema.ComplaintLinkRefusal passed): the push adapters
// write the link once the inspection's row is in.
type ComplaintLink struct {
	ComplaintID, InspectionID string
	SquadID                   int64
	By                        string
}

// Investigating is the complaint once an inspection of it reached the
// server; changed is false when it was investigating already, or is no
// longer open (an inspection linked after the complaint was handled
// leaves its state alone).
func Investigating(c schema.Complaint, now time.Time) (schema.Complaint, bool) {
	if c.Status == schema.ComplaintInvestigating || !schema.ComplaintOpen(c.Status) {
		return c, false
	}
	c.Status, c.UpdatedAt = schema.ComplaintInvestigating, now
	return c, true
}
