package store

import (
	"context"

	"github.com/patrolhq/patrol/schema"
)

// ConflictWriter is what an adapter's write transaction offers
// DecideConflict. Implementations hold no conflict logic, only their SQL.
type ConflictWriter interface {
	// LockConflict reads a conflict, locking it where the database can;
	// found is false when there is none.
	LockConflict(ctx context.Context, id string) (c schema.Conflict, found bool, err error)
	// LoadVenue reads a venue; not found: schema.CodeNotFound.
	LoadVenue(ctx context.Context, id string) (schema.Venue, error)
	// EditVenueAs applies field edits through the venue field merge, as
	// actor within scope.
	EditVenueAs(ctx context.Context, id string, edits map[string]schema.FieldEdit, actor Actor, scope schema.Scope) error
	// DecideConflictRow marks a conflict resolved by by with winner, now.
	DecideConflictRow(ctx context.Context, id, winner, by string) error
	// Audit appends an audit entry in the transaction.
	Audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error
}

// DecideConflict resolves a conflict the scope covers with the value that
// stands (checked with schema.CheckConflictWinner first) inside the
// caller's write transaction (Supervision.DecideConflict): a value other
// than the one the merge kept goes through the venue field merge; a
// resolved conflict stays as it is.
func DecideConflict(ctx context.Context, w ConflictWriter, id, winner string, actor Actor, by string, scope schema.Scope) error {
	c, found, err := w.LockConflict(ctx, id)
	if err != nil {
		return err
	}
	if !found || !scope.Covers(c.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "%s %s not found", "conflict", id)
	}
	if c.ResolvedAt != nil {
		return nil
	}
	if winner != c.Winner {
		if err := schema.CanOverturn(c); err != nil {
			return err
		}
		v, err := w.LoadVenue(ctx, c.EntityID)
		if err != nil {
			return err
		}
		if err := schema.StillKept(c, &v); err != nil {
			return err
		}
		edit := map[string]schema.FieldEdit{c.Field: {Value: c.ValueOf(winner)}}
		if err := w.EditVenueAs(ctx, c.EntityID, edit, actor, scope); err != nil {
			return err
		}
	}
	if err := w.DecideConflictRow(ctx, id, winner, by); err != nil {
		return err
	}
	return w.Audit(ctx, schema.AuditConflict, id, &c.SquadID, "decide", "open", "resolved", "the "+winner+"'s value stands, decided by "+by)
}
