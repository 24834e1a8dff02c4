package schema

import (
	"sort"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema/geo"
)

// Discovery states of a venue. A venue a device recorded in the field
// (venue.create) waits on the squad's workbench as pending until its
// leader confirms it (a black café the ledger now knows, kept for the
// later case) or merges it into a venue already known (two devices
// recorded the same place, or a device recorded a known café anew).
// Venues the bureau entered itself have no discovery state ("").
const (
	DiscoveryPending   = "pending"
	DiscoveryConfirmed = "confirmed"
	DiscoveryMerged    = "merged"
)

// ConflictMergeDisagree is the conflict kind of a merge whose two venues
// held different non-empty values of one field: the survivor's value
// stands, and the leader sees the one the duplicate had.
const ConflictMergeDisagree = "merge_disagreement"

// Audit actions of discoveries (entity kind venue).
const (
	AuditDiscoveryConfirm = "discovery_confirm"
	AuditMergedInto       = "merged_into"  // on the duplicate
	AuditMergeAbsorb      = "merge_absorb" // on the survivor
)

// FieldDiscovered reports whether v was recorded by a device in the field:
// CreatedBy names a device, not a server-side actor ("server:<username>").
func FieldDiscovered(v Venue) bool {
	return v.CreatedBy != "" && !strings.HasPrefix(v.CreatedBy, "server:")
}

// DiscoveryStateOf is the state a newly written venue starts in: pending
// when a device discovered it, none otherwise.
func DiscoveryStateOf(v Venue) string {
	if FieldDiscovered(v) {
		return DiscoveryPending
	}
	return ""
}

// CheckConfirm decides whether a leader may confirm venue v, in state
// state: only a field discovery that is still pending; confirming one
// confirmed already changes nothing (ok false, nil error).
func CheckConfirm(v Venue, state string) (change bool, err error) {
	switch {
	case v.MergedInto != "" || state == DiscoveryMerged:
		return false, Errorf(CodeGone, "venue %s was merged into %s; confirm that one instead", v.ID, v.MergedInto)
	case v.Deleted:
		return false, Errorf(CodeGone, "venue %s was deleted", v.ID)
	case state == DiscoveryConfirmed:
		return false, nil
	case state != DiscoveryPending:
		return false, Errorf(CodeInvalid, "venue %s was not discovered in the field; there is nothing to confirm", v.ID)
	}
	return true, nil
}

// CheckMerge decides whether dup may be merged into into by someone of
// scope. Both venues must be the scope's and, unless the scope is every
// squad (an admin), of one squad; dup must be a field discovery or
// unlicensed, not merged already and not the survivor itself; the
// survivor must stand (not deleted). A merge of dup into into done
// already is answered as done (again true, nil error), so that a retried
// request gets the same answer.
func CheckMerge(dup, into Venue, scope Scope) (again bool, err error) {
	if dup.MergedInto != "" {
		if dup.MergedInto == into.ID {
			return true, nil
		}
		return false, Errorf(CodeConflict, "venue %s was merged into %s already", dup.ID, dup.MergedInto)
	}
	switch {
	case dup.ID == into.ID:
		return false, Errorf(CodeInvalid, "a venue cannot be merged into itself")
	case !scope.All && dup.SquadID != into.SquadID:
		return false, Errorf(CodeForbidden, "venue %s is not of squad %d; only an admin merges venues of two squads", into.ID, dup.SquadID)
	case dup.Deleted:
		return false, Errorf(CodeGone, "venue %s was deleted", dup.ID)
	case into.Deleted:
		return false, Errorf(CodeGone, "venue %s was deleted; choose a venue that stands", into.ID)
	case !FieldDiscovered(dup) && dup.Licensed:
		return false, Errorf(CodeInvalid, "venue %s is a licensed venue of the register, not a field discovery; only those merge away", dup.ID)
	}
	return false, nil
}

// VenueMerge is what merging a duplicate's fields into the survivor
// decided.
type VenueMerge struct {
	Venue     Venue              // the survivor after the merge
	Changed   bool               // some field was filled: the survivor must be written
	Conflicts []ConflictDecision // fields both held with different values
}

