package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const (
	planCandidatesSQL = `SELECT v.id, v.name, v.licensed, v.open_state,
			EXISTS (SELECT 1 FROM inspections i WHERE i.venue_id = v.id AND i.started_at >= ? AND i.started_at < ?),
			(SELECT count(*) FROM findings f WHERE f.venue_id = v.id AND f.critical = 1 AND f.status IN ('open', 'ordered')),
			(SELECT coalesce(sum(f.repeat), 0) FROM findings f WHERE f.venue_id = v.id),
			(SELECT max(i.started_at) FROM inspections i WHERE i.venue_id = v.id AND i.started_at < ?)
		FROM venues v WHERE v.squad_id = ? AND v.deleted = 0 AND v.kind = 'net_cafe' AND v.open_state <> 'closed'
		ORDER BY v.name, v.id`
	planVisitCols = `id, squad_id, venue_id, day, starts_at, inspector_a, inspector_b, created_by, created_at, coalesce(done_inspection_id, '')`
	planVisitsSQL = `SELECT ` + planVisitCols + ` FROM plan_visits WHERE squad_id = ? AND month = ? AND removed_at IS NULL ORDER BY day, venue_id, id`
	// planInspectionsSQL reads the inspections that may carry out the
	// month's visits of a squad: of their venues, started in the month.
	planInspectionsSQL = `SELECT i.id, i.venue_id, i.started_at, coalesce(u.username, ''), i.inspectors FROM inspections i
		LEFT JOIN users u ON u.id = i.author_id
		WHERE i.venue_id IN (SELECT venue_id FROM plan_visits WHERE squad_id = ? AND month = ? AND removed_at IS NULL)
		  AND i.started_at >= ? AND i.started_at < ?`
)

// PlanCandidates reads the squad's cafés with their risk in one query and
// ranks them (store.RankPlanCandidates).
func (s *Store) PlanCandidates(ctx context.Context, squadID int64, m store.PlanMonth) ([]schema.PlanCandidate, error) {
	ms, me := schema.FormatTime(m.Start), schema.FormatTime(m.Stop)
	rows, err := s.db.R.QueryContext(ctx, planCandidatesSQL, ms, me, me, squadID)
	if err != nil {
		return nil, wrap("plan candidates", err)
	}
	defer rows.Close()
	var list []store.PlanCafe
	for rows.Next() {
		var v store.PlanCafe
		var last sql.NullString
		if err := rows.Scan(&v.ID, &v.Name, &v.Licensed, &v.OpenState, &v.Inspected, &v.Critical, &v.Repeats, &last); err != nil {
			return nil, wrap("plan candidates", err)
		}
		if last.Valid {
			t, err := schema.ParseTime(last.String)
			if err != nil {
				return nil, wrap("plan candidates", err)
			}
			v.LastInspected = &t
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("plan candidates", err)
	}
	return store.RankPlanCandidates(list, m.Now), nil
}

// PlanVisits lists the month's visits, done ones linked (store.LinkDone).
func (s *Store) PlanVisits(ctx context.Context, squadID int64, m store.PlanMonth) ([]schema.PlanVisit, error) {
	out, err := planVisits(ctx, s.db.R, squadID, m)
	return out, wrap("plan visits", err)
}

func planVisits(ctx context.Context, q queryer, squadID int64, m store.PlanMonth) ([]schema.PlanVisit, error) {
	rows, err := q.QueryContext(ctx, planVisitsSQL, squadID, m.Month)
	if err != nil {
		return nil, err
	}
	out := []schema.PlanVisit{}
	for rows.Next() {
		v, err := scanPlanVisit(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, planInspectionsSQL, squadID, m.Month, schema.FormatTime(m.Start), schema.FormatTime(m.Stop))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ins []store.PlanInspection
	for rows.Next() {
		var in store.PlanInspection
		var started, author, inspectors string
		if err := rows.Scan(&in.ID, &in.VenueID, &started, &author, &inspectors); err != nil {
			return nil, err
		}
		if in.StartedAt, err = schema.ParseTime(started); err != nil {
			return nil, err
		}
		var list []schema.Inspector
		_ = json.Unmarshal([]byte(inspectors), &list) // a device's text: unreadable names none
		in.Inspectors = append(in.Inspectors, author)
		for _, x := range list {
			in.Inspectors = append(in.Inspectors, x.Username)
		}
		ins = append(ins, in)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	store.LinkDone(out, ins)
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanPlanVisit(r scanner) (schema.PlanVisit, error) {
	var v schema.PlanVisit
	var starts, created string
	if err := r.Scan(&v.ID, &v.SquadID, &v.VenueID, &v.Day, &starts, &v.Inspectors[0], &v.Inspectors[1], &v.CreatedBy, &created,
		&v.DoneInspectionID); err != nil {
		return v, err
	}
	var err error
	if v.Starts, err = schema.ParseTime(starts); err != nil {
		return v, err
	}
	v.CreatedAt, err = schema.ParseTime(created)
	return v, err
}

// SavePlan replaces the squad's unfinished visits from today on, in one
// write transaction: each dropped visit is tombstoned with a new seq (the
// inspectors' devices remove it), each new one inserted with its own.
func (s *Store) SavePlan(ctx context.Context, squadID int64, m store.PlanMonth, visits []schema.PlanVisit, by string) ([]schema.PlanVisit, error) {
	visits = append([]schema.PlanVisit(nil), visits...)
	var out []schema.PlanVisit
	err := s.writeTx(ctx, func(w *writer) error {
		if err := w.squadExists(ctx, squadID); err != nil {
			return err
		}
		members, _, err := squadRoster(ctx, w.tx, squadID, "")
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(visits))
		for _, v := range visits {
			ids = append(ids, v.VenueID)
		}
		list, err := jsonList(ids)
		if err != nil {
			return err
		}
		venueSquad := map[string]int64{}
		rows, err := w.tx.QueryContext(ctx, `SELECT id, squad_id FROM venues WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?))`, list)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var sq int64
			if err := rows.Scan(&id, &sq); err != nil {
				rows.Close()
				return err
			}
			venueSquad[id] = sq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := store.CheckPlanInput(visits, m, members, squadID, venueSquad); err != nil {
			return err
		}
		current, err := planVisits(ctx, w.tx, squadID, m)
		if err != nil {
			return err
		}
		for _, v := range current {
			switch {
			case v.DoneInspectionID != "":
				if _, err := w.exec(ctx, `UPDATE plan_visits SET done_inspection_id = ? WHERE id = ? AND done_inspection_id IS NULL`,
					v.DoneInspectionID, v.ID); err != nil {
					return err
				}
			case v.Day >= m.Today:
				seq, err := w.seq.nextSeq(ctx)
				if err != nil {
					return err
				}
				if _, err := w.exec(ctx, `UPDATE plan_visits SET removed_at = ?, seq = ? WHERE id = ?`, w.nowText(), seq, v.ID); err != nil {
					return err
				}
				sq := squadID
				if err := w.audit(ctx, schema.AuditPlanVisit, v.ID, &sq, "plan_visit_remove", store.VisitAuditText(v), "",
					"venue "+v.VenueID+" dropped from the plan by "+by); err != nil {
					return err
				}
			}
		}
		for _, v := range visits {
			seq, err := w.seq.nextSeq(ctx)
			if err != nil {
				return err
			}
			v.ID, v.SquadID = uuid.NewString(), squadID
			if _, err := w.exec(ctx, `INSERT INTO plan_visits (id, squad_id, venue_id, month, day, starts_at, inspector_a, inspector_b,
				created_by, created_at, done_inspection_id, removed_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
				v.ID, squadID, v.VenueID, m.Month, v.Day, schema.FormatTime(v.Starts), v.Inspectors[0], v.Inspectors[1],
				by, w.nowText(), seq); err != nil {
				return err
			}
			sq := squadID
			if err := w.audit(ctx, schema.AuditPlanVisit, v.ID, &sq, "plan_visit_add", "", store.VisitAuditText(v),
				"venue "+v.VenueID+" planned by "+by); err != nil {
				return err
			}
		}
		out, err = planVisits(ctx, w.tx, squadID, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: save plan of squad %d for %s: %w", squadID, m.Month, err)
	}
	return out, nil
}

// visits yields the planned visits of the device's user (either
// inspector) changed in range: a visit while planned, removed once the
// plan dropped it.
func (p *puller) visits(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT `+planVisitCols+`, removed_at IS NOT NULL, seq FROM plan_visits
		WHERE (inspector_a = ? OR inspector_b = ?) AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
		p.username, p.username, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("visits: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		var v schema.PlanVisit
		var starts, created string
		var removed bool
		var seq int64
		if err := rows.Scan(&v.ID, &v.SquadID, &v.VenueID, &v.Day, &starts, &v.Inspectors[0], &v.Inspectors[1], &v.CreatedBy, &created,
			&v.DoneInspectionID, &removed, &seq); err != nil {
			return nil, fmt.Errorf("visits: %w", err)
		}
		if removed {
			out = append(out, schema.Change{Seq: seq, Kind: schema.ChangeVisit, ID: v.ID, Removed: true})
			continue
		}
		if v.Starts, err = schema.ParseTime(starts); err != nil {
			return nil, fmt.Errorf("visits: %w", err)
		}
		if v.CreatedAt, err = schema.ParseTime(created); err != nil {
			return nil, fmt.Errorf("visits: %w", err)
		}
		out = append(out, schema.Change{Seq: seq, Kind: schema.ChangeVisit, ID: v.ID, Visit: &v})
	}
	return out, rows.Err()
}

// PlanInspectors lists whom the squad's visits may name.
func (s *Store) PlanInspectors(ctx context.Context, squadID int64) ([]schema.Member, error) {
	roster, _, err := squadRoster(ctx, s.db.R, squadID, "")
	if err != nil {
		return nil, wrap("plan inspectors", err)
	}
	return store.PlanInspectorsOf(roster), nil
}
