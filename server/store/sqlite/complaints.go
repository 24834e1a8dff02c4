package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// complaintCols is the column list every complaint read uses, in
// scanComplaint order (the seq last).
const complaintCols = `id, number, channel, category, received_at, received_by, contact, reply_wanted, coalesce(venue_id, ''), place,
	content, squad_id, status, accept_by, due, accepted_at, accepted_by, reject_reason, extension_days, extension_reason, extension_by,
	extension_at, handling, handled_by, handled_at, reply_text, reply_method, reply_by, reply_at, closed_by, closed_at, updated_at, seq`

// scanComplaint reads a row of complaintCols.
func scanComplaint(r scanner) (schema.Complaint, int64, error) {
	var c schema.Complaint
	var received, acceptBy, due, updated string
	var accepted, extAt, handled, replyAt, closed sql.NullString
	var extDays int
	var extReason, extBy, replyText, replyMethod, replyBy string
	var seq int64
	if err := r.Scan(&c.ID, &c.Number, &c.Channel, &c.Category, &received, &c.ReceivedBy, &c.Contact, &c.ReplyWanted, &c.VenueID, &c.Place,
		&c.Content, &c.SquadID, &c.Status, &acceptBy, &due, &accepted, &c.AcceptedBy, &c.RejectReason, &extDays, &extReason, &extBy,
		&extAt, &c.Handling, &c.HandledBy, &handled, &replyText, &replyMethod, &replyBy, &replyAt, &c.ClosedBy, &closed, &updated, &seq); err != nil {
		return c, 0, err
	}
	c.ReceivedAt, c.AcceptBy, c.Due, c.UpdatedAt = parseTime(received), parseTime(acceptBy), parseTime(due), parseTime(updated)
	c.AcceptedAt, c.HandledAt, c.ClosedAt = nullTime(accepted), nullTime(handled), nullTime(closed)
	if extDays > 0 {
		c.Extension = &schema.ComplaintExtension{Days: extDays, Reason: extReason, By: extBy}
		if t := nullTime(extAt); t != nil {
			c.Extension.At = *t
		}
	}
	if replyText != "" || replyMethod != "" {
		c.Reply = &schema.ComplaintReply{Text: replyText, Method: replyMethod, By: replyBy}
		if t := nullTime(replyAt); t != nil {
			c.Reply.At = *t
		}
	}
	c.InspectionIDs = []string{}
	return c, seq, nil
}

// complaintWriteArgs are the values of the columns a write of c sets, in
// complaintWriteCols order.
const complaintWriteCols = `status, squad_id, accepted_at, accepted_by, reject_reason, due, extension_days, extension_reason, extension_by,
	extension_at, handling, handled_by, handled_at, reply_text, reply_method, reply_by, reply_at, closed_by, closed_at, updated_at, seq`

func complaintWriteArgs(c schema.Complaint, seq int64) []any {
	var extDays int
	var extReason, extBy string
	var extAt any
	if e := c.Extension; e != nil {
		extDays, extReason, extBy, extAt = e.Days, e.Reason, e.By, schema.FormatTime(e.At)
	}
	var replyText, replyMethod, replyBy string
	var replyAt any
	if r := c.Reply; r != nil {
		replyText, replyMethod, replyBy, replyAt = r.Text, r.Method, r.By, schema.FormatTime(r.At)
	}
	return []any{c.Status, c.SquadID, finishedArg(c.AcceptedAt), c.AcceptedBy, c.RejectReason, schema.FormatTime(c.Due), extDays, extReason, extBy,
		extAt, c.Handling, c.HandledBy, finishedArg(c.HandledAt), replyText, replyMethod, replyBy, replyAt, c.ClosedBy, finishedArg(c.ClosedAt),
		schema.FormatTime(c.UpdatedAt), seq}
}

// CreateComplaint takes a complaint in (store.CreateComplaint).
func (s *Store) CreateComplaint(ctx context.Context, in schema.ComplaintIntake, by string, lim schema.ComplaintLimits) (schema.Complaint, error) {
	var out schema.Complaint
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, err = store.CreateComplaint(ctx, txn{s, w}, in, by, lim, w.now)
		return err
	})
	if err != nil {
		return schema.Complaint{}, fmt.Errorf("store: take complaint in: %w", err)
	}
	return out, nil
}

