package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
)

// ImportWriter is what an adapter's import transaction offers the import
// loops (RunImportSchools, RunImportVenues, RunImportSquadAreas): reads by
// external id and the writes of a decision. Implementations hold no
// import logic, only their SQL.
type ImportWriter interface {
	// Audit appends an audit entry in the transaction.
	Audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error
	// EvaluateZones re-evaluates the venues' zones (store.EvaluateZones).
	EvaluateZones(ctx context.Context, why string, venues ...schema.Venue) error

	// SchoolByExternalID reads the school of an external id; found is
	// false when there is none.
	SchoolByExternalID(ctx context.Context, externalID string) (sc schema.School, found bool, err error)
	// InsertSchool writes a new school.
	InsertSchool(ctx context.Context, sc schema.School) error
	// UpdateSchool rewrites a school's fields and shape with a new seq.
	UpdateSchool(ctx context.Context, sc schema.School) error
	// VenuesOfKinds reads the live venues of those kinds.
	VenuesOfKinds(ctx context.Context, kinds []string) ([]schema.Venue, error)
	// ZoneRules reads every published rule.
	ZoneRules(ctx context.Context) ([]schema.ZoneRule, error)

	// SquadAreas reads every squad's jurisdiction polygon, by squad id.
	SquadAreas(ctx context.Context) ([]SquadArea, error)
	// SquadExists fails with schema.CodeInvalid when the squad does not exist.
	SquadExists(ctx context.Context, id int64) error
	// VenueByExternalID reads the venue of an external id and its
	// squad_manual flag; found is false when there is none.
	VenueByExternalID(ctx context.Context, externalID string) (v schema.Venue, manual, found bool, err error)
	// Tick is a new hybrid logical clock reading, for a new venue's fields.
	Tick() string
	// InsertVenue writes a new venue.
	InsertVenue(ctx context.Context, v schema.Venue) error
	// SetSquadManual sets a venue's squad_manual flag.
	SetSquadManual(ctx context.Context, id string, manual bool) error
	// EditVenue applies field edits through the venue field merge, as the import.
	EditVenue(ctx context.Context, id string, edits map[string]schema.FieldEdit) error
	// PlaceVenue writes the fields the import owns (kind, position,
	// footprint, external id) with a new seq.
	PlaceVenue(ctx context.Context, id string, r ImportVenue) error
	// LoadVenue reads a venue.
	LoadVenue(ctx context.Context, id string) (schema.Venue, error)
	// MoveVenue is the one move of a venue to another squad; v is updated
	// to what it becomes.
	MoveVenue(ctx context.Context, v *schema.Venue, squadID int64, reason string) error

	// Squad reads a squad's name, stored area (nil: none) and box; found
	// is false when there is none.
	Squad(ctx context.Context, id int64) (name string, area *string, box [4]float64, found bool, err error)
	// InsertSquad creates a squad with its area (JSON) and box.
	InsertSquad(ctx context.Context, id int64, name, area string, box [4]float64) error
	// UpdateSquad rewrites a squad's name, area and box and adds bump to
	// its scope version.
	UpdateSquad(ctx context.Context, id int64, name, area string, box [4]float64, bump int) error
	// UnpinnedVenues reads the live venues whose squad was not set by hand, by id.
	UnpinnedVenues(ctx context.Context) ([]schema.Venue, error)
}

// NewImportReport is the empty report an import starts from.
func NewImportReport(dry bool) ImportReport {
	return ImportReport{DryRun: dry, Reassigned: []Reassignment{}, Outside: []OutsideVenue{}}
}

