package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// outRow is one outbox row read for a push.
type outRow struct {
	seq int64
	mut schema.Mutation
}

// creds is what a sync needs from meta.
type creds struct {
	Identity
	token string
}

// push sends the outbox in seq order, batch by batch, and records each
// answer. Mutations the server did not answer stay for the next sync.
func (d *Device) push(ctx context.Context, c creds, rep *SyncReport) error {
	var after int64
	batch := d.opts.PushBatch
	for {
		rows, err := d.takeBatch(ctx, after, batch)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		req := schema.PushRequest{ClientTime: d.opts.Now(), HLC: d.Clock().Last().String(), Mutations: make([]schema.Mutation, len(rows))}
		for i, r := range rows {
			req.Mutations[i] = r.mut
		}
		body, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("encode push: %w", err)
		}
		var resp schema.PushResponse
		tm, err := d.post(ctx, exchange{serverURL: c.ServerURL, path: schema.PathPush, token: c.token, body: body, gzip: true}, &resp)
		if err != nil {
			if rerr := d.releaseBatch(context.WithoutCancel(ctx), rows); rerr != nil {
				err = errors.Join(err, rerr)
			}
			if schema.ErrorCode(err) == schema.CodeTooLarge {
				if batch > 1 {
					batch = max(1, batch/2)
					continue
				}
				d.log.Warn("sync: a mutation is too large for the server; it stays on the device", "mutation", rows[0].mut.ID, "kind", rows[0].mut.Kind)
				after = rows[0].seq
				continue
			}
			return err
		}
		answered, err := d.applyPushResponse(ctx, rows, &resp, tm, rep)
		if err != nil {
			return err
		}
		if answered == 0 {
			return fmt.Errorf("push: %w", errNoAnswers)
		}
		after = rows[len(rows)-1].seq
	}
}

// takeBatch reads the next rows after seq and marks them in flight, so
// that compaction leaves them alone until their answer is recorded.
func (d *Device) takeBatch(ctx context.Context, after int64, n int) ([]outRow, error) {
	var out []outRow
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, n)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r outRow
			var body string
			if err := rows.Scan(&r.seq, &body); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(body), &r.mut); err != nil {
				rows.Close()
				return fmt.Errorf("outbox row %d: %w", r.seq, err)
			}
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET inflight = 1, attempts = attempts + 1 WHERE seq > ? AND seq <= ?`,
			after, out[len(out)-1].seq)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push: read outbox: %w", err)
	}
	return out, nil
}

// releaseBatch clears the in-flight mark of rows whose answer never came.
func (d *Device) releaseBatch(ctx context.Context, rows []outRow) error {
	return d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET inflight = 0 WHERE seq >= ? AND seq <= ?`, rows[0].seq, rows[len(rows)-1].seq)
		return err
	})
}

