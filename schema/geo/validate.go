package geo

import (
	"errors"
	"fmt"
	"math"
)

// ErrGeometry is wrapped by every error of Validate, so that a caller can
// map it to its own bad-input error (schema.CodeInvalid) in one place.
var ErrGeometry = errors.New("geo: invalid geometry")

// Validate checks a geometry before it is stored or measured. Geometries
// come from devices and from map imports, and a NaN or a swapped [lat, lng]
// would otherwise measure as "far from every school" and clear a venue
// silently; the messages say what to fix.
func Validate(g Geometry) error {
	switch v := g.(type) {
	case nil:
		return fmt.Errorf("%w: no geometry", ErrGeometry)
	case Point:
		return validPoint(v)
	case Polygon:
		return validPolygon(v, "polygon")
	case MultiPolygon:
		if len(v) == 0 {
			return fmt.Errorf("%w: a multipolygon needs at least one polygon", ErrGeometry)
		}
		for i, pg := range v {
			if err := validPolygon(pg, fmt.Sprintf("polygon %d", i)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown geometry %T", ErrGeometry, g)
}

func validPoint(p Point) error {
	if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
		return fmt.Errorf("%w: coordinate %v is not a number", ErrGeometry, p)
	}
	if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
		return fmt.Errorf("%w: %v is not [lng, lat] in degrees (lng -180..180, lat -90..90)", ErrGeometry, p)
	}
	return nil
}

func validPolygon(pg Polygon, what string) error {
	if len(pg) == 0 {
		return fmt.Errorf("%w: %s has no outer ring", ErrGeometry, what)
	}
	for i, r := range pg {
		o := r.open()
		distinct := map[Point]bool{}
		for _, p := range o {
			if err := validPoint(p); err != nil {
				return fmt.Errorf("%s ring %d: %w", what, i, err)
			}
			distinct[p] = true
		}
		if len(distinct) < 3 {
			return fmt.Errorf("%w: %s ring %d needs at least 3 distinct points, has %d", ErrGeometry, what, i, len(distinct))
		}
	}
	return nil
}
