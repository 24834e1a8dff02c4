package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/store"
)

// errDryRun rolls a dry-run import back after it has done everything.
var errDryRun = errors.New("dry run")

// importActor names the venue field edits an import makes.
func importActor() Actor {
	return Actor{MutationID: uuid.NewString(), DeviceID: "server:import"}
}

// importTx runs an import in one write transaction, rolled back when dry.
func (s *Store) importTx(ctx context.Context, what string, o store.ImportOptions,
	fn func(w *writer, rep *store.ImportReport) error) (store.ImportReport, error) {
	var rep store.ImportReport
	err := s.writeTx(ctx, func(w *writer) error {
		rep = store.ImportReport{DryRun: o.DryRun, Reassigned: []store.Reassignment{}, Outside: []store.OutsideVenue{}}
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
		return store.ImportReport{}, fmt.Errorf("store: import %s: %w", what, err)
	}
	return rep, nil
}

// ImportSchools creates or updates schools by external id.
func (s *Store) ImportSchools(ctx context.Context, list []store.ImportSchool, o store.ImportOptions) (store.ImportReport, error) {
	return s.importTx(ctx, "schools", o, func(w *writer, rep *store.ImportReport) error {
		for _, r := range list {
			var cur schema.School
			var poly string
			var geom, external sql.NullString
			err := w.tx.QueryRowContext(ctx, `SELECT id, name, kind, address, polygon, geometry, external_id FROM schools WHERE external_id = ?`,
				r.ExternalID).Scan(&cur.ID, &cur.Name, &cur.Kind, &cur.Address, &poly, &geom, &external)
			if errors.Is(err, sql.ErrNoRows) {
				sc := store.SchoolOf(uuid.NewString(), r)
				if err := w.insertSchool(ctx, &sc); err != nil {
					return err
				}
				rep.Created++
				if err := w.audit(ctx, schema.AuditSchool, sc.ID, nil, "import", "", "created", "external id "+r.ExternalID); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("school %s: %w", r.ExternalID, err)
			}
			if err := decodeSchool(&cur, poly, geom.String, external.String); err != nil {
				return err
			}
			if store.SameSchool(cur, r) {
				rep.Unchanged++
				continue
			}
			sc := store.SchoolOf(cur.ID, r)
			p, g, box, err := schoolColumns(&sc)
			if err != nil {
				return err
			}
			seq, err := w.seq.nextSeq(ctx)
			if err != nil {
				return err
			}
			if _, err := w.exec(ctx, `UPDATE schools SET name = ?, kind = ?, address = ?, polygon = ?, geometry = ?,
				min_lat = ?, min_lng = ?, max_lat = ?, max_lng = ?, seq = ? WHERE id = ?`,
				sc.Name, sc.Kind, sc.Address, p, g, box[0], box[1], box[2], box[3], seq, sc.ID); err != nil {
				return fmt.Errorf("school %s: %w", sc.ID, err)
			}
			rep.Updated++
			if err := w.audit(ctx, schema.AuditSchool, sc.ID, nil, "import", "", "updated", "external id "+r.ExternalID); err != nil {
				return err
			}
		}
		if rep.Created+rep.Updated == 0 {
			return nil
		}
		// A campus drawn anew moves its zone: every venue the rules may
		// cover is measured again against the schools as they are now.
		venues, err := w.venuesOfKinds(ctx, schema.VenueKinds)
		if err != nil {
			return err
		}
		return w.evaluateZones(ctx, schema.ZoneClearSchool, venues...)
	})
}

// squadAreas reads every squad's jurisdiction polygon, by squad id.
func (w *writer) squadAreas(ctx context.Context) ([]store.SquadArea, error) {
	rows, err := w.tx.QueryContext(ctx, `SELECT id, area FROM squads WHERE area IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("squad areas: %w", err)
	}
	defer rows.Close()
	var out []store.SquadArea
	for rows.Next() {
		var a store.SquadArea
		var body string
		if err := rows.Scan(&a.SquadID, &body); err != nil {
			return nil, fmt.Errorf("squad areas: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &a.Area); err != nil {
			return nil, fmt.Errorf("squad %d area: %w", a.SquadID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ImportVenues creates or updates venues by external id and assigns them
// to squads (store.PlanVenue).
func (s *Store) ImportVenues(ctx context.Context, list []store.ImportVenue, o store.ImportOptions) (store.ImportReport, error) {
	return s.importTx(ctx, "venues", o, func(w *writer, rep *store.ImportReport) error {
		var touched []string // created or changed: measured against the zones at the end
		areas, err := w.squadAreas(ctx)
		if err != nil {
			return err
		}
		var rejected store.Rejections
		known := map[int64]bool{}
		for _, r := range list {
			if r.SquadID != 0 && !known[r.SquadID] {
				if err := w.squadExists(ctx, r.SquadID); err != nil {
					if schema.ErrorCode(err) != schema.CodeInvalid {
						return err
					}
					rejected = append(rejected, store.Rejection{Source: r.Source, Reason: fmt.Sprintf("squad %d does not exist", r.SquadID)})
					continue
				}
				known[r.SquadID] = true
			}
			var cur *venueRow
			var manual bool
			row := w.tx.QueryRowContext(ctx, `SELECT `+venueCols+`, squad_manual FROM venues WHERE external_id = ?`, r.ExternalID)
			cur, manual, err = scanVenueManual(row)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("venue %s: %w", r.ExternalID, err)
			}
			if cur == nil {
				plan := store.PlanVenue(nil, false, r, areas)
				if plan.Reject != "" {
					rejected = append(rejected, store.Rejection{Source: r.Source, Reason: plan.Reject})
					continue
				}
				nv := &venueRow{Venue: store.NewImportedVenue(uuid.NewString(), r, plan.Squad).Stamped(s.clock.Tick().String())}
				if err := w.insertVenue(ctx, nv); err != nil {
					return err
				}
				if plan.Manual {
					if _, err := w.exec(ctx, `UPDATE venues SET squad_manual = 1 WHERE id = ?`, nv.ID); err != nil {
						return err
					}
				}
				rep.Created++
				touched = append(touched, nv.ID)
				if err := w.audit(ctx, schema.AuditVenue, nv.ID, &nv.SquadID, "import", "", "created", "external id "+r.ExternalID); err != nil {
					return err
				}
				continue
			}
			if cur.Deleted {
				// Deleted on the server: an import does not bring it back.
				rep.Unchanged++
				continue
			}
			plan := store.PlanVenue(&cur.Venue, manual, r, areas)
			if plan.Outside {
				rep.Outside = append(rep.Outside, store.OutsideVenue{VenueID: cur.ID, ExternalID: cur.ExternalID, Name: r.Name, SquadID: cur.SquadID})
			}
			if plan.Manual != manual {
				if _, err := w.exec(ctx, `UPDATE venues SET squad_manual = ? WHERE id = ?`, boolInt(plan.Manual), cur.ID); err != nil {
					return err
				}
			}
			if !plan.Changed() {
				rep.Unchanged++
				continue
			}
			if err := s.applyVenuePlan(ctx, w, cur, r, plan, rep); err != nil {
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
			v, err := w.loadVenue(ctx, id)
			if err != nil {
				return err
			}
			venues = append(venues, v.Venue)
		}
		return w.evaluateZones(ctx, "", venues...)
	})
}

// applyVenuePlan writes what a plan changes of an existing venue: the
// mergeable fields through the field merge, the fields the import owns as
// they are, and the squad through the one move.
func (s *Store) applyVenuePlan(ctx context.Context, w *writer, cur *venueRow, r store.ImportVenue, plan store.VenuePlan, rep *store.ImportReport) error {
	var changed []string
	if len(plan.Edits) > 0 {
		if _, _, err := s.editVenue(ctx, w, cur.ID, plan.Edits, nil, importActor(), schema.AllSquads()); err != nil {
			return err
		}
		for f := range plan.Edits {
			changed = append(changed, f)
		}
	}
	if plan.Place {
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		if _, err := w.exec(ctx, `UPDATE venues SET kind = ?, lat = ?, lng = ?, footprint = ?, external_id = ?, updated_at = ?, seq = ? WHERE id = ?`,
			r.Kind, r.Lat, r.Lng, footprintJSON(r.Footprint), nullString(r.ExternalID), w.nowText(), seq, cur.ID); err != nil {
			return fmt.Errorf("venue %s: %w", cur.ID, err)
		}
		changed = append(changed, "place")
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		if err := w.audit(ctx, schema.AuditVenue, cur.ID, &cur.SquadID, "import", "", "updated", strings.Join(changed, ", ")); err != nil {
			return err
		}
	}
	if plan.Move {
		v, err := w.loadVenue(ctx, cur.ID)
		if err != nil {
			return err
		}
		from := v.SquadID
		if err := w.moveVenue(ctx, v, plan.Squad, "import"); err != nil {
			return err
		}
		rep.Reassigned = append(rep.Reassigned, store.Reassignment{VenueID: v.ID, ExternalID: v.ExternalID, Name: v.Name, From: from, To: plan.Squad})
	}
	return nil
}

// scanVenueManual scans venueCols followed by squad_manual.
func scanVenueManual(row interface{ Scan(...any) error }) (*venueRow, bool, error) {
	var manual int
	v, err := scanVenue(scanPlus{row, []any{&manual}})
	if err != nil {
		return nil, false, err
	}
	return v, manual != 0, nil
}

// scanPlus scans a row's leading columns into the caller's destinations
// and the columns after them into extra.
type scanPlus struct {
	row   interface{ Scan(...any) error }
	extra []any
}

// Scan implements the row interface scanVenue reads.
func (s scanPlus) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }

// ImportSquadAreas stores jurisdiction polygons and reassigns the venues
// whose squad was not set by hand.
func (s *Store) ImportSquadAreas(ctx context.Context, list []store.ImportSquadArea, o store.ImportOptions) (store.ImportReport, error) {
	return s.importTx(ctx, "squad areas", o, func(w *writer, rep *store.ImportReport) error {
		for _, r := range list {
			body, err := json.Marshal(r.Area)
			if err != nil {
				return err
			}
			box := store.AreaBounds(r.Area)
			var name string
			var area sql.NullString
			var cur [4]float64
			err = w.tx.QueryRowContext(ctx, `SELECT name, area, min_lat, min_lng, max_lat, max_lng FROM squads WHERE id = ?`, r.SquadID).
				Scan(&name, &area, &cur[0], &cur[1], &cur[2], &cur[3])
			if errors.Is(err, sql.ErrNoRows) {
				if r.Name == "" {
					r.Name = fmt.Sprintf("Squad %d", r.SquadID)
				}
				if _, err := w.exec(ctx, `INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng, scope_version, area) VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
					r.SquadID, r.Name, box[0], box[1], box[2], box[3], string(body)); err != nil {
					return fmt.Errorf("squad %d: %w", r.SquadID, err)
				}
				rep.Created++
				if err := w.audit(ctx, schema.AuditSquad, fmt.Sprint(r.SquadID), &r.SquadID, "import", "", "created", "area"); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("squad %d: %w", r.SquadID, err)
			}
			if r.Name == "" {
				r.Name = name
			}
			var old geo.MultiPolygon
			if area.Valid {
				if err := json.Unmarshal([]byte(area.String), &old); err != nil {
					return fmt.Errorf("squad %d area: %w", r.SquadID, err)
				}
			}
			if name == r.Name && area.Valid && store.SameArea(old, r.Area) {
				rep.Unchanged++
				continue
			}
			// A new box changes which schools the squad's devices hold:
			// they pull afresh (scope_version).
			bump := 0
			if cur != box {
				bump = 1
			}
			if _, err := w.exec(ctx, `UPDATE squads SET name = ?, area = ?, min_lat = ?, min_lng = ?, max_lat = ?, max_lng = ?,
				scope_version = scope_version + ? WHERE id = ?`, r.Name, string(body), box[0], box[1], box[2], box[3], bump, r.SquadID); err != nil {
				return fmt.Errorf("squad %d: %w", r.SquadID, err)
			}
			rep.Updated++
			if err := w.audit(ctx, schema.AuditSquad, fmt.Sprint(r.SquadID), &r.SquadID, "import", "", "updated", "area"); err != nil {
				return err
			}
		}
		return w.reassignByArea(ctx, rep)
	})
}

