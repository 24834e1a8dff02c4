package schema

import (
	"encoding/json"
	"fmt"
	"time"
)

// The rules of a push, as plain functions: each takes a valid mutation and
// what the server holds of the rows it names, and returns a Decision. A
// store loads those rows, calls the rule, and carries the decision out in
// the push's transaction; the rules read and write nothing themselves, so
// they are tested as tables and the same answers hold on every store.

// Pusher is the device a push comes from, as the server authenticated it,
// and the times its mutations are judged at.
type Pusher struct {
	DeviceID string
	UserID   string
	Username string // the author of the inspections it pushes
	Squad    int64
	InSquad  bool // false: the account belongs to no squad and may push nothing
	// Members are the active users of the squad and its allowed
	// co-inspectors, as the server holds them when the push arrives: whom
	// its inspections may name (CheckInspectors). A store looks them up
	// once per push.
	Members []Member
	// ReceivedAt is when the request arrived: the device's claims about
	// time are judged against it. Now is the time of the transaction that
	// applies the push, at which the server's own rules (the reassignment
	// grace) are read and its writes are stamped.
	ReceivedAt time.Time
	Now        time.Time
}

// Effect is what a decision has the store write besides the answer.
type Effect uint8

// Effects of a decision.
const (
	EffectNone    Effect = iota // the answer only
	EffectInsert                // write Venue or Inspection as a new record
	EffectReplace               // overwrite the stored record with Venue or Inspection
)

// Decision is the verdict on one mutation: its answer, the record to
// write and the conflicts to record with it. Once the store has written
// the conflicts, the answer's ConflictID is the id of the first.
type Decision struct {
	Result     MutationResult
	Effect     Effect
	Venue      *Venue      // the venue to write (venue mutations)
	Inspection *Inspection // the inspection to write, as the server stores it
	Conflicts  []ConflictDecision
}

// RecordedAnswer is the answer a server recorded for a mutation id, and
// who sent it.
type RecordedAnswer struct {
	DeviceID   string
	UserID     string // "" when the device is unknown
	Outcome    string
	Code       Code
	Reason     string
	ConflictID string
}

// AnswerReplay answers a mutation whose id was answered before. The same
// device, or another device of the same inspector (re-enrolled after a
// revoked token, keeping its outbox), gets the recorded answer as a
// duplicate, so a replay changes nothing and is answered the same; anyone
// else used an id that is taken and must make a new one.
func AnswerReplay(id string, prev RecordedAnswer, p Pusher) MutationResult {
	if prev.DeviceID != p.DeviceID && prev.UserID != p.UserID {
		return Reject(id, CodeConflict, fmt.Sprintf("mutation id %s was already used by another device; make a new id", id))
	}
	return MutationResult{ID: id, Outcome: OutcomeDuplicate, Original: prev.Outcome, Code: prev.Code, Reason: prev.Reason, ConflictID: prev.ConflictID}
}

// Refusal answers a mutation that no state of the server can make
// acceptable: invalid is what ValidateMutation said of it, and a pusher
// without a squad may push nothing. It reports false for a mutation the
// rules of its kind must decide.
func Refusal(m *Mutation, invalid error, p Pusher) (MutationResult, bool) {
	if invalid != nil {
		se, ok := invalid.(*Error)
		if !ok {
			se = Errorf(CodeInvalid, "%v", invalid)
		}
		return Reject(m.ID, se.Code, se.Message), true
	}
	if !p.InSquad {
		return Reject(m.ID, CodeForbidden, "your account belongs to no squad; ask an admin to assign one"), true
	}
	return MutationResult{}, false
}

// Reject is the answer that refuses mutation id for a reason a person can
// act on.
func Reject(id string, code Code, reason string) MutationResult {
	return MutationResult{ID: id, Outcome: OutcomeRejected, Code: code, Reason: reason}
}

func applied(id string) MutationResult { return MutationResult{ID: id, Outcome: OutcomeApplied} }

// DecideVenueCreate decides a venue.create stamped hlc; existing is the
// venue the server holds under the same id, nil if none. A device that
// sends its own creation again (an answer lost on the way) is answered
// applied; an id another device created is taken. The new venue joins the
// pusher's squad.
func DecideVenueCreate(m *Mutation, p Pusher, existing *Venue, hlc string) Decision {
	if existing != nil {
		if existing.CreatedBy == p.DeviceID {
			return Decision{Result: applied(m.ID)}
		}
		return Decision{Result: takenID(m.ID, "venue", m.Venue.ID)}
	}
	v := m.Venue.Stamped(hlc)
	v.SquadID = p.Squad
	v.CreatedBy = p.DeviceID
	v.UpdatedAt = p.Now
	return Decision{Result: applied(m.ID), Effect: EffectInsert, Venue: &v}
}

