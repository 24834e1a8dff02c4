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

func scanVenue(row pgx.Row) (*venueRow, error) {
	var v venueRow
	var clocks, updated, zone string
	var footprint, external *string
	if err := row.Scan(&v.ID, &v.SquadID, &v.Kind, &v.Name, &v.Address, &v.LicenceNo, &v.Licensed, &v.Phone, &v.OpenState,
		&v.Lat, &v.Lng, &v.Deleted, &clocks, &v.CreatedBy, &updated, &v.Seq, &footprint, &external,
		&v.MergedInto, &zone, &v.Discovery, &v.DiscoveryBy, &v.DiscoveryAt, &v.CreatedAt); err != nil {
		return nil, err
	}
	if external != nil {
		v.ExternalID = *external
	}
	if footprint != nil && *footprint != "" {
		if err := json.Unmarshal([]byte(*footprint), &v.Footprint); err != nil {
			return nil, fmt.Errorf("venue %s footprint: %w", v.ID, err)
		}
	}
	if zone != "" {
		v.FoundInZone = new(schema.ZoneHit)
		if err := json.Unmarshal([]byte(zone), v.FoundInZone); err != nil {
			return nil, fmt.Errorf("venue %s zone: %w", v.ID, err)
		}
	}
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
	v, err := scanVenue(s.pool.QueryRow(ctx, `SELECT `+venueCols+` FROM venues WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Venue{}, notFound("venue", id)
	}
	if err != nil {
		return schema.Venue{}, wrap("venue "+id, err)
	}
	return v.Venue, nil
}

// ListVenues lists venues that are not deleted, by name.
func (s *Store) ListVenues(ctx context.Context, f store.VenueFilter) ([]schema.Venue, error) {
	q := `SELECT ` + venueCols + ` FROM venues WHERE NOT deleted`
	var args []any
	if f.SquadID != nil {
		args = append(args, *f.SquadID)
		q += fmt.Sprintf(` AND squad_id = $%d`, len(args))
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		q += fmt.Sprintf(` AND kind = $%d`, len(args))
	}
	args = append(args, clampLimit(f.Limit, 1000, 20000))
	q += fmt.Sprintf(` ORDER BY name, id LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list venues", err)
	}
	defer rows.Close()
	out := []schema.Venue{}
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, wrap("list venues", err)
		}
		out = append(out, v.Venue)
	}
	return out, wrap("list venues", rows.Err())
}

