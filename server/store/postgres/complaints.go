package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// complaintCols is the column list every complaint read uses, in
// scanComplaint order (the seq last).
const complaintCols = `id, number, channel, category, received_at, received_by, contact, reply_wanted, coalesce(venue_id, ''), place,
	content, squad_id, status, accept_by, due, accepted_at, accepted_by, reject_reason, extension_days, extension_reason, extension_by,
	extension_at, handling, handled_by, handled_at, reply_text, reply_method, reply_by, reply_at, closed_by, closed_at, updated_at, seq`

// complaintQuerier is a pool or a transaction.
type complaintQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// scanComplaint reads a row of complaintCols.
func scanComplaint(r pgx.Row) (schema.Complaint, int64, error) {
	var c schema.Complaint
	var received, acceptBy, due, updated string
	var accepted, extAt, handled, replyAt, closed *string
	var extDays int32
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
		c.Extension = &schema.ComplaintExtension{Days: int(extDays), Reason: extReason, By: extBy}
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

// complaintWriteCols are the columns a write of a complaint's state sets,
// in complaintWriteArgs order.
var complaintWriteCols = []string{"status", "squad_id", "accepted_at", "accepted_by", "reject_reason", "due", "extension_days",
	"extension_reason", "extension_by", "extension_at", "handling", "handled_by", "handled_at", "reply_text", "reply_method", "reply_by",
	"reply_at", "closed_by", "closed_at", "updated_at", "seq"}

func complaintWriteArgs(c schema.Complaint, seq int64) []any {
	var extDays int32
	var extReason, extBy string
	var extAt *string
	if e := c.Extension; e != nil {
		at := schema.FormatTime(e.At)
		extDays, extReason, extBy, extAt = int32(e.Days), e.Reason, e.By, &at
	}
	var replyText, replyMethod, replyBy string
	var replyAt *string
	if r := c.Reply; r != nil {
		at := schema.FormatTime(r.At)
		replyText, replyMethod, replyBy, replyAt = r.Text, r.Method, r.By, &at
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
	c, _, err := scanComplaint(s.pool.QueryRow(ctx, `SELECT `+complaintCols+` FROM complaints WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !a.Read.Covers(c.SquadID) {
		return schema.Complaint{}, notFound("complaint", id)
	}
	if err != nil {
		return schema.Complaint{}, wrap("complaint", err)
	}
	if c.InspectionIDs, err = complaintInspections(ctx, s.pool, id); err != nil {
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
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	q := `SELECT ` + complaintCols + ` FROM complaints WHERE true`
	if !a.Read.All {
		q += ` AND squad_id = ` + arg(a.Read.Squad)
	}
	if f.SquadID != nil {
		q += ` AND squad_id = ` + arg(*f.SquadID)
	}
	if f.Status != "" {
		q += ` AND status = ` + arg(f.Status)
	}
	if f.Overdue {
		now := arg(schema.FormatTime(s.now()))
		q += ` AND ((status = 'received' AND accept_by < ` + now + `) OR (status IN ('received', 'accepted', 'investigating') AND due < ` + now + `))`
	}
	if f.After != "" {
		k, id := arg(cur.Key), arg(cur.ID)
		q += ` AND (received_at < ` + k + ` OR (received_at = ` + k + ` AND id < ` + id + `))`
	}
	q += ` ORDER BY received_at DESC, id DESC LIMIT ` + arg(f.ComplaintLimit())
	rows, err := s.pool.Query(ctx, q, args...)
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
	if err := fillComplaintInspections(ctx, s.pool, out); err != nil {
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
func complaintInspections(ctx context.Context, q complaintQuerier, id string) ([]string, error) {
	list := []schema.Complaint{{ID: id}}
	err := fillComplaintInspections(ctx, q, list)
	return list[0].InspectionIDs, err
}

// fillComplaintInspections sets the InspectionIDs of each complaint, by
// link time then id, in one query.
func fillComplaintInspections(ctx context.Context, q complaintQuerier, list []schema.Complaint) error {
	if len(list) == 0 {
		return nil
	}
	at := map[string]int{}
	ids := make([]string, len(list))
	for i := range list {
		at[list[i].ID], ids[i] = i, list[i].ID
		list[i].InspectionIDs = []string{}
	}
	rows, err := q.Query(ctx, `SELECT complaint_id, inspection_id FROM complaint_inspections
		WHERE complaint_id = ANY($1) ORDER BY linked_at, inspection_id`, ids)
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
	return loadComplaint(ctx, t.w.tx, id, true)
}

// loadComplaint reads a complaint in a write transaction, locking its row
// when lock is set.
func loadComplaint(ctx context.Context, tx pgx.Tx, id string, lock bool) (schema.Complaint, error) {
	q := `SELECT ` + complaintCols + ` FROM complaints WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	c, _, err := scanComplaint(tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("complaint", id)
	}
	return c, err
}

func (t txn) InsertComplaint(ctx context.Context, r store.ComplaintRow) error {
	c := r.Complaint
	var venue *string
	if c.VenueID != "" {
		venue = &c.VenueID
	}
	cols := append([]string{"id", "number", "channel", "category", "received_at", "received_by", "contact", "reply_wanted",
		"venue_id", "place", "lat", "lng", "content", "accept_by", "created_at"}, complaintWriteCols...)
	args := []any{c.ID, c.Number, c.Channel, c.Category, schema.FormatTime(c.ReceivedAt), c.ReceivedBy, c.Contact, c.ReplyWanted,
		venue, c.Place, r.Lat, r.Lng, c.Content, schema.FormatTime(c.AcceptBy), t.w.nowText()}
	args = append(args, complaintWriteArgs(c, t.w.nextSeq())...)
	_, err := t.w.tx.Exec(ctx, insertStatement("complaints", cols), args...)
	return err
}

func (t txn) UpdateComplaint(ctx context.Context, c schema.Complaint, leftSquad int64) error {
	return updateComplaint(ctx, t.w, c, leftSquad)
}

func updateComplaint(ctx context.Context, w *writer, c schema.Complaint, leftSquad int64) error {
	seq := w.nextSeq()
	set := make([]string, len(complaintWriteCols))
	for i, col := range complaintWriteCols {
		set[i] = fmt.Sprintf("%s = $%d", col, i+1)
	}
	args := append(complaintWriteArgs(c, seq), c.ID)
	if _, err := w.tx.Exec(ctx, `UPDATE complaints SET `+strings.Join(set, ", ")+fmt.Sprintf(` WHERE id = $%d`, len(args)), args...); err != nil {
		return err
	}
	if leftSquad == 0 {
		return nil
	}
	_, err := w.tx.Exec(ctx, `INSERT INTO complaint_squad_left (complaint_id, squad_id, left_seq) VALUES ($1, $2, $3)
		ON CONFLICT (complaint_id, squad_id) DO UPDATE SET left_seq = excluded.left_seq`, c.ID, leftSquad, seq)
	return err
}

func (t txn) NextComplaintNumber(ctx context.Context, year int) (int, error) {
	var n int32
	err := t.w.tx.QueryRow(ctx, `INSERT INTO complaint_numbers (year, last_n) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last_n = complaint_numbers.last_n + 1 RETURNING last_n`, int32(year)).Scan(&n)
	return int(n), err
}

func (t txn) VenueSquad(ctx context.Context, venueID string) (int64, bool, error) {
	var sq int64
	err := t.w.tx.QueryRow(ctx, `SELECT squad_id FROM venues WHERE id = $1 AND NOT deleted`, venueID).Scan(&sq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return sq, err == nil, err
}

// complaintsRead yields the squad's complaints changed in range: a task
// while open (never the contact: schema.TaskOf), removed once finished.
func (p *puller) complaintsRead() pullRead {
	return pullRead{`SELECT ` + complaintCols + ` FROM complaints WHERE squad_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
		func(lo, hi int64, limit int) []any { return []any{p.squad, lo, hi, limit} },
		func(rows pgx.Rows) (schema.Change, error) {
			c, seq, err := scanComplaint(rows)
			if err != nil {
				return schema.Change{}, fmt.Errorf("complaints: %w", err)
			}
			if !schema.ComplaintOpen(c.Status) {
				return schema.Change{Seq: seq, Kind: schema.ChangeComplaint, ID: c.ID, Removed: true}, nil
			}
			task := schema.TaskOf(c)
			return schema.Change{Seq: seq, Kind: schema.ChangeComplaint, ID: c.ID, Complaint: &task}, nil
		}}
}

// complaintsLeftRead yields removals of the complaints reassigned away
// from the squad in range (and not back since).
func (p *puller) complaintsLeftRead() pullRead {
	return pullRead{`SELECT l.complaint_id, l.left_seq FROM complaint_squad_left l
		WHERE l.squad_id = $1 AND l.left_seq > $2 AND l.left_seq <= $3
		  AND NOT EXISTS (SELECT 1 FROM complaints c WHERE c.id = l.complaint_id AND c.squad_id = l.squad_id)
		ORDER BY l.left_seq LIMIT $4`,
		func(lo, hi int64, limit int) []any { return []any{p.squad, lo, hi, limit} },
		func(rows pgx.Rows) (schema.Change, error) {
			c := schema.Change{Kind: schema.ChangeComplaint, Removed: true}
			if err := rows.Scan(&c.ID, &c.Seq); err != nil {
				return c, fmt.Errorf("complaints left: %w", err)
			}
			return c, nil
		}}
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
	var linked bool
	if err := b.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM complaint_inspections WHERE complaint_id = $1 AND inspection_id = $2)`,
		in.ComplaintID, in.ID).Scan(&linked); err != nil {
		return schema.MutationResult{}, false, err
	}
	if linked {
		return schema.MutationResult{}, true, nil
	}
	c, err := loadComplaint(ctx, b.tx, in.ComplaintID, false)
	found := err == nil
	if err != nil && schema.ErrorCode(err) != schema.CodeNotFound {
		return schema.MutationResult{}, false, err
	}
	var wasOurs bool
	if found && c.SquadID != b.pusher.Squad {
		if err := b.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM complaint_squad_left WHERE complaint_id = $1 AND squad_id = $2)`,
			in.ComplaintID, b.pusher.Squad).Scan(&wasOurs); err != nil {
			return schema.MutationResult{}, false, err
		}
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
		tag, err := b.tx.Exec(ctx, `INSERT INTO complaint_inspections (complaint_id, inspection_id, linked_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, l.ComplaintID, l.InspectionID, b.nowText())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		c, err := loadComplaint(ctx, b.tx, l.ComplaintID, true)
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
