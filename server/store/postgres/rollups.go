package postgres

import (
	"context"
	"fmt"
	"github.com/jackc/pgx/v5"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// The rollup's reads, each a range of an index bounded by the window: the
// squad's licensed cafés (a few hundred) with an index probe each into
// inspections_venue for the month, the day's inspections and findings by
// their time columns, and the squad's standing findings (findings_ledger).
const (
	rollupVenuesSQL = `SELECT kind, count(*) FROM venues
		WHERE squad_id = $1 AND NOT deleted AND open_state <> 'closed' AND created_at < $2 GROUP BY kind`
	rollupCafesSQL = `SELECT v.id, v.name, EXISTS (SELECT 1 FROM inspections i
			WHERE i.venue_id = v.id AND i.started_at >= $1 AND i.started_at < $2)
		FROM venues v WHERE v.squad_id = $3 AND NOT v.deleted AND v.kind = 'net_cafe' AND v.licensed
			AND v.open_state = 'open' AND v.created_at < $4
		ORDER BY v.name, v.id`
	rollupInspectionsSQL = `SELECT i.status, coalesce(u.username, i.author_id), count(*) FROM inspections i
		LEFT JOIN users u ON u.id = i.author_id
		WHERE i.squad_id = $1 AND i.started_at >= $2 AND i.started_at < $3 GROUP BY 1, 2`
	rollupOpenedSQL  = `SELECT item_id, count(*) FROM findings WHERE squad_id = $1 AND opened_at >= $2 AND opened_at < $3 GROUP BY item_id`
	rollupOrderedSQL = `SELECT item_id, count(*) FROM findings WHERE squad_id = $1 AND ordered_at >= $2 AND ordered_at < $3 GROUP BY item_id`
	rollupClosedSQL  = `SELECT item_id, count(*) FROM findings WHERE squad_id = $1 AND closed_at >= $2 AND closed_at < $3 GROUP BY item_id`
	rollupStandSQL   = `SELECT item_id, count(*), sum(CASE WHEN repeat > 0 THEN 1 ELSE 0 END),
			sum(CASE WHEN status = 'ordered' AND deadline < $1 THEN 1 ELSE 0 END)
		FROM findings WHERE squad_id = $2 AND status IN ('open', 'ordered') AND opened_at < $3 GROUP BY item_id`
	rollupCloseOutSQL = `SELECT opened_at, closed_at FROM findings WHERE squad_id = $1 AND closed_at >= $2 AND closed_at < $3`
	rollupBlackSQL    = `SELECT id, name, kind FROM venues
		WHERE squad_id = $1 AND created_at >= $2 AND created_at < $3 AND created_by <> '' AND NOT licensed AND NOT deleted
		ORDER BY name, id`
	rollupZoneSQL = `SELECT DISTINCT v.id, v.name, v.kind FROM zone_violations z JOIN venues v ON v.id = z.venue_id
		WHERE z.squad_id = $1 AND z.cleared_at IS NULL AND z.since < $2 AND NOT v.deleted AND v.open_state <> 'closed'
		ORDER BY v.name, v.id`
	rollupCasesOpenSQL    = `SELECT count(*) FROM cases WHERE squad_id = $1 AND opened_at < $2 AND (closed_at IS NULL OR closed_at >= $3)`
	rollupCasesOverdueSQL = `SELECT c.id, c.number, c.venue_id, coalesce(v.name, ''), c.decide_by FROM cases c LEFT JOIN venues v ON v.id = c.venue_id
		WHERE c.squad_id = $1 AND c.opened_at < $2 AND c.decide_by < $3 AND (c.decided_at IS NULL OR c.decided_at >= $4)
		ORDER BY c.decide_by, c.id`
)

// rollupSQL is the rollup's reads in this dialect.
var rollupSQL = store.RollupSQL{Complaints: rollupComplaintsSQL, Venues: rollupVenuesSQL, Cafes: rollupCafesSQL, Inspections: rollupInspectionsSQL,
	Opened: rollupOpenedSQL, Ordered: rollupOrderedSQL, Closed: rollupClosedSQL, Stand: rollupStandSQL,
	CloseOut: rollupCloseOutSQL, Black: rollupBlackSQL, Zone: rollupZoneSQL,
	CasesOpen: rollupCasesOpenSQL, CasesOverdue: rollupCasesOverdueSQL}

// The squad's complaints open at the day's end: received before it and
// not answered, closed or rejected (its last change) by then.
const rollupComplaintsSQL = `SELECT id, number, accept_by, due, coalesce(accepted_at, ''), coalesce(handled_at, '') FROM complaints
	WHERE squad_id = $1 AND received_at < $2 AND (reply_at IS NULL OR reply_at >= $3) AND (closed_at IS NULL OR closed_at >= $4)
		AND NOT (status = 'rejected' AND updated_at < $5)
	ORDER BY received_at, id`

// RollupSquads lists every squad id, ascending.
func (s *Store) RollupSquads(ctx context.Context) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM squads ORDER BY id`)
	if err != nil {
		return nil, wrap("rollup squads", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("rollup squads", err)
		}
		out = append(out, id)
	}
	return out, wrap("rollup squads", rows.Err())
}

// RollupFacts counts one squad's window in one repeatable-read transaction, so that
// every figure describes the same state.
func (s *Store) RollupFacts(ctx context.Context, squadID int64, w store.RollupWindow) (store.RollupFacts, error) {
	var f store.RollupFacts
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		f, err = store.CollectRollupFacts(squadID, w, rollupSQL, func(q string, scan func(store.RowScanner) error, args ...any) error {
			rows, err := tx.Query(ctx, q, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		return err
	})
	if err != nil {
		return store.RollupFacts{}, wrap(fmt.Sprintf("rollup facts of squad %d", squadID), err)
	}
	return f, nil
}

// SaveRollupDays replaces the day's rows in one write transaction.
func (s *Store) SaveRollupDays(ctx context.Context, rows []store.RollupRecord) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO rollup_days (squad_id, day, body, computed_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (squad_id, day) DO UPDATE SET body = excluded.body, computed_at = excluded.computed_at`,
				r.SquadID, r.Key, string(r.Body), schema.FormatTime(r.At)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("save rollup days", err)
}

