package mobilesync

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/patrolhq/patrol/schema"
)

// Complaints reach a device only as the squad's tasks to investigate
// (schema.ComplaintTask): what was complained of, where, and by when —
// never who complained or how to reach them. The server sends a task while
// the complaint is received, accepted or investigating, and removes it
// once it is handled, closed, rejected or gone to another squad.

// applyComplaint takes the server's task of a complaint, or forgets it.
// A task in a state that carries none (a server that sent it anyway) is
// forgotten too: there is nothing left to investigate.
func applyComplaint(ctx context.Context, tx *sql.Tx, ch *schema.Change) error {
	c := ch.Complaint
	if ch.Removed || (c != nil && c.Status != "" && !schema.ComplaintOpen(c.Status)) {
		id := ch.ID
		if id == "" && c != nil {
			id = c.ID
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM complaint_tasks WHERE id = ?`, id)
		return err
	}
	if c == nil {
		return nil
	}
	if c.ID == "" {
		c.ID = ch.ID
	}
	if c.ID == "" {
		return schema.Errorf(schema.CodeInvalid, "complaint task without an id")
	}
	// Only the task's own fields are kept: whatever else a server put
	// beside them never reaches the device's disk.
	return putBody(ctx, tx, "complaint_tasks", "id", c.ID, false, c)
}

func getComplaintTask(ctx context.Context, q queryer, id string) (schema.ComplaintTask, error) {
	var body string
	var c schema.ComplaintTask
	err := q.QueryRowContext(ctx, `SELECT body FROM complaint_tasks WHERE id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return c, schema.Errorf(schema.CodeNotFound,
			"no complaint %s waits on this device (run `patrol sync`, then `patrol tasks` to list the complaints your squad investigates)", id)
	}
	if err != nil {
		return c, fmt.Errorf("read complaint %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return c, fmt.Errorf("complaint %s body: %w", id, err)
	}
	return c, nil
}

// ComplaintTask returns a complaint the squad investigates as last pulled,
// or a *schema.Error with CodeNotFound.
func (d *Device) ComplaintTask(ctx context.Context, id string) (schema.ComplaintTask, error) {
	c, err := getComplaintTask(ctx, d.db.R, id)
	if err != nil {
		return c, fmt.Errorf("mobilesync: complaint %s: %w", id, err)
	}
	return c, nil
}

// checkComplaint refuses to name a complaint the inspection may not
// investigate: one this device does not hold (another squad's, finished,
// or not pulled yet), or one about another venue. The server applies the
// same rule (schema.ComplaintLinkRefusal) to what is pushed.
func checkComplaint(ctx context.Context, tx *sql.Tx, in *schema.Inspection, complaintID string) error {
	complaintID = strings.ToLower(strings.TrimSpace(complaintID))
	if err := schema.ValidUUID(complaintID); err != nil {
		return schema.Errorf(schema.CodeInvalid, "complaint id %q: %v (see `patrol tasks` for the ids)", truncateText(complaintID, 40), err)
	}
	c, err := getComplaintTask(ctx, tx, complaintID)
	if err != nil {
		return err
	}
	if c.VenueID != "" && c.VenueID != in.VenueID {
		return schema.Errorf(schema.CodeInvalid, "complaint %s is about another venue, %s; start the inspection with --venue %s",
			complaintID, c.VenueID, c.VenueID)
	}
	in.ComplaintID = c.ID
	return nil
}

// complaintTasks lists the complaints the squad investigates that no
// submitted inspection of this device names yet. A draft started for one
// leaves the task standing (it is not investigated until submitted) and
// is named in DraftID; an inspection sent back for amendment still counts
// as the investigation. Overdue is past the due date by the device's clock.
func (d *Device) complaintTasks(ctx context.Context) ([]Task, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT c.body, COALESCE(v.name, ''),
			COALESCE((SELECT i.id FROM inspections i WHERE i.complaint_id = c.id AND i.status = ? AND i.server_status = ''
				ORDER BY i.started_at DESC LIMIT 1), '')
		FROM complaint_tasks c LEFT JOIN venues v ON v.id = json_extract(c.body, '$.venue_id')
		WHERE NOT EXISTS (SELECT 1 FROM inspections i WHERE i.complaint_id = c.id
			AND (i.status <> ? OR i.server_status <> ''))`,
		schema.StatusDraft, schema.StatusDraft)
	if err != nil {
		return nil, fmt.Errorf("read complaints: %w", err)
	}
	defer rows.Close()
	now := d.Clock().Physical()
	var out []Task
	for rows.Next() {
		var body string
		var c schema.ComplaintTask
		t := Task{Kind: TaskComplaint}
		if err := rows.Scan(&body, &t.VenueName, &t.DraftID); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return nil, fmt.Errorf("complaint body: %w", err)
		}
		t.ComplaintID, t.Number, t.VenueID, t.Place, t.Content, t.Category, t.Status = c.ID, c.Number, c.VenueID, c.Place, c.Content, c.Category, c.Status
		if !c.Due.IsZero() {
			due := c.Due
			t.Due = &due
			t.Overdue = now.After(due)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Task) int {
		return cmp.Or(compareTimes(a.Due, b.Due), cmp.Compare(a.Number, b.Number), cmp.Compare(a.ComplaintID, b.ComplaintID))
	})
	return out, nil
}
