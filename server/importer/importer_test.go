package importer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/importer"
	"github.com/patrolhq/patrol/server/store"
)

const schoolsFile = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"EDU-1","name":"第一小学","kind":"primary"},
  "geometry":{"type":"Polygon","coordinates":[[[118.35,35.05],[118.351,35.05],[118.351,35.051],[118.35,35.051],[118.35,35.05]],
   [[118.3504,35.0504],[118.3506,35.0504],[118.3506,35.0506],[118.3504,35.0504]]]}},
 {"type":"Feature","properties":{"id":2,"name":"实验中学","kind":"中学","address":"1 Road"},
  "geometry":{"type":"MultiPolygon","coordinates":[[[[118.36,35.06,12],[118.361,35.06,12],[118.361,35.061,12],[118.36,35.06,12]]],
   [[[118.37,35.07],[118.371,35.07],[118.371,35.071],[118.37,35.07]]]]}}
]}`

func TestSchools_Valid(t *testing.T) {
	got, err := importer.Schools(strings.NewReader(schoolsFile), geo.WGS84, importer.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ExternalID != "EDU-1" || len(got[0].Geometry) != 1 || len(got[0].Geometry[0]) != 2 {
		t.Fatalf("first school %+v", got[0])
	}
	if got[1].ExternalID != "2" || got[1].Kind != "secondary" || len(got[1].Geometry) != 2 || got[1].Address != "1 Road" {
		t.Fatalf("second school %+v", got[1])
	}
}

// A GCJ-02 file lands hundreds of metres from where it was drawn, where
// GPS puts the campus.
func TestSchools_Datum(t *testing.T) {
	wgs, err := importer.Schools(strings.NewReader(schoolsFile), geo.WGS84, importer.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	gcj, err := importer.Schools(strings.NewReader(schoolsFile), geo.GCJ02, importer.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	p, q := wgs[0].Geometry[0][0][0], gcj[0].Geometry[0][0][0]
	want := geo.GCJ02ToWGS84(p)
	if q != want {
		t.Fatalf("converted %v; want %v", q, want)
	}
	if m := geo.Distance(p, q); m < 100 || m > 1000 {
		t.Fatalf("the GCJ-02 offset is %.0f m; want a few hundred", m)
	}
}

// Every bad feature is listed with its index and id, and none is returned.
func TestSchools_RejectsEveryBadFeature(t *testing.T) {
	file := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"id":"A","name":"ok","kind":"primary"},"geometry":{"type":"Polygon","coordinates":[[[1,1],[1.1,1],[1.1,1.1],[1,1]]]}},
	 {"type":"Feature","properties":{"id":"B","name":"pt","kind":"primary"},"geometry":{"type":"Point","coordinates":[1,1]}},
	 {"type":"Feature","properties":{"id":"C","name":"swapped","kind":"primary"},"geometry":{"type":"Polygon","coordinates":[[[35,118],[35.1,118],[35.1,118.1],[35,118]]]}},
	 {"type":"Feature","properties":{"id":"A","name":"again","kind":"primary"},"geometry":{"type":"Polygon","coordinates":[[[1,1],[1.1,1],[1.1,1.1],[1,1]]]}},
	 {"type":"Feature","properties":{"id":"D","name":"bad\u0007bell","kind":"primary"},"geometry":{"type":"Polygon","coordinates":[[[1,1],[1.1,1],[1.1,1.1],[1,1]]]}},
	 {"type":"Feature","properties":{"name":"no id","kind":"primary"},"geometry":{"type":"Polygon","coordinates":[[[1,1],[1.1,1],[1.1,1.1],[1,1]]]}},
	 {"type":"Feature","properties":{"id":"E","name":"x","kind":"<script>"},"geometry":{"type":"Polygon","coordinates":[[[1,1],[1.1,1],[1.1,1.1],[1,1]]]}}
	]}`
	got, err := importer.Schools(strings.NewReader(file), geo.WGS84, importer.DefaultLimits)
	var rej store.Rejections
	if !errors.As(err, &rej) || got != nil {
		t.Fatalf("got %v, %v; want rejections and nothing", got, err)
	}
	if schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("code %s", schema.ErrorCode(err))
	}
	var idx []int
	for _, r := range rej {
		idx = append(idx, r.Index)
	}
	if len(rej) != 6 || idx[0] != 1 || idx[5] != 6 || rej[2].ID != "A" {
		t.Fatalf("rejections %v", rej)
	}
}

