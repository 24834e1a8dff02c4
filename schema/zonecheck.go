package schema

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema/geo"
)

// bureauTime is Beijing time (Asia/Shanghai, UTC+8 without summer time
// since 1991): zone rules take effect on calendar days of the bureau, and a
// fixed zone needs no tz database on the server.
var bureauTime = time.FixedZone("Asia/Shanghai", 8*3600)

// ZoneDay is t as a day of the bureau, the day whose rules are in force
// (geo.InForce reads the date in the time's own location).
func ZoneDay(t time.Time) time.Time { return t.In(bureauTime) }

// Reasons a standing zone violation is cleared.
const (
	ZoneClearClosed   = "venue closed"
	ZoneClearDeleted  = "venue deleted"
	ZoneClearMovedOut = "moved out of zone"
	ZoneClearRule     = "rule changed"
	ZoneClearSchool   = "school changed"
)

// ValidateZoneRule checks a rule an admin publishes: an id, a distance that
// is a real length, a method the system knows, kinds it knows, and an
// effective period that is not empty. Kinds are lower-cased; an empty list
// covers every kind (geo.RuleFor).
func ValidateZoneRule(r *ZoneRule) error {
	if r.ID == "" || len(r.ID) > 64 || strings.ContainsAny(r.ID, "/?# \t\r\n") {
		return Errorf(CodeInvalid, "zone rule id must be 1 to 64 characters without spaces, / ? or #")
	}
	if math.IsNaN(r.DistanceM) || r.DistanceM <= 0 || r.DistanceM > 5000 {
		return Errorf(CodeInvalid, "zone rule %s: distance_m must be more than 0 and at most 5000 metres, got %v", r.ID, r.DistanceM)
	}
	switch r.Method {
	case "":
		r.Method = geo.MethodBoundaryStraightLine
	case geo.MethodBoundaryStraightLine, geo.MethodDoorWalking:
	default:
		return Errorf(CodeInvalid, "zone rule %s: method must be %s or %s", r.ID, geo.MethodBoundaryStraightLine, geo.MethodDoorWalking)
	}
	for i, k := range r.SchoolKinds {
		r.SchoolKinds[i] = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(SchoolKinds, r.SchoolKinds[i]) {
			return Errorf(CodeInvalid, "zone rule %s: school kind %q is not one of %s", r.ID, truncate(k, 40), strings.Join(SchoolKinds, ", "))
		}
	}
	for i, k := range r.VenueKinds {
		r.VenueKinds[i] = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(VenueKinds, r.VenueKinds[i]) {
			return Errorf(CodeInvalid, "zone rule %s: venue kind %q is not one of %s", r.ID, truncate(k, 40), strings.Join(VenueKinds, ", "))
		}
	}
	if r.EffectiveFrom.IsZero() {
		return Errorf(CodeInvalid, "zone rule %s: effective_from is required (the day the rule takes effect)", r.ID)
	}
	if !r.EffectiveTo.IsZero() && !r.EffectiveTo.After(r.EffectiveFrom) {
		return Errorf(CodeInvalid, "zone rule %s: effective_to must come after effective_from", r.ID)
	}
	if len(r.Name) > 200 || len(r.LegalBasis) > 500 {
		return Errorf(CodeInvalid, "zone rule %s: name (200) or legal_basis (500) too long", r.ID)
	}
	return nil
}

// SchoolKinds are the kinds of school a zone rule can name.
var SchoolKinds = []string{"primary", "secondary", "kindergarten"}

// ZoneCheck is the zone evaluation of one write: the candidate schools in a
// spatial index and the rules, read once, applied to every venue the write
// touched. Both store adapters decide with it, so they cannot disagree.
type ZoneCheck struct {
	rules   []ZoneRule
	index   *geo.Index
	schools map[string]geo.School
	day     time.Time
}

// NewZoneCheck prepares the evaluation at now, with the rules in force on
// that day in Beijing, against schools measured from SchoolGeometry.
func NewZoneCheck(schools []School, rules []ZoneRule, now time.Time) *ZoneCheck {
	zc := &ZoneCheck{rules: rules, schools: make(map[string]geo.School, len(schools)), day: ZoneDay(now)}
	list := make([]geo.School, 0, len(schools))
	for _, s := range schools {
		g := geo.School{ID: s.ID, Kind: s.Kind, Geom: SchoolGeometry(s)}
		list = append(list, g)
		zc.schools[s.ID] = g
	}
	zc.index = geo.NewIndex(list, rules)
	return zc
}

