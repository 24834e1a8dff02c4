package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

const violationCols = `venue_id, school_id, squad_id, rule_id, distance_m, since, cleared_at, clear_reason`

func scanViolation(row pgx.Row) (schema.ZoneViolation, error) {
	var v schema.ZoneViolation
	var since string
	var cleared *string
	if err := row.Scan(&v.VenueID, &v.SchoolID, &v.SquadID, &v.RuleID, &v.DistanceM, &since, &cleared, &v.ClearReason); err != nil {
		return v, err
	}
	v.Since = parseTime(since)
	v.ClearedAt = nullTime(cleared)
	return v, nil
}

// querier is what a pool and a transaction have in common for reads.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// zoneWriter is the writer as store.EvaluateZones sees it.
type zoneWriter struct{ w *writer }

var _ store.ZoneWriter = zoneWriter{}

// evaluateZones re-evaluates venues in the writer's transaction.
func (w *writer) evaluateZones(ctx context.Context, why string, venues ...schema.Venue) error {
	return store.EvaluateZones(ctx, zoneWriter{w}, venues, why, w.now)
}

func (z zoneWriter) ZoneRules(ctx context.Context) ([]schema.ZoneRule, error) {
	return readZoneRules(ctx, z.w.tx)
}

func readZoneRules(ctx context.Context, q querier) ([]schema.ZoneRule, error) {
	rows, err := q.Query(ctx, `SELECT id, body FROM zone_rules ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []schema.ZoneRule{}
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, err
		}
		var r schema.ZoneRule
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("zone rule %s: %w", id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (z zoneWriter) SchoolsIn(ctx context.Context, box *[4]float64) ([]schema.School, error) {
	return readSchools(ctx, z.w.tx, box)
}

// readSchools reads schools whose box meets box (nil: all), by id.
func readSchools(ctx context.Context, q querier, box *[4]float64) ([]schema.School, error) {
	if box == nil {
		return readSchoolsWhere(ctx, q, "")
	}
	return readSchoolsWhere(ctx, q, ` WHERE max_lat >= $1 AND min_lat <= $2 AND max_lng >= $3 AND min_lng <= $4`, box[0], box[2], box[1], box[3])
}

// readSchoolsWhere reads the schools a condition selects, by id.
func readSchoolsWhere(ctx context.Context, q querier, where string, args ...any) ([]schema.School, error) {
	rows, err := q.Query(ctx, `SELECT id, name, kind, address, polygon, geometry, external_id FROM schools`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []schema.School{}
	for rows.Next() {
		var sc schema.School
		var poly string
		var geom, external *string
		if err := rows.Scan(&sc.ID, &sc.Name, &sc.Kind, &sc.Address, &poly, &geom, &external); err != nil {
			return nil, err
		}
		if err := decodeSchool(&sc, poly, geom, external); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

func (z zoneWriter) SchoolsByID(ctx context.Context, ids []string) ([]schema.School, error) {
	return readSchoolsWhere(ctx, z.w.tx, ` WHERE id = ANY($1)`, ids)
}

func (z zoneWriter) StandingViolations(ctx context.Context, venueID string) ([]schema.ZoneViolation, error) {
	rows, err := z.w.tx.Query(ctx, `SELECT `+violationCols+` FROM zone_violations WHERE venue_id = $1 AND cleared_at IS NULL ORDER BY school_id`, venueID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []schema.ZoneViolation
	for rows.Next() {
		v, err := scanViolation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (z zoneWriter) FlagViolation(ctx context.Context, v schema.ZoneViolation) error {
	_, err := z.w.tx.Exec(ctx, `INSERT INTO zone_violations (id, `+violationCols+`, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, '', $8)`,
		uuid.NewString(), v.VenueID, v.SchoolID, v.SquadID, v.RuleID, v.DistanceM, schema.FormatTime(v.Since), z.w.nextSeq())
	return err
}

func (z zoneWriter) UpdateViolation(ctx context.Context, v schema.ZoneViolation) error {
	_, err := z.w.tx.Exec(ctx, `UPDATE zone_violations SET squad_id = $1, rule_id = $2, distance_m = $3, seq = $4
		WHERE venue_id = $5 AND school_id = $6 AND cleared_at IS NULL`, v.SquadID, v.RuleID, v.DistanceM, z.w.nextSeq(), v.VenueID, v.SchoolID)
	return err
}

func (z zoneWriter) ClearViolation(ctx context.Context, v schema.ZoneViolation) error {
	_, err := z.w.tx.Exec(ctx, `UPDATE zone_violations SET cleared_at = $1, clear_reason = $2, seq = $3
		WHERE venue_id = $4 AND school_id = $5 AND cleared_at IS NULL`, schema.FormatTime(*v.ClearedAt), v.ClearReason, z.w.nextSeq(), v.VenueID, v.SchoolID)
	return err
}

func (z zoneWriter) AuditVenue(ctx context.Context, venueID string, squadID int64, action, from, to, reason string) error {
	return z.w.audit(ctx, schema.AuditVenue, venueID, &squadID, action, from, to, reason)
}

// ZoneViolations lists violations, standing first.
func (s *Store) ZoneViolations(ctx context.Context, f store.ZoneViolationFilter) ([]schema.ZoneViolation, error) {
	q := `SELECT ` + violationCols + ` FROM zone_violations WHERE true`
	var args []any
	if f.SquadID != nil {
		args = append(args, *f.SquadID)
		q += fmt.Sprintf(` AND squad_id = $%d`, len(args))
	}
	if f.VenueID != "" {
		args = append(args, f.VenueID)
		q += fmt.Sprintf(` AND venue_id = $%d`, len(args))
	}
	if !f.IncludeCleared {
		q += ` AND cleared_at IS NULL`
	}
	args = append(args, f.ViolationLimit())
	q += fmt.Sprintf(` ORDER BY cleared_at IS NOT NULL, cleared_at DESC, since, venue_id, school_id LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("zone violations", err)
	}
	defer rows.Close()
	out := []schema.ZoneViolation{}
	for rows.Next() {
		v, err := scanViolation(rows)
		if err != nil {
			return nil, wrap("zone violations", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("zone violations", err)
	}
	return out, nil
}

// ZoneRules lists the published rules by id.
func (s *Store) ZoneRules(ctx context.Context) ([]schema.ZoneRule, error) {
	out, err := readZoneRules(ctx, s.pool)
	return out, wrap("zone rules", err)
}

// venuesOfKinds reads the venues of the kinds (nil: every kind), deleted
// ones included (their standing rows, if any, clear).
func (w *writer) venuesOfKinds(ctx context.Context, kinds []string) ([]schema.Venue, error) {
	q := `SELECT ` + venueCols + ` FROM venues`
	var args []any
	if kinds != nil {
		q += ` WHERE kind = ANY($1)`
		args = append(args, kinds)
	}
	rows, err := w.tx.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []schema.Venue
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v.Venue)
	}
	return out, rows.Err()
}

