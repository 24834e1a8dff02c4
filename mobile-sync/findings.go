package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// applyFinding takes the server's state of a finding of a venue this
// device sees, or forgets one it no longer may see. Findings are the
// server's alone: the device never edits them, so there is nothing to
// rebase.
func applyFinding(ctx context.Context, tx *sql.Tx, ch *schema.Change) error {
	if ch.Removed {
		_, err := tx.ExecContext(ctx, `DELETE FROM findings WHERE id = ?`, ch.ID)
		return err
	}
	f := ch.Finding
	if f == nil {
		return nil
	}
	if f.ID == "" {
		f.ID = ch.ID
	}
	if f.ID == "" {
		return schema.Errorf(schema.CodeInvalid, "finding without an id")
	}
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	deadline := ""
	if d := findingDeadline(*f); d != nil {
		deadline = schema.FormatTime(*d)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO findings (id, venue_id, item_id, status, deadline, body) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, item_id = excluded.item_id, status = excluded.status,
			deadline = excluded.deadline, body = excluded.body`,
		f.ID, f.VenueID, f.ItemID, f.Status, deadline, string(body))
	if err != nil {
		return fmt.Errorf("write finding %s: %w", f.ID, err)
	}
	return nil
}

// findingDeadline is the order's deadline, else the one the finding
// repeats, else nil (not ordered yet).
func findingDeadline(f schema.Finding) *time.Time {
	if f.Order != nil && !f.Order.Deadline.IsZero() {
		d := f.Order.Deadline
		return &d
	}
	return f.Deadline
}

const findingBodySQL = `SELECT body FROM findings`

func scanFinding(s scanner) (schema.Finding, error) {
	var body string
	var f schema.Finding
	if err := s.Scan(&body); err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		return f, fmt.Errorf("finding body: %w", err)
	}
	return f, nil
}

func getFinding(ctx context.Context, q queryer, id string) (schema.Finding, error) {
	f, err := scanFinding(q.QueryRowContext(ctx, findingBodySQL+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, schema.Errorf(schema.CodeNotFound, "no finding %s on this device (run `patrol sync`, then `patrol tasks` to list re-checks due)", id)
	}
	return f, err
}

// Finding returns one finding of the ledger as last pulled, or a
// *schema.Error with CodeNotFound. Overdue is reckoned on the device's
// clock, so that it is right offline.
func (d *Device) Finding(ctx context.Context, id string) (schema.Finding, error) {
	f, err := getFinding(ctx, d.db.R, id)
	if err != nil {
		return f, fmt.Errorf("mobilesync: finding %s: %w", id, err)
	}
	f.Overdue = schema.IsOverdue(f, d.Clock().Physical())
	return f, nil
}

// Findings lists the findings of a venue (all of them when venueID is
// ""), in every state, as last pulled: what the inspector should know
// before walking in.
func (d *Device) Findings(ctx context.Context, venueID string) ([]schema.Finding, error) {
	q, args := findingBodySQL+` ORDER BY venue_id, item_id, id`, []any{}
	if venueID != "" {
		q, args = findingBodySQL+` WHERE venue_id = ? ORDER BY item_id, id`, []any{venueID}
	}
	rows, err := d.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: findings: %w", err)
	}
	defer rows.Close()
	now := d.Clock().Physical()
	out := []schema.Finding{}
	for rows.Next() {
		f, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("mobilesync: findings: %w", err)
		}
		f.Overdue = schema.IsOverdue(f, now)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mobilesync: findings: %w", err)
	}
	return out, nil
}