// MergeVenueFields merges the duplicate's fields into the survivor: the
// survivor's values win, and a field it holds empty takes the duplicate's
// value through MergeFields (stamped hlc, based on the survivor's clock,
// so it is an ordinary later write devices rebase on). A field both hold
// with different values is kept as the survivor's with a conflict the
// leader sees. Licence state is the survivor's: it is the register's
// word, not a text to fill. Neither venue is changed.
func MergeVenueFields(into, dup Venue, hlc string) VenueMerge {
	edits := map[string]FieldEdit{}
	var conflicts []ConflictDecision
	for _, f := range []string{FieldName, FieldAddress, FieldLicenceNo, FieldPhone} {
		have, other := strings.TrimSpace(into.FieldValue(f)), strings.TrimSpace(dup.FieldValue(f))
		switch {
		case other == "" || have == other:
		case have == "":
			edits[f] = FieldEdit{Value: dup.FieldValue(f), Base: into.Clocks[f]}
		default:
			conflicts = append(conflicts, ConflictDecision{SquadID: into.SquadID, Kind: ConflictMergeDisagree, EntityKind: "venue",
				EntityID: into.ID, Field: f, ServerValue: into.FieldValue(f), DeviceValue: dup.FieldValue(f), Winner: WinnerServer})
		}
	}
	out := VenueMerge{Venue: into, Conflicts: conflicts}
	if len(edits) > 0 {
		fm := MergeFields(into, edits, hlc, nil)
		out.Venue, out.Changed = fm.Venue, fm.Changed
	}
	return out
}

// RedirectMerged rewrites the venue a mutation names when that venue was
// merged: mergedInto gives the survivor of a venue id ("" when it was not
// merged). A device that has not pulled since the merge still names the
// duplicate; its inspection belongs to the survivor, where the leader
// looks for it, so it is applied there instead of refused: refusing would
// set the device's work aside until a person re-entered it. It returns the
// duplicate's id when it rewrote one, "" otherwise. A venue.create is
// never rewritten: it is answered by its own id.
func RedirectMerged(m *Mutation, mergedInto func(id string) string) string {
	switch {
	case m.Inspection != nil:
		if to := mergedInto(m.Inspection.VenueID); to != "" {
			from := m.Inspection.VenueID
			m.Inspection.VenueID = to
			return from
		}
	case m.VenueUpdate != nil:
		if to := mergedInto(m.VenueUpdate.VenueID); to != "" {
			from := m.VenueUpdate.VenueID
			m.VenueUpdate.VenueID = to
			// The bases named the duplicate's clocks: against the survivor
			// they are concurrent edits, recorded as conflicts, not lost.
			return from
		}
	}
	return ""
}

// Discovery is a field-discovered venue as the squad's workbench shows it:
// the venue, who found it and when, its standing zone violations and the
// photos of its inspections, and its state with who decided it.
type Discovery struct {
	Venue       Venue           `json:"venue"`
	State       string          `json:"state"`
	FoundBy     string          `json:"found_by"`      // username of the device's owner
	FoundByName string          `json:"found_by_name"` // display name
	FoundAt     time.Time       `json:"found_at"`
	DecidedBy   string          `json:"decided_by,omitempty"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	Violations  []ZoneViolation `json:"zone_violations"`
	Photos      []PhotoRef      `json:"photos"`
	Inspections []string        `json:"inspections"` // ids, newest first
	// Nearby are the squad's other standing venues within NearbyMergeM,
	// nearest first: what it may be merged into.
	Nearby []NearbyVenue `json:"nearby"`
}

// NearbyVenue is a venue a discovery may be merged into, with its distance.
type NearbyVenue struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	Licensed  bool    `json:"licensed"`
	DistanceM float64 `json:"distance_m"`
}

// NearbyMergeM is how far from a discovery the workbench offers venues to
// merge it into: two devices' fixes of one doorway differ by tens of
// metres, rarely more.
const NearbyMergeM = 300.0

// MergeRequest is the body of POST /api/v1/venues/{id}/merge.
type MergeRequest struct {
	Into string `json:"into"`
}

// MergeResult answers a merge: the survivor after it and the duplicate.
type MergeResult struct {
	Survivor  Venue `json:"survivor"`
	Duplicate Venue `json:"duplicate"`
}

// NearbyVenues are the candidates within NearbyMergeM of v, nearest first
// (then by id), leaving out v itself and venues that do not stand.
func NearbyVenues(v Venue, candidates []Venue) []NearbyVenue {
	out := []NearbyVenue{}
	here := VenueGeometry(v)
	for _, c := range candidates {
		if c.ID == v.ID || c.Deleted || c.MergedInto != "" {
			continue
		}
		d := geo.Distance(VenueGeometry(c), here)
		if !(d <= NearbyMergeM) {
			continue
		}
		out = append(out, NearbyVenue{ID: c.ID, Name: c.Name, Address: c.Address, Licensed: c.Licensed, DistanceM: d})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].DistanceM != out[j].DistanceM {
			return out[i].DistanceM < out[j].DistanceM
		}
		return out[i].ID < out[j].ID
	})
	return out
}
