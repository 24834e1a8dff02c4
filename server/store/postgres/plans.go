package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const (
	planCandidatesSQL = `SELECT v.id, v.name, v.licensed, v.open_state,
			EXISTS (SELECT 1 FROM inspections i WHERE i.venue_id = v.id AND i.started_at >= $1 AND i.started_at < $2),
			(SELECT count(*) FROM findings f WHERE f.venue_id = v.id AND f.critical AND f.status IN ('open', 'ordered')),
			(SELECT coalesce(sum(f.repeat), 0) FROM findings f WHERE f.venue_id = v.id),
			(SELECT max(i.started_at) FROM inspections i WHERE i.venue_id = v.id AND i.started_at < $2)
		FROM venues v WHERE v.squad_id = $3 AND NOT v.deleted AND v.kind = 'net_cafe' AND v.open_state <> 'closed'
		ORDER BY v.name COLLATE "C", v.id`
	planVisitCols = `id, squad_id, venue_id, day, starts_at, inspector_a, inspector_b, created_by, created_at, coalesce(done_inspection_id, '')`
	planVisitsSQL = `SELECT ` + planVisitCols + ` FROM plan_visits WHERE squad_id = $1 AND month = $2 AND removed_at IS NULL
		ORDER BY day, venue_id, id`
	planInspectionsSQL = `SELECT i.id, i.venue_id, i.started_at, coalesce(u.username, ''), i.inspectors FROM inspections i
		LEFT JOIN users u ON u.id = i.author_id
		WHERE i.venue_id IN (SELECT venue_id FROM plan_visits WHERE squad_id = $1 AND month = $2 AND removed_at IS NULL)
		  AND i.started_at >= $3 AND i.started_at < $4`
)

// querier is what plan reads run on: the pool or a transaction.
type planQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// PlanCandidates reads the squad's cafés with their risk in one query and
// ranks them (store.RankPlanCandidates).
func (s *Store) PlanCandidates(ctx context.Context, squadID int64, m store.PlanMonth) ([]schema.PlanCandidate, error) {
	rows, err := s.pool.Query(ctx, planCandidatesSQL, schema.FormatTime(m.Start), schema.FormatTime(m.Stop), squadID)
	if err != nil {
		return nil, wrap("plan candidates", err)
	}
	defer rows.Close()
	var list []store.PlanCafe
	for rows.Next() {
		var v store.PlanCafe
		var last *string
		if err := rows.Scan(&v.ID, &v.Name, &v.Licensed, &v.OpenState, &v.Inspected, &v.Critical, &v.Repeats, &last); err != nil {
			return nil, wrap("plan candidates", err)
		}
		if last != nil {
			t, err := schema.ParseTime(*last)
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
	out, err := planVisits(ctx, s.pool, squadID, m)
	return out, wrap("plan visits", err)
}

func planVisits(ctx context.Context, q planQuerier, squadID int64, m store.PlanMonth) ([]schema.PlanVisit, error) {
	rows, err := q.Query(ctx, planVisitsSQL, squadID, m.Month)
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
	rows, err = q.Query(ctx, planInspectionsSQL, squadID, m.Month, schema.FormatTime(m.Start), schema.FormatTime(m.Stop))
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

func scanPlanVisit(r pgx.Row) (schema.PlanVisit, error) {
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
		venueSquad := map[string]int64{}
		rows, err := w.tx.Query(ctx, `SELECT id, squad_id FROM venues WHERE NOT deleted AND id = ANY($1)`, ids)
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
		sq := squadID
		for _, v := range current {
			switch {
			case v.DoneInspectionID != "":
				if _, err := w.tx.Exec(ctx, `UPDATE plan_visits SET done_inspection_id = $1 WHERE id = $2 AND done_inspection_id IS NULL`,
					v.DoneInspectionID, v.ID); err != nil {
					return err
				}
			case v.Day >= m.Today:
				if _, err := w.tx.Exec(ctx, `UPDATE plan_visits SET removed_at = $1, seq = $2 WHERE id = $3`, w.nowText(), w.nextSeq(), v.ID); err != nil {
					return err
				}
				if err := w.audit(ctx, schema.AuditPlanVisit, v.ID, &sq, "plan_visit_remove", store.VisitAuditText(v), "",
					"venue "+v.VenueID+" dropped from the plan by "+by); err != nil {
					return err
				}
			}
		}
		for _, v := range visits {
			v.ID = uuid.NewString()
			if _, err := w.tx.Exec(ctx, `INSERT INTO plan_visits (id, squad_id, venue_id, month, day, starts_at, inspector_a, inspector_b,
				created_by, created_at, done_inspection_id, removed_at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, $11)`,
				v.ID, squadID, v.VenueID, m.Month, v.Day, schema.FormatTime(v.Starts), v.Inspectors[0], v.Inspectors[1],
				by, w.nowText(), w.nextSeq()); err != nil {
				return err
			}
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

// visitsRead yields the planned visits of the device's user (either
// inspector) changed in range: a visit while planned, removed once the
// plan dropped it.
func (p *puller) visitsRead() pullRead {
	return pullRead{`SELECT ` + planVisitCols + `, removed_at IS NOT NULL, seq FROM plan_visits
		WHERE (inspector_a = $1 OR inspector_b = $1) AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
		func(lo, hi int64, limit int) []any { return []any{p.username, lo, hi, limit} },
		func(rows pgx.Rows) (schema.Change, error) {
			var v schema.PlanVisit
			var starts, created string
			var removed bool
			var seq int64
			if err := rows.Scan(&v.ID, &v.SquadID, &v.VenueID, &v.Day, &starts, &v.Inspectors[0], &v.Inspectors[1], &v.CreatedBy, &created,
				&v.DoneInspectionID, &removed, &seq); err != nil {
				return schema.Change{}, fmt.Errorf("visits: %w", err)
			}
			if removed {
				return schema.Change{Seq: seq, Kind: schema.ChangeVisit, ID: v.ID, Removed: true}, nil
			}
			var err error
			if v.Starts, err = schema.ParseTime(starts); err != nil {
				return schema.Change{}, fmt.Errorf("visits: %w", err)
			}
			if v.CreatedAt, err = schema.ParseTime(created); err != nil {
				return schema.Change{}, fmt.Errorf("visits: %w", err)
			}
			return schema.Change{Seq: seq, Kind: schema.ChangeVisit, ID: v.ID, Visit: &v}, nil
		}}
}

// PlanInspectors lists whom the squad's visits may name.
func (s *Store) PlanInspectors(ctx context.Context, squadID int64) ([]schema.Member, error) {
	var out []schema.Member
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		roster, _, err := squadRoster(ctx, tx, squadID, "")
		out = store.PlanInspectorsOf(roster)
		return err
	})
	if err != nil {
		return nil, wrap("plan inspectors", err)
	}
	return out, nil
}
