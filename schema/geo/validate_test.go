package geo_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema/geo"
)

func TestValidate_Cases(t *testing.T) {
	sq := geo.Ring{{118.3, 35.1}, {118.301, 35.1}, {118.301, 35.101}, {118.3, 35.1}}
	for _, c := range []struct {
		name string
		g    geo.Geometry
		want string // "" = valid
	}{
		{"point", geo.Point{118.3, 35.1}, ""},
		{"polygon", geo.Polygon{sq}, ""},
		{"multipolygon", geo.MultiPolygon{{sq}}, ""},
		{"nil", nil, "no geometry"},
		{"nan", geo.Point{math.NaN(), 35}, "not a number"},
		{"lat lng swapped", geo.Point{35.1, 118.3}, "[lng, lat]"},
		{"two points", geo.Polygon{geo.Ring{{118.3, 35.1}, {118.301, 35.1}, {118.3, 35.1}}}, "3 distinct"},
		{"empty polygon", geo.Polygon{}, "no outer ring"},
		{"empty multipolygon", geo.MultiPolygon{}, "at least one"},
	} {
		err := geo.Validate(c.g)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, geo.ErrGeometry) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an ErrGeometry saying %q", c.name, err, c.want)
		}
	}
}

// A NaN must not measure as "far away" by accident without the caller
// being able to see it.
func TestDistance_NaNIsNaN(t *testing.T) {
	sq := geo.Polygon{geo.Ring{{118.3, 35.1}, {118.301, 35.1}, {118.301, 35.101}, {118.3, 35.1}}}
	if d := geo.Distance(geo.Point{math.NaN(), 35.1}, sq); !math.IsNaN(d) {
		t.Errorf("Distance of a NaN point = %v", d)
	}
}