// RunImportSchools creates or updates schools by external id inside the
// caller's transaction (Imports.ImportSchools).
func RunImportSchools(ctx context.Context, w ImportWriter, list []ImportSchool, rep *ImportReport) error {
	var moved []geo.Box // the campuses before and after the change
	for _, r := range list {
		cur, found, err := w.SchoolByExternalID(ctx, r.ExternalID)
		if err != nil {
			return err
		}
		if !found {
			sc := SchoolOf(uuid.NewString(), r)
			if err := w.InsertSchool(ctx, sc); err != nil {
				return err
			}
			rep.Created++
			moved = append(moved, schema.SchoolGeometry(sc).Bound())
			if err := w.Audit(ctx, schema.AuditSchool, sc.ID, nil, "import", "", "created", "external id "+r.ExternalID); err != nil {
				return err
			}
			continue
		}
		if SameSchool(cur, r) {
			rep.Unchanged++
			continue
		}
		sc := SchoolOf(cur.ID, r)
		if err := w.UpdateSchool(ctx, sc); err != nil {
			return err
		}
		rep.Updated++
		moved = append(moved, schema.SchoolGeometry(cur).Bound(), schema.SchoolGeometry(sc).Bound())
		if err := w.Audit(ctx, schema.AuditSchool, sc.ID, nil, "import", "", "updated", "external id "+r.ExternalID); err != nil {
			return err
		}
	}
	if rep.Created+rep.Updated == 0 {
		return nil
	}
	// A campus drawn anew moves its zone: the venues within reach of it,
	// as it was or as it is now, are measured again. Reach is the largest
	// rule's distance, so a venue outside every grown box can neither
	// enter nor leave a zone of the changed schools.
	rules, err := w.ZoneRules(ctx)
	if err != nil {
		return err
	}
	reach := geo.MaxDistance(rules)
	for i := range moved {
		moved[i] = moved[i].Grow(reach)
	}
	venues, err := w.VenuesOfKinds(ctx, schema.VenueKinds)
	if err != nil {
		return err
	}
	near := venues[:0]
	for _, v := range venues {
		b := schema.VenueGeometry(v).Bound()
		for _, m := range moved {
			if b.MinLng <= m.MaxLng && b.MaxLng >= m.MinLng && b.MinLat <= m.MaxLat && b.MaxLat >= m.MinLat {
				near = append(near, v)
				break
			}
		}
	}
	return w.EvaluateZones(ctx, schema.ZoneClearSchool, near...)
}

// RunImportVenues creates or updates venues by external id and assigns
// them to squads (PlanVenue) inside the caller's transaction
// (Imports.ImportVenues).
func RunImportVenues(ctx context.Context, w ImportWriter, list []ImportVenue, rep *ImportReport) error {
	var touched []string // created or changed: measured against the zones at the end
	areas, err := w.SquadAreas(ctx)
	if err != nil {
		return err
	}
	var rejected Rejections
	known := map[int64]bool{}
	for _, r := range list {
		if r.SquadID != 0 && !known[r.SquadID] {
			if err := w.SquadExists(ctx, r.SquadID); err != nil {
				if schema.ErrorCode(err) != schema.CodeInvalid {
					return err
				}
				rejected = append(rejected, Rejection{Source: r.Source, Reason: fmt.Sprintf("squad %d does not exist", r.SquadID)})
				continue
			}
			known[r.SquadID] = true
		}
		cur, manual, found, err := w.VenueByExternalID(ctx, r.ExternalID)
		if err != nil {
			return err
		}
		if !found {
			plan := PlanVenue(nil, false, r, areas)
			if plan.Reject != "" {
				rejected = append(rejected, Rejection{Source: r.Source, Reason: plan.Reject})
				continue
			}
			nv := NewImportedVenue(uuid.NewString(), r, plan.Squad).Stamped(w.Tick())
			if err := w.InsertVenue(ctx, nv); err != nil {
				return err
			}
			if plan.Manual {
				if err := w.SetSquadManual(ctx, nv.ID, true); err != nil {
					return err
				}
			}
			rep.Created++
			touched = append(touched, nv.ID)
			if err := w.Audit(ctx, schema.AuditVenue, nv.ID, &nv.SquadID, "import", "", "created", "external id "+r.ExternalID); err != nil {
				return err
			}
			continue
		}
		if cur.Deleted {
			// Deleted on the server: an import does not bring it back.
			rep.Unchanged++
			continue
		}
		plan := PlanVenue(&cur, manual, r, areas)
		if plan.Outside {
			rep.Outside = append(rep.Outside, OutsideVenue{VenueID: cur.ID, ExternalID: cur.ExternalID, Name: r.Name, SquadID: cur.SquadID})
		}
		if plan.Manual != manual {
			if err := w.SetSquadManual(ctx, cur.ID, plan.Manual); err != nil {
				return err
			}
		}
		if !plan.Changed() {
			rep.Unchanged++
			continue
		}
		if err := applyVenuePlan(ctx, w, cur, r, plan, rep); err != nil {
			return err
		}
		rep.Updated++
		touched = append(touched, cur.ID)
	}
	if len(rejected) > 0 {
		return rejected
	}
	venues := make([]schema.Venue, 0, len(touched))
	for _, id := range touched {
		v, err := w.LoadVenue(ctx, id)
		if err != nil {
			return err
		}
		venues = append(venues, v)
	}
	return w.EvaluateZones(ctx, "", venues...)
}