// SchoolsIn lists the schools whose box meets box.
func (s *Store) SchoolsIn(ctx context.Context, box [4]float64) ([]schema.School, error) {
	out, err := readSchools(ctx, s.pool, &box)
	return out, wrap("schools", err)
}

// SquadBounds returns a squad with its area.
func (s *Store) SquadBounds(ctx context.Context, id int64) (store.Squad, error) {
	sq := store.Squad{ID: id}
	b := &sq.Bounds
	err := s.pool.QueryRow(ctx, `SELECT name, min_lat, min_lng, max_lat, max_lng FROM squads WHERE id = $1`, id).
		Scan(&sq.Name, &b[0], &b[1], &b[2], &b[3])
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Squad{}, notFound("squad", fmt.Sprint(id))
	}
	if err != nil {
		return store.Squad{}, wrap(fmt.Sprintf("squad %d", id), err)
	}
	return sq, nil
}

// ruleEnd is the effective_to column of a rule: its end, or NULL while it
// is in force without one.
func ruleEnd(r schema.ZoneRule) *string {
	if r.EffectiveTo.IsZero() {
		return nil
	}
	t := schema.FormatTime(r.EffectiveTo)
	return &t
}

// PutZoneRule publishes a rule and re-evaluates the venues it can affect
// (store.PublishZoneRule).
func (s *Store) PutZoneRule(ctx context.Context, r schema.ZoneRule) (schema.ZoneRule, error) {
	if err := schema.ValidateZoneRule(&r); err != nil {
		return schema.ZoneRule{}, err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return schema.ZoneRule{}, err
	}
	err = s.writeTx(ctx, func(w *writer) error {
		return store.PublishZoneRule(ctx, txn{s, w}, r, body)
	})
	if err != nil {
		return schema.ZoneRule{}, fmt.Errorf("store: put zone rule %s: %w", r.ID, err)
	}
	return r, nil
}

// RelocateVenue moves a venue to a surveyed position and re-evaluates it
// (store.RelocateVenue).
func (s *Store) RelocateVenue(ctx context.Context, id string, lat, lng float64, scope schema.Scope) (schema.Venue, error) {
	if err := schema.ValidPosition(lat, lng); err != nil {
		return schema.Venue{}, err
	}
	var out schema.Venue
	err := s.writeTx(ctx, func(w *writer) error {
		var err error
		out, err = store.RelocateVenue(ctx, txn{s, w}, id, lat, lng, scope, w.now)
		return err
	})
	if err != nil {
		return schema.Venue{}, fmt.Errorf("store: relocate venue %s: %w", id, err)
	}
	return out, nil
}

var (
	_ store.ZoneRuleWriter = txn{}
	_ store.RelocateWriter = txn{}
)

func (t txn) ZoneRuleBody(ctx context.Context, id string) (string, bool, error) {
	var body string
	err := t.w.tx.QueryRow(ctx, `SELECT body FROM zone_rules WHERE id = $1`, id).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return body, err == nil, err
}

func (t txn) WriteZoneRule(ctx context.Context, r schema.ZoneRule, body string) error {
	_, err := t.w.tx.Exec(ctx, `INSERT INTO zone_rules (id, body, effective_from, effective_to, seq) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, effective_from = excluded.effective_from,
		effective_to = excluded.effective_to, seq = excluded.seq`,
		r.ID, body, schema.FormatTime(r.EffectiveFrom), ruleEnd(r), t.w.nextSeq())
	return err
}

func (t txn) SetVenuePosition(ctx context.Context, id string, lat, lng float64) error {
	_, err := t.w.tx.Exec(ctx, `UPDATE venues SET lat = $1, lng = $2, updated_at = $3, seq = $4 WHERE id = $5`, lat, lng, t.w.nowText(), t.w.nextSeq(), id)
	return err
}

// ZoneRules reads every published rule in the import's transaction.
func (t txn) ZoneRules(ctx context.Context) ([]schema.ZoneRule, error) {
	return zoneWriter{t.w}.ZoneRules(ctx)
}
