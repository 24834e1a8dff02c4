// Package importer reads the bureau's reference files — schools and squad
// jurisdictions as GeoJSON, licensed venues as CSV — into the validated,
// WGS-84 records the store imports (store.Imports). It is the one place
// that parses and checks them, for the command line, the API and the
// workbench alike, and it holds no SQL.
//
// A file is read whole and checked whole: every record that fails is
// listed (store.Rejections, with the feature index or CSV line and the
// record's id) and none is returned, so that a file with one bad line
// imports nothing. Files are bounded in bytes, records and coordinates,
// because they are uploaded by people and exported by tools nobody here
// controls.
package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

// Limits bound what one file may hold.
type Limits struct {
	MaxBytes    int64 // the file's size
	MaxRecords  int   // features or CSV data rows
	MaxCoords   int   // positions in all geometries of the file
	MaxRingSize int   // positions in one ring
}

// DefaultLimits fit a city's schools, venues and squads many times over
// and keep a hostile file from taking the server's memory.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxRecords: 100_000, MaxCoords: 4_000_000, MaxRingSize: 100_000}

// MaxIDLen is the longest external id accepted.
const MaxIDLen = 100

// ParseDatum reads the datum a file was drawn in: wgs84 (the default when
// empty), gcj02 or bd09.
func ParseDatum(s string) (geo.Datum, error) {
	switch d := geo.Datum(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return geo.WGS84, nil
	case geo.WGS84, geo.GCJ02, geo.BD09:
		return d, nil
	}
	return "", schema.Errorf(schema.CodeInvalid, "datum %q is not one of wgs84, gcj02 (AMap, Tencent), bd09 (Baidu)", truncate(s, 20))
}

// readAll reads a whole file, refusing one over the limit.
func readAll(r io.Reader, lim Limits) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) || int64(len(b)) > lim.MaxBytes {
		return nil, schema.Errorf(schema.CodeTooLarge, "the file is over %d MiB; split it", lim.MaxBytes>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("importer: read: %w", err)
	}
	// Spreadsheet programs start UTF-8 files with a byte order mark.
	return bytes.TrimPrefix(b, []byte("\ufeff")), nil
}

// schoolKinds are the Chinese names of school kinds in the bureau's files.
var schoolKinds = map[string]string{"小学": "primary", "中学": "secondary", "初中": "secondary", "高中": "secondary",
	"幼儿园": "kindergarten", "特殊教育学校": "special", "中等职业学校": "vocational"}

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// schoolKind reads a school kind: a lower-case word (primary, secondary,
// kindergarten, …) or its Chinese name.
func schoolKind(s string) (string, error) {
	s = strings.TrimSpace(s)
	if k, ok := schoolKinds[s]; ok {
		return k, nil
	}
	k := strings.ToLower(s)
	if !kindPattern.MatchString(k) {
		return "", fmt.Errorf("kind %q is not a school kind such as primary, secondary or kindergarten", truncate(s, 40))
	}
	return k, nil
}

// checkID checks an external id.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("no id; every record needs the bureau's stable id")
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("id is %d bytes; at most %d", len(id), MaxIDLen)
	}
	return schema.CheckText("id", id, MaxIDLen)
}

// checkName checks a required text and returns it trimmed.
func checkName(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", fmt.Errorf("%s is empty", field)
	}
	if err := schema.CheckText(field, s, schema.MaxTextLen); err != nil {
		return "", err
	}
	return s, nil
}

// convert validates g as drawn, converts it from datum d and validates
// the result (a conversion never makes a valid shape invalid, but the
// check costs little and guards the stored data).
func convert(g geo.Geometry, d geo.Datum) (geo.Geometry, error) {
	if err := geo.Validate(g); err != nil {
		return nil, err
	}
	w, ok := geo.ConvertToWGS84(g, d)
	if !ok {
		return nil, fmt.Errorf("datum %q is unknown", d)
	}
	if err := geo.Validate(w); err != nil {
		return nil, err
	}
	return w, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// rejections collects the records a file fails with.
type rejections struct{ list store.Rejections }

func (r *rejections) add(src store.Source, err error) {
	r.list = append(r.list, store.Rejection{Source: src, Reason: err.Error()})
}

// err is nil without rejections.
func (r *rejections) err() error {
	if len(r.list) == 0 {
		return nil
	}
	sort.SliceStable(r.list, func(i, j int) bool { return r.list[i].Index < r.list[j].Index })
	return r.list
}

// Kinds of file an import reads.
const (
	KindSchools = "schools"
	KindVenues  = "venues"
	KindSquads  = "squads"
)

// Import reads a file of kind (KindSchools, KindVenues, KindSquads) drawn
// in datum d and imports it into st: what the API and the workbench run.
func Import(ctx context.Context, st store.Imports, kind string, r io.Reader, d geo.Datum, o store.ImportOptions) (store.ImportReport, error) {
	lim := DefaultLimits
	switch kind {
	case KindSchools:
		recs, err := Schools(r, d, lim)
		if err != nil {
			return store.ImportReport{}, err
		}
		return st.ImportSchools(ctx, recs, o)
	case KindVenues:
		recs, err := Venues(r, d, lim)
		if err != nil {
			return store.ImportReport{}, err
		}
		return st.ImportVenues(ctx, recs, o)
	case KindSquads:
		recs, err := SquadAreas(r, d, lim)
		if err != nil {
			return store.ImportReport{}, err
		}
		return st.ImportSquadAreas(ctx, recs, o)
	}
	return store.ImportReport{}, schema.Errorf(schema.CodeNotFound, "there is no import of %q; import schools, venues or squads", truncate(kind, 40))
}