// applyVenuePlan writes what a plan changes of an existing venue: the
// mergeable fields through the field merge, the fields the import owns as
// they are, and the squad through the one move.
func applyVenuePlan(ctx context.Context, w ImportWriter, cur schema.Venue, r ImportVenue, plan VenuePlan, rep *ImportReport) error {
	var changed []string
	if len(plan.Edits) > 0 {
		if err := w.EditVenue(ctx, cur.ID, plan.Edits); err != nil {
			return err
		}
		for f := range plan.Edits {
			changed = append(changed, f)
		}
	}
	if plan.Place {
		if err := w.PlaceVenue(ctx, cur.ID, r); err != nil {
			return err
		}
		changed = append(changed, "place")
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		if err := w.Audit(ctx, schema.AuditVenue, cur.ID, &cur.SquadID, "import", "", "updated", strings.Join(changed, ", ")); err != nil {
			return err
		}
	}
	if plan.Move {
		v, err := w.LoadVenue(ctx, cur.ID)
		if err != nil {
			return err
		}
		from := v.SquadID
		if err := w.MoveVenue(ctx, &v, plan.Squad, "import"); err != nil {
			return err
		}
		rep.Reassigned = append(rep.Reassigned, Reassignment{VenueID: v.ID, ExternalID: v.ExternalID, Name: v.Name, From: from, To: plan.Squad})
	}
	return nil
}

// RunImportSquadAreas stores jurisdiction polygons and reassigns the
// venues whose squad was not set by hand, inside the caller's transaction
// (Imports.ImportSquadAreas).
func RunImportSquadAreas(ctx context.Context, w ImportWriter, list []ImportSquadArea, rep *ImportReport) error {
	for _, r := range list {
		body, err := json.Marshal(r.Area)
		if err != nil {
			return err
		}
		box := AreaBounds(r.Area)
		name, area, cur, found, err := w.Squad(ctx, r.SquadID)
		if err != nil {
			return err
		}
		if !found {
			if r.Name == "" {
				r.Name = fmt.Sprintf("Squad %d", r.SquadID)
			}
			if err := w.InsertSquad(ctx, r.SquadID, r.Name, string(body), box); err != nil {
				return err
			}
			rep.Created++
			if err := w.Audit(ctx, schema.AuditSquad, fmt.Sprint(r.SquadID), &r.SquadID, "import", "", "created", "area"); err != nil {
				return err
			}
			continue
		}
		if r.Name == "" {
			r.Name = name
		}
		var old geo.MultiPolygon
		if area != nil {
			if err := json.Unmarshal([]byte(*area), &old); err != nil {
				return fmt.Errorf("squad %d area: %w", r.SquadID, err)
			}
		}
		if name == r.Name && area != nil && SameArea(old, r.Area) {
			rep.Unchanged++
			continue
		}
		// A new box changes which schools the squad's devices hold:
		// they pull afresh (scope_version).
		bump := 0
		if cur != box {
			bump = 1
		}
		if err := w.UpdateSquad(ctx, r.SquadID, r.Name, string(body), box, bump); err != nil {
			return err
		}
		rep.Updated++
		if err := w.Audit(ctx, schema.AuditSquad, fmt.Sprint(r.SquadID), &r.SquadID, "import", "", "updated", "area"); err != nil {
			return err
		}
	}
	return reassignByArea(ctx, w, rep)
}

