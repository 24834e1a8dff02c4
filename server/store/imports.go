package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

// Imports bring the bureau's reference data in from its own files:
// schools with their campus, licensed venues with their footprint, and the
// squads' jurisdiction polygons. Records arrive validated and converted to
// WGS-84 (server/importer). Each call is one transaction that either
// applies every record or none, matches on the bureau's external ids so
// that importing the same file twice changes nothing (no seq, no audit
// entry), and answers what it did.
type Imports interface {
	// ImportSchools creates or updates schools by external id; a changed
	// school gets a new seq, so devices near it receive it.
	ImportSchools(ctx context.Context, list []ImportSchool, o ImportOptions) (ImportReport, error)
	// ImportVenues creates or updates venues by external id. The squad of
	// a record that names one is set by hand (kept by later area imports);
	// else the venue goes to the squad whose area contains it, through the
	// same move as MoveVenue. A new venue outside every area and without a
	// squad is rejected; an existing one keeps its squad and is listed.
	ImportVenues(ctx context.Context, list []ImportVenue, o ImportOptions) (ImportReport, error)
	// ImportSquadAreas stores jurisdiction polygons (creating squads it
	// does not know), keeps the bounding boxes in step (a changed box bumps
	// the squad's scope, so its devices pull afresh), and reassigns every
	// venue whose squad was not set by hand to the squad whose area
	// contains it.
	ImportSquadAreas(ctx context.Context, list []ImportSquadArea, o ImportOptions) (ImportReport, error)
}

// ImportOptions modify an import.
type ImportOptions struct {
	// DryRun runs the whole import and rolls it back: the report says
	// what it would do.
	DryRun bool
}

// Source is where a record stands in its file, for the rejections.
type Source struct {
	Index int    `json:"index"`          // feature or data row, from 0
	Line  int    `json:"line,omitempty"` // CSV line, from 1 (the header is line 1)
	ID    string `json:"id,omitempty"`   // the record's external id
}

// ImportSchool is one school of a file, in WGS-84.
type ImportSchool struct {
	Source     Source
	ExternalID string
	Name       string
	Kind       string
	Address    string
	Geometry   geo.MultiPolygon
}

// ImportVenue is one licensed venue of a file, in WGS-84.
type ImportVenue struct {
	Source     Source
	ExternalID string
	LicenceNo  string
	Kind       string
	Name       string
	Address    string
	Lat, Lng   float64
	Footprint  geo.Polygon // nil: none
	SquadID    int64       // 0: the squad whose area contains it
}

// ImportSquadArea is one squad's jurisdiction of a file, in WGS-84.
type ImportSquadArea struct {
	Source  Source
	SquadID int64
	Name    string
	Area    geo.MultiPolygon
}

// ImportReport is what an import did (or, dry, would do).
type ImportReport struct {
	Created    int            `json:"created"`
	Updated    int            `json:"updated"`
	Unchanged  int            `json:"unchanged"`
	Reassigned []Reassignment `json:"reassigned"`
	// Outside lists the venues no squad area contains; they keep their squad.
	Outside []OutsideVenue `json:"outside"`
	DryRun  bool           `json:"dry_run"`
}

// Reassignment is a venue an import moved to another squad.
type Reassignment struct {
	VenueID    string `json:"venue_id"`
	ExternalID string `json:"external_id,omitempty"`
	Name       string `json:"name"`
	From       int64  `json:"from_squad"`
	To         int64  `json:"to_squad"`
}

// OutsideVenue is a venue outside every squad area.
type OutsideVenue struct {
	VenueID    string `json:"venue_id"`
	ExternalID string `json:"external_id,omitempty"`
	Name       string `json:"name"`
	SquadID    int64  `json:"squad_id"`
}

// Rejection is one record a file cannot be imported with, and why.
type Rejection struct {
	Source
	Reason string `json:"reason"`
}

// Rejections are every record of a file that failed; a file with any
// imports nothing. It is invalid input (schema.CodeInvalid).
type Rejections []Rejection

// Error lists every rejection, one a line.
func (r Rejections) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d record(s) rejected, nothing imported:", len(r))
	for _, x := range r {
		b.WriteString("\n  ")
		b.WriteString(x.String())
	}
	return b.String()
}

// Unwrap makes the rejections invalid input for the one error mapping.
func (r Rejections) Unwrap() error {
	return schema.Errorf(schema.CodeInvalid, "%d record(s) rejected, nothing imported", len(r))
}

// String names the record (line, feature index, id) and the reason.
func (r Rejection) String() string {
	where := fmt.Sprintf("feature %d", r.Index)
	if r.Line > 0 {
		where = fmt.Sprintf("line %d", r.Line)
	}
	if r.ID != "" {
		where += fmt.Sprintf(" (id %s)", r.ID)
	}
	return where + ": " + r.Reason
}

// SquadArea is a squad's jurisdiction as the assignment reads it.
type SquadArea struct {
	SquadID int64
	Area    geo.MultiPolygon
}

