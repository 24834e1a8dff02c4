package mobilesync

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Task kinds: what the squad leader's decisions leave for the inspector
// to do in the field.
const (
	// TaskAmend: an inspection of this device was returned with a comment;
	// reopen it (AmendInspection), correct it and submit it again.
	TaskAmend = "amend"
	// TaskRecheck: a venue was ordered to correct a finding by a deadline;
	// go back and inspect it again (StartInspectionWith, RecheckOf).
	TaskRecheck = "recheck"
	// TaskVisit: the squad's plan sends the inspector to a venue on a day
	// (Due, the day's start); gone once this device has an inspection of
	// the venue started on or after it.
	TaskVisit = "visit"
	// TaskComplaint: a complaint from the public assigned to the squad
	// waits for its investigation (StartInspectionWith, ComplaintID); gone
	// once this device has submitted an inspection naming it, or the
	// server removed it (handled, closed, rejected, reassigned).
	TaskComplaint = "complaint"
)

// Task is one piece of work waiting for the inspector. The JSON names are
// a contract of `patrol tasks --json`: kind, inspection_id (amend) or
// finding_id (recheck), venue_id, item_id (recheck), due, overdue; a
// visit adds visit_id, day and inspectors, its due the day's start; a
// complaint adds complaint_id, number, place, content, category and status, its
// due the date by which the complaint must be finished.
type Task struct {
	Kind         string `json:"kind"`
	InspectionID string `json:"inspection_id,omitempty"`
	FindingID    string `json:"finding_id,omitempty"`
	VenueID      string `json:"venue_id"`
	VenueName    string `json:"venue_name,omitempty"`
	ItemID       string `json:"item_id,omitempty"`
	// TitleZH is the checklist item's title in Chinese, as on the form.
	TitleZH string `json:"title_zh,omitempty"`
	// Due is the order's deadline of a re-check; nil for an amendment,
	// which has none.
	Due     *time.Time `json:"due"`
	Overdue bool       `json:"overdue"`
	// Comment is the leader's return comment (amend).
	Comment    string     `json:"comment,omitempty"`
	ReturnedBy string     `json:"returned_by,omitempty"`
	ReturnedAt *time.Time `json:"returned_at,omitempty"`
	// Amending says the returned inspection is reopened here already and
	// waits to be submitted again.
	Amending bool `json:"amending,omitempty"`
	// OrderNumber and OrderAction are the order to correct (recheck).
	OrderNumber string `json:"order_number,omitempty"`
	OrderAction string `json:"order_action,omitempty"`
	// DraftID is a re-check inspection started here and not submitted yet.
	DraftID string `json:"draft_id,omitempty"`
	// VisitID, Day and Inspectors are a planned visit's (visit).
	VisitID    string   `json:"visit_id,omitempty"`
	Day        string   `json:"day,omitempty"`
	Inspectors []string `json:"inspectors,omitempty"`
	// ComplaintID, Number, Place, Content and Category are a complaint's
	// (complaint): its number 投诉〔YYYY〕N号, the place described when it
	// names no known venue, what the complainant reported (someone's
	// hostile text: print it made safe) and its category (schema
	// ComplaintCategories).
	ComplaintID string `json:"complaint_id,omitempty"`
	Number      string `json:"number,omitempty"`
	Place       string `json:"place,omitempty"`
	Content     string `json:"content,omitempty"`
	Category    string `json:"category,omitempty"`
	// Status is the complaint's state as last pulled: received, accepted,
	// or investigating once an inspection of it (from any device of the
	// squad) reached the server.
	Status string `json:"status,omitempty"`
}

// Tasks lists what waits for the inspector, from the device's own copy so
// that it works offline: returned inspections to amend first (longest
// returned first), then, soonest due first, re-checks of ordered findings
// of the venues this device sees, the squad's planned visits of this
// device's user and the complaints the squad investigates, overdue ones
// marked by the device's clock. A finding that a submitted (or returned)
// inspection of this device re-checks already is not listed: the leader
// has it; nor is a complaint that one investigated.
func (d *Device) Tasks(ctx context.Context) ([]Task, error) {
	amend, err := d.amendTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: tasks: %w", err)
	}
	recheck, err := d.recheckTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: tasks: %w", err)
	}
	visits, err := d.visitTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: tasks: %w", err)
	}
	complaints, err := d.complaintTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: tasks: %w", err)
	}
	// Each list is in its own order already; a stable sort by due merges
	// them and keeps that order among tasks due at the same time.
	due := append(append(recheck, visits...), complaints...)
	slices.SortStableFunc(due, func(a, b Task) int { return compareTimes(a.Due, b.Due) })
	return append(amend, due...), nil
}