// ActOnComplaint applies an action (store.ActOnComplaint).
func (s *Store) ActOnComplaint(ctx context.Context, id string, act schema.ComplaintAction, a schema.ComplaintAccess, lim schema.ComplaintLimits) (schema.Complaint, error) {
	var out schema.Complaint
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		if out, err = store.ActOnComplaint(ctx, txn{s, w}, id, act, a, lim, w.now); err != nil {
			return err
		}
		out.InspectionIDs, err = complaintInspections(ctx, w.tx, out.ID)
		return err
	})
	if err != nil {
		return schema.Complaint{}, fmt.Errorf("store: %s complaint %s: %w", act.Action, id, err)
	}
	return out, nil
}

// Complaint reads one complaint as a reads it.
func (s *Store) Complaint(ctx context.Context, id string, a schema.ComplaintAccess) (schema.Complaint, error) {
	c, _, err := scanComplaint(s.db.R.QueryRowContext(ctx, `SELECT `+complaintCols+` FROM complaints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !a.Read.Covers(c.SquadID) {
		return schema.Complaint{}, notFound("complaint", id)
	}
	if err != nil {
		return schema.Complaint{}, wrap("complaint", err)
	}
	if c.InspectionIDs, err = complaintInspections(ctx, s.db.R, id); err != nil {
		return schema.Complaint{}, wrap("complaint", err)
	}
	c.Overdue = schema.ComplaintOverdue(c, s.now())
	return schema.ComplaintSeenBy(c, a), nil
}

// ListComplaints lists complaints newest received first.
func (s *Store) ListComplaints(ctx context.Context, f store.ComplaintFilter, a schema.ComplaintAccess) ([]schema.Complaint, error) {
	cur, err := store.CheckComplaintFilter(f)
	if err != nil {
		return nil, err
	}
	out := []schema.Complaint{}
	if !a.Read.Valid || f.SquadID != nil && !a.Read.Covers(*f.SquadID) {
		return out, nil
	}
	now := schema.FormatTime(s.now())
	q := `SELECT ` + complaintCols + ` FROM complaints WHERE 1 = 1`
	var args []any
	if !a.Read.All {
		q += ` AND squad_id = ?`
		args = append(args, a.Read.Squad)
	}
	if f.SquadID != nil {
		q += ` AND squad_id = ?`
		args = append(args, *f.SquadID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Overdue {
		q += ` AND ((status = 'received' AND accept_by < ?) OR (status IN ('received', 'accepted', 'investigating') AND due < ?))`
		args = append(args, now, now)
	}
	if f.After != "" {
		q += ` AND (received_at < ? OR (received_at = ? AND id < ?))`
		args = append(args, cur.Key, cur.Key, cur.ID)
	}
	q += ` ORDER BY received_at DESC, id DESC LIMIT ?`
	args = append(args, f.ComplaintLimit())
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list complaints", err)
	}
	for rows.Next() {
		c, _, err := scanComplaint(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("list complaints", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list complaints", err)
	}
	if err := fillComplaintInspections(ctx, s.db.R, out); err != nil {
		return nil, wrap("list complaints", err)
	}
	t := s.now()
	for i := range out {
		out[i].Overdue = schema.ComplaintOverdue(out[i], t)
		out[i] = schema.ComplaintSeenBy(out[i], a)
	}
	return out, nil
}

// complaintInspections lists the inspections linked to a complaint.
func complaintInspections(ctx context.Context, q queryer, id string) ([]string, error) {
	list := []schema.Complaint{{ID: id}}
	err := fillComplaintInspections(ctx, q, list)
	return list[0].InspectionIDs, err
}

// fillComplaintInspections sets the InspectionIDs of each complaint, by
// link time then id, in one query.
func fillComplaintInspections(ctx context.Context, q queryer, list []schema.Complaint) error {
	if len(list) == 0 {
		return nil
	}
	at := map[string]int{}
	ids := make([]string, len(list))
	for i := range list {
		at[list[i].ID], ids[i] = i, list[i].ID
		list[i].InspectionIDs = []string{}
	}
	idList, err := jsonList(ids)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT complaint_id, inspection_id FROM complaint_inspections
		WHERE complaint_id IN (SELECT value FROM json_each(?)) ORDER BY linked_at, inspection_id`, idList)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var cid, iid string
		if err := rows.Scan(&cid, &iid); err != nil {
			return err
		}
		c := &list[at[cid]]
		c.InspectionIDs = append(c.InspectionIDs, iid)
	}
	return rows.Err()
}