// insertVenue writes a new venue and opens its squad history.
func (w *writer) insertVenue(ctx context.Context, v *venueRow) error {
	v.Seq = w.nextSeq()
	v.UpdatedAt = w.now
	clocks, err := json.Marshal(v.Clocks)
	if err != nil {
		return err
	}
	ts := w.nowText()
	zone, err := foundInZone(v.FoundInZone)
	if err != nil {
		return err
	}
	v.Discovery, v.CreatedAt = schema.DiscoveryStateOf(v.Venue), ts
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO venues (id, squad_id, kind, name, address, licence_no, licensed, phone, open_state, lat, lng,
			deleted, clocks, created_by, created_at, updated_at, seq, footprint, external_id, found_in_zone, discovery_state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, false, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		v.ID, v.SquadID, v.Kind, v.Name, v.Address, v.LicenceNo, v.Licensed, v.Phone, v.OpenState, v.Lat, v.Lng,
		string(clocks), v.CreatedBy, ts, ts, v.Seq, footprintJSON(v.Footprint), nullText(v.ExternalID), zone, v.Discovery)
	b.Queue(`INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES ($1, $2, $3)`, v.ID, v.SquadID, ts)
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("insert venue %s: %w", v.ID, err)
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
	if _, err := w.tx.Exec(ctx, `INSERT INTO conflicts (id, squad_id, kind, entity_kind, entity_id, field, server_value, device_value,
			winner, mutation_id, device_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id.String(), c.SquadID, c.Kind, c.EntityKind, c.EntityID, c.Field, c.ServerValue, c.DeviceValue, c.Winner,
		c.MutationID, c.DeviceID, w.nowText()); err != nil {
		return "", fmt.Errorf("insert conflict: %w", err)
	}
	return id.String(), nil
}

// loadVenue reads a venue in the write transaction, locking its row.
func (w *writer) loadVenue(ctx context.Context, id string) (*venueRow, error) {
	v, err := scanVenue(w.tx.QueryRow(ctx, `SELECT `+venueCols+` FROM venues WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("venue", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load venue %s: %w", id, err)
	}
	return v, nil
}

// CreateVenue creates a venue on the server (admin), every field stamped
// with a fresh server HLC.
func (s *Store) CreateVenue(ctx context.Context, v schema.Venue, actor store.Actor) (schema.Venue, error) {
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
		hlc := s.clock.Tick().String()
		row := &venueRow{Venue: v}
		row.Deleted = false
		row.CreatedBy = actor.DeviceID
		row.Clocks = map[string]string{}
		for _, f := range schema.VenueFields {
			row.Clocks[f] = hlc
		}
		if err := w.insertVenue(ctx, row); err != nil {
			if isUnique(err, "venues_pkey") {
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
	seq := w.nextSeq()
	ts := w.nowText()
	seen, err := json.Marshal(v.Venue)
	if err != nil {
		return err
	}
	tag, err := w.tx.Exec(ctx, `UPDATE venue_squad_history SET to_at = $1, left_seq = $2, venue = $3
		WHERE venue_id = $4 AND squad_id = $5 AND to_at IS NULL`, ts, seq, string(seen), id, v.SquadID)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	if tag.RowsAffected() == 0 {
		b.Queue(`INSERT INTO venue_squad_history (venue_id, squad_id, from_at, to_at, left_seq, venue) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, v.SquadID, ts, ts, seq, string(seen))
	}
	b.Queue(`INSERT INTO venue_squad_history (venue_id, squad_id, from_at) VALUES ($1, $2, $3)`, id, squadID, ts)
	b.Queue(`UPDATE venues SET squad_id = $1, updated_at = $2, seq = $3 WHERE id = $4`, squadID, ts, seq, id)
	// The venue's findings go with it into the new squad's ledger and
	// to its devices (the old squad's devices purge them: pull.go).
	b.Queue(`UPDATE findings SET squad_id = $1, seq = $2 WHERE venue_id = $3`, squadID, seq, id)
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	from := v.SquadID
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
		if _, err = w.tx.Exec(ctx, `UPDATE venues SET deleted = true, updated_at = $1, seq = $2 WHERE id = $3`, w.nowText(), w.nextSeq(), id); err != nil {
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

// EditVenue merges a server-side edit (admin or leader) through the same
// merge as device edits (schema.MergeFields), stamped with the server's
// clock. A field edit with an empty Base is based on the venue's current
// clock for that field. A venue the scope does not cover is not found.
func (s *Store) EditVenue(ctx context.Context, id string, fields map[string]schema.FieldEdit, explicitBase map[string]bool,
	actor store.Actor, scope schema.Scope) (schema.Venue, []string, error) {
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
	actor store.Actor, scope schema.Scope) (schema.Venue, []string, error) {
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
	var bases []string
	for f, e := range fields {
		if !explicitBase[f] {
			e.Base = v.Clocks[f]
		}
		if c, err := schema.ParseHLC(v.Clocks[f]); err == nil {
			// Another replica may have stamped it: stay ahead of it.
			s.clock.Observe(c)
		}
		edits[f] = e
		if e.Base != "" {
			bases = append(bases, e.Base)
		}
	}
	if err := schema.ValidateVenueUpdate(&schema.VenueUpdate{VenueID: id, Fields: edits}); err != nil {
		return schema.Venue{}, nil, err
	}
	restamps := map[string]string{}
	if err := restampsOf(ctx, w.tx, bases, restamps); err != nil {
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

// restampQuery finds the replacements of HLCs the server restamped.
const restampQuery = `SELECT original, replacement FROM hlc_restamps WHERE original = ANY($1)`

// restampsOf adds to into the replacements of the bases that the server
// restamped.
func restampsOf(ctx context.Context, tx pgx.Tx, bases []string, into map[string]string) error {
	if len(bases) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, restampQuery, bases)
	if err != nil {
		return fmt.Errorf("restamps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o, r string
		if err := rows.Scan(&o, &r); err != nil {
			return fmt.Errorf("restamps: %w", err)
		}
		into[o] = r
	}
	return rows.Err()
}

// writeConflicts records conflicts a rule decided, caused by actor, and
// returns their ids in order.
func (w *writer) writeConflicts(ctx context.Context, cs []schema.ConflictDecision, actor store.Actor) ([]string, error) {
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
	clocks, err := json.Marshal(v.Clocks)
	if err != nil {
		return err
	}
	v.Seq = w.nextSeq()
	v.UpdatedAt = w.now
	_, err = w.tx.Exec(ctx, `UPDATE venues SET name = $1, address = $2, licence_no = $3, licensed = $4, phone = $5, open_state = $6,
		clocks = $7, updated_at = $8, seq = $9 WHERE id = $10`,
		v.Name, v.Address, v.LicenceNo, v.Licensed, v.Phone, v.OpenState, string(clocks), w.nowText(), v.Seq, v.ID)
	if err != nil {
		return fmt.Errorf("update venue %s: %w", v.ID, err)
	}
	return nil
}
