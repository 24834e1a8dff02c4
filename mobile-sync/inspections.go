package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patrolhq/patrol/schema"
)

const inspectionColumns = `id, venue_id, squad_id, device_id, status, checklist_version, inspectors, started_at, finished_at, items, hlc, review, server_status, dirty, version, recheck_of, record, complaint_id`

// localInspection is an inspection row with the device-only columns.
type localInspection struct {
	schema.Inspection
	ServerStatus string
	Dirty        bool
}

func scanInspection(s scanner) (localInspection, error) {
	var li localInspection
	in := &li.Inspection
	var inspectors, started, items string
	var finished, review, record sql.NullString
	var dirty int
	if err := s.Scan(&in.ID, &in.VenueID, &in.SquadID, &in.DeviceID, &in.Status, &in.ChecklistVersion, &inspectors,
		&started, &finished, &items, &in.HLC, &review, &li.ServerStatus, &dirty, &in.Version, &in.RecheckOf, &record, &in.ComplaintID); err != nil {
		return li, err
	}
	if record.Valid && record.String != "" {
		in.Record = new(schema.OnSiteRecord)
		if err := json.Unmarshal([]byte(record.String), in.Record); err != nil {
			return li, fmt.Errorf("inspection %s record: %w", in.ID, err)
		}
	}
	li.Dirty = dirty != 0
	if err := json.Unmarshal([]byte(inspectors), &in.Inspectors); err != nil {
		return li, fmt.Errorf("inspection %s inspectors: %w", in.ID, err)
	}
	if err := json.Unmarshal([]byte(items), &in.Items); err != nil {
		return li, fmt.Errorf("inspection %s items: %w", in.ID, err)
	}
	if in.Items == nil {
		in.Items = []schema.ItemResult{}
	}
	in.StartedAt, _ = schema.ParseTime(started)
	if finished.Valid && finished.String != "" {
		t, err := schema.ParseTime(finished.String)
		if err == nil {
			in.FinishedAt = &t
		}
	}
	if review.Valid && review.String != "" {
		in.Review = new(schema.Review)
		if err := json.Unmarshal([]byte(review.String), in.Review); err != nil {
			return li, fmt.Errorf("inspection %s review: %w", in.ID, err)
		}
	}
	return li, nil
}

