package importer_test

import (
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/importer"
)

// fuzzLimits keep each fuzz input cheap.
var fuzzLimits = importer.Limits{MaxBytes: 1 << 16, MaxRecords: 200, MaxCoords: 5000, MaxRingSize: 1000}

// FuzzImportGeoJSON feeds any text to the GeoJSON readers: they never
// panic, and whatever they accept is valid WGS-84 with text that passed
// schema.CheckText.
func FuzzImportGeoJSON(f *testing.F) {
	f.Add(schoolsFile, "wgs84")
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":1},"geometry":{"type":"MultiPolygon","coordinates":[[[[1,1],[2,1],[2,2],[1,1]]]]}}]}`, "bd09")
	f.Add(`{"type":"FeatureCollection","features":[{"geometry":{"type":"Polygon","coordinates":[[[1e309,1]]]}}]}`, "gcj02")
	f.Add(`{"type":"FeatureCollection","features":[null,{},[]]}`, "")
	f.Fuzz(func(t *testing.T, file, datum string) {
		d, err := importer.ParseDatum(datum)
		if err != nil {
			return
		}
		if got, err := importer.Schools(strings.NewReader(file), d, fuzzLimits); err == nil {
			for _, s := range got {
				if geo.Validate(s.Geometry) != nil || schema.CheckText("name", s.Name, schema.MaxTextLen) != nil || s.ExternalID == "" {
					t.Fatalf("accepted %+v", s)
				}
			}
		} else if schema.ErrorCode(err) == schema.CodeInternal {
			t.Fatalf("schools: %v", err)
		}
		if got, err := importer.SquadAreas(strings.NewReader(file), d, fuzzLimits); err == nil {
			for _, a := range got {
				if geo.Validate(a.Area) != nil || a.SquadID <= 0 || schema.CheckText("name", a.Name, schema.MaxTextLen) != nil {
					t.Fatalf("accepted %+v", a)
				}
			}
		} else if schema.ErrorCode(err) == schema.CodeInternal {
			t.Fatalf("squad areas: %v", err)
		}
	})
}

// FuzzImportCSV feeds any text to the venue reader: it never panics, and
// whatever it accepts is a valid venue.
func FuzzImportCSV(f *testing.F) {
	f.Add(venuesFile, "wgs84")
	f.Add("external_id,kind,name,lat,lng,footprint\nA,arcade,x,1,1,\"POLYGON Z ((1 1 0, 2 1 0, 2 2 0, 1 1 0), (1.1 1.1, 1.2 1.1, 1.2 1.2, 1.1 1.1))\"\n", "gcj02")
	f.Add("external_id,kind,name,lat,lng\n\"unterminated,arcade\n", "")
	f.Fuzz(func(t *testing.T, file, datum string) {
		d, err := importer.ParseDatum(datum)
		if err != nil {
			return
		}
		got, err := importer.Venues(strings.NewReader(file), d, fuzzLimits)
		if err != nil {
			if schema.ErrorCode(err) == schema.CodeInternal {
				t.Fatalf("venues: %v", err)
			}
			return
		}
		for _, v := range got {
			if schema.ValidPosition(v.Lat, v.Lng) != nil || v.ExternalID == "" || schema.CheckText("name", v.Name, schema.MaxTextLen) != nil {
				t.Fatalf("accepted %+v", v)
			}
			if len(v.Footprint) > 0 && geo.Validate(v.Footprint) != nil {
				t.Fatalf("accepted footprint %v", v.Footprint)
			}
		}
	})
}