// RollupDays returns the stored figures of a day.
func (s *Store) RollupDays(ctx context.Context, day string) ([]store.RollupRecord, error) {
	return s.records(ctx, "rollup days", `SELECT squad_id, day, body, computed_at FROM rollup_days WHERE day = $1 ORDER BY squad_id`, day)
}

// RollupMonthDays returns every stored day of a month ("YYYY-MM"): the
// range of days from "YYYY-MM-01" to "YYYY-MM-31".
func (s *Store) RollupMonthDays(ctx context.Context, month string) ([]store.RollupRecord, error) {
	return s.records(ctx, "rollup month days", `SELECT squad_id, day, body, computed_at FROM rollup_days
		WHERE day >= $1 AND day <= $2 ORDER BY squad_id, day`, month+"-01", month+"-31")
}

// LastRollupDay is the latest day rolled up.
func (s *Store) LastRollupDay(ctx context.Context) (string, error) {
	var day *string
	if err := s.pool.QueryRow(ctx, `SELECT max(day) FROM rollup_days`).Scan(&day); err != nil {
		return "", wrap("last rollup day", err)
	}
	if day == nil {
		return "", nil
	}
	return *day, nil
}

// FreezeRollupMonth writes each squad's month record unless it has one.
func (s *Store) FreezeRollupMonth(ctx context.Context, rows []store.RollupRecord) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO rollup_months (squad_id, month, body, frozen_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (squad_id, month) DO NOTHING`, r.SquadID, r.Key, string(r.Body), schema.FormatTime(r.At)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("freeze rollup month", err)
}

// RollupMonths returns the frozen records of a month.
func (s *Store) RollupMonths(ctx context.Context, month string) ([]store.RollupRecord, error) {
	return s.records(ctx, "rollup months", `SELECT squad_id, month, body, frozen_at FROM rollup_months WHERE month = $1 ORDER BY squad_id`, month)
}

// records reads rollup rows of (squad, key, body, time).
func (s *Store) records(ctx context.Context, op, q string, args ...any) ([]store.RollupRecord, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := []store.RollupRecord{}
	for rows.Next() {
		var r store.RollupRecord
		var body, at string
		if err := rows.Scan(&r.SquadID, &r.Key, &body, &at); err != nil {
			return nil, wrap(op, err)
		}
		r.Body = []byte(body)
		if r.At, err = schema.ParseTime(at); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// ReceivedBetween lists old inspections received in [from, to).
func (s *Store) ReceivedBetween(ctx context.Context, from, to, startedBefore time.Time) ([]store.ReceivedInspection, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, squad_id, started_at, received_at FROM inspections
		WHERE received_at >= $1 AND received_at < $2 AND started_at < $3 ORDER BY received_at, id`,
		schema.FormatTime(from), schema.FormatTime(to), schema.FormatTime(startedBefore))
	if err != nil {
		return nil, wrap("received between", err)
	}
	defer rows.Close()
	out := []store.ReceivedInspection{}
	for rows.Next() {
		var r store.ReceivedInspection
		var st, rc string
		if err := rows.Scan(&r.ID, &r.SquadID, &st, &rc); err != nil {
			return nil, wrap("received between", err)
		}
		if r.StartedAt, err = schema.ParseTime(st); err != nil {
			return nil, wrap("received between", err)
		}
		if r.ReceivedAt, err = schema.ParseTime(rc); err != nil {
			return nil, wrap("received between", err)
		}
		out = append(out, r)
	}
	return out, wrap("received between", rows.Err())
}

// RecordLateArrivals records late arrivals, keeping first records.
func (s *Store) RecordLateArrivals(ctx context.Context, list []store.LateArrival) error {
	if len(list) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, a := range list {
			if _, err := tx.Exec(ctx, `INSERT INTO late_arrivals (inspection_id, squad_id, day, month, received_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (inspection_id) DO NOTHING`,
				a.InspectionID, a.SquadID, a.Day, a.Month, schema.FormatTime(a.ReceivedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("record late arrivals", err)
}

// LateArrivals lists a month's late arrivals.
func (s *Store) LateArrivals(ctx context.Context, month string) ([]store.LateArrival, error) {
	rows, err := s.pool.Query(ctx, `SELECT inspection_id, squad_id, day, month, received_at FROM late_arrivals
		WHERE month = $1 ORDER BY received_at, inspection_id`, month)
	if err != nil {
		return nil, wrap("late arrivals", err)
	}
	defer rows.Close()
	out := []store.LateArrival{}
	for rows.Next() {
		var a store.LateArrival
		var rc string
		if err := rows.Scan(&a.InspectionID, &a.SquadID, &a.Day, &a.Month, &rc); err != nil {
			return nil, wrap("late arrivals", err)
		}
		if a.ReceivedAt, err = schema.ParseTime(rc); err != nil {
			return nil, wrap("late arrivals", err)
		}
		out = append(out, a)
	}
	return out, wrap("late arrivals", rows.Err())
}