func getInspection(ctx context.Context, q queryer, id string) (localInspection, error) {
	li, err := scanInspection(q.QueryRowContext(ctx, `SELECT `+inspectionColumns+` FROM inspections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return li, schema.Errorf(schema.CodeNotFound, "no inspection %s on this device (run `patrol inspections` to list them)", id)
	}
	return li, err
}

// putInspection writes an inspection row (insert or replace).
func putInspection(ctx context.Context, tx *sql.Tx, li *localInspection) error {
	in := &li.Inspection
	inspectors, err := json.Marshal(in.Inspectors)
	if err != nil {
		return err
	}
	items := in.Items
	if items == nil {
		items = []schema.ItemResult{}
	}
	itemsJSON, err := json.Marshal(items)
	if err != nil {
		return err
	}
	var finished, review, record any
	if in.Record != nil {
		b, err := json.Marshal(in.Record)
		if err != nil {
			return err
		}
		record = string(b)
	}
	if in.FinishedAt != nil {
		finished = schema.FormatTime(*in.FinishedAt)
	}
	if in.Review != nil {
		b, err := json.Marshal(in.Review)
		if err != nil {
			return err
		}
		review = string(b)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO inspections (`+inspectionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET venue_id = excluded.venue_id, squad_id = excluded.squad_id, device_id = excluded.device_id,
			status = excluded.status, checklist_version = excluded.checklist_version, inspectors = excluded.inspectors,
			started_at = excluded.started_at, finished_at = excluded.finished_at, items = excluded.items, hlc = excluded.hlc,
			review = excluded.review, server_status = excluded.server_status, dirty = excluded.dirty,
			version = excluded.version, recheck_of = excluded.recheck_of, record = excluded.record, complaint_id = excluded.complaint_id`,
		in.ID, in.VenueID, in.SquadID, in.DeviceID, in.Status, in.ChecklistVersion, string(inspectors),
		schema.FormatTime(in.StartedAt), finished, string(itemsJSON), in.HLC, review, li.ServerStatus, boolInt(li.Dirty), in.Version, in.RecheckOf, record, in.ComplaintID)
	if err != nil {
		return fmt.Errorf("write inspection %s: %w", in.ID, err)
	}
	return nil
}

// Inspection returns one inspection, or a *schema.Error with CodeNotFound.
func (d *Device) Inspection(ctx context.Context, id string) (schema.Inspection, error) {
	li, err := getInspection(ctx, d.db.R, id)
	if err != nil {
		return schema.Inspection{}, fmt.Errorf("mobilesync: inspection %s: %w", id, err)
	}
	return li.Inspection, nil
}

// Inspections lists the inspections on this device, newest first: drafts,
// submitted ones and those the server sent back with their review.
func (d *Device) Inspections(ctx context.Context) ([]schema.Inspection, error) {
	rows, err := d.db.R.QueryContext(ctx, `SELECT `+inspectionColumns+` FROM inspections ORDER BY started_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("mobilesync: inspections: %w", err)
	}
	defer rows.Close()
	out := []schema.Inspection{}
	for rows.Next() {
		li, err := scanInspection(rows)
		if err != nil {
			return nil, fmt.Errorf("mobilesync: inspections: %w", err)
		}
		out = append(out, li.Inspection)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mobilesync: inspections: %w", err)
	}
	return out, nil
}

// StartInspection opens a draft inspection of a venue with the device's
// inspector and the named co-inspectors (the law wants two officers on
// site). The draft stays on the device until Submit.
func (d *Device) StartInspection(ctx context.Context, venueID string, coInspectors ...string) (string, error) {
	return d.StartInspectionWith(ctx, venueID, StartOptions{CoInspectors: coInspectors})
}

func (d *Device) startTx(ctx context.Context, tx *sql.Tx, venueID string, o StartOptions) (string, error) {
	me, err := enrolled(ctx, tx)
	if err != nil {
		return "", err
	}
	v, _, err := getVenue(ctx, tx, venueID)
	if err != nil {
		return "", err
	}
	cl, err := chooseChecklist(ctx, tx, v.Kind, d.Clock().Physical())
	if err != nil {
		return "", err
	}
	inspectors, err := inspectorsFor(ctx, tx, me.Username, me.SquadID, o.CoInspectors)
	if err != nil {
		return "", err
	}
	h, err := d.tick(ctx, tx)
	if err != nil {
		return "", err
	}
	li := localInspection{Inspection: schema.Inspection{
		ID: newID(), VenueID: v.ID, SquadID: me.SquadID, DeviceID: me.DeviceID, Status: schema.StatusDraft,
		ChecklistVersion: cl.Version, Inspectors: inspectors, StartedAt: d.Clock().Physical(),
		Items: []schema.ItemResult{}, HLC: h.String(),
	}}
	if o.RecheckOf != "" {
		if err := checkRecheck(ctx, tx, &li.Inspection, o.RecheckOf); err != nil {
			return "", err
		}
	}
	if o.ComplaintID != "" {
		if err := checkComplaint(ctx, tx, &li.Inspection, o.ComplaintID); err != nil {
			return "", err
		}
	}
	return li.ID, putInspection(ctx, tx, &li)
}

// inspectorsFor names the device's user and the co-inspectors, checked by
// the rule the server applies (schema.CheckInspectors) against the
// squad's members as last pulled, with their names and badge numbers: a
// record the server would refuse is refused here, while the officers are
// still on site.
func inspectorsFor(ctx context.Context, q queryer, me string, squad int64, co []string) ([]schema.Inspector, error) {
	members, err := loadMembers(ctx, q)
	if err != nil {
		return nil, err
	}
	named := []schema.Inspector{{Username: me}}
	for _, u := range co {
		if u = strings.ToLower(strings.TrimSpace(u)); u != "" {
			named = append(named, schema.Inspector{Username: u})
		}
	}
	out, err := schema.CheckInspectors(named, me, squad, members)
	if schema.ErrorCode(err) == schema.CodeForbidden && len(members) > 0 {
		var may []string
		for _, m := range members {
			if m.Username != me && m.MayInspectFor(squad) {
				may = append(may, m.Username)
			}
		}
		return nil, fmt.Errorf("%w (co-inspectors you may name: %s)", err, orNone(may))
	}
	return out, err
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func loadMembers(ctx context.Context, q queryer) ([]schema.Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT body FROM members ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	defer rows.Close()
	var out []schema.Member
	for rows.Next() {
		var body string
		var m schema.Member
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			return nil, fmt.Errorf("member body: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetItem answers one checklist item. On a submitted inspection it is an
// amendment: the full record is queued again.
func (d *Device) SetItem(ctx context.Context, inspectionID, itemID, result, note string) error {
	return d.SetItemWithPhotos(ctx, inspectionID, itemID, result, note)
}

// SetItemWithPhotos answers an item and attaches photos to it in the same
// local transaction, so that an answer and its evidence are recorded
// together or not at all. Photo bytes must already be in the device's
// photo store under their hash.
func (d *Device) SetItemWithPhotos(ctx context.Context, inspectionID, itemID, result, note string, photos ...schema.PhotoRef) error {
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return d.setItemTx(ctx, tx, inspectionID, itemID, result, note, photos)
	})
	if err != nil {
		return fmt.Errorf("mobilesync: inspection %s item %s: %w", inspectionID, itemID, err)
	}
	return nil
}

func (d *Device) setItemTx(ctx context.Context, tx *sql.Tx, inspectionID, itemID, result, note string, photos []schema.PhotoRef) error {
	result = strings.ToLower(strings.TrimSpace(result))
	if result != schema.ResultPass && result != schema.ResultFail && result != schema.ResultNA {
		return schema.Errorf(schema.CodeInvalid, "result %q is not pass, fail or na", result)
	}
	if len(note) > schema.MaxNoteLen || !utf8.ValidString(note) || strings.ContainsRune(note, 0) {
		return schema.Errorf(schema.CodeInvalid, "note must be valid text of at most %d bytes", schema.MaxNoteLen)
	}
	itemID = strings.ToUpper(strings.TrimSpace(itemID))
	return d.changeInspection(ctx, tx, inspectionID, func(li *localInspection, cl *schema.Checklist) error {
		if err := knownItem(cl, itemID); err != nil {
			return err
		}
		setResult(li, cl, schema.ItemResult{ItemID: itemID, Result: result, Note: note})
		return addPhotos(ctx, tx, li, itemID, photos, d.opts.Now())
	})
}

func knownItem(cl *schema.Checklist, itemID string) error {
	if _, ok := cl.Item(itemID); ok {
		return nil
	}
	ids := make([]string, len(cl.Items))
	for i, it := range cl.Items {
		ids[i] = it.ID
	}
	return schema.Errorf(schema.CodeInvalid, "checklist %s has no item %q (items: %s)", cl.Version, itemID, strings.Join(ids, ", "))
}

// setResult replaces an item's answer (keeping its photos) and keeps items
// in checklist order.
func setResult(li *localInspection, cl *schema.Checklist, r schema.ItemResult) {
	found := false
	for i := range li.Items {
		if li.Items[i].ItemID == r.ItemID {
			r.Photos = li.Items[i].Photos
			li.Items[i] = r
			found = true
		}
	}
	if !found {
		li.Items = append(li.Items, r)
	}
	order := map[string]int{}
	for i, it := range cl.Items {
		order[it.ID] = i
	}
	slices.SortStableFunc(li.Items, func(a, b schema.ItemResult) int { return order[a.ItemID] - order[b.ItemID] })
}

// changeInspection loads an inspection, lets fn change it, stamps it with
// a new HLC and writes it back; a submitted one is marked dirty and its
// full record queued (superseding older queued snapshots).
func (d *Device) changeInspection(ctx context.Context, tx *sql.Tx, id string, fn func(*localInspection, *schema.Checklist) error) error {
	li, err := getInspection(ctx, tx, id)
	if err != nil {
		return err
	}
	cl, err := checklistByVersion(ctx, tx, li.ChecklistVersion)
	if err != nil {
		return err
	}
	before := cloneItems(li.Items)
	if err := fn(&li, &cl); err != nil {
		return err
	}
	// A signed record keeps its original: a change after signing goes
	// into the open amendment (onsite.go).
	d.trackAmendment(&li, before)
	h, err := d.tick(ctx, tx)
	if err != nil {
		return err
	}
	li.HLC = h.String()
	if li.Status != schema.StatusDraft {
		li.Dirty = true
	}
	if err := putInspection(ctx, tx, &li); err != nil {
		return err
	}
	if li.Status == schema.StatusDraft {
		return nil
	}
	if openAmendment(li.Record) != nil {
		// Held, dirty, until the party signs the amendment or refuses:
		// the server takes a sealed record's changes signed only.
		return nil
	}
	rec := li.Inspection
	rec.Status = schema.StatusSubmitted
	rec.Review = nil
	if err := schema.ValidateInspection(&rec, func(string) (*schema.Checklist, bool) { return &cl, true }); err != nil {
		return err
	}
	return enqueue(ctx, tx, schema.Mutation{ID: newID(), Kind: schema.MutInspectionUpsert, HLC: h.String(), Inspection: &rec}, id, d.opts.Now())
}

// Submit finishes an inspection once every item is answered and queues it
// for the server. Submitting one already submitted changes nothing. A
// returned inspection reopened by AmendInspection is submitted the same
// way and goes up as the server's next version of it.
func (d *Device) Submit(ctx context.Context, inspectionID string) error {
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error { return d.submitTx(ctx, tx, inspectionID) })
	if err != nil {
		return fmt.Errorf("mobilesync: submit %s: %w", inspectionID, err)
	}
	return nil
}

func (d *Device) submitTx(ctx context.Context, tx *sql.Tx, inspectionID string) error {
	li, err := getInspection(ctx, tx, inspectionID)
	if err != nil {
		return err
	}
	if err := recordReady(&li); err != nil {
		return err
	}
	if li.Status != schema.StatusDraft {
		return nil
	}
	if _, err := enrolled(ctx, tx); err != nil {
		return err
	}
	return d.changeInspection(ctx, tx, inspectionID, func(li *localInspection, cl *schema.Checklist) error {
		answered := map[string]bool{}
		for _, it := range li.Items {
			answered[it.ItemID] = true
		}
		var missing []string
		for _, it := range cl.Items {
			if !answered[it.ID] {
				missing = append(missing, it.ID)
			}
		}
		if len(missing) > 0 {
			return schema.Errorf(schema.CodeInvalid, "cannot submit: %d of %d items of %s are unanswered: %s (answer each with `patrol inspect item %s ITEM pass|fail|na`)",
				len(missing), len(cl.Items), cl.Version, strings.Join(missing, ", "), inspectionID)
		}
		li.Status = schema.StatusSubmitted
		if li.FinishedAt != nil {
			// An amendment corrects the record of a visit that ended
			// when it ended; the new clock says when it was corrected.
			return nil
		}
		finished := d.Clock().Physical()
		if finished.Before(li.StartedAt) {
			finished = li.StartedAt
		}
		li.FinishedAt = &finished
		return nil
	})
}

// checklistByVersion finds a checklist the server sent, else an embedded one.
func checklistByVersion(ctx context.Context, q queryer, version string) (schema.Checklist, error) {
	var body string
	err := q.QueryRowContext(ctx, `SELECT body FROM checklists WHERE version = ?`, version).Scan(&body)
	switch {
	case err == nil:
		var c schema.Checklist
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return c, fmt.Errorf("checklist %s: %w", version, err)
		}
		return c, nil
	case !errors.Is(err, sql.ErrNoRows):
		return schema.Checklist{}, fmt.Errorf("read checklist %s: %w", version, err)
	}
	return schema.ChecklistByVersion(version)
}

// chooseChecklist picks the newest checklist in force that applies to the
// venue kind, among those the server sent and those built in; the built-in
// default otherwise.
func chooseChecklist(ctx context.Context, q queryer, kind string, now time.Time) (schema.Checklist, error) {
	cands := schema.Checklists()
	rows, err := q.QueryContext(ctx, `SELECT body FROM checklists`)
	if err != nil {
		return schema.Checklist{}, fmt.Errorf("read checklists: %w", err)
	}
	for rows.Next() {
		var body string
		var c schema.Checklist
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return c, err
		}
		if err := json.Unmarshal([]byte(body), &c); err == nil && len(c.Items) > 0 {
			cands = append(cands, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return schema.Checklist{}, err
	}
	var best *schema.Checklist
	for i := range cands {
		c := &cands[i]
		if !slices.Contains(c.VenueKinds, kind) || c.EffectiveFrom.After(now) {
			continue
		}
		if best == nil || c.EffectiveFrom.After(best.EffectiveFrom) ||
			(c.EffectiveFrom.Equal(best.EffectiveFrom) && c.Version > best.Version) {
			best = c
		}
	}
	if best != nil {
		return *best, nil
	}
	return schema.ChecklistByVersion(schema.DefaultChecklistVersion)
}