// visitTasks lists the planned visits no inspection of this device has
// carried out yet (schema.VisitDone with the device's own as inspector),
// soonest day first; overdue once the day is over by the device's clock.
func (d *Device) visitTasks(ctx context.Context) ([]Task, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT body FROM plan_visits`)
	if err != nil {
		return nil, fmt.Errorf("read planned visits: %w", err)
	}
	var visits []schema.PlanVisit
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return nil, err
		}
		var v schema.PlanVisit
		if json.Unmarshal([]byte(body), &v) == nil {
			visits = append(visits, v)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(visits) == 0 {
		return nil, nil
	}
	started := map[string][]time.Time{}
	irows, err := d.db.R.QueryContext(ctx, `SELECT venue_id, started_at FROM inspections`)
	if err != nil {
		return nil, fmt.Errorf("read inspections: %w", err)
	}
	for irows.Next() {
		var venue, at string
		if err := irows.Scan(&venue, &at); err != nil {
			irows.Close()
			return nil, err
		}
		if t, err := schema.ParseTime(at); err == nil {
			started[venue] = append(started[venue], t)
		}
	}
	irows.Close()
	if err := irows.Err(); err != nil {
		return nil, err
	}
	names, err := d.venueNames(ctx)
	if err != nil {
		return nil, err
	}
	now := d.Clock().Physical()
	var out []Task
	for _, v := range visits {
		done := v.DoneInspectionID != ""
		for _, at := range started[v.VenueID] {
			if !at.Before(v.Starts) {
				done = true
			}
		}
		if done {
			continue
		}
		due := v.Starts
		out = append(out, Task{Kind: TaskVisit, VenueID: v.VenueID, VenueName: names[v.VenueID], Due: &due,
			Overdue: !now.Before(v.Starts.Add(24 * time.Hour)), VisitID: v.ID, Day: v.Day, Inspectors: v.Inspectors[:]})
	}
	slices.SortFunc(out, func(a, b Task) int {
		return cmp.Or(compareTimes(a.Due, b.Due), cmp.Compare(a.VenueID, b.VenueID))
	})
	return out, nil
}

func (d *Device) amendTasks(ctx context.Context) ([]Task, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT `+inspectionColumns+` FROM inspections
		WHERE status = ? OR (status = ? AND server_status = ?)`, schema.StatusReturned, schema.StatusDraft, schema.StatusReturned)
	if err != nil {
		return nil, fmt.Errorf("read returned inspections: %w", err)
	}
	var list []localInspection
	for rows.Next() {
		li, err := scanInspection(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, li)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	names, err := d.venueNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Task, 0, len(list))
	for _, li := range list {
		t := Task{Kind: TaskAmend, InspectionID: li.ID, VenueID: li.VenueID, VenueName: names[li.VenueID],
			Amending: li.Status == schema.StatusDraft}
		if rv := li.Review; rv != nil {
			at := rv.ReviewedAt
			t.Comment, t.ReturnedBy, t.ReturnedAt = rv.Note, rv.ReviewedBy, &at
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Task) int {
		return cmp.Or(compareTimes(a.ReturnedAt, b.ReturnedAt), cmp.Compare(a.InspectionID, b.InspectionID))
	})
	return out, nil
}

// recheckTasks lists ordered findings of visible venues that no inspection
// of this device re-checks already. A draft re-check still leaves the task
// standing (it is not done until submitted) and is named in DraftID.
func (d *Device) recheckTasks(ctx context.Context) ([]Task, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT f.body, v.name,
			COALESCE((SELECT i.id FROM inspections i WHERE i.recheck_of = f.id AND i.status = ? AND i.server_status = ''
				ORDER BY i.started_at DESC LIMIT 1), '')
		FROM findings f JOIN venues v ON v.id = f.venue_id
		WHERE f.status = ? AND NOT EXISTS (SELECT 1 FROM inspections i WHERE i.recheck_of = f.id
			AND (i.status IN (?, ?) OR (i.status = ? AND i.server_status <> '')))`,
		schema.StatusDraft, schema.FindingOrdered, schema.StatusSubmitted, schema.StatusReturned, schema.StatusDraft)
	if err != nil {
		return nil, fmt.Errorf("read findings due: %w", err)
	}
	defer rows.Close()
	titles, err := itemTitles(ctx, d.db.R)
	if err != nil {
		return nil, err
	}
	now := d.Clock().Physical()
	out := []Task{}
	for rows.Next() {
		var f schema.Finding
		var t Task
		var body string
		if err := rows.Scan(&body, &t.VenueName, &t.DraftID); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			return nil, fmt.Errorf("finding body: %w", err)
		}
		t.Kind, t.FindingID, t.VenueID, t.ItemID = TaskRecheck, f.ID, f.VenueID, f.ItemID
		t.TitleZH = cmp.Or(f.TitleZH, titles[f.ItemID])
		t.Due = findingDeadline(f)
		t.Overdue = schema.IsOverdue(f, now)
		if f.Order != nil {
			t.OrderNumber, t.OrderAction = f.Order.Number, f.Order.Action
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Task) int {
		return cmp.Or(compareTimes(a.Due, b.Due), cmp.Compare(a.VenueName, b.VenueName), cmp.Compare(a.ItemID, b.ItemID), cmp.Compare(a.FindingID, b.FindingID))
	})
	return out, nil
}

func (d *Device) venueNames(ctx context.Context) (map[string]string, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT id, name FROM venues`)
	if err != nil {
		return nil, fmt.Errorf("read venue names: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		m[id] = name
	}
	return m, rows.Err()
}

// compareTimes orders earlier first and a missing time last.
func compareTimes(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

// itemTitles maps checklist item ids to their Chinese titles, from the
// checklists built in and those the server sent (a later version's title
// wins), for findings a server sent without one.
func itemTitles(ctx context.Context, q queryer) (map[string]string, error) {
	cls := schema.Checklists()
	rows, err := q.QueryContext(ctx, `SELECT body FROM checklists`)
	if err != nil {
		return nil, fmt.Errorf("read checklists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		var c schema.Checklist
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		if json.Unmarshal([]byte(body), &c) == nil {
			cls = append(cls, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(cls, func(a, b schema.Checklist) int {
		return cmp.Or(a.EffectiveFrom.Compare(b.EffectiveFrom), cmp.Compare(a.Version, b.Version))
	})
	m := map[string]string{}
	for _, c := range cls {
		for _, it := range c.Items {
			if it.TitleZH != "" {
				m[it.ID] = it.TitleZH
			}
		}
	}
	return m, nil
}
