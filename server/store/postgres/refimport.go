package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// importActor names the venue field edits an import makes.
func importActor() store.Actor {
	return store.Actor{MutationID: uuid.NewString(), DeviceID: "server:import"}
}

// importTx runs an import in one write transaction (store.RunImport).
func (s *Store) importTx(ctx context.Context, what string, o store.ImportOptions,
	fn func(w store.ImportWriter, rep *store.ImportReport) error) (store.ImportReport, error) {
	return store.RunImport(ctx, what, o, func(do func(store.ImportWriter) error) error {
		return s.writeTx(ctx, func(w *writer) error { return do(txn{s, w}) })
	}, fn)
}

// ImportSchools creates or updates schools by external id.
func (s *Store) ImportSchools(ctx context.Context, list []store.ImportSchool, o store.ImportOptions) (store.ImportReport, error) {
	return s.importTx(ctx, "schools", o, func(w store.ImportWriter, rep *store.ImportReport) error {
		return store.RunImportSchools(ctx, w, list, rep)
	})
}

// ImportVenues creates or updates venues by external id and assigns them
// to squads (store.PlanVenue).
func (s *Store) ImportVenues(ctx context.Context, list []store.ImportVenue, o store.ImportOptions) (store.ImportReport, error) {
	return s.importTx(ctx, "venues", o, func(w store.ImportWriter, rep *store.ImportReport) error {
		return store.RunImportVenues(ctx, w, list, rep)
	})
}

// ImportSquadAreas stores jurisdiction polygons and reassigns the venues
// whose squad was not set by hand.
func (s *Store) ImportSquadAreas(ctx context.Context, list []store.ImportSquadArea, o store.ImportOptions) (store.ImportReport, error) {
	return s.importTx(ctx, "squad areas", o, func(w store.ImportWriter, rep *store.ImportReport) error {
		return store.RunImportSquadAreas(ctx, w, list, rep)
	})
}

var _ store.ImportWriter = txn{}

func (t txn) Audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error {
	return t.w.audit(ctx, kind, id, squad, action, from, to, reason)
}

func (t txn) EvaluateZones(ctx context.Context, why string, venues ...schema.Venue) error {
	return t.w.evaluateZones(ctx, why, venues...)
}

func (t txn) SchoolByExternalID(ctx context.Context, externalID string) (schema.School, bool, error) {
	var cur schema.School
	var poly string
	var geom, external *string
	err := t.w.tx.QueryRow(ctx, `SELECT id, name, kind, address, polygon, geometry, external_id FROM schools WHERE external_id = $1`,
		externalID).Scan(&cur.ID, &cur.Name, &cur.Kind, &cur.Address, &poly, &geom, &external)
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.School{}, false, nil
	}
	if err != nil {
		return schema.School{}, false, fmt.Errorf("school %s: %w", externalID, err)
	}
	if err := decodeSchool(&cur, poly, geom, external); err != nil {
		return schema.School{}, false, err
	}
	return cur, true, nil
}

func (t txn) InsertSchool(ctx context.Context, sc schema.School) error {
	return t.w.insertSchool(ctx, &sc)
}

func (t txn) UpdateSchool(ctx context.Context, sc schema.School) error {
	p, g, box, err := schoolColumns(&sc)
	if err != nil {
		return err
	}
	seq := t.w.nextSeq()
	if _, err := t.w.tx.Exec(ctx, `UPDATE schools SET name = $1, kind = $2, address = $3, polygon = $4, geometry = $5,
		min_lat = $6, min_lng = $7, max_lat = $8, max_lng = $9, seq = $10 WHERE id = $11`,
		sc.Name, sc.Kind, sc.Address, p, g, box[0], box[1], box[2], box[3], seq, sc.ID); err != nil {
		return fmt.Errorf("school %s: %w", sc.ID, err)
	}
	return nil
}

func (t txn) VenuesOfKinds(ctx context.Context, kinds []string) ([]schema.Venue, error) {
	return t.w.venuesOfKinds(ctx, kinds)
}

func (t txn) SquadAreas(ctx context.Context) ([]store.SquadArea, error) {
	return t.w.squadAreas(ctx)
}

func (t txn) SquadExists(ctx context.Context, id int64) error {
	return t.w.squadExists(ctx, id)
}

func (t txn) VenueByExternalID(ctx context.Context, externalID string) (schema.Venue, bool, bool, error) {
	row := t.w.tx.QueryRow(ctx, `SELECT `+venueCols+`, squad_manual FROM venues WHERE external_id = $1`, externalID)
	cur, manual, err := scanVenueManual(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Venue{}, false, false, nil
	}
	if err != nil {
		return schema.Venue{}, false, false, fmt.Errorf("venue %s: %w", externalID, err)
	}
	return cur.Venue, manual, true, nil
}

