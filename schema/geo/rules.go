package geo

import (
	"slices"
	"strings"
	"time"
)

// Rule is a distance rule around schools, kept as data with an effective
// date because provinces differ and rules change. It is also the wire type
// schema.ZoneRule (an alias), so the rule a device applies offline is the
// one the bureau published, field for field.
//
// A rule applies from the calendar date of EffectiveFrom up to, not
// including, the date of EffectiveTo; a zero EffectiveTo means it is still
// in force, so a successor starts on the day its predecessor stops. An empty
// SchoolKinds or VenueKinds covers every kind.
type Rule struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	DistanceM     float64   `json:"distance_m"`
	Method        string    `json:"method"` // MethodBoundaryStraightLine or MethodDoorWalking
	SchoolKinds   []string  `json:"school_kinds"`
	VenueKinds    []string  `json:"venue_kinds"`
	EffectiveFrom time.Time `json:"effective_from"`
	EffectiveTo   time.Time `json:"effective_to,omitzero"`
	LegalBasis    string    `json:"legal_basis"`
}

// DefaultDistanceM is the zone distance assumed while no rule names one:
// the national rule's 200 m.
const DefaultDistanceM = 200

// Methods of measuring a zone.
const (
	// MethodBoundaryStraightLine is the national reading: a straight line
	// from any point of the campus boundary to any part of the premises.
	MethodBoundaryStraightLine = "boundary_straight_line"
	// MethodDoorWalking is Guangdong's: the walking distance from door to
	// door. It needs a street network, which this package does not have;
	// see Evaluate.
	MethodDoorWalking = "door_walking"
)

// InForce reports whether r applies on day. Each time is read as a calendar
// date in its own location (a rule's dates are days in law, and the bureau's
// day is a day in Beijing), so a rule published as 2002-11-15T00:00:00Z
// applies all of 15 November for an inspector in UTC+8.
func InForce(r Rule, day time.Time) bool {
	d := civil(day)
	if d < civil(r.EffectiveFrom) {
		return false
	}
	return r.EffectiveTo.IsZero() || d < civil(r.EffectiveTo)
}

// civil is a date as a sortable number yyyymmdd.
func civil(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// RuleFor chooses the rule that governs a venue kind near a school kind on
// day, and reports false when none applies (a bookshop near a school, or a
// day before any rule).
//
// Among the rules in force that cover both kinds (an empty list covers every
// kind), the most specific about the school kind wins: one naming the kind
// beats one covering all kinds, and one naming fewer kinds beats one naming
// more — so a provincial "kindergartens: 100 m" overrides the national
// "primary and secondary: 200 m" for kindergartens only. Ties are broken, in
// order, by the same specificity about the venue kind, by the later
// EffectiveFrom (the newer rule supersedes), by the larger DistanceM (of two
// rules of equal standing the bureau errs on the side of the school; a
// flagged venue is reviewed by a person), and finally by the smaller ID, so
// every device chooses the same rule.
func RuleFor(rules []Rule, venueKind, schoolKind string, day time.Time) (Rule, bool) {
	var best *Rule
	for i := range rules {
		r := &rules[i]
		if !covers(r.VenueKinds, venueKind) || !covers(r.SchoolKinds, schoolKind) || !InForce(*r, day) {
			continue
		}
		if best == nil || better(r, best) {
			best = r
		}
	}
	if best == nil {
		return Rule{}, false
	}
	return *best, true
}

func covers(kinds []string, kind string) bool {
	return len(kinds) == 0 || slices.Contains(kinds, kind)
}

// breadth ranks how many kinds a list covers; an empty list covers all.
func breadth(kinds []string) int {
	if len(kinds) == 0 {
		return 1 << 30
	}
	return len(kinds)
}

func better(a, b *Rule) bool {
	if x, y := breadth(a.SchoolKinds), breadth(b.SchoolKinds); x != y {
		return x < y
	}
	if x, y := breadth(a.VenueKinds), breadth(b.VenueKinds); x != y {
		return x < y
	}
	if !a.EffectiveFrom.Equal(b.EffectiveFrom) {
		return a.EffectiveFrom.After(b.EffectiveFrom)
	}
	if a.DistanceM != b.DistanceM {
		return a.DistanceM > b.DistanceM
	}
	return strings.Compare(a.ID, b.ID) < 0
}

// MaxDistance is the largest zone distance among rules, the margin by which
// the spatial index grows each school so that no zone is missed; without
// rules it is the national 200 m.
func MaxDistance(rules []Rule) float64 {
	m := 0.0
	for _, r := range rules {
		m = max(m, r.DistanceM)
	}
	if m == 0 {
		return DefaultDistanceM
	}
	return m
}