// DecideVenueUpdate decides a venue.update stamped hlc; v is the venue the
// server holds, nil if none, leftAt when it last left the pusher's squad
// (zero if it never did), and restamped translates the bases the edit
// names (see MergeFields). Only the venue's squad edits it; a venue the
// squad never had is answered as an unknown one. An edit of a deleted
// venue is kept as a conflict and never resurrects it (code gone);
// otherwise the fields merge, and concurrent edits answer conflict with
// the merged venue.
func DecideVenueUpdate(m *Mutation, p Pusher, v *Venue, leftAt time.Time, hlc string, restamped func(string) (string, bool)) Decision {
	u := m.VenueUpdate
	if v == nil || v.SquadID != p.Squad && leftAt.IsZero() {
		return Decision{Result: unknownVenue(m.ID, u.VenueID)}
	}
	if !SquadScope(p.Squad).Covers(v.SquadID) {
		return Decision{Result: Reject(m.ID, CodeForbidden, fmt.Sprintf("venue %s is not in your squad", u.VenueID))}
	}
	if v.Deleted {
		values := make(map[string]string, len(u.Fields))
		for f, e := range u.Fields {
			values[f] = e.Value
		}
		body, _ := json.Marshal(values)
		sv := *v
		return Decision{
			Result: MutationResult{ID: m.ID, Outcome: OutcomeConflict, Code: CodeGone, ServerVenue: &sv,
				Reason: fmt.Sprintf("venue %s was deleted on the server; the edit was kept as a conflict for your squad leader", v.ID)},
			Conflicts: []ConflictDecision{{SquadID: v.SquadID, Kind: ConflictEditOfDeleted, EntityKind: "venue", EntityID: v.ID,
				ServerValue: "deleted", DeviceValue: string(body), Winner: WinnerServer}},
		}
	}
	fm := MergeFields(*v, u.Fields, hlc, restamped)
	d := Decision{Result: applied(m.ID), Conflicts: fm.Conflicts}
	if fm.Changed {
		fm.Venue.UpdatedAt = p.Now
		d.Effect, d.Venue = EffectReplace, &fm.Venue
	}
	if len(fm.Conflicts) > 0 {
		sv := fm.Venue
		d.Result = MutationResult{ID: m.ID, Outcome: OutcomeConflict, Code: CodeConflict, ServerVenue: &sv,
			Reason: fmt.Sprintf("%d field(s) of venue %s were edited concurrently; merged by clock and recorded", len(fm.Conflicts), v.ID)}
	}
	return d
}

// StoredInspection is the server's copy of an inspection and who wrote it.
type StoredInspection struct {
	Inspection
	AuthorID string // the user whose device pushed it
}

// DecideInspection decides an inspection.upsert stamped hlc (restamped:
// the server replaced the device's stamp, which makes the record's times
// suspect). venue is what the server knows of the inspected venue's
// squad, stored the server's copy of the inspection, nil if none.
//
// A version that would be written names only inspectors the pusher's
// squad may put on a record (CheckInspectors against p.Members), and is
// written with their names and badge numbers as the server holds them. A
// new inspection is written as the server stores it (see
// InspectionRecord). A version of an existing one replaces it when it is
// newer by clock and by the same inspector, as its next Version, submitted
// again (a returned one so goes back to its leader); an older or equal
// version is a late copy, answered applied without a change. An amendment
// of an inspection a leader approved already is kept as a conflict
// instead. A version that changes a sealed on-site record the server holds
// is rejected (CheckRecordChange): a change of a signed record must be an
// amendment of it.
func DecideInspection(m *Mutation, p Pusher, venue VenueSquad, stored *StoredInspection, hlc string, restamped bool) Decision {
	in := m.Inspection
	if !venue.Known || venue.Squad != p.Squad && venue.LeftAt.IsZero() {
		return Decision{Result: unknownVenue(m.ID, in.VenueID)}
	}
	if !venue.TakesInspectionFrom(p.Squad, in.StartedAt, p.Now) {
		return Decision{Result: Reject(m.ID, CodeForbidden, fmt.Sprintf("venue %s is not in your squad", in.VenueID))}
	}
	if stored != nil && stored.AuthorID != p.UserID {
		return Decision{Result: takenID(m.ID, "inspection", in.ID)}
	}
	if stored != nil && CompareHLCStrings(hlc, stored.HLC) <= 0 {
		return Decision{Result: applied(m.ID)}
	}
	named, err := CheckInspectors(in.Inspectors, p.Username, p.Squad, p.Members)
	if err != nil {
		se, ok := err.(*Error)
		if !ok {
			se = Errorf(CodeInvalid, "%v", err)
		}
		return Decision{Result: Reject(m.ID, se.Code, fmt.Sprintf("inspection %s: %s", in.ID, se.Message))}
	}
	if stored != nil {
		if err := CheckRecordChange(&stored.Inspection, in); err != nil {
			return Decision{Result: Reject(m.ID, err.Code, err.Message)}
		}
	}
	if in.Record != nil && in.Record.Signing != nil {
		// A signed record keeps the officers as the party saw them named
		// on it: the seal covers them. Their badge numbers must be the
		// ones the server knows: a record is evidence of who was there.
		for i := range named {
			if in.Inspectors[i].BadgeNo != named[i].BadgeNo {
				return Decision{Result: Reject(m.ID, CodeInvalid, fmt.Sprintf("on-site record of inspection %s names badge %s for %s; the server knows badge %s",
					in.ID, truncate(in.Inspectors[i].BadgeNo, 40), named[i].Username, named[i].BadgeNo))}
			}
		}
		named = in.Inspectors
	}
	if stored == nil {
		rec := InspectionRecord(in, p, hlc, restamped)
		rec.Inspectors = named
		rec.Version = 1
		return Decision{Result: applied(m.ID), Effect: EffectInsert, Inspection: &rec}
	}
	if stored.Status != StatusSubmitted && stored.Status != StatusReturned {
		sv, _ := json.Marshal(stored.Inspection)
		dv, _ := json.Marshal(in)
		si := stored.Inspection
		return Decision{
			Result: MutationResult{ID: m.ID, Outcome: OutcomeConflict, Code: CodeConflict, ServerInspection: &si,
				Reason: fmt.Sprintf("inspection %s was already reviewed (%s); the edit was kept as a conflict for your squad leader", in.ID, reviewDecision(stored))},
			Conflicts: []ConflictDecision{{SquadID: stored.SquadID, Kind: ConflictEditAfterReview, EntityKind: "inspection", EntityID: in.ID,
				ServerValue: string(sv), DeviceValue: string(dv), Winner: WinnerServer}},
		}
	}
	// A submitted one not yet reviewed, or a returned one amended by its
	// author: the next version, submitted for review.
	rec := InspectionRecord(in, p, hlc, restamped)
	rec.Inspectors = named
	rec.Status = StatusSubmitted
	rec.Version = max(stored.Version, 1) + 1
	return Decision{Result: applied(m.ID), Effect: EffectReplace, Inspection: &rec}
}

