package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Discoveries lists field-discovered venues in a state, oldest found first.
func (s *Store) Discoveries(ctx context.Context, f store.DiscoveryFilter) ([]schema.Discovery, error) {
	state := f.State
	if state == "" {
		state = schema.DiscoveryPending
	}
	q := `SELECT ` + venueCols + ` FROM venues WHERE discovery_state = ?`
	args := []any{state}
	if f.SquadID != nil {
		q += ` AND squad_id = ?`
		args = append(args, *f.SquadID)
	}
	q += ` ORDER BY created_at, id LIMIT ?`
	args = append(args, f.DiscoveryLimit())
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: discoveries: %w", err)
	}
	var list []store.DiscoveryRow
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: discoveries: %w", err)
		}
		list = append(list, discoveryRow(v))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: discoveries: %w", err)
	}
	return store.AssembleDiscoveries(ctx, s, list)
}

func discoveryRow(v *venueRow) store.DiscoveryRow {
	return store.DiscoveryRow{Venue: v.Venue, State: v.Discovery, DecidedBy: v.DiscoveryBy, DecidedAt: v.DiscoveryAt, FoundAt: v.CreatedAt}
}

// Discovery returns one field-discovered venue the scope covers.
func (s *Store) Discovery(ctx context.Context, id string, scope schema.Scope) (schema.Discovery, error) {
	v, err := scanVenue(s.db.R.QueryRowContext(ctx, `SELECT `+venueCols+` FROM venues WHERE id = ?`, id))
	if err != nil || !scope.Covers(v.SquadID) || v.Discovery == "" {
		if err == nil || errors.Is(err, sql.ErrNoRows) {
			return schema.Discovery{}, notFound("discovery", id)
		}
		return schema.Discovery{}, fmt.Errorf("store: discovery %s: %w", id, err)
	}
	list, err := store.AssembleDiscoveries(ctx, s, []store.DiscoveryRow{discoveryRow(v)})
	if err != nil {
		return schema.Discovery{}, fmt.Errorf("store: discovery %s: %w", id, err)
	}
	return list[0], nil
}

// ConfirmVenue confirms a pending discovery, audited in the same
// transaction (store.ConfirmVenue).
func (s *Store) ConfirmVenue(ctx context.Context, id, by string, scope schema.Scope) (schema.Discovery, error) {
	err := s.writeTx(ctx, func(w *writer) error {
		return store.ConfirmVenue(ctx, txn{s, w}, id, by, scope)
	})
	if err != nil {
		return schema.Discovery{}, fmt.Errorf("store: confirm venue %s: %w", id, err)
	}
	return s.Discovery(ctx, id, scope)
}

// MergeVenue merges venue dupID into intoID in one write transaction
// (store.MergeVenue).
func (s *Store) MergeVenue(ctx context.Context, dupID, intoID, by string, scope schema.Scope) (schema.MergeResult, error) {
	var out schema.MergeResult
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, err = store.MergeVenue(ctx, txn{s, w}, dupID, intoID, by, scope)
		return err
	})
	if err != nil {
		return schema.MergeResult{}, fmt.Errorf("store: merge venue %s into %s: %w", dupID, intoID, err)
	}
	return out, nil
}

var _ store.DiscoveryWriter = txn{}

func (t txn) DiscoveryVenue(ctx context.Context, id string) (schema.Venue, string, error) {
	v, err := t.w.loadVenue(ctx, id)
	if err != nil {
		return schema.Venue{}, "", err
	}
	return v.Venue, v.Discovery, nil
}

func (t txn) ConfirmDiscovery(ctx context.Context, id, by string) error {
	_, err := t.w.exec(ctx, `UPDATE venues SET discovery_state = ?, discovery_by = ?, discovery_at = ? WHERE id = ?`,
		schema.DiscoveryConfirmed, by, t.w.nowText(), id)
	return err
}

func (t txn) Clock() *schema.Clock { return t.s.clock }

func (t txn) WriteConflicts(ctx context.Context, cs []schema.ConflictDecision, actor Actor) error {
	_, err := t.w.writeConflicts(ctx, cs, actor)
	return err
}

func (t txn) MoveVenueRecords(ctx context.Context, dup, into schema.Venue, by string) error {
	seq, err := t.w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	now := t.w.nowText()
	// Standing violations of a school the survivor stands in already are
	// cleared (the survivor's row is the one that stands); the rest move.
	clear := fmt.Sprintf("merged into venue %s", into.ID)
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE inspections SET venue_id = ?, seq = ?, updated_at = ? WHERE venue_id = ?`, []any{into.ID, seq, now, dup.ID}},
		{`UPDATE findings SET venue_id = ?, squad_id = ?, seq = ? WHERE venue_id = ?`, []any{into.ID, into.SquadID, seq, dup.ID}},
		{`UPDATE zone_violations SET cleared_at = ?, clear_reason = ?, seq = ? WHERE venue_id = ? AND cleared_at IS NULL
			AND school_id IN (SELECT school_id FROM zone_violations WHERE venue_id = ? AND cleared_at IS NULL)`,
			[]any{now, clear, seq, dup.ID, into.ID}},
		{`UPDATE zone_violations SET venue_id = ?, squad_id = ?, seq = ? WHERE venue_id = ?`, []any{into.ID, into.SquadID, seq, dup.ID}},
		{`UPDATE conflicts SET entity_id = ? WHERE entity_kind = 'venue' AND entity_id = ?`, []any{into.ID, dup.ID}},
		// Earlier merges into the duplicate now name the survivor, so a
		// push naming any of them needs one look-up.
		{`UPDATE venues SET merged_into = ? WHERE merged_into = ?`, []any{into.ID, dup.ID}},
		{`UPDATE venues SET deleted = 1, merged_into = ?, discovery_state = ?, discovery_by = ?, discovery_at = ?, updated_at = ?, seq = ?
			WHERE id = ?`, []any{into.ID, schema.DiscoveryMerged, by, now, now, seq, dup.ID}},
	}
	for _, st := range steps {
		if _, err := t.w.exec(ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}

func (t txn) SaveVenueFields(ctx context.Context, v *schema.Venue) error {
	r := &venueRow{Venue: *v}
	if err := t.w.saveVenueFields(ctx, r); err != nil {
		return err
	}
	*v = r.Venue
	return nil
}
