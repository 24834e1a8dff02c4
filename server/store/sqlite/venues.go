package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// venueCols is the column list every venue read uses, in scanVenue order.
const venueCols = `id, squad_id, kind, name, address, licence_no, licensed, phone, open_state, lat, lng, deleted, clocks, created_by, updated_at, seq,
	footprint, external_id, merged_into, found_in_zone, discovery_state, discovery_by, discovery_at, created_at`

// venueRow is a venue with its seq and discovery state, as the store
// works with it.
type venueRow struct {
	schema.Venue
	Seq         int64
	Discovery   string // schema.DiscoveryPending, ... ("" for the register's venues)
	DiscoveryBy string
	DiscoveryAt string
	CreatedAt   string
}

func scanVenue(row interface{ Scan(...any) error }) (*venueRow, error) {
	var v venueRow
	var licensed, deleted int
	var clocks, updated, zone string
	var footprint, external sql.NullString
	if err := row.Scan(&v.ID, &v.SquadID, &v.Kind, &v.Name, &v.Address, &v.LicenceNo, &licensed, &v.Phone, &v.OpenState,
		&v.Lat, &v.Lng, &deleted, &clocks, &v.CreatedBy, &updated, &v.Seq, &footprint, &external,
		&v.MergedInto, &zone, &v.Discovery, &v.DiscoveryBy, &v.DiscoveryAt, &v.CreatedAt); err != nil {
		return nil, err
	}
	v.ExternalID = external.String
	if footprint.Valid && footprint.String != "" {
		if err := json.Unmarshal([]byte(footprint.String), &v.Footprint); err != nil {
			return nil, fmt.Errorf("venue %s footprint: %w", v.ID, err)
		}
	}
	if zone != "" {
		v.FoundInZone = new(schema.ZoneHit)
		if err := json.Unmarshal([]byte(zone), v.FoundInZone); err != nil {
			return nil, fmt.Errorf("venue %s zone: %w", v.ID, err)
		}
	}
	v.Licensed = licensed != 0
	v.Deleted = deleted != 0
	v.UpdatedAt = parseTime(updated)
	if clocks != "" && clocks != "{}" {
		if err := json.Unmarshal([]byte(clocks), &v.Clocks); err != nil {
			return nil, fmt.Errorf("venue %s clocks: %w", v.ID, err)
		}
	}
	return &v, nil
}

