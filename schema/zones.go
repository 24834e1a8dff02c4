package schema

import (
	"time"

	"github.com/patrolhq/patrol/schema/geo"
)

// ZoneHit is one school zone a position lies in (or near), as the device
// measures it offline and as a field-recorded venue carries it.
type ZoneHit struct {
	SchoolID   string  `json:"school_id"`
	SchoolName string  `json:"school_name"`
	RuleID     string  `json:"rule_id"`
	DistanceM  float64 `json:"distance_m"`
	InsideZone bool    `json:"inside_zone"`
}

// ZoneViolation is a venue of a kind a zone rule covers standing inside a
// school's zone: since when, by which rule and how far from the campus
// boundary. It is cleared, not deleted, when the venue closes or moves
// out, so the ledger keeps that it stood there.
type ZoneViolation struct {
	VenueID     string     `json:"venue_id"`
	SchoolID    string     `json:"school_id"`
	SquadID     int64      `json:"squad_id"`
	RuleID      string     `json:"rule_id"`
	DistanceM   float64    `json:"distance_m"`
	Since       time.Time  `json:"since"`
	ClearedAt   *time.Time `json:"cleared_at,omitempty"`
	ClearReason string     `json:"clear_reason,omitempty"`
}

// SchoolGeometry is what a school's zone is measured from: its whole
// campus when known, else the one ring older data carries.
func SchoolGeometry(s School) geo.Geometry {
	if len(s.Geometry) > 0 {
		return s.Geometry
	}
	r := make(geo.Ring, len(s.Polygon))
	for i, p := range s.Polygon {
		r[i] = geo.Point(p)
	}
	return geo.Polygon{r}
}

// VenueGeometry is what the zone rule measures of a venue: its footprint
// when known, else the point recorded at its door.
func VenueGeometry(v Venue) geo.Geometry {
	if len(v.Footprint) > 0 {
		return v.Footprint
	}
	return geo.Point{v.Lng, v.Lat}
}