// reassignByArea moves every venue whose squad was not set by hand to the
// squad whose area contains it, and lists those no area contains.
func reassignByArea(ctx context.Context, w ImportWriter, rep *ImportReport) error {
	areas, err := w.SquadAreas(ctx)
	if err != nil {
		return err
	}
	list, err := w.UnpinnedVenues(ctx)
	if err != nil {
		return err
	}
	for i := range list {
		v := &list[i]
		to, ok := SquadAt(areas, v.Lat, v.Lng)
		switch {
		case !ok:
			rep.Outside = append(rep.Outside, OutsideVenue{VenueID: v.ID, ExternalID: v.ExternalID, Name: v.Name, SquadID: v.SquadID})
		case to != v.SquadID:
			from := v.SquadID
			if err := w.MoveVenue(ctx, v, to, "squad area import"); err != nil {
				return err
			}
			rep.Reassigned = append(rep.Reassigned, Reassignment{VenueID: v.ID, ExternalID: v.ExternalID, Name: v.Name, From: from, To: to})
		}
	}
	return nil
}

// VenueMover is what an adapter's write transaction offers MoveVenue; an
// ImportWriter is one.
type VenueMover interface {
	// LoadVenue reads a venue; not found: schema.CodeNotFound.
	LoadVenue(ctx context.Context, id string) (schema.Venue, error)
	// SquadExists fails with schema.CodeInvalid when the squad does not exist.
	SquadExists(ctx context.Context, id int64) error
	// MoveVenue is the one move of a venue to another squad.
	MoveVenue(ctx context.Context, v *schema.Venue, squadID int64, reason string) error
	// SetSquadManual sets a venue's squad_manual flag.
	SetSquadManual(ctx context.Context, id string, manual bool) error
}

// MoveVenue reassigns a venue to another existing squad by hand inside the
// caller's write transaction (the one move, then squad_manual, so that an
// import of squad areas leaves it where it was put), and answers the
// venue as it is afterwards.
func MoveVenue(ctx context.Context, w VenueMover, id string, squadID int64) (schema.Venue, error) {
	v, err := w.LoadVenue(ctx, id)
	if err != nil {
		return schema.Venue{}, err
	}
	if v.SquadID == squadID {
		return schema.Venue{}, schema.Errorf(schema.CodeInvalid, "venue %s is already in squad %d", id, squadID)
	}
	if err := w.SquadExists(ctx, squadID); err != nil {
		return schema.Venue{}, err
	}
	if err := w.MoveVenue(ctx, &v, squadID, ""); err != nil {
		return schema.Venue{}, err
	}
	if err := w.SetSquadManual(ctx, id, true); err != nil {
		return schema.Venue{}, err
	}
	return v, nil
}

// errDryRun rolls a dry-run import back after it has done everything.
var errDryRun = errors.New("dry run")

// RunImport runs one import (fn) in one write transaction, started by
// inTx with the adapter's ImportWriter, and rolls it back when o is dry:
// the report then says what the import would do. what names the import
// in its errors.
func RunImport(ctx context.Context, what string, o ImportOptions,
	inTx func(do func(ImportWriter) error) error, fn func(w ImportWriter, rep *ImportReport) error) (ImportReport, error) {
	var rep ImportReport
	err := inTx(func(w ImportWriter) error {
		rep = NewImportReport(o.DryRun)
		if err := fn(w, &rep); err != nil {
			return err
		}
		if o.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return rep, nil
	}
	if err != nil {
		return ImportReport{}, fmt.Errorf("store: import %s: %w", what, err)
	}
	return rep, nil
}
