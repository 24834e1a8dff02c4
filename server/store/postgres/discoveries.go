package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Discoveries lists field-discovered venues in a state, oldest found first.
func (s *Store) Discoveries(ctx context.Context, f store.DiscoveryFilter) ([]schema.Discovery, error) {
	state := f.State
	if state == "" {
		state = schema.DiscoveryPending
	}
	q := `SELECT ` + venueCols + ` FROM venues WHERE discovery_state = $1`
	args := []any{state}
	if f.SquadID != nil {
		args = append(args, *f.SquadID)
		q += fmt.Sprintf(` AND squad_id = $%d`, len(args))
	}
	args = append(args, f.DiscoveryLimit())
	q += fmt.Sprintf(` ORDER BY created_at, id LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("discoveries", err)
	}
	var list []store.DiscoveryRow
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("discoveries", err)
		}
		list = append(list, discoveryRow(v))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("discoveries", err)
	}
	return store.AssembleDiscoveries(ctx, s, list)
}

func discoveryRow(v *venueRow) store.DiscoveryRow {
	return store.DiscoveryRow{Venue: v.Venue, State: v.Discovery, DecidedBy: v.DiscoveryBy, DecidedAt: v.DiscoveryAt, FoundAt: v.CreatedAt}
}

// Discovery returns one field-discovered venue the scope covers.
func (s *Store) Discovery(ctx context.Context, id string, scope schema.Scope) (schema.Discovery, error) {
	v, err := scanVenue(s.pool.QueryRow(ctx, `SELECT `+venueCols+` FROM venues WHERE id = $1`, id))
	if err != nil || !scope.Covers(v.SquadID) || v.Discovery == "" {
		if err == nil || errors.Is(err, pgx.ErrNoRows) {
			return schema.Discovery{}, notFound("discovery", id)
		}
		return schema.Discovery{}, wrap("discovery "+id, err)
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
// (store.MergeVenue). The
// writer holds the seq counter locked from its first statement, so two
// merges of one duplicate follow one another: the second finds it merged.
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
	_, err := t.w.tx.Exec(ctx, `UPDATE venues SET discovery_state = $1, discovery_by = $2, discovery_at = $3 WHERE id = $4`,
		schema.DiscoveryConfirmed, by, t.w.nowText(), id)
	return err
}

func (t txn) Clock() *schema.Clock { return t.s.clock }

func (t txn) WriteConflicts(ctx context.Context, cs []schema.ConflictDecision, actor store.Actor) error {
	_, err := t.w.writeConflicts(ctx, cs, actor)
	return err
}

func (t txn) MoveVenueRecords(ctx context.Context, dup, into schema.Venue, by string) error {
	seq := t.w.nextSeq()
	now := t.w.nowText()
	// Standing violations of a school the survivor stands in already are
	// cleared (the survivor's row is the one that stands); the rest move.
	clear := fmt.Sprintf("merged into venue %s", into.ID)
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE inspections SET venue_id = $1, seq = $2, updated_at = $3 WHERE venue_id = $4`, []any{into.ID, seq, now, dup.ID}},
		{`UPDATE findings SET venue_id = $1, squad_id = $2, seq = $3 WHERE venue_id = $4`, []any{into.ID, into.SquadID, seq, dup.ID}},
		{`UPDATE zone_violations SET cleared_at = $1, clear_reason = $2, seq = $3 WHERE venue_id = $4 AND cleared_at IS NULL
			AND school_id IN (SELECT school_id FROM zone_violations WHERE venue_id = $5 AND cleared_at IS NULL)`,
			[]any{now, clear, seq, dup.ID, into.ID}},
		{`UPDATE zone_violations SET venue_id = $1, squad_id = $2, seq = $3 WHERE venue_id = $4`, []any{into.ID, into.SquadID, seq, dup.ID}},
		{`UPDATE conflicts SET entity_id = $1 WHERE entity_kind = 'venue' AND entity_id = $2`, []any{into.ID, dup.ID}},
		// Earlier merges into the duplicate now name the survivor, so a
		// push naming any of them needs one look-up.
		{`UPDATE venues SET merged_into = $1 WHERE merged_into = $2`, []any{into.ID, dup.ID}},
		{`UPDATE venues SET deleted = true, merged_into = $1, discovery_state = $2, discovery_by = $3, discovery_at = $4, updated_at = $5, seq = $6
			WHERE id = $7`, []any{into.ID, schema.DiscoveryMerged, by, now, now, seq, dup.ID}},
	}
	for _, st := range steps {
		if _, err := t.w.tx.Exec(ctx, st.q, st.args...); err != nil {
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