func (t txn) Tick() string { return t.s.clock.Tick().String() }

func (t txn) InsertVenue(ctx context.Context, v schema.Venue) error {
	return t.w.insertVenue(ctx, &venueRow{Venue: v})
}

func (t txn) SetSquadManual(ctx context.Context, id string, manual bool) error {
	_, err := t.w.tx.Exec(ctx, `UPDATE venues SET squad_manual = $1 WHERE id = $2`, manual, id)
	return err
}

func (t txn) EditVenue(ctx context.Context, id string, edits map[string]schema.FieldEdit) error {
	_, _, err := t.s.editVenue(ctx, t.w, id, edits, nil, importActor(), schema.AllSquads())
	return err
}

func (t txn) PlaceVenue(ctx context.Context, id string, r store.ImportVenue) error {
	seq := t.w.nextSeq()
	if _, err := t.w.tx.Exec(ctx, `UPDATE venues SET kind = $1, lat = $2, lng = $3, footprint = $4, external_id = $5, updated_at = $6, seq = $7 WHERE id = $8`,
		r.Kind, r.Lat, r.Lng, footprintJSON(r.Footprint), nullText(r.ExternalID), t.w.nowText(), seq, id); err != nil {
		return fmt.Errorf("venue %s: %w", id, err)
	}
	return nil
}

func (t txn) LoadVenue(ctx context.Context, id string) (schema.Venue, error) {
	v, err := t.w.loadVenue(ctx, id)
	if err != nil {
		return schema.Venue{}, err
	}
	return v.Venue, nil
}

func (t txn) MoveVenue(ctx context.Context, v *schema.Venue, squadID int64, reason string) error {
	row := &venueRow{Venue: *v}
	if err := t.w.moveVenue(ctx, row, squadID, reason); err != nil {
		return err
	}
	*v = row.Venue
	return nil
}

func (t txn) Squad(ctx context.Context, id int64) (string, *string, [4]float64, bool, error) {
	var name string
	var area *string
	var cur [4]float64
	err := t.w.tx.QueryRow(ctx, `SELECT name, area, min_lat, min_lng, max_lat, max_lng FROM squads WHERE id = $1`, id).
		Scan(&name, &area, &cur[0], &cur[1], &cur[2], &cur[3])
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, cur, false, nil
	}
	if err != nil {
		return "", nil, cur, false, fmt.Errorf("squad %d: %w", id, err)
	}
	return name, area, cur, true, nil
}

func (t txn) InsertSquad(ctx context.Context, id int64, name, area string, box [4]float64) error {
	if _, err := t.w.tx.Exec(ctx, `INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng, scope_version, area) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)`,
		id, name, box[0], box[1], box[2], box[3], area); err != nil {
		return fmt.Errorf("squad %d: %w", id, err)
	}
	return nil
}

func (t txn) UpdateSquad(ctx context.Context, id int64, name, area string, box [4]float64, bump int) error {
	if _, err := t.w.tx.Exec(ctx, `UPDATE squads SET name = $1, area = $2, min_lat = $3, min_lng = $4, max_lat = $5, max_lng = $6,
		scope_version = scope_version + $7 WHERE id = $8`, name, area, box[0], box[1], box[2], box[3], bump, id); err != nil {
		return fmt.Errorf("squad %d: %w", id, err)
	}
	return nil
}

func (t txn) UnpinnedVenues(ctx context.Context) ([]schema.Venue, error) {
	rows, err := t.w.tx.Query(ctx, `SELECT `+venueCols+` FROM venues WHERE NOT deleted AND NOT squad_manual ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("venues: %w", err)
	}
	defer rows.Close()
	var list []schema.Venue
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("venues: %w", err)
		}
		list = append(list, v.Venue)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("venues: %w", err)
	}
	return list, nil
}

// squadAreas reads every squad's jurisdiction polygon, by squad id.
func (w *writer) squadAreas(ctx context.Context) ([]store.SquadArea, error) {
	rows, err := w.tx.Query(ctx, `SELECT id, area FROM squads WHERE area IS NOT NULL ORDER BY id`)
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

// scanVenueManual scans venueCols followed by squad_manual.
func scanVenueManual(row interface{ Scan(...any) error }) (*venueRow, bool, error) {
	var manual bool
	v, err := scanVenue(scanPlus{row, []any{&manual}})
	if err != nil {
		return nil, false, err
	}
	return v, manual, nil
}

// scanPlus scans a row's leading columns into the caller's destinations
// and the columns after them into extra.
type scanPlus struct {
	row   interface{ Scan(...any) error }
	extra []any
}

// Scan implements the row interface scanVenue reads.
func (s scanPlus) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }
