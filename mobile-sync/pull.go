package mobilesync

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/patrolhq/patrol/schema"
)

// maxPullPages stops a pull that never ends (a server bug) instead of
// looping forever on a phone.
const maxPullPages = 1_000_000

// pulledPage is one page fetched from the server, waiting to be applied.
type pulledPage struct {
	resp   schema.PullResponse
	offset int64
	err    error
}

// pull fetches pages until the server has no more and applies each page and
// its cursor in one local transaction. The next page is fetched while the
// current one is applied, so the network and the server's work overlap the
// local writes; the cursor still moves only with an applied page.
func (d *Device) pull(ctx context.Context, c creds, rep *SyncReport) error {
	cursor, err := getMeta(ctx, d.db.R, metaCursor)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan pulledPage, 1)
	go d.fetchPages(fctx, c, cursor, pages)
	for pg := range pages {
		if pg.err != nil {
			return pg.err
		}
		resp := &pg.resp
		zonesChanged := resp.Reset
		for i := range resp.Changes {
			if k := resp.Changes[i].Kind; k == schema.ChangeSchool || k == schema.ChangeZoneRule {
				zonesChanged = true
			}
		}
		err := d.db.WriteTx(ctx, func(tx *sql.Tx) error {
			if resp.Reset {
				if err := dropServerRows(ctx, tx); err != nil {
					return err
				}
			}
			pa, err := newPageApplier(ctx, tx)
			if err != nil {
				return err
			}
			defer pa.close()
			for i := range resp.Changes {
				if err := pa.apply(ctx, &resp.Changes[i]); err != nil {
					return fmt.Errorf("change %d (%s %s): %w", resp.Changes[i].Seq, resp.Changes[i].Kind, resp.Changes[i].ID, err)
				}
			}
			if err := putMeta(ctx, tx, metaCursor, resp.Cursor); err != nil {
				return err
			}
			if err := putMeta(ctx, tx, metaOffsetMS, strconv.FormatInt(pg.offset, 10)); err != nil {
				return err
			}
			return putMeta(ctx, tx, metaHLC, d.Clock().Last().String())
		})
		if zonesChanged {
			// Also after a failed page: a rebuild costs a little, a stale
			// campus misleads an inspector.
			d.invalidateZones()
		}
		if err != nil {
			return fmt.Errorf("pull: apply page: %w", err)
		}
		rep.Pulled += len(resp.Changes)
		rep.Reset = rep.Reset || resp.Reset
	}
	return nil
}

// fetchPages requests pages one after another from cursor and hands them
// to pull, stopping after the last page, at the first error, or when pull
// gives up (ctx).
func (d *Device) fetchPages(ctx context.Context, c creds, cursor string, out chan<- pulledPage) {
	defer close(out)
	send := func(pg pulledPage) bool {
		select {
		case out <- pg:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for page := 0; page < maxPullPages; page++ {
		req := schema.PullRequest{Cursor: cursor, Limit: d.opts.PullLimit, ClientTime: d.opts.Now(), HLC: d.Clock().Last().String()}
		body, err := json.Marshal(req)
		if err != nil {
			send(pulledPage{err: fmt.Errorf("pull: encode: %w", err)})
			return
		}
		var pg pulledPage
		tm, err := d.post(ctx, exchange{serverURL: c.ServerURL, path: schema.PathPull, token: c.token, body: body}, &pg.resp)
		if err != nil {
			send(pulledPage{err: err})
			return
		}
		pg.offset = d.observe(tm, pg.resp.ServerTime, pg.resp.ServerHLC)
		if !send(pg) || !pg.resp.More {
			return
		}
		if pg.resp.Cursor == cursor && len(pg.resp.Changes) == 0 {
			send(pulledPage{err: fmt.Errorf("pull: %w", schema.Errorf(schema.CodeInternal, "the server announced more changes but its cursor did not move"))})
			return
		}
		cursor = pg.resp.Cursor
	}
	send(pulledPage{err: fmt.Errorf("pull: %w", schema.Errorf(schema.CodeInternal, "the server sent more than %d pages", maxPullPages))})
}

// dropServerRows forgets every row that came from the server, before a
// reset pull sends the visible set again. The device's own unsent work —
// outbox, venue edits, drafts, dirty inspections, venues not yet
// acknowledged, photos — is never touched.
func dropServerRows(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		`DELETE FROM venues WHERE local_only = 0`,
		`DELETE FROM schools`,
		`DELETE FROM zone_rules`,
		`DELETE FROM members`,
		`DELETE FROM findings`,
		`DELETE FROM plan_visits`,
		`DELETE FROM complaint_tasks`,
		`DELETE FROM inspections WHERE status <> 'draft' AND dirty = 0`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
	}
	return nil
}

// pageApplier applies one pulled page inside its transaction. Venues, the
// bulk of a first pull, go through one prepared statement, and only venues
// with unsent edits of this device are rebased.
type pageApplier struct {
	tx     *sql.Tx
	venue  *sql.Stmt
	edited map[string]bool
}

func newPageApplier(ctx context.Context, tx *sql.Tx) (*pageApplier, error) {
	st, err := tx.PrepareContext(ctx, upsertVenueSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare venue upsert: %w", err)
	}
	pa := &pageApplier{tx: tx, venue: st, edited: map[string]bool{}}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT venue_id FROM venue_edits`)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("read unsent venue edits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			st.Close()
			return nil, err
		}
		pa.edited[id] = true
	}
	return pa, rows.Err()
}

func (pa *pageApplier) close() { pa.venue.Close() }

// apply applies one pulled row.
func (pa *pageApplier) apply(ctx context.Context, ch *schema.Change) error {
	v := ch.Venue
	if ch.Kind != schema.ChangeVenue || ch.Removed || v == nil || v.Deleted {
		return applyChange(ctx, pa.tx, ch)
	}
	args, err := venueArgs(v, false)
	if err != nil {
		return err
	}
	if _, err := pa.venue.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("upsert venue %s: %w", v.ID, err)
	}
	if pa.edited[v.ID] {
		return rebaseVenue(ctx, pa.tx, v.ID)
	}
	return nil
}

// applyChange applies one pulled row.
func applyChange(ctx context.Context, tx *sql.Tx, ch *schema.Change) error {
	switch ch.Kind {
	case schema.ChangeVenue:
		if ch.Removed && ch.MergedInto != "" && ch.MergedInto != ch.ID {
			return applyMerge(ctx, tx, ch.ID, ch.MergedInto)
		}
		if ch.Removed || (ch.Venue != nil && ch.Venue.Deleted) {
			// Its queued edits and inspections stay in the outbox and still go up.
			_, err := tx.ExecContext(ctx, `DELETE FROM venues WHERE id = ? AND local_only = 0`, ch.ID)
			return err
		}
		if ch.Venue == nil {
			return nil
		}
		if err := upsertVenue(ctx, tx, ch.Venue, false); err != nil {
			return err
		}
		return rebaseVenue(ctx, tx, ch.Venue.ID)
	case schema.ChangeSchool:
		return putBody(ctx, tx, "schools", "id", ch.ID, ch.Removed, ch.School)
	case schema.ChangeZoneRule:
		return putBody(ctx, tx, "zone_rules", "id", ch.ID, ch.Removed, ch.ZoneRule)
	case schema.ChangeChecklist:
		key := ch.ID
		if ch.Checklist != nil && ch.Checklist.Version != "" {
			key = ch.Checklist.Version
		}
		return putBody(ctx, tx, "checklists", "version", key, ch.Removed, ch.Checklist)
	case schema.ChangeMember:
		key := ch.ID
		if ch.Member != nil && ch.Member.Username != "" {
			key = ch.Member.Username
		}
		return putBody(ctx, tx, "members", "username", key, ch.Removed, ch.Member)
	case schema.ChangeInspection:
		return applyInspection(ctx, tx, ch)
	case schema.ChangeFinding:
		return applyFinding(ctx, tx, ch)
	case schema.ChangeVisit:
		return putBody(ctx, tx, "plan_visits", "id", ch.ID, ch.Removed, ch.Visit)
	case schema.ChangeComplaint:
		return applyComplaint(ctx, tx, ch)
	}
	return nil // a kind this version does not know: newer servers may send more
}

// putBody upserts or deletes a row of a table that stores the wire JSON.
// table and key are constants of applyChange, never input.
func putBody[T any](ctx context.Context, tx *sql.Tx, table, key, id string, removed bool, v *T) error {
	if removed {
		_, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+key+` = ?`, id)
		return err
	}
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (`+key+`, body) VALUES (?, ?)
		ON CONFLICT (`+key+`) DO UPDATE SET body = excluded.body`, id, string(b))
	return err
}

// applyInspection takes the server's state of an inspection. Where the
// device holds newer work of its own (a draft, or an unacknowledged
// amendment) it keeps its fields and takes only the server's status,
// version and review — the comment of a return is what the amendment
// answers.
func applyInspection(ctx context.Context, tx *sql.Tx, ch *schema.Change) error {
	if ch.Removed {
		_, err := tx.ExecContext(ctx, `DELETE FROM inspections WHERE id = ? AND status <> 'draft' AND dirty = 0`, ch.ID)
		return err
	}
	srv := ch.Inspection
	if srv == nil {
		return nil
	}
	li, err := getInspection(ctx, tx, srv.ID)
	switch {
	case err == nil && (li.Dirty || li.Status == schema.StatusDraft):
		li.Review = srv.Review
		li.ServerStatus = srv.Status
		li.Version = srv.Version
		return putInspection(ctx, tx, &li)
	case err == nil || schema.ErrorCode(err) == schema.CodeNotFound:
		next := localInspection{Inspection: *srv, ServerStatus: srv.Status}
		next.Venue, next.MissingPhotos, next.PhotosComplete = nil, nil, nil
		if next.RecheckOf == "" && err == nil {
			// The link is the device's own record; a server that does not
			// echo it must not erase it.
			next.RecheckOf = li.RecheckOf
		}
		if next.ComplaintID == "" && err == nil {
			next.ComplaintID = li.ComplaintID
		}
		return putInspection(ctx, tx, &next)
	default:
		return err
	}
}