// Venue returns one venue (deleted ones included).
func (s *Store) Venue(ctx context.Context, id string) (schema.Venue, error) {
	v, err := scanVenue(s.db.R.QueryRowContext(ctx, `SELECT `+venueCols+` FROM venues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Venue{}, notFound("venue", id)
	}
	if err != nil {
		return schema.Venue{}, fmt.Errorf("store: venue %s: %w", id, err)
	}
	return v.Venue, nil
}

// ListVenues lists venues that are not deleted, by name.
func (s *Store) ListVenues(ctx context.Context, f VenueFilter) ([]schema.Venue, error) {
	q := `SELECT ` + venueCols + ` FROM venues WHERE deleted = 0`
	var args []any
	if f.SquadID != nil {
		q += ` AND squad_id = ?`
		args = append(args, *f.SquadID)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	q += ` ORDER BY name, id LIMIT ?`
	args = append(args, clampLimit(f.Limit, 1000, 20000))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list venues: %w", err)
	}
	defer rows.Close()
	out := []schema.Venue{}
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list venues: %w", err)
		}
		out = append(out, v.Venue)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list venues: %w", err)
	}
	return out, nil
}

func clampLimit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	if n > max {
		return max
	}
	return n
}

// restampQuery finds the replacements of HLCs the server restamped, for
// a JSON list of originals.
const restampQuery = `SELECT original, replacement FROM hlc_restamps WHERE original IN (SELECT value FROM json_each(?))`

// restampsOf looks up in one query which of the bases field edits name
// the server restamped: what schema.MergeFields translates.
func (w *writer) restampsOf(ctx context.Context, edits map[string]schema.FieldEdit) (map[string]string, error) {
	var bases []string
	for _, e := range edits {
		if e.Base != "" {
			bases = append(bases, e.Base)
		}
	}
	out := map[string]string{}
	if len(bases) == 0 {
		return out, nil
	}
	list, err := jsonList(bases)
	if err != nil {
		return nil, err
	}
	rows, err := w.tx.QueryContext(ctx, restampQuery, list)
	if err != nil {
		return nil, fmt.Errorf("restamps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o, r string
		if err := rows.Scan(&o, &r); err != nil {
			return nil, fmt.Errorf("restamps: %w", err)
		}
		out[o] = r
	}
	return out, rows.Err()
}

// writeConflicts records conflicts a rule decided, caused by actor, and
// returns their ids in order.
func (w *writer) writeConflicts(ctx context.Context, cs []schema.ConflictDecision, actor Actor) ([]string, error) {
	var ids []string
	for _, c := range cs {
		id, err := w.insertConflict(ctx, c.Conflict(actor.MutationID, actor.DeviceID))
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// saveVenueFields writes the mergeable fields and clocks of v with a new
// seq, and stamps v with both.
func (w *writer) saveVenueFields(ctx context.Context, v *venueRow) error {
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	clocks, err := json.Marshal(v.Clocks)
	if err != nil {
		return err
	}
	v.Seq = seq
	v.UpdatedAt = w.now
	_, err = w.exec(ctx, `UPDATE venues SET name = ?, address = ?, licence_no = ?, licensed = ?, phone = ?, open_state = ?,
		clocks = ?, updated_at = ?, seq = ? WHERE id = ?`,
		v.Name, v.Address, v.LicenceNo, boolInt(v.Licensed), v.Phone, v.OpenState, string(clocks), schema.FormatTime(w.now), seq, v.ID)
	if err != nil {
		return fmt.Errorf("update venue %s: %w", v.ID, err)
	}
	return nil
}

// insertVenue writes a new venue and opens its squad history.
func (w *writer) insertVenue(ctx context.Context, v *venueRow) error {
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	v.Seq = seq
	v.UpdatedAt = w.now
	clocks, err := json.Marshal(v.Clocks)
	if err != nil {
		return err
	}
	ts := schema.FormatTime(w.now)
	zone, err := foundInZone(v.FoundInZone)
	if err != nil {
		return err
	}
	v.Discovery, v.CreatedAt = schema.DiscoveryStateOf(v.Venue), ts
	if _, err := w.exec(ctx, `INSERT INTO venues (id, squad_id, kind, name, address, licence_no, licensed, phone, open_state, lat, lng,
			deleted, clocks, created_by, created_at, updated_at, seq, footprint, external_id, found_in_zone, discovery_state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.SquadID, v.Kind, v.Name, v.Address, v.LicenceNo, boolInt(v.Licensed), v.Phone, v.OpenState, v.Lat, v.Lng,
		string(clocks), v.CreatedBy, ts, ts, seq, footprintJSON(v.Footprint), nullString(v.ExternalID), zone, v.Discovery); err != nil {
		return fmt.Errorf("insert venue %s: %w", v.ID, err)
	}
	if _, err := w.exec(ctx, `INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES (?, ?, ?)`, v.ID, v.SquadID, ts); err != nil {
		return fmt.Errorf("venue %s history: %w", v.ID, err)
	}
	return nil
}

// foundInZone is the stored form of the zone a device found a venue in:
// its JSON, "" when none.
func foundInZone(z *schema.ZoneHit) (string, error) {
	if z == nil {
		return "", nil
	}
	b, err := json.Marshal(z)
	if err != nil {
		return "", fmt.Errorf("venue zone: %w", err)
	}
	return string(b), nil
}

// insertConflict records a conflict for the squad leader and returns its id.
func (w *writer) insertConflict(ctx context.Context, c schema.Conflict) (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	if _, err := w.exec(ctx, `INSERT INTO conflicts (id, squad_id, kind, entity_kind, entity_id, field, server_value, device_value,
			winner, mutation_id, device_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id.String(), c.SquadID, c.Kind, c.EntityKind, c.EntityID, c.Field, c.ServerValue, c.DeviceValue, c.Winner,
		c.MutationID, c.DeviceID, schema.FormatTime(w.now)); err != nil {
		return "", fmt.Errorf("insert conflict: %w", err)
	}
	return id.String(), nil
}

func (w *writer) loadVenue(ctx context.Context, id string) (*venueRow, error) {
	v, err := scanVenue(w.tx.QueryRowContext(ctx, `SELECT `+venueCols+` FROM venues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("venue", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load venue %s: %w", id, err)
	}
	return v, nil
}

// CreateVenue creates a venue on the server (admin), every field stamped
// with a fresh server HLC.
func (s *Store) CreateVenue(ctx context.Context, v schema.Venue, actor Actor) (schema.Venue, error) {
	if v.ID == "" {
		v.ID = uuid.NewString()
	}
	if v.OpenState == "" {
		v.OpenState = schema.OpenStateOpen
	}
	if err := schema.ValidateVenue(&v); err != nil {
		return schema.Venue{}, err
	}
	var out schema.Venue
	err := s.writeTx(ctx, func(w *writer) error {
		if err := w.squadExists(ctx, v.SquadID); err != nil {
			return err
		}
		row := &venueRow{Venue: v.Stamped(s.clock.Tick().String())}
		row.CreatedBy = actor.DeviceID
		if err := w.insertVenue(ctx, row); err != nil {
			if schema.IsConstraint(err) {
				return schema.Errorf(schema.CodeConflict, "venue %s already exists", v.ID)
			}
			return err
		}
		out = row.Venue
		return w.evaluateZones(ctx, "", row.Venue)
	})
	if err != nil {
		return schema.Venue{}, fmt.Errorf("store: create venue: %w", err)
	}
	return out, nil
}

// EditVenue merges a server-side edit (admin or leader) through the same
// merge as device edits, stamped with the server's clock. A field edit with
// an empty Base is based on the venue's current clock for that field.
// A venue the scope does not cover is not found.
func (s *Store) EditVenue(ctx context.Context, id string, fields map[string]schema.FieldEdit, explicitBase map[string]bool,
	actor Actor, scope schema.Scope) (schema.Venue, []string, error) {
	var out schema.Venue
	var conflicts []string
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, conflicts, err = s.editVenue(ctx, w, id, fields, explicitBase, actor, scope)
		return err
	})
	if err != nil {
		return schema.Venue{}, nil, fmt.Errorf("store: edit venue %s: %w", id, err)
	}
	return out, conflicts, nil
}

// editVenue is EditVenue inside a write transaction (a leader's choice of
// a conflict's value goes through it too).
func (s *Store) editVenue(ctx context.Context, w *writer, id string, fields map[string]schema.FieldEdit, explicitBase map[string]bool,
	actor Actor, scope schema.Scope) (schema.Venue, []string, error) {
	v, err := w.loadVenue(ctx, id)
	if err != nil {
		return schema.Venue{}, nil, err
	}
	if !scope.Covers(v.SquadID) {
		return schema.Venue{}, nil, notFound("venue", id)
	}
	if v.Deleted {
		return schema.Venue{}, nil, schema.Errorf(schema.CodeGone, "venue %s was deleted", id)
	}
	edits := make(map[string]schema.FieldEdit, len(fields))
	for f, e := range fields {
		if !explicitBase[f] {
			e.Base = v.Clocks[f]
		}
		if c, err := schema.ParseHLC(v.Clocks[f]); err == nil {
			s.clock.Observe(c)
		}
		edits[f] = e
	}
	if err := schema.ValidateVenueUpdate(&schema.VenueUpdate{VenueID: id, Fields: edits}); err != nil {
		return schema.Venue{}, nil, err
	}
	restamps, err := w.restampsOf(ctx, edits)
	if err != nil {
		return schema.Venue{}, nil, err
	}
	fm := schema.MergeFields(v.Venue, edits, s.clock.Tick().String(), schema.Restamps(restamps).Lookup)
	conflicts, err := w.writeConflicts(ctx, fm.Conflicts, actor)
	if err != nil {
		return schema.Venue{}, nil, err
	}
	v.Venue = fm.Venue
	if fm.Changed {
		if err := w.saveVenueFields(ctx, v); err != nil {
			return schema.Venue{}, nil, err
		}
		if err := w.evaluateZones(ctx, "", v.Venue); err != nil {
			return schema.Venue{}, nil, err
		}
	}
	return v.Venue, conflicts, nil
}

// MoveVenue reassigns a venue to another squad: the history row of the old
// squad is closed with the seq of the move (its devices purge the venue)
// and a copy of the venue as the old squad last saw it (what its
// inspections show from now on), a new one opens, and the venue's seq is
// bumped so that the new squad's devices receive it however old its last
// field change is.
func (s *Store) MoveVenue(ctx context.Context, id string, squadID int64) (schema.Venue, error) {
	var out schema.Venue
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, err = store.MoveVenue(ctx, txn{s, w}, id, squadID)
		return err
	})
	if err != nil {
		return schema.Venue{}, fmt.Errorf("store: move venue %s: %w", id, err)
	}
	return out, nil
}

