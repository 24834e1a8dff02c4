package schema

import (
	"math"

	"github.com/patrolhq/patrol/schema/geo"
)

// metresPerDegree is the length of one degree of latitude (and of
// longitude at the equator) on the WGS-84 sphere approximation used for
// zone boxes.
const metresPerDegree = 111_320.0

// DefaultZoneDistanceM is the zone distance assumed while no rule names
// one: the national rule's 200 m.
const DefaultZoneDistanceM = geo.DefaultDistanceM

// MaxZoneDistance is the largest distance of the rules, or
// DefaultZoneDistanceM when none has one (geo.MaxDistance).
func MaxZoneDistance(rules []ZoneRule) float64 { return geo.MaxDistance(rules) }

// ZoneSearchBox grows a squad's area (min lat, min lng, max lat, max lng)
// by distM metres on every side: a school whose bounding box touches it
// may have a zone reaching into the area, so the squad's devices receive
// it. Longitude degrees shrink towards the poles; the box is measured at
// the area's edge farthest from the equator.
func ZoneSearchBox(area [4]float64, distM float64) [4]float64 {
	dLat := distM / metresPerDegree
	maxAbsLat := math.Max(math.Abs(area[0]), math.Abs(area[2]))
	dLng := distM / (metresPerDegree * math.Max(math.Cos(maxAbsLat*math.Pi/180), 0.01))
	return [4]float64{area[0] - dLat, area[1] - dLng, area[2] + dLat, area[3] + dLng}
}

// PolygonBounds is the bounding box (min lat, min lng, max lat, max lng)
// of a ring of [lng, lat] points, as the pull's zone query compares it.
func PolygonBounds(ring [][2]float64) [4]float64 {
	minLat, minLng, maxLat, maxLng := 90.0, 180.0, -90.0, -180.0
	for _, p := range ring {
		minLng, maxLng = math.Min(minLng, p[0]), math.Max(maxLng, p[0])
		minLat, maxLat = math.Min(minLat, p[1]), math.Max(maxLat, p[1])
	}
	return [4]float64{minLat, minLng, maxLat, maxLng}
}