// Rule returns the rule of that id, as the check read it.
func (zc *ZoneCheck) Rule(id string) (ZoneRule, bool) {
	for _, r := range zc.rules {
		if r.ID == id {
			return r, true
		}
	}
	return ZoneRule{}, false
}

// ZoneClear is a standing violation to clear, with the venue's distance
// from the school now (-1 when the school is out of reach or gone).
type ZoneClear struct {
	Violation ZoneViolation
	DistanceM float64
}

// ZoneDecision is what a write does to a venue's violations: rows to
// insert, standing rows whose distance or rule changed, and rows to clear.
type ZoneDecision struct {
	Flag   []ZoneViolation
	Update []ZoneViolation
	Clear  []ZoneClear
}

// Empty reports a decision that writes nothing.
func (d ZoneDecision) Empty() bool { return len(d.Flag)+len(d.Update)+len(d.Clear) == 0 }

// Decide compares the zones a venue stands in now with its standing rows.
// A deleted or closed venue stands in none (its rows clear as closed); a
// row whose zone the venue no longer enters clears with why, or "moved out
// of zone" when the caller names no cause (a venue's own edit). New rows
// start at now, in the venue's squad.
func (zc *ZoneCheck) Decide(v Venue, standing []ZoneViolation, why string, now time.Time) ZoneDecision {
	var d ZoneDecision
	var hits []geo.Violation
	closed := v.Deleted || v.OpenState == OpenStateClosed
	if !closed {
		hits = geo.Evaluate(geo.Venue{ID: v.ID, Kind: v.Kind, Geom: VenueGeometry(v)}, zc.index, zc.rules, zc.day)
	}
	byschool := make(map[string]ZoneViolation, len(standing))
	for _, s := range standing {
		byschool[s.SchoolID] = s
	}
	for _, h := range hits {
		dist := roundCM(h.DistanceM)
		s, ok := byschool[h.SchoolID]
		if !ok {
			d.Flag = append(d.Flag, ZoneViolation{VenueID: v.ID, SchoolID: h.SchoolID, SquadID: v.SquadID, RuleID: h.RuleID,
				DistanceM: dist, Since: now})
			continue
		}
		delete(byschool, h.SchoolID)
		if s.DistanceM != dist || s.RuleID != h.RuleID || s.SquadID != v.SquadID {
			s.DistanceM, s.RuleID, s.SquadID = dist, h.RuleID, v.SquadID
			d.Update = append(d.Update, s)
		}
	}
	for _, s := range standing {
		if _, ok := byschool[s.SchoolID]; !ok {
			continue
		}
		reason := why
		switch {
		case v.Deleted:
			reason = ZoneClearDeleted
		case closed:
			reason = ZoneClearClosed
		case reason == "":
			reason = ZoneClearMovedOut
		}
		dist := -1.0
		if sc, ok := zc.schools[s.SchoolID]; ok && !closed {
			dist = roundCM(geo.Distance(VenueGeometry(v), sc.Geom))
		} else if closed {
			dist = s.DistanceM
		}
		at := now
		s.ClearedAt, s.ClearReason = &at, reason
		d.Clear = append(d.Clear, ZoneClear{Violation: s, DistanceM: dist})
	}
	return d
}

// roundCM keeps distances to the centimetre, so a re-evaluation of an
// unchanged venue finds the distance it stored.
func roundCM(m float64) float64 { return math.Round(m*100) / 100 }

// ZoneFlagReason is the audit reason of a new violation.
func (zc *ZoneCheck) ZoneFlagReason(v ZoneViolation) string {
	r, _ := zc.Rule(v.RuleID)
	return fmt.Sprintf("%.0f m from school %s, inside the %.0f m zone of rule %s", v.DistanceM, v.SchoolID, r.DistanceM, v.RuleID)
}

// ZoneClearReason is the audit reason of a cleared violation: why, and the
// distance it was cleared at.
func (zc *ZoneCheck) ZoneClearReason(c ZoneClear) string {
	v := c.Violation
	switch {
	case c.DistanceM < 0:
		return fmt.Sprintf("%s: school %s out of reach of rule %s", v.ClearReason, v.SchoolID, v.RuleID)
	case v.ClearReason == ZoneClearClosed || v.ClearReason == ZoneClearDeleted:
		return fmt.Sprintf("%s: was %.0f m from school %s (rule %s)", v.ClearReason, c.DistanceM, v.SchoolID, v.RuleID)
	}
	return fmt.Sprintf("%s: now %.0f m from school %s (rule %s)", v.ClearReason, c.DistanceM, v.SchoolID, v.RuleID)
}