// InspectionRecord is a pushed inspection as the server stores it: in the
// pusher's squad and device, stamped hlc, without review, its times flagged
// suspect when the stamp was restamped or the times are implausible at
// receipt (InspectionTimeSuspect). Whether its photos arrived is not part
// of the record: a store works that out when it reads one.
func InspectionRecord(in *Inspection, p Pusher, hlc string, restamped bool) Inspection {
	rec := *in
	rec.SquadID = p.Squad
	rec.DeviceID = p.DeviceID
	rec.Review = nil
	rec.HLC = hlc
	rec.TimeSuspect = restamped || InspectionTimeSuspect(in, p.ReceivedAt)
	rec.Venue, rec.MissingPhotos, rec.PhotosComplete, rec.Flags = nil, nil, nil, nil
	return rec
}

// Facts is what a store looked up, for one push, of the rows its
// mutations name: the rules read nothing else.
type Facts interface {
	// Venue is the server's venue under id, nil if none.
	Venue(id string) *Venue
	// VenueSquad is what the server knows of the squad of venue id.
	VenueSquad(id string) VenueSquad
	// VenueLeftAt is when venue id last left the pushing squad (zero: it
	// never did).
	VenueLeftAt(id string) time.Time
	// Inspection is the server's copy of inspection id, nil if none.
	Inspection(id string) *StoredInspection
	// Restamp is the stamp the server gave in place of base, if it did.
	Restamp(base string) (string, bool)
	// PhotoHolding is what the pushing squad holds of photo sha.
	PhotoHolding(sha string) PhotoHolding
	// RecordNumberHolder is the id of the inspection whose on-site record
	// carries number, "" if none does.
	RecordNumberHolder(number string) string
}

// DecideMutation applies the rule of a mutation's kind to what the store
// knows: a mutation that Refusal let through, stamped hlc (restamped when
// the server replaced the device's). It returns the decision and, for an
// inspection to write, the claim state of each photo it names; a photo
// the rules refuse to let it name makes the decision a rejection.
func DecideMutation(m *Mutation, p Pusher, f Facts, hlc string, restamped bool) (Decision, map[string]string) {
	switch m.Kind {
	case MutVenueCreate:
		return DecideVenueCreate(m, p, f.Venue(m.Venue.ID), hlc), nil
	case MutVenueUpdate:
		id := m.VenueUpdate.VenueID
		return DecideVenueUpdate(m, p, f.Venue(id), f.VenueLeftAt(id), hlc, f.Restamp), nil
	}
	d := DecideInspection(m, p, f.VenueSquad(m.Inspection.VenueID), f.Inspection(m.Inspection.ID), hlc, restamped)
	if d.Inspection == nil {
		return d, nil
	}
	if r := d.Inspection.Record; r != nil {
		if holder := f.RecordNumberHolder(r.Number); holder != "" && holder != d.Inspection.ID {
			return Decision{Result: Reject(m.ID, CodeInvalid, fmt.Sprintf("on-site record number %s is taken by another inspection; each record has its own number", r.Number))}, nil
		}
	}
	claims, refusal := ClaimPhotos(d.Inspection, f.PhotoHolding)
	if refusal != nil {
		return Decision{Result: Reject(m.ID, refusal.Code, refusal.Message)}, nil
	}
	return d, claims
}

// reviewDecision names the decision that closed a stored inspection to
// amendments.
func reviewDecision(stored *StoredInspection) string {
	if stored.Review != nil && stored.Review.Decision != "" {
		return stored.Review.Decision
	}
	return stored.Status
}