// reassignByArea moves every venue whose squad was not set by hand to the
// squad whose area contains it, and lists those no area contains.
func (w *writer) reassignByArea(ctx context.Context, rep *store.ImportReport) error {
	areas, err := w.squadAreas(ctx)
	if err != nil {
		return err
	}
	rows, err := w.tx.QueryContext(ctx, `SELECT `+venueCols+` FROM venues WHERE deleted = 0 AND squad_manual = 0 ORDER BY id`)
	if err != nil {
		return fmt.Errorf("venues: %w", err)
	}
	var list []*venueRow
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("venues: %w", err)
		}
		list = append(list, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("venues: %w", err)
	}
	for _, v := range list {
		to, ok := store.SquadAt(areas, v.Lat, v.Lng)
		switch {
		case !ok:
			rep.Outside = append(rep.Outside, store.OutsideVenue{VenueID: v.ID, ExternalID: v.ExternalID, Name: v.Name, SquadID: v.SquadID})
		case to != v.SquadID:
			from := v.SquadID
			if err := w.moveVenue(ctx, v, to, "squad area import"); err != nil {
				return err
			}
			rep.Reassigned = append(rep.Reassigned, store.Reassignment{VenueID: v.ID, ExternalID: v.ExternalID, Name: v.Name, From: from, To: to})
		}
	}
	return nil
}
