package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/patrolhq/patrol/schema"
)

// applyMerge applies the removal of a venue a leader merged into another,
// inside the transaction of the pulled page: the device's inspections
// (drafts included), findings, unsent field edits and unsent mutations
// that name the duplicate are re-pointed to the survivor, so the outbox
// does not carry work the server would have to redirect, and nothing the
// device holds names a venue it no longer has. The duplicate goes even if
// this device created it: the server knows it (it merged it), so its
// creation was delivered.
func applyMerge(ctx context.Context, tx *sql.Tx, from, to string) error {
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE inspections SET venue_id = ? WHERE venue_id = ?`, []any{to, from}},
		{`UPDATE findings SET venue_id = ?, body = json_set(body, '$.venue_id', ?) WHERE venue_id = ?`, []any{to, to, from}},
		// An edit of a field the survivor has an unsent edit of already
		// stays in the outbox only (the server records the concurrent one).
		{`UPDATE OR IGNORE venue_edits SET venue_id = ? WHERE venue_id = ?`, []any{to, from}},
		{`DELETE FROM venue_edits WHERE venue_id = ?`, []any{from}},
		{`UPDATE venue_merges SET survivor_id = ? WHERE survivor_id = ?`, []any{to, from}},
		{`INSERT INTO venue_merges (duplicate_id, survivor_id) VALUES (?, ?)
			ON CONFLICT (duplicate_id) DO UPDATE SET survivor_id = excluded.survivor_id`, []any{from, to}},
		{`DELETE FROM venues WHERE id = ?`, []any{from}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("merge of venue %s: %w", from, err)
		}
	}
	return rewriteOutbox(ctx, tx, from, to)
}

// rewriteOutbox rewrites the unsent mutations naming venue from to name
// to (schema.RedirectMerged). A venue.create keeps its id: it is answered
// by it.
func rewriteOutbox(ctx context.Context, tx *sql.Tx, from, to string) error {
	rows, err := tx.QueryContext(ctx, `SELECT seq, kind, entity_id, body FROM outbox WHERE kind <> ? AND instr(body, ?) > 0`,
		schema.MutVenueCreate, from)
	if err != nil {
		return fmt.Errorf("merge of venue %s: read outbox: %w", from, err)
	}
	type row struct {
		seq          int64
		kind, entity string
		body         string
		rewritten    []byte
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.kind, &r.entity, &r.body); err != nil {
			rows.Close()
			return err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range list {
		var m schema.Mutation
		if err := json.Unmarshal([]byte(r.body), &m); err != nil {
			return fmt.Errorf("merge of venue %s: outbox %d: %w", from, r.seq, err)
		}
		if schema.RedirectMerged(&m, func(id string) string {
			if id == from {
				return to
			}
			return ""
		}) == "" {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		entity := r.entity
		if entity == from {
			entity = to
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET body = ?, entity_id = ? WHERE seq = ?`, string(b), entity, r.seq); err != nil {
			return fmt.Errorf("merge of venue %s: outbox %d: %w", from, r.seq, err)
		}
	}
	return nil
}

// MergedInto is the venue a leader merged venue id into, as the last
// pull told this device (following later merges); not found when id was
// never merged.
func (d *Device) MergedInto(ctx context.Context, id string) (string, error) {
	var to string
	err := d.db.R.QueryRowContext(ctx, `SELECT survivor_id FROM venue_merges WHERE duplicate_id = ?`, id).Scan(&to)
	if errors.Is(err, sql.ErrNoRows) {
		return "", schema.Errorf(schema.CodeNotFound, "venue %s was not merged into another", id)
	}
	if err != nil {
		return "", fmt.Errorf("merged into: %w", err)
	}
	return to, nil
}
