package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

// The columns of a venue file, named in its header row in any order.
// external_id, kind, name, lat and lng are required.
var venueColumns = []string{"external_id", "licence_no", "kind", "name", "address", "lat", "lng", "footprint", "squad"}

// columnNames are the other names a header may give a column (the
// register's own Chinese headings, and common spellings).
var columnNames = map[string]string{
	"id": "external_id", "编号": "external_id", "license_no": "licence_no", "许可证号": "licence_no", "类型": "kind",
	"名称": "name", "地址": "address", "纬度": "lat", "latitude": "lat", "经度": "lng", "lon": "lng", "longitude": "lng",
	"轮廓": "footprint", "wkt": "footprint", "中队": "squad", "squad_id": "squad",
}

// Venues reads a CSV file of licensed venues drawn in datum d. The first
// line names the columns (venueColumns). kind is one of schema.VenueKinds;
// lat and lng are decimal degrees; footprint, when given, is the
// premises' outline as WKT, POLYGON ((lng lat, lng lat, …), (hole …)); a
// squad column sets the venue's squad by hand, so that squad area imports
// leave it there. Lines are counted from 1, the header being line 1.
func Venues(r io.Reader, d geo.Datum, lim Limits) ([]store.ImportVenue, error) {
	b, err := readAll(r, lim)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, schema.Errorf(schema.CodeInvalid, "the file is not UTF-8 text; save it as CSV UTF-8 (a GBK file must be converted first)")
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, schema.Errorf(schema.CodeInvalid, "the file is empty; its first line names the columns %s", strings.Join(venueColumns, ","))
		}
		return nil, schema.Errorf(schema.CodeInvalid, "line 1: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if n, ok := columnNames[h]; ok {
			h = n
		}
		if !slices.Contains(venueColumns, h) {
			return nil, schema.Errorf(schema.CodeInvalid, "line 1: column %q is not one of %s", truncate(h, 40), strings.Join(venueColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, schema.Errorf(schema.CodeInvalid, "line 1: column %s is named twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"external_id", "kind", "name", "lat", "lng"} {
		if _, ok := col[need]; !ok {
			return nil, schema.Errorf(schema.CodeInvalid, "line 1: the header has no %s column; it needs external_id, kind, name, lat and lng", need)
		}
	}
	var rej rejections
	var out []store.ImportVenue
	seen := map[string]int{}
	coords := 0
	for index := 0; ; index++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		src := store.Source{Index: index}
		if err != nil {
			// FieldPos has nothing to say about a record that failed.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				src.Line = pe.StartLine
			}
			rej.add(src, fmt.Errorf("not CSV: %v", err))
			// A broken quote swallows the rest of the file: stop here.
			break
		}
		line, _ := cr.FieldPos(0)
		src.Line = line
		if index >= lim.MaxRecords {
			return nil, schema.Errorf(schema.CodeTooLarge, "the file holds more than %d venues; split it", lim.MaxRecords)
		}
		field := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		src.ID = truncate(field("external_id"), MaxIDLen)
		if len(rec) != len(header) {
			rej.add(src, fmt.Errorf("%d fields; the header names %d", len(rec), len(header)))
			continue
		}
		v, n, err := venueRecord(field, d, lim)
		coords += n
		if coords > lim.MaxCoords {
			return nil, schema.Errorf(schema.CodeTooLarge, "the file holds more than %d footprint coordinates; simplify them or split the file", lim.MaxCoords)
		}
		if err != nil {
			rej.add(src, err)
			continue
		}
		if j, dup := seen[v.ExternalID]; dup {
			rej.add(src, fmt.Errorf("external_id %s repeats line %d", src.ID, j))
			continue
		}
		seen[v.ExternalID] = line
		v.Source = src
		out = append(out, v)
	}
	if err := rej.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkVenueID is the id the shared venue check is given: the store
// makes the real one.
var checkVenueID = uuid.NewString()

// venueRecord checks and converts one data row.
func venueRecord(field func(string) string, d geo.Datum, lim Limits) (store.ImportVenue, int, error) {
	v := store.ImportVenue{ExternalID: field("external_id"), LicenceNo: field("licence_no"), Kind: field("kind"),
		Name: field("name"), Address: field("address")}
	if err := checkID(v.ExternalID); err != nil {
		return v, 0, err
	}
	lat, err1 := strconv.ParseFloat(field("lat"), 64)
	lng, err2 := strconv.ParseFloat(field("lng"), 64)
	if err1 != nil || err2 != nil {
		return v, 0, fmt.Errorf("lat %q and lng %q must be decimal degrees", truncate(field("lat"), 30), truncate(field("lng"), 30))
	}
	p, err := convert(geo.Point{lng, lat}, d)
	if err != nil {
		return v, 0, fmt.Errorf("position: %v", err)
	}
	v.Lng, v.Lat = p.(geo.Point)[0], p.(geo.Point)[1]
	n := 0
	if wkt := field("footprint"); wkt != "" {
		pg, cnt, err := ParseWKTPolygon(wkt, lim.MaxRingSize)
		n = cnt
		if err != nil {
			return v, n, fmt.Errorf("footprint: %v", err)
		}
		g, err := convert(pg, d)
		if err != nil {
			return v, n, fmt.Errorf("footprint: %v", err)
		}
		v.Footprint = g.(geo.Polygon)
	}
	if s := field("squad"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return v, n, fmt.Errorf("squad %q is not a squad number", truncate(s, 30))
		}
		v.SquadID = id
	}
	sv := store.NewImportedVenue(checkVenueID, v, 1)
	if err := schema.ValidateVenue(&sv); err != nil {
		return v, n, err
	}
	return v, n, nil
}

