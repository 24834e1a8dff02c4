package geo

import (
	"cmp"
	"slices"
	"time"

	"github.com/tidwall/rtree"
)

// School is a campus as the zone check sees it: its kind chooses the rule,
// its geometry (WGS-84) is measured.
type School struct {
	ID   string
	Kind string // primary, secondary, kindergarten
	Geom Geometry
}

// Venue is premises under supervision: a point (a GPS fix at the door) or
// its footprint polygon, which is what the law measures when it is known.
type Venue struct {
	ID   string
	Kind string // net_cafe, arcade, ktv, bookshop (schema.VenueKinds)
	Geom Geometry
}

// SchoolFromRing builds a school from the single outer ring of [lng, lat]
// that schema.School carries on the wire (already in WGS-84).
func SchoolFromRing(id, kind string, ring [][2]float64) School {
	r := make(Ring, len(ring))
	for i, p := range ring {
		r[i] = Point(p)
	}
	return School{ID: id, Kind: kind, Geom: Polygon{r}}
}

// Violation is a school whose zone the venue enters.
type Violation struct {
	SchoolID  string
	DistanceM float64 // straight-line distance from the campus boundary; 0 inside
	RuleID    string
	// Inside reports that the premises touch or overlap the campus itself.
	Inside bool
	// Unmeasured reports a rule whose method this package cannot measure
	// (door_walking): the straight line is shorter than any walk, so the
	// venue may be in the zone, and a person must measure it. An empty
	// Method is read as the national straight line.
	Unmeasured bool
}

// Index holds schools in an R-tree keyed by their bounding boxes grown by a
// zone distance, so that a check looks only at the few schools whose zones
// can reach a venue instead of all of them.
type Index struct {
	schools []School
	grownBy float64
	tree    rtree.RTreeG[int]
}

// NewIndex indexes schools, growing each box by the largest distance of
// rules (MaxDistance). Evaluate still works with rules of larger distance
// added later: it widens its query by the difference.
func NewIndex(schools []School, rules []Rule) *Index {
	ix := &Index{schools: schools, grownBy: MaxDistance(rules)}
	for i, s := range schools {
		if s.Geom == nil {
			continue
		}
		b := s.Geom.Bound().Grow(ix.grownBy)
		ix.tree.Insert([2]float64{b.MinLng, b.MinLat}, [2]float64{b.MaxLng, b.MaxLat}, i)
	}
	return ix
}

// Len is the number of schools indexed.
func (ix *Index) Len() int { return len(ix.schools) }

// Evaluate lists the schools whose zone, under the rule in force on day for
// the venue's and the school's kinds, the venue enters, nearest first. A
// school without an applicable rule is skipped; so is a venue kind no rule
// names. Geometries are assumed valid (Validate, where they enter the
// system); an invalid venue finds no zone.
func Evaluate(v Venue, schools *Index, rules []Rule, day time.Time) []Violation {
	if v.Geom == nil {
		return nil
	}
	q := v.Geom.Bound()
	if extra := MaxDistance(rules) - schools.grownBy; extra > 0 {
		q = q.Grow(extra)
	}
	var out []Violation
	schools.tree.Search([2]float64{q.MinLng, q.MinLat}, [2]float64{q.MaxLng, q.MaxLat}, func(_, _ [2]float64, i int) bool {
		s := schools.schools[i]
		r, ok := RuleFor(rules, v.Kind, s.Kind, day)
		if !ok {
			return true
		}
		d := distance(v.Geom, s.Geom, r.DistanceM)
		if d <= r.DistanceM {
			out = append(out, Violation{
				SchoolID:   s.ID,
				DistanceM:  d,
				RuleID:     r.ID,
				Inside:     d == 0,
				Unmeasured: r.Method != MethodBoundaryStraightLine && r.Method != "",
			})
		}
		return true
	})
	slices.SortFunc(out, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.DistanceM, b.DistanceM), cmp.Compare(a.SchoolID, b.SchoolID))
	})
	return out
}

// ZonesAt lists the zones a point stands in for a venue kind: what a device
// shows when an inspector records a new (perhaps unlicensed) venue at his GPS
// fix, before anyone has drawn its footprint.
func ZonesAt(p Point, venueKind string, schools *Index, rules []Rule, day time.Time) []Violation {
	return Evaluate(Venue{Kind: venueKind, Geom: p}, schools, rules, day)
}