func TestSchools_Limits(t *testing.T) {
	lim := importer.DefaultLimits
	lim.MaxRecords = 1
	_, err := importer.Schools(strings.NewReader(schoolsFile), geo.WGS84, lim)
	if schema.ErrorCode(err) != schema.CodeTooLarge {
		t.Fatalf("too many features: %v", err)
	}
	lim = importer.DefaultLimits
	lim.MaxCoords = 8
	if _, err = importer.Schools(strings.NewReader(schoolsFile), geo.WGS84, lim); schema.ErrorCode(err) != schema.CodeTooLarge {
		t.Fatalf("too many coordinates: %v", err)
	}
	lim = importer.DefaultLimits
	lim.MaxBytes = 100
	if _, err = importer.Schools(strings.NewReader(schoolsFile), geo.WGS84, lim); schema.ErrorCode(err) != schema.CodeTooLarge {
		t.Fatalf("too many bytes: %v", err)
	}
	if _, err = importer.Schools(strings.NewReader(`[1,2]`), geo.WGS84, importer.DefaultLimits); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("not a collection: %v", err)
	}
}

func TestSquadAreas_Valid(t *testing.T) {
	file := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"id":3,"name":"三中队"},"geometry":{"type":"Polygon","coordinates":[[[118,35],[118.1,35],[118.1,35.1],[118,35]]]}},
	 {"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Polygon","coordinates":[[[118,35],[118.1,35],[118.1,35.1],[118,35]]]}}]}`
	_, err := importer.SquadAreas(strings.NewReader(file), geo.WGS84, importer.DefaultLimits)
	var rej store.Rejections
	if !errors.As(err, &rej) || len(rej) != 1 || rej[0].Index != 1 {
		t.Fatalf("%v", err)
	}
	got, err := importer.SquadAreas(strings.NewReader(strings.Replace(file, `"x"`, `4`, 1)), geo.WGS84, importer.DefaultLimits)
	if err != nil || len(got) != 2 || got[0].SquadID != 3 || got[0].Name != "三中队" || got[1].SquadID != 4 {
		t.Fatalf("%+v, %v", got, err)
	}
}

const venuesFile = "\ufeffexternal_id,licence_no,kind,name,address,lat,lng,footprint,squad\n" +
	"V-1,L-1,net_cafe,星际网吧,1 Road,35.05,118.35,,\n" +
	"V-2,,ktv,\"歌厅, 二楼\",2 Road,35.06,118.36,\"POLYGON ((118.36 35.06, 118.3601 35.06, 118.3601 35.0601, 118.36 35.06))\",2\n"

func TestVenues_Valid(t *testing.T) {
	got, err := importer.Venues(strings.NewReader(venuesFile), geo.WGS84, importer.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source.Line != 2 || got[1].Source.Line != 3 || got[1].Name != "歌厅, 二楼" || got[1].SquadID != 2 || len(got[1].Footprint[0]) != 4 {
		t.Fatalf("%+v", got)
	}
	if got[0].SquadID != 0 || got[0].Footprint != nil || got[0].Lat != 35.05 {
		t.Fatalf("%+v", got[0])
	}
}

func TestVenues_RejectsEveryBadLine(t *testing.T) {
	file := "external_id,kind,name,lat,lng,footprint,squad\n" +
		"V-1,net_cafe,ok,35.05,118.35,,\n" +
		"V-2,casino,bad kind,35.05,118.35,,\n" +
		"V-3,net_cafe,bad lat,north,118.35,,\n" +
		"V-1,net_cafe,again,35.05,118.35,,\n" +
		"V-4,net_cafe,bad wkt,35.05,118.35,POLYGON ((1 1)),\n" +
		"V-5,net_cafe,bad squad,35.05,118.35,,-1\n" +
		"V-6,net_cafe,short\n"
	_, err := importer.Venues(strings.NewReader(file), geo.WGS84, importer.DefaultLimits)
	var rej store.Rejections
	if !errors.As(err, &rej) || len(rej) != 6 {
		t.Fatalf("%v", err)
	}
	for i, want := range []int{3, 4, 5, 6, 7, 8} {
		if rej[i].Line != want {
			t.Fatalf("rejection %d at line %d; want %d: %v", i, rej[i].Line, want, rej)
		}
	}
	if _, err := importer.Venues(strings.NewReader("external_id,kind\n"), geo.WGS84, importer.DefaultLimits); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("missing columns: %v", err)
	}
	if _, err := importer.Venues(strings.NewReader("\xff\xfe"), geo.WGS84, importer.DefaultLimits); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("not UTF-8: %v", err)
	}
}

func TestParseDatum(t *testing.T) {
	for in, want := range map[string]geo.Datum{"": geo.WGS84, "GCJ02": geo.GCJ02, "bd09": geo.BD09} {
		if d, err := importer.ParseDatum(in); err != nil || d != want {
			t.Fatalf("%q: %v %v", in, d, err)
		}
	}
	if _, err := importer.ParseDatum("mars"); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatal(err)
	}
}