// ParseWKTPolygon reads a WKT POLYGON of lng lat pairs (the first ring
// the outline, the others holes), at most maxRing positions a ring, and
// counts its positions. Z and M values are dropped.
func ParseWKTPolygon(s string, maxRing int) (geo.Polygon, int, error) {
	t := strings.TrimSpace(s)
	upper := strings.ToUpper(t)
	if !strings.HasPrefix(upper, "POLYGON") {
		return nil, 0, fmt.Errorf("%q is not a WKT POLYGON ((lng lat, …))", truncate(t, 40))
	}
	t = strings.TrimSpace(t[len("POLYGON"):])
	for _, dim := range []string{"ZM", "Z", "M"} {
		if strings.HasPrefix(strings.ToUpper(t), dim) {
			t = strings.TrimSpace(t[len(dim):])
			break
		}
	}
	if !strings.HasPrefix(t, "(") || !strings.HasSuffix(t, ")") {
		return nil, 0, fmt.Errorf("a WKT POLYGON is enclosed in parentheses: POLYGON ((lng lat, …))")
	}
	t = strings.TrimSpace(t[1 : len(t)-1])
	var pg geo.Polygon
	n := 0
	for t != "" {
		if !strings.HasPrefix(t, "(") {
			return nil, n, fmt.Errorf("ring %d does not start with (", len(pg))
		}
		end := strings.IndexByte(t, ')')
		if end < 0 {
			return nil, n, fmt.Errorf("ring %d is not closed with )", len(pg))
		}
		body := t[1:end]
		t = strings.TrimSpace(t[end+1:])
		if strings.HasPrefix(t, ",") {
			t = strings.TrimSpace(t[1:])
			if t == "" {
				return nil, n, fmt.Errorf("a ring is missing after the last comma")
			}
		} else if t != "" {
			return nil, n, fmt.Errorf("rings are separated by commas")
		}
		var ring geo.Ring
		for _, pos := range strings.Split(body, ",") {
			n++
			if len(ring) >= maxRing {
				return nil, n, fmt.Errorf("ring %d has more than %d positions", len(pg), maxRing)
			}
			f := strings.Fields(pos)
			if len(f) < 2 || len(f) > 4 {
				return nil, n, fmt.Errorf("ring %d position %q is not \"lng lat\"", len(pg), truncate(strings.TrimSpace(pos), 40))
			}
			lng, err1 := strconv.ParseFloat(f[0], 64)
			lat, err2 := strconv.ParseFloat(f[1], 64)
			if err1 != nil || err2 != nil {
				return nil, n, fmt.Errorf("ring %d position %q is not two numbers", len(pg), truncate(strings.TrimSpace(pos), 40))
			}
			ring = append(ring, geo.Point{lng, lat})
		}
		pg = append(pg, ring)
	}
	if len(pg) == 0 {
		return nil, n, fmt.Errorf("the POLYGON is empty")
	}
	return pg, n, nil
}
