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
// transaction.
func (s *Store) ConfirmVenue(ctx context.Context, id, by string, scope schema.Scope) (schema.Discovery, error) {
	err := s.writeTx(ctx, func(w *writer) error {
		v, err := w.loadVenue(ctx, id)
		if err != nil {
			return err
		}
		if !scope.Covers(v.SquadID) {
			return notFound("venue", id)
		}
		change, err := schema.CheckConfirm(v.Venue, v.Discovery)
		if err != nil || !change {
			return err
		}
		if _, err := w.tx.Exec(ctx, `UPDATE venues SET discovery_state = $1, discovery_by = $2, discovery_at = $3 WHERE id = $4`,
			schema.DiscoveryConfirmed, by, w.nowText(), id); err != nil {
			return fmt.Errorf("confirm venue %s: %w", id, err)
		}
		return w.audit(ctx, schema.AuditVenue, id, &v.SquadID, schema.AuditDiscoveryConfirm, v.Discovery, schema.DiscoveryConfirmed,
			fmt.Sprintf("field discovery confirmed by %s (licensed: %t)", by, v.Licensed))
	})
	if err != nil {
		return schema.Discovery{}, fmt.Errorf("store: confirm venue %s: %w", id, err)
	}
	return s.Discovery(ctx, id, scope)
}

// MergeVenue merges venue dupID into intoID in one write transaction. The
// writer holds the seq counter locked from its first statement, so two
// merges of one duplicate follow one another: the second finds it merged.
func (s *Store) MergeVenue(ctx context.Context, dupID, intoID, by string, scope schema.Scope) (schema.MergeResult, error) {
	var out schema.MergeResult
	err := s.writeTx(ctx, func(w *writer) error {
		dup, err := w.loadVenue(ctx, dupID)
		if err != nil {
			return err
		}
		if !scope.Covers(dup.SquadID) {
			return notFound("venue", dupID)
		}
		into, err := w.loadVenue(ctx, intoID)
		if err != nil {
			return err
		}
		if !scope.Covers(into.SquadID) {
			return notFound("venue", intoID)
		}
		again, err := schema.CheckMerge(dup.Venue, into.Venue, scope)
		if err != nil {
			return err
		}
		if !again {
			if err := s.mergeVenue(ctx, w, dup, into, by); err != nil {
				return err
			}
		}
		if dup, err = w.loadVenue(ctx, dupID); err != nil {
			return err
		}
		if into, err = w.loadVenue(ctx, intoID); err != nil {
			return err
		}
		out = schema.MergeResult{Survivor: into.Venue, Duplicate: dup.Venue}
		return nil
	})
	if err != nil {
		return schema.MergeResult{}, fmt.Errorf("store: merge venue %s into %s: %w", dupID, intoID, err)
	}
	return out, nil
}

// mergeVenue carries out a merge CheckMerge allowed.
func (s *Store) mergeVenue(ctx context.Context, w *writer, dup, into *venueRow, by string) error {
	seq := w.nextSeq()
	now := w.nowText()
	for _, c := range into.Clocks {
		if h, err := schema.ParseHLC(c); err == nil {
			s.clock.Observe(h)
		}
	}
	vm := schema.MergeVenueFields(into.Venue, dup.Venue, s.clock.Tick().String())
	if _, err := w.writeConflicts(ctx, vm.Conflicts, store.Actor{MutationID: "merge:" + dup.ID, DeviceID: "server:" + by}); err != nil {
		return err
	}
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
		if _, err := w.tx.Exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("merge venue %s: %w", dup.ID, err)
		}
	}
	into.Venue = vm.Venue
	// The survivor's seq moves even when no field did: devices of its
	// squad then hold it beside the removal of the duplicate.
	if err := w.saveVenueFields(ctx, into); err != nil {
		return err
	}
	if err := w.audit(ctx, schema.AuditVenue, dup.ID, &dup.SquadID, schema.AuditMergedInto, mergeFrom(dup.Discovery), "merged_into:"+into.ID,
		fmt.Sprintf("merged by %s into %q (%s): its inspections, findings and zone violations are that venue's now", by, into.Name, into.ID)); err != nil {
		return err
	}
	if err := w.audit(ctx, schema.AuditVenue, into.ID, &into.SquadID, schema.AuditMergeAbsorb, "", "absorbed:"+dup.ID,
		fmt.Sprintf("took over by %s the records of %q (%s), found in the field by device %s", by, dup.Name, dup.ID, dup.CreatedBy)); err != nil {
		return err
	}
	return w.evaluateZones(ctx, "", into.Venue)
}

// mergeFrom is the state a merged duplicate leaves, for the audit entry.
func mergeFrom(discovery string) string {
	if discovery == "" {
		return "active"
	}
	return discovery
}