// SquadAt is the squad whose area contains the position: the lowest id
// when areas overlap, so that the answer never depends on row order.
func SquadAt(areas []SquadArea, lat, lng float64) (int64, bool) {
	p := geo.Point{lng, lat}
	best, found := int64(0), false
	for _, a := range areas {
		if found && a.SquadID >= best {
			continue
		}
		for _, pg := range a.Area {
			if pg.Contains(p) {
				best, found = a.SquadID, true
				break
			}
		}
	}
	return best, found
}

// AreaBounds is the bounding box (min lat, min lng, max lat, max lng) of
// an area, as the squads' columns keep it.
func AreaBounds(a geo.MultiPolygon) [4]float64 {
	b := a.Bound()
	return [4]float64{b.MinLat, b.MinLng, b.MaxLat, b.MaxLng}
}

// SchoolOf is the school a record describes, with the id it has (or
// gets): Polygon repeats the first outer ring for devices that read only
// one.
func SchoolOf(id string, r ImportSchool) schema.School {
	ring := make([][2]float64, 0, len(r.Geometry[0][0]))
	for _, p := range r.Geometry[0][0] {
		ring = append(ring, [2]float64(p))
	}
	return schema.School{ID: id, Name: r.Name, Kind: r.Kind, Address: r.Address, Polygon: ring, Geometry: r.Geometry, ExternalID: r.ExternalID}
}

// SameSchool reports whether a stored school already is what the record says.
func SameSchool(cur schema.School, r ImportSchool) bool {
	return cur.Name == r.Name && cur.Kind == r.Kind && cur.Address == r.Address && slices.EqualFunc(cur.Geometry, r.Geometry, samePolygon)
}

func samePolygon(a, b geo.Polygon) bool {
	return slices.EqualFunc(a, b, func(x, y geo.Ring) bool { return slices.Equal(x, y) })
}

// VenuePlan is what importing one venue record does.
type VenuePlan struct {
	Squad   int64 // the squad the venue is in afterwards
	Move    bool  // an existing venue changes squad
	Manual  bool  // squad_manual afterwards
	Outside bool  // no area contains it: it keeps its squad
	// Edits are the mergeable fields (schema.VenueFields) that differ,
	// applied through the venue field merge.
	Edits map[string]schema.FieldEdit
	// Place is set when kind, position, footprint or external id differ:
	// the import owns them and writes them as they are.
	Place  bool
	Reject string // non-empty: the record cannot be imported
}

// Changed reports whether the plan changes the venue at all.
func (p VenuePlan) Changed() bool { return p.Move || p.Place || len(p.Edits) > 0 }

// PlanVenue decides what a record does to the venue it matched (cur nil:
// none, it is created) and its manual flag, given every squad area.
func PlanVenue(cur *schema.Venue, manual bool, r ImportVenue, areas []SquadArea) VenuePlan {
	var p VenuePlan
	at, inArea := SquadAt(areas, r.Lat, r.Lng)
	if cur == nil {
		switch {
		case r.SquadID != 0:
			p.Squad, p.Manual = r.SquadID, true
		case inArea:
			p.Squad = at
		default:
			p.Reject = "the venue lies outside every squad area; give it a squad column or import the squad areas first"
		}
		return p
	}
	p.Squad, p.Manual = cur.SquadID, manual
	switch {
	case r.SquadID != 0:
		p.Squad, p.Manual = r.SquadID, true
	case manual:
	case inArea:
		p.Squad = at
	default:
		p.Outside = true
	}
	p.Move = p.Squad != cur.SquadID
	p.Edits = map[string]schema.FieldEdit{}
	for f, v := range map[string][2]string{schema.FieldName: {cur.Name, r.Name}, schema.FieldAddress: {cur.Address, r.Address},
		schema.FieldLicenceNo: {cur.LicenceNo, r.LicenceNo}} {
		if v[0] != v[1] {
			p.Edits[f] = schema.FieldEdit{Value: v[1]}
		}
	}
	p.Place = cur.Kind != r.Kind || cur.Lat != r.Lat || cur.Lng != r.Lng || cur.ExternalID != r.ExternalID ||
		!samePolygon(cur.Footprint, r.Footprint)
	return p
}

// NewImportedVenue is the venue a record creates, in squad.
func NewImportedVenue(id string, r ImportVenue, squad int64) schema.Venue {
	return schema.Venue{ID: id, SquadID: squad, Kind: r.Kind, Name: r.Name, Address: r.Address, LicenceNo: r.LicenceNo,
		Licensed: r.LicenceNo != "", OpenState: schema.OpenStateOpen, Lat: r.Lat, Lng: r.Lng, Footprint: r.Footprint,
		ExternalID: r.ExternalID, CreatedBy: "import"}
}

// SameArea reports whether two areas are the same polygons.
func SameArea(a, b geo.MultiPolygon) bool { return slices.EqualFunc(a, b, samePolygon) }