var _ store.ComplaintWriter = txn{}

func (t txn) LoadComplaint(ctx context.Context, id string) (schema.Complaint, error) {
	return loadComplaint(ctx, t.w.tx, id)
}

func loadComplaint(ctx context.Context, q queryer, id string) (schema.Complaint, error) {
	c, _, err := scanComplaint(q.QueryRowContext(ctx, `SELECT `+complaintCols+` FROM complaints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("complaint", id)
	}
	return c, err
}

func (t txn) InsertComplaint(ctx context.Context, r store.ComplaintRow) error {
	seq, err := t.w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	c := r.Complaint
	var venue any
	if c.VenueID != "" {
		venue = c.VenueID
	}
	args := []any{c.ID, c.Number, c.Channel, c.Category, schema.FormatTime(c.ReceivedAt), c.ReceivedBy, c.Contact, boolInt(c.ReplyWanted),
		venue, c.Place, floatArg(r.Lat), floatArg(r.Lng), c.Content, schema.FormatTime(c.AcceptBy), t.w.nowText()}
	args = append(args, complaintWriteArgs(c, seq)...)
	_, err = t.w.exec(ctx, `INSERT INTO complaints (id, number, channel, category, received_at, received_by, contact, reply_wanted,
		venue_id, place, lat, lng, content, accept_by, created_at, `+complaintWriteCols+`) VALUES (`+placeholders(len(args))+`)`, args...)
	return err
}

func floatArg(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func (t txn) UpdateComplaint(ctx context.Context, c schema.Complaint, leftSquad int64) error {
	return updateComplaint(ctx, t.w, c, leftSquad)
}

func updateComplaint(ctx context.Context, w *writer, c schema.Complaint, leftSquad int64) error {
	seq, err := w.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	cols := columns(complaintWriteCols)
	set := make([]string, len(cols))
	for i, col := range cols {
		set[i] = col + " = ?"
	}
	args := append(complaintWriteArgs(c, seq), c.ID)
	if _, err := w.exec(ctx, `UPDATE complaints SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...); err != nil {
		return err
	}
	if leftSquad != 0 {
		_, err = w.exec(ctx, `INSERT INTO complaint_squad_left (complaint_id, squad_id, left_seq) VALUES (?, ?, ?)
			ON CONFLICT (complaint_id, squad_id) DO UPDATE SET left_seq = excluded.left_seq`, c.ID, leftSquad, seq)
	}
	return err
}

func (t txn) NextComplaintNumber(ctx context.Context, year int) (int, error) {
	var n int
	err := t.w.tx.QueryRowContext(ctx, `INSERT INTO complaint_numbers (year, last_n) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last_n = last_n + 1 RETURNING last_n`, year).Scan(&n)
	return n, err
}

func (t txn) VenueSquad(ctx context.Context, venueID string) (int64, bool, error) {
	var sq int64
	err := t.w.tx.QueryRowContext(ctx, `SELECT squad_id FROM venues WHERE id = ? AND deleted = 0`, venueID).Scan(&sq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return sq, err == nil, err
}

// complaints yields the squad's complaints changed in range: a task
// while open (never the contact: schema.TaskOf), removed once finished.
func (p *puller) complaints(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT `+complaintCols+` FROM complaints WHERE squad_id = ? AND seq > ? AND seq <= ?
		ORDER BY seq LIMIT ?`, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("complaints: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		c, seq, err := scanComplaint(rows)
		if err != nil {
			return nil, fmt.Errorf("complaints: %w", err)
		}
		out = append(out, complaintChange(c, seq))
	}
	return out, rows.Err()
}

// complaintChange is a complaint as its squad's devices receive it.
func complaintChange(c schema.Complaint, seq int64) schema.Change {
	if !schema.ComplaintOpen(c.Status) {
		return schema.Change{Seq: seq, Kind: schema.ChangeComplaint, ID: c.ID, Removed: true}
	}
	task := schema.TaskOf(c)
	return schema.Change{Seq: seq, Kind: schema.ChangeComplaint, ID: c.ID, Complaint: &task}
}

// complaintsLeft yields removals of the complaints reassigned away from
// the squad in range (and not back since).
func (p *puller) complaintsLeft(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT l.complaint_id, l.left_seq FROM complaint_squad_left l
		WHERE l.squad_id = ? AND l.left_seq > ? AND l.left_seq <= ?
		  AND NOT EXISTS (SELECT 1 FROM complaints c WHERE c.id = l.complaint_id AND c.squad_id = l.squad_id)
		ORDER BY l.left_seq LIMIT ?`, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("complaints left: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		c := schema.Change{Kind: schema.ChangeComplaint, Removed: true}
		if err := rows.Scan(&c.ID, &c.Seq); err != nil {
			return nil, fmt.Errorf("complaints left: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// complaintRefusal checks a pushed inspection that names a complaint
// (schema.ComplaintLinkRefusal); one linked to it already passes, so that
// a later version of the inspection is never refused for the complaint's
// state. ok reports whether the inspection may be stored with its link.
func (b *pushBatch) complaintRefusal(ctx context.Context, m *schema.Mutation) (schema.MutationResult, bool, error) {
	in := m.Inspection
	if m.Kind != schema.MutInspectionUpsert || in == nil || in.ComplaintID == "" {
		return schema.MutationResult{}, true, nil
	}
	if len(in.ComplaintID) > schema.MaxComplaintIDLen {
		return schema.Reject(m.ID, schema.CodeNotFound, "complaint_id names no complaint of your squad; start the inspection without it or pull again"), false, nil
	}
	var linked int
	if err := b.tx.QueryRowContext(ctx, `SELECT count(*) FROM complaint_inspections WHERE complaint_id = ? AND inspection_id = ?`,
		in.ComplaintID, in.ID).Scan(&linked); err != nil {
		return schema.MutationResult{}, false, err
	}
	if linked > 0 {
		return schema.MutationResult{}, true, nil
	}
	c, err := loadComplaint(ctx, b.tx, in.ComplaintID)
	found := err == nil
	if err != nil && schema.ErrorCode(err) != schema.CodeNotFound {
		return schema.MutationResult{}, false, err
	}
	var wasOurs bool
	if found && c.SquadID != b.pusher.Squad {
		var left int
		if err := b.tx.QueryRowContext(ctx, `SELECT count(*) FROM complaint_squad_left WHERE complaint_id = ? AND squad_id = ?`,
			in.ComplaintID, b.pusher.Squad).Scan(&left); err != nil {
			return schema.MutationResult{}, false, err
		}
		wasOurs = left > 0
	}
	code, reason, link := schema.ComplaintLinkRefusal(c, found, wasOurs, b.pusher.Squad, in.VenueID)
	if code != "" {
		return schema.Reject(m.ID, code, reason), false, nil
	}
	if !link {
		// Reassigned away since the inspection began: the inspection is
		// kept as the squad's own, without the complaint.
		in.ComplaintID = ""
	}
	return schema.MutationResult{}, true, nil
}

// linkComplaints writes the links of the push's stored inspections to
// their complaints (their rows are in by now), moves each complaint to
// investigating with a new seq, and audits each new link.
func (b *pushBatch) linkComplaints(ctx context.Context) error {
	for _, l := range b.links {
		res, err := b.exec(ctx, `INSERT OR IGNORE INTO complaint_inspections (complaint_id, inspection_id, linked_at) VALUES (?, ?, ?)`,
			l.ComplaintID, l.InspectionID, b.nowText())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		c, err := loadComplaint(ctx, b.tx, l.ComplaintID)
		if err != nil {
			return err
		}
		from := c.Status
		next, changed := store.Investigating(c, b.now)
		if changed {
			if err := updateComplaint(ctx, b.writer, next, 0); err != nil {
				return err
			}
		}
		sq := c.SquadID
		if err := recordChange(ctx, b.writer, change{Actor: l.By, EntityKind: schema.AuditComplaint, EntityID: c.ID, SquadID: &sq,
			Action: "complaint_investigating", From: from, To: next.Status,
			Reason: fmt.Sprintf("inspection %s from device %s", l.InspectionID, b.in.DeviceID)}); err != nil {
			return err
		}
	}
	b.links = b.links[:0]
	return nil
}
