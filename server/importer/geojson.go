package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

type featureCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
}

type feature struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Geometry   *rawGeometry               `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// parsedFeature is a feature whose id and polygons passed, in WGS-84.
type parsedFeature struct {
	src   store.Source
	props map[string]json.RawMessage
	geom  geo.MultiPolygon
}

// decodeFeatures reads a FeatureCollection of Polygons and MultiPolygons,
// each with an id (properties.id, else the feature's id) that no other
// feature repeats, validated as drawn and converted from d. A file that
// is not such a collection is an error; a feature that fails is rejected.
func decodeFeatures(r io.Reader, d geo.Datum, lim Limits, what string, rej *rejections) ([]parsedFeature, error) {
	b, err := readAll(r, lim)
	if err != nil {
		return nil, err
	}
	var fc featureCollection
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, schema.Errorf(schema.CodeInvalid, "the file is not GeoJSON: %v", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, schema.Errorf(schema.CodeInvalid, "the file is GeoJSON of type %q; %s come as a FeatureCollection", truncate(fc.Type, 40), what)
	}
	if len(fc.Features) > lim.MaxRecords {
		return nil, schema.Errorf(schema.CodeTooLarge, "the file holds %d features; at most %d at once", len(fc.Features), lim.MaxRecords)
	}
	coords := 0
	seen := map[string]int{}
	out := make([]parsedFeature, 0, len(fc.Features))
	for i, raw := range fc.Features {
		src := store.Source{Index: i}
		var f feature
		if err := json.Unmarshal(raw, &f); err != nil {
			rej.add(src, fmt.Errorf("not a GeoJSON feature: %v", err))
			continue
		}
		id, err := jsonText(f.Properties["id"])
		if err == nil && id == "" {
			id, err = jsonText(f.ID)
		}
		if err != nil {
			rej.add(src, fmt.Errorf("id: %v", err))
			continue
		}
		src.ID = truncate(id, MaxIDLen)
		if err := checkID(id); err != nil {
			rej.add(src, err)
			continue
		}
		if j, dup := seen[id]; dup {
			rej.add(src, fmt.Errorf("id %s repeats feature %d", src.ID, j))
			continue
		}
		seen[id] = i
		mp, n, err := decodePolygons(f.Geometry, lim)
		coords += n
		if coords > lim.MaxCoords {
			return nil, schema.Errorf(schema.CodeTooLarge, "the file holds more than %d coordinates; simplify the shapes or split the file", lim.MaxCoords)
		}
		if err != nil {
			rej.add(src, err)
			continue
		}
		g, err := convert(mp, d)
		if err != nil {
			rej.add(src, err)
			continue
		}
		out = append(out, parsedFeature{src: src, props: f.Properties, geom: g.(geo.MultiPolygon)})
	}
	return out, nil
}

// decodePolygons reads a Polygon or MultiPolygon as a MultiPolygon and
// counts its positions. Altitudes are dropped; a position needs both
// longitude and latitude.
func decodePolygons(g *rawGeometry, lim Limits) (geo.MultiPolygon, int, error) {
	if g == nil {
		return nil, 0, fmt.Errorf("no geometry; a Polygon or MultiPolygon is needed")
	}
	var parts [][][][]float64
	switch g.Type {
	case "Polygon":
		var pg [][][]float64
		if err := json.Unmarshal(g.Coordinates, &pg); err != nil {
			return nil, 0, fmt.Errorf("Polygon coordinates: %v", err)
		}
		parts = [][][][]float64{pg}
	case "MultiPolygon":
		if err := json.Unmarshal(g.Coordinates, &parts); err != nil {
			return nil, 0, fmt.Errorf("MultiPolygon coordinates: %v", err)
		}
	default:
		return nil, 0, fmt.Errorf("geometry is a %q; a Polygon or MultiPolygon is needed", truncate(g.Type, 40))
	}
	n := 0
	mp := make(geo.MultiPolygon, 0, len(parts))
	for pi, pg := range parts {
		poly := make(geo.Polygon, 0, len(pg))
		for ri, ring := range pg {
			n += len(ring)
			if len(ring) > lim.MaxRingSize {
				return nil, n, fmt.Errorf("polygon %d ring %d has %d positions; at most %d", pi, ri, len(ring), lim.MaxRingSize)
			}
			r := make(geo.Ring, 0, len(ring))
			for k, p := range ring {
				if len(p) < 2 {
					return nil, n, fmt.Errorf("polygon %d ring %d position %d has %d numbers; a position is [longitude, latitude]", pi, ri, k, len(p))
				}
				r = append(r, geo.Point{p[0], p[1]})
			}
			poly = append(poly, r)
		}
		mp = append(mp, poly)
	}
	return mp, n, nil
}

// jsonText reads a property that is a string or a number ("" when absent
// or null).
func jsonText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
	return "", fmt.Errorf("must be a string or a number")
}

// textProp reads a text property and checks it as hostile text.
func textProp(props map[string]json.RawMessage, key string, required bool) (string, error) {
	s, err := jsonText(props[key])
	if err != nil {
		return "", fmt.Errorf("properties.%s: %v", key, err)
	}
	return checkName("properties."+key, s, required)
}

// Schools reads a GeoJSON FeatureCollection of schools drawn in datum d:
// each feature a Polygon or MultiPolygon (holes allowed) with
// properties.id (the bureau's stable id), properties.name,
// properties.kind (primary, secondary, kindergarten, … or 小学, 中学,
// 幼儿园) and optionally properties.address.
func Schools(r io.Reader, d geo.Datum, lim Limits) ([]store.ImportSchool, error) {
	var rej rejections
	fs, err := decodeFeatures(r, d, lim, "schools", &rej)
	if err != nil {
		return nil, err
	}
	out := make([]store.ImportSchool, 0, len(fs))
	for _, f := range fs {
		s := store.ImportSchool{Source: f.src, ExternalID: f.src.ID, Geometry: f.geom}
		var kind string
		if s.Name, err = textProp(f.props, "name", true); err != nil {
			rej.add(f.src, err)
			continue
		}
		if s.Address, err = textProp(f.props, "address", false); err != nil {
			rej.add(f.src, err)
			continue
		}
		if kind, err = textProp(f.props, "kind", true); err == nil {
			s.Kind, err = schoolKind(kind)
		}
		if err != nil {
			rej.add(f.src, err)
			continue
		}
		out = append(out, s)
	}
	if err := rej.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// SquadAreas reads a GeoJSON FeatureCollection of squad jurisdictions
// drawn in datum d: each feature a Polygon or MultiPolygon with
// properties.id (the squad's number) and optionally properties.name.
func SquadAreas(r io.Reader, d geo.Datum, lim Limits) ([]store.ImportSquadArea, error) {
	var rej rejections
	fs, err := decodeFeatures(r, d, lim, "squad areas", &rej)
	if err != nil {
		return nil, err
	}
	out := make([]store.ImportSquadArea, 0, len(fs))
	for _, f := range fs {
		id, err := strconv.ParseInt(f.src.ID, 10, 64)
		if err != nil || id <= 0 {
			rej.add(f.src, fmt.Errorf("id %q is not a squad number (a whole number above 0)", f.src.ID))
			continue
		}
		a := store.ImportSquadArea{Source: f.src, SquadID: id, Area: f.geom}
		if a.Name, err = textProp(f.props, "name", false); err != nil {
			rej.add(f.src, err)
			continue
		}
		out = append(out, a)
	}
	if err := rej.err(); err != nil {
		return nil, err
	}
	return out, nil
}