// moveVenue is the one move of a venue to another (existing) squad,
// inside a write transaction; v is updated to what it becomes.
func (w *writer) moveVenue(ctx context.Context, v *venueRow, squadID int64, reason string) error {
	id := v.ID
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	ts := schema.FormatTime(w.now)
	seen, err := json.Marshal(v.Venue)
	if err != nil {
		return err
	}
	// "+squad_id" keeps SQLite on the venue's index: on the squad's it
	// reads the squad's whole history for each move, and an area import
	// moving thousands of venues turns quadratic.
	res, err := w.exec(ctx, `UPDATE venue_squad_history SET to_at = ?, left_seq = ?, venue = ? WHERE venue_id = ? AND +squad_id = ? AND to_at IS NULL`,
		ts, seq, string(seen), id, v.SquadID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := w.exec(ctx, `INSERT INTO venue_squad_history (venue_id, squad_id, from_at, to_at, left_seq, venue) VALUES (?, ?, ?, ?, ?, ?)`,
			id, v.SquadID, ts, ts, seq, string(seen)); err != nil {
			return err
		}
	}
	if _, err := w.exec(ctx, `INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES (?, ?, ?)`, id, squadID, ts); err != nil {
		return err
	}
	if _, err := w.exec(ctx, `UPDATE venues SET squad_id = ?, updated_at = ?, seq = ? WHERE id = ?`, squadID, ts, seq, id); err != nil {
		return err
	}
	from := v.SquadID
	// The venue's findings go with it into the new squad's ledger, and
	// to its devices (the old squad's devices purge them: pull.go).
	if _, err := w.exec(ctx, `UPDATE findings SET squad_id = ?, seq = ? WHERE venue_id = ?`, squadID, seq, id); err != nil {
		return err
	}
	v.SquadID, v.Seq, v.UpdatedAt = squadID, seq, w.now
	if err := w.audit(ctx, schema.AuditVenue, id, &from, "move", fmt.Sprintf("squad %d", from), fmt.Sprintf("squad %d", squadID), reason); err != nil {
		return err
	}
	// Its standing violations go with it to the new squad.
	return w.evaluateZones(ctx, "", v.Venue)
}

// DeleteVenue soft-deletes a venue: devices receive it as removed, and
// later offline edits of it become conflicts instead of resurrecting it.
func (s *Store) DeleteVenue(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(w *writer) error {
		v, err := w.loadVenue(ctx, id)
		if err != nil {
			return err
		}
		if v.Deleted {
			return nil
		}
		seq, err := w.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		if _, err = w.exec(ctx, `UPDATE venues SET deleted = 1, updated_at = ?, seq = ? WHERE id = ?`, schema.FormatTime(w.now), seq, id); err != nil {
			return err
		}
		if err := w.audit(ctx, schema.AuditVenue, id, &v.SquadID, "delete", "active", "deleted", ""); err != nil {
			return err
		}
		v.Deleted = true
		return w.evaluateZones(ctx, "", v.Venue)
	})
	if err != nil {
		return fmt.Errorf("store: delete venue %s: %w", id, err)
	}
	return nil
}
