package schema

import (
	"maps"
	"sort"
	"strconv"
)

// Winners of a conflict: whose value the record kept.
const (
	WinnerServer = "server"
	WinnerDevice = "device"
)

// ConflictDecision is a conflict a rule decided to record for a squad
// leader. It is data: a store writes it as a Conflict row in the
// transaction that applies the decision, naming the mutation and device
// that caused it.
type ConflictDecision struct {
	SquadID     int64
	Kind        string // ConflictConcurrentEdit, ConflictEditOfDeleted, ConflictEditAfterReview
	EntityKind  string // venue or inspection
	EntityID    string
	Field       string // the venue field, for concurrent edits
	ServerValue string
	DeviceValue string
	Winner      string // WinnerServer or WinnerDevice
}

// Conflict is the record a store writes for d, caused by a mutation of a
// device (or a server-side edit and its actor).
func (d ConflictDecision) Conflict(mutationID, deviceID string) Conflict {
	return Conflict{SquadID: d.SquadID, Kind: d.Kind, EntityKind: d.EntityKind, EntityID: d.EntityID, Field: d.Field,
		ServerValue: d.ServerValue, DeviceValue: d.DeviceValue, Winner: d.Winner, MutationID: mutationID, DeviceID: deviceID}
}

// FieldValue returns a mergeable field of v as its wire string (licensed
// is "true" or "false"), the form field edits and conflicts carry; "" for
// a field that does not merge.
func (v *Venue) FieldValue(field string) string {
	switch field {
	case FieldName:
		return v.Name
	case FieldAddress:
		return v.Address
	case FieldLicenceNo:
		return v.LicenceNo
	case FieldLicensed:
		return strconv.FormatBool(v.Licensed)
	case FieldPhone:
		return v.Phone
	case FieldOpenState:
		return v.OpenState
	}
	return ""
}

// SetFieldValue sets a mergeable field from its wire string; a field that
// does not merge is left alone.
func (v *Venue) SetFieldValue(field, value string) {
	switch field {
	case FieldName:
		v.Name = value
	case FieldAddress:
		v.Address = value
	case FieldLicenceNo:
		v.LicenceNo = value
	case FieldLicensed:
		v.Licensed = value == "true"
	case FieldPhone:
		v.Phone = value
	case FieldOpenState:
		v.OpenState = value
	}
}

// Stamped returns v as a newly created venue: every mergeable field
// written at hlc, not deleted, open unless it says otherwise. Device and
// server creations start from it, so the first edit of any field has a
// clock to be based on.
func (v Venue) Stamped(hlc string) Venue {
	v.Deleted = false
	if v.OpenState == "" {
		v.OpenState = OpenStateOpen
	}
	v.Clocks = make(map[string]string, len(VenueFields))
	for _, f := range VenueFields {
		v.Clocks[f] = hlc
	}
	return v
}

// FieldMerge is what merging field edits into a venue decided.
type FieldMerge struct {
	Venue     Venue              // the venue after the merge (its own Clocks map)
	Changed   bool               // some field or clock changed: the venue must be written
	Conflicts []ConflictDecision // concurrent edits, in field name order
}

// MergeFields merges field edits stamped hlc into the venue v, field by
// field, ordered by hybrid logical clock. An edit based on the field's
// current clock applies when hlc is newer (an older one is a late copy of
// something already superseded). An edit based on any other clock was
// concurrent with another write: the greater HLC wins and a conflict is
// recorded either way. It is the one merge for device pushes and server
// edits alike.
//
// restamped translates a base the server replaced because the device's
// clock ran too far ahead (see MaxHLCLead): the device still names its own
// stamp as the base of its next edits of those fields, and that is the
// same version under the server's stamp, not a concurrent one. The caller
// loads the replacements of every base the edits name before calling, so
// that the merge itself reads nothing. v is not changed.
func MergeFields(v Venue, edits map[string]FieldEdit, hlc string, restamped func(base string) (replacement string, ok bool)) FieldMerge {
	out := FieldMerge{Venue: v}
	out.Venue.Clocks = maps.Clone(v.Clocks)
	if out.Venue.Clocks == nil {
		out.Venue.Clocks = map[string]string{}
	}
	names := make([]string, 0, len(edits))
	for f := range edits {
		names = append(names, f)
	}
	sort.Strings(names)
	nv := &out.Venue
	for _, f := range names {
		e := edits[f]
		cur := nv.Clocks[f]
		if e.Base != cur && e.Base != "" && restamped != nil {
			if r, ok := restamped(e.Base); ok && r == cur {
				e.Base = cur
			}
		}
		newer := CompareHLCStrings(hlc, cur) > 0
		if e.Base == cur {
			if newer {
				nv.SetFieldValue(f, e.Value)
				nv.Clocks[f] = hlc
				out.Changed = true
			}
			continue
		}
		c := ConflictDecision{SquadID: nv.SquadID, Kind: ConflictConcurrentEdit, EntityKind: "venue", EntityID: nv.ID, Field: f,
			ServerValue: nv.FieldValue(f), DeviceValue: e.Value, Winner: WinnerServer}
		if newer {
			c.Winner = WinnerDevice
			nv.SetFieldValue(f, e.Value)
			nv.Clocks[f] = hlc
			out.Changed = true
		}
		out.Conflicts = append(out.Conflicts, c)
	}
	return out
}

// Restamps maps the stamps devices sent that the server replaced (a clock
// too far ahead) to their replacements; Lookup is the restamp lookup
// MergeFields and DecideVenueUpdate take.
type Restamps map[string]string

// Lookup is the stamp the server gave in place of base, if it did.
func (r Restamps) Lookup(base string) (string, bool) {
	v, ok := r[base]
	return v, ok
}
