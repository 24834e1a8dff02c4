package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const conflictCols = `id, squad_id, kind, entity_kind, entity_id, field, server_value, device_value, winner, mutation_id, device_id, created_at, resolved_at`

func scanConflict(row pgx.Row) (schema.Conflict, error) {
	var c schema.Conflict
	var created string
	var resolved *string
	if err := row.Scan(&c.ID, &c.SquadID, &c.Kind, &c.EntityKind, &c.EntityID, &c.Field, &c.ServerValue, &c.DeviceValue,
		&c.Winner, &c.MutationID, &c.DeviceID, &created, &resolved); err != nil {
		return schema.Conflict{}, err
	}
	c.CreatedAt = parseTime(created)
	c.ResolvedAt = nullTime(resolved)
	return c, nil
}

// ListConflicts returns recorded conflicts, newest first.
func (s *Store) ListConflicts(ctx context.Context, f store.ConflictFilter) ([]schema.Conflict, error) {
	q := `SELECT ` + conflictCols + ` FROM conflicts WHERE true`
	var args []any
	if f.SquadID != nil {
		args = append(args, *f.SquadID)
		q += fmt.Sprintf(` AND squad_id = $%d`, len(args))
	}
	if f.OpenOnly {
		q += ` AND resolved_at IS NULL`
	}
	args = append(args, clampLimit(f.Limit, 500, 5000))
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list conflicts", err)
	}
	defer rows.Close()
	out := []schema.Conflict{}
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, wrap("list conflicts", err)
		}
		out = append(out, c)
	}
	return out, wrap("list conflicts", rows.Err())
}

// Conflict returns one conflict.
func (s *Store) Conflict(ctx context.Context, id string) (schema.Conflict, error) {
	c, err := scanConflict(s.pool.QueryRow(ctx, `SELECT `+conflictCols+` FROM conflicts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Conflict{}, notFound("conflict", id)
	}
	if err != nil {
		return schema.Conflict{}, wrap("conflict "+id, err)
	}
	return c, nil
}

// ResolveConflict marks a conflict as handled by a leader or admin.
// A conflict the scope does not cover is not found. It assigns no seq, so
// it does not take the counter; the conflict's row lock orders two
// resolutions of one conflict.
func (s *Store) ResolveConflict(ctx context.Context, id, by string, scope schema.Scope) (schema.Conflict, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := scanConflict(tx.QueryRow(ctx, `SELECT `+conflictCols+` FROM conflicts WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("conflict", id)
		}
		if err != nil {
			return err
		}
		if !scope.Covers(c.SquadID) {
			return notFound("conflict", id)
		}
		if c.ResolvedAt != nil {
			return nil
		}
		now := s.now()
		if _, err = tx.Exec(ctx, `UPDATE conflicts SET resolved_at = $1, resolved_by = $2 WHERE id = $3`, schema.FormatTime(now), by, id); err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, store.AuditOf(ctx, now, schema.AuditConflict, id, &c.SquadID, "resolve", "open", "resolved", "resolved by "+by))
		return err
	})
	if err != nil {
		return schema.Conflict{}, wrap("resolve conflict "+id, err)
	}
	return s.Conflict(ctx, id)
}

// DecideConflict resolves a conflict with the value that stands; a value
// other than the one the merge kept goes through the venue field merge in
// the same transaction (see store.Supervision).
func (s *Store) DecideConflict(ctx context.Context, id, winner string, actor store.Actor, by string, scope schema.Scope) (schema.Conflict, error) {
	if err := schema.CheckConflictWinner(winner); err != nil {
		return schema.Conflict{}, err
	}
	err := s.writeTx(ctx, func(w *writer) error {
		return store.DecideConflict(ctx, txn{s, w}, id, winner, actor, by, scope)
	})
	if err != nil {
		return schema.Conflict{}, fmt.Errorf("store: decide conflict %s: %w", id, err)
	}
	return s.Conflict(ctx, id)
}

var _ store.ConflictWriter = txn{}

func (t txn) LockConflict(ctx context.Context, id string) (schema.Conflict, bool, error) {
	c, err := scanConflict(t.w.tx.QueryRow(ctx, `SELECT `+conflictCols+` FROM conflicts WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return schema.Conflict{}, false, nil
	}
	return c, err == nil, err
}

func (t txn) EditVenueAs(ctx context.Context, id string, edits map[string]schema.FieldEdit, actor store.Actor, scope schema.Scope) error {
	_, _, err := t.s.editVenue(ctx, t.w, id, edits, nil, actor, scope)
	return err
}

func (t txn) DecideConflictRow(ctx context.Context, id, winner, by string) error {
	_, err := t.w.tx.Exec(ctx, `UPDATE conflicts SET resolved_at = $1, resolved_by = $2, winner = $3 WHERE id = $4`, t.w.nowText(), by, winner, id)
	return err
}