// applyPushResponse records every answer of one response in one local
// transaction: the outbox row leaves, a conflict or rejection is set aside
// with its reason, and local rows learn what the server made of them.
func (d *Device) applyPushResponse(ctx context.Context, rows []outRow, resp *schema.PushResponse, tm timing, rep *SyncReport) (int, error) {
	byID := make(map[string]*outRow, len(rows))
	for i := range rows {
		byID[rows[i].mut.ID] = &rows[i]
	}
	offset := d.observe(tm, resp.ServerTime, resp.ServerHLC)
	var pushed, conflicts, rejected int
	err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
		pushed, conflicts, rejected = 0, 0, 0
		for _, r := range resp.Results {
			row, ok := byID[r.ID]
			if !ok {
				continue
			}
			delete(byID, r.ID) // answered once per response
			outcome := r.Outcome
			if outcome == schema.OutcomeDuplicate {
				// The server has it; Original is what it answered first.
				outcome = r.Original
				if outcome == "" || outcome == schema.OutcomeDuplicate {
					outcome = schema.OutcomeApplied
				}
			}
			var err error
			switch outcome {
			case schema.OutcomeApplied:
				err = onApplied(ctx, tx, &row.mut)
			case schema.OutcomeConflict:
				conflicts++
				if err = recordAnswer(ctx, tx, &row.mut, r, outcome, d.opts.Now()); err == nil {
					err = onConflict(ctx, tx, &row.mut, &r)
				}
			case schema.OutcomeRejected:
				rejected++
				if err = recordAnswer(ctx, tx, &row.mut, r, outcome, d.opts.Now()); err == nil {
					err = onRejected(ctx, tx, &row.mut, &r)
				}
			default:
				d.log.Warn("sync: unknown push outcome; the mutation stays queued", "mutation", r.ID, "outcome", r.Outcome)
				continue
			}
			if err != nil {
				return fmt.Errorf("answer %s: %w", r.ID, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, r.ID); err != nil {
				return fmt.Errorf("clear outbox %s: %w", r.ID, err)
			}
			pushed++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET inflight = 0 WHERE seq >= ? AND seq <= ?`, rows[0].seq, rows[len(rows)-1].seq); err != nil {
			return err
		}
		if err := putMeta(ctx, tx, metaOffsetMS, strconv.FormatInt(offset, 10)); err != nil {
			return err
		}
		return putMeta(ctx, tx, metaHLC, d.Clock().Last().String())
	})
	if err != nil {
		return 0, fmt.Errorf("push: record answers: %w", err)
	}
	rep.Pushed += pushed
	rep.Conflicts += conflicts
	rep.Rejected += rejected
	return pushed, nil
}

// recordAnswer sets a conflict or rejection aside, with the mutation it
// answers, so that a person can see what happened to that piece of work.
func recordAnswer(ctx context.Context, tx *sql.Tx, m *schema.Mutation, r schema.MutationResult, outcome string, now time.Time) error {
	body, err := json.Marshal(answerBody{Result: r, Mutation: *m})
	if err != nil {
		return err
	}
	reason := r.Reason
	if reason == "" {
		reason = outcome
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO answers (mutation_id, kind, entity_id, outcome, code, reason, body, answered_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (mutation_id) DO UPDATE SET outcome = excluded.outcome, code = excluded.code, reason = excluded.reason,
			body = excluded.body, answered_at = excluded.answered_at`,
		m.ID, m.Kind, entityOf(m), outcome, string(r.Code), reason, string(body), schema.FormatTime(now))
	if err != nil {
		return fmt.Errorf("record answer: %w", err)
	}
	return nil
}

// entityOf names the row a mutation is about.
func entityOf(m *schema.Mutation) string {
	switch {
	case m.Venue != nil:
		return m.Venue.ID
	case m.VenueUpdate != nil:
		return m.VenueUpdate.VenueID
	case m.Inspection != nil:
		return m.Inspection.ID
	}
	return ""
}

// onApplied settles local state once the server has applied a mutation.
func onApplied(ctx context.Context, tx *sql.Tx, m *schema.Mutation) error {
	switch m.Kind {
	case schema.MutVenueCreate:
		if m.Venue == nil {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE venues SET local_only = 0 WHERE id = ?`, m.Venue.ID)
		return err
	case schema.MutVenueUpdate:
		if m.VenueUpdate == nil {
			return nil
		}
		for _, f := range sortedKeys(m.VenueUpdate.Fields) {
			if !validField(f) {
				continue
			}
			// The server's clock of the field is now this edit's: the
			// next edit here is based on it.
			if _, err := tx.ExecContext(ctx, `UPDATE venues SET clocks = json_set(CASE WHEN json_valid(clocks) THEN clocks ELSE '{}' END, '$.' || ?, ?) WHERE id = ?`,
				f, m.HLC, m.VenueUpdate.VenueID); err != nil {
				return err
			}
		}
		return dropEdits(ctx, tx, m)
	case schema.MutInspectionUpsert:
		if m.Inspection == nil {
			return nil
		}
		// An accepted push leaves the inspection submitted on the server:
		// a first one, and an amendment of a returned one alike.
		_, err := tx.ExecContext(ctx, `UPDATE inspections SET dirty = 0,
			server_status = CASE WHEN server_status IN ('', ?) THEN ? ELSE server_status END
			WHERE id = ? AND hlc = ?`, schema.StatusReturned, schema.StatusSubmitted, m.Inspection.ID, m.HLC)
		return err
	}
	return nil
}

// dropEdits forgets the venue_edits rows this mutation carried; a newer
// edit of the same field (another hlc) stays and keeps winning locally.
func dropEdits(ctx context.Context, tx *sql.Tx, m *schema.Mutation) error {
	for f := range m.VenueUpdate.Fields {
		if _, err := tx.ExecContext(ctx, `DELETE FROM venue_edits WHERE venue_id = ? AND field = ? AND hlc = ?`,
			m.VenueUpdate.VenueID, f, m.HLC); err != nil {
			return err
		}
	}
	return nil
}

// onConflict takes the server's version where the server sent one, never
// over an edit made here after the conflicting one.
func onConflict(ctx context.Context, tx *sql.Tx, m *schema.Mutation, r *schema.MutationResult) error {
	switch m.Kind {
	case schema.MutVenueCreate, schema.MutVenueUpdate:
		if m.VenueUpdate != nil {
			if err := dropEdits(ctx, tx, m); err != nil {
				return err
			}
		}
		return takeServerVenue(ctx, tx, r.ServerVenue)
	case schema.MutInspectionUpsert:
		return settleInspection(ctx, tx, m, r.ServerInspection)
	}
	return nil
}

// onRejected keeps the device's record of the work (the answer holds the
// mutation) and takes the server's version where one was sent. A rejected
// inspection stays dirty: the server does not have it, so no reset may
// drop it.
func onRejected(ctx context.Context, tx *sql.Tx, m *schema.Mutation, r *schema.MutationResult) error {
	switch m.Kind {
	case schema.MutVenueUpdate:
		if m.VenueUpdate != nil {
			if err := dropEdits(ctx, tx, m); err != nil {
				return err
			}
		}
		return takeServerVenue(ctx, tx, r.ServerVenue)
	case schema.MutInspectionUpsert:
		if r.ServerInspection != nil {
			return settleInspection(ctx, tx, m, r.ServerInspection)
		}
	}
	return nil
}

// takeServerVenue writes the server's version of a venue and re-applies
// the unsent edits still waiting on top; a venue deleted on the server
// leaves the device (its unsent work stays queued).
func takeServerVenue(ctx context.Context, tx *sql.Tx, v *schema.Venue) error {
	if v == nil || v.ID == "" {
		return nil
	}
	if v.Deleted {
		_, err := tx.ExecContext(ctx, `DELETE FROM venues WHERE id = ?`, v.ID)
		return err
	}
	if err := upsertVenue(ctx, tx, v, false); err != nil {
		return err
	}
	return rebaseVenue(ctx, tx, v.ID)
}

// settleInspection takes the server's inspection unless the device has
// changed it again since the answered mutation.
func settleInspection(ctx context.Context, tx *sql.Tx, m *schema.Mutation, srv *schema.Inspection) error {
	if m.Inspection == nil {
		return nil
	}
	li, err := getInspection(ctx, tx, m.Inspection.ID)
	if schema.ErrorCode(err) == schema.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if li.HLC != m.HLC {
		return nil // a newer edit is queued; it will meet the server on its own
	}
	if srv == nil || srv.ID != li.ID {
		li.Dirty = false
		return putInspection(ctx, tx, &li)
	}
	next := localInspection{Inspection: *srv, ServerStatus: srv.Status}
	next.Venue, next.MissingPhotos, next.PhotosComplete = nil, nil, nil
	if next.DeviceID == "" {
		next.DeviceID = li.DeviceID
	}
	if next.RecheckOf == "" {
		next.RecheckOf = li.RecheckOf
	}
	return putInspection(ctx, tx, &next)
}

func validField(f string) bool {
	for _, x := range schema.VenueFields {
		if x == f {
			return true
		}
	}
	return false
}
