package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Pull returns the next page of changes visible to the device's user:
// the venues of its squad, the schools whose zone touches the squad's area,
// all zone rules and checklists, the squad's members and co-inspectors and
// the device's own inspections. It reads in one REPEATABLE READ, READ ONLY
// transaction, so the page is one snapshot, and it sends the reads of
// every kind as one batch: a page costs one round trip to the database,
// not one per kind.
//
// The snapshot holds every seq up to the highest it holds: writers take
// their seqs under the counter row's lock and commit before the next
// writer gets any (see the package comment), so a cursor past seq N never
// skips a transaction that held a seq below N.
func (s *Store) Pull(ctx context.Context, in store.PullInput) (store.PullPage, error) {
	if in.SquadID == nil {
		return store.PullPage{}, schema.Errorf(schema.CodeForbidden, "your account belongs to no squad; ask an admin to assign one")
	}
	squad := *in.SquadID
	limit := clampLimit(in.Limit, store.DefaultPullLimit, store.MaxPullLimit)
	var page store.PullPage
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var area [4]float64
		var scope int64
		err := tx.QueryRow(ctx, `SELECT min_lat, min_lng, max_lat, max_lng, scope_version FROM squads WHERE id = $1`, squad).
			Scan(&area[0], &area[1], &area[2], &area[3], &scope)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("squad", fmt.Sprint(squad))
		}
		if err != nil {
			return err
		}
		cur, reset := store.ResumeCursor(in.Cursor, in.UserID, squad, scope)
		page.Reset = reset
		rules, err := zoneRules(ctx, tx)
		if err != nil {
			return err
		}
		var username string
		if err := tx.QueryRow(ctx, `SELECT username FROM users WHERE id = $1`, in.UserID).Scan(&username); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		p := &puller{tx: tx, squad: squad, device: in.DeviceID, username: username, box: schema.ZoneSearchBox(area, schema.MaxZoneDistance(rules))}
		changes, err := p.fetch(ctx, cur.Q, math.MaxInt64, limit+1)
		if err != nil {
			return err
		}
		changes, more, whole := store.CutPage(changes, limit)
		if !whole {
			// One seq holds more changes than a page: deliver it whole.
			seq := changes[0].Seq
			if changes, err = p.fetch(ctx, seq-1, seq, math.MaxInt32); err != nil {
				return err
			}
		}
		if len(changes) > 0 {
			cur.Q = changes[len(changes)-1].Seq
		}
		page.Changes, page.More, page.Cursor = changes, more, cur.Encode()
		return nil
	})
	if err != nil {
		return store.PullPage{}, wrap("pull", err)
	}
	return page, nil
}

func zoneRules(ctx context.Context, q pgx.Tx) ([]schema.ZoneRule, error) {
	rows, err := q.Query(ctx, `SELECT body FROM zone_rules`)
	if err != nil {
		return nil, err
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out []schema.ZoneRule
	for _, b := range bodies {
		var r schema.ZoneRule
		if json.Unmarshal([]byte(b), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// puller reads the changes of one visible set between two seqs.
type puller struct {
	tx     pgx.Tx
	squad  int64
	device string
	// username is the device user's: its planned visits come with the pull.
	username string
	box      [4]float64 // squad area grown by the largest zone distance
}

// pullRead is one kind's query of a pull and how its rows become changes.
type pullRead struct {
	query string
	args  func(lo, hi int64, limit int) []any
	scan  func(rows pgx.Rows) (schema.Change, error)
}

// fetch returns up to limit changes of each kind with lo < seq <= hi; the
// queries go to the database as one batch.
func (p *puller) fetch(ctx context.Context, lo, hi int64, limit int) ([]schema.Change, error) {
	reads := append(p.reads(), p.visitsRead(), p.complaintsRead(), p.complaintsLeftRead())
	b := &pgx.Batch{}
	for _, r := range reads {
		b.Queue(r.query, r.args(lo, hi, limit)...)
	}
	br := p.tx.SendBatch(ctx, b)
	defer br.Close()
	var all []schema.Change
	for _, r := range reads {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			c, err := r.scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			all = append(all, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	// The device's own inspections come with their answers.
	var list []*inspectionRow
	for _, c := range all {
		if c.Kind == schema.ChangeInspection {
			list = append(list, &inspectionRow{Inspection: *c.Inspection})
		}
	}
	if err := fillItems(ctx, p.tx, list); err != nil {
		return nil, err
	}
	for i, j := 0, 0; i < len(all); i++ {
		if all[i].Kind == schema.ChangeInspection {
			*all[i].Inspection = list[j].Inspection
			j++
		}
	}
	return all, nil
}

func (p *puller) reads() []pullRead {
	squadRange := func(lo, hi int64, limit int) []any { return []any{p.squad, lo, hi, limit} }
	rangeOnly := func(lo, hi int64, limit int) []any { return []any{lo, hi, limit} }
	return []pullRead{
		{`SELECT ` + venueCols + ` FROM venues WHERE squad_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`, squadRange,
			func(rows pgx.Rows) (schema.Change, error) {
				v, err := scanVenue(rows)
				if err != nil {
					return schema.Change{}, fmt.Errorf("venues: %w", err)
				}
				if v.Deleted {
					return schema.Change{Seq: v.Seq, Kind: schema.ChangeVenue, ID: v.ID, Removed: true, MergedInto: v.MergedInto}, nil
				}
				vv := v.Venue
				return schema.Change{Seq: v.Seq, Kind: schema.ChangeVenue, ID: v.ID, Venue: &vv}, nil
			}},
		// Venues that left the squad after lo: the squad's devices purge them.
		{`SELECT h.venue_id, h.left_seq FROM venue_squad_history h
			WHERE h.squad_id = $1 AND h.left_seq > $2 AND h.left_seq <= $3
			  AND NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = h.venue_id AND v.squad_id = h.squad_id)
			ORDER BY h.left_seq LIMIT $4`, squadRange,
			func(rows pgx.Rows) (schema.Change, error) {
				c := schema.Change{Kind: schema.ChangeVenue, Removed: true}
				if err := rows.Scan(&c.ID, &c.Seq); err != nil {
					return c, fmt.Errorf("moved venues: %w", err)
				}
				return c, nil
			}},
		{`SELECT id, name, kind, address, polygon, seq, geometry, external_id FROM schools
			WHERE seq > $1 AND seq <= $2 AND max_lat >= $3 AND max_lng >= $4 AND min_lat <= $5 AND min_lng <= $6
			ORDER BY seq LIMIT $7`,
			func(lo, hi int64, limit int) []any {
				return []any{lo, hi, p.box[0], p.box[1], p.box[2], p.box[3], limit}
			},
			func(rows pgx.Rows) (schema.Change, error) {
				var sc schema.School
				var poly string
				var geom, external *string
				var seq int64
				if err := rows.Scan(&sc.ID, &sc.Name, &sc.Kind, &sc.Address, &poly, &seq, &geom, &external); err != nil {
					return schema.Change{}, fmt.Errorf("schools: %w", err)
				}
				if err := decodeSchool(&sc, poly, geom, external); err != nil {
					return schema.Change{}, err
				}
				return schema.Change{Seq: seq, Kind: schema.ChangeSchool, ID: sc.ID, School: &sc}, nil
			}},
		{`SELECT id, body, seq FROM zone_rules WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, rangeOnly,
			func(rows pgx.Rows) (schema.Change, error) {
				var id, body string
				var seq int64
				if err := rows.Scan(&id, &body, &seq); err != nil {
					return schema.Change{}, fmt.Errorf("zone rules: %w", err)
				}
				var r schema.ZoneRule
				if err := json.Unmarshal([]byte(body), &r); err != nil {
					return schema.Change{}, fmt.Errorf("zone rule %s: %w", id, err)
				}
				r.ID = id
				return schema.Change{Seq: seq, Kind: schema.ChangeZoneRule, ID: id, ZoneRule: &r}, nil
			}},
		{`SELECT version, body, seq FROM checklists WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, rangeOnly,
			func(rows pgx.Rows) (schema.Change, error) {
				var version, body string
				var seq int64
				if err := rows.Scan(&version, &body, &seq); err != nil {
					return schema.Change{}, fmt.Errorf("checklists: %w", err)
				}
				var c schema.Checklist
				if err := json.Unmarshal([]byte(body), &c); err != nil {
					return schema.Change{}, fmt.Errorf("checklist %s: %w", version, err)
				}
				return schema.Change{Seq: seq, Kind: schema.ChangeChecklist, ID: version, Checklist: &c}, nil
			}},
		{`SELECT username, display_name, badge_no, role, seq FROM users
			WHERE squad_id = $1 AND NOT disabled AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`, squadRange,
			func(rows pgx.Rows) (schema.Change, error) {
				m := schema.Member{SquadID: p.squad}
				var seq int64
				if err := rows.Scan(&m.Username, &m.Name, &m.BadgeNo, &m.Role, &seq); err != nil {
					return schema.Change{}, fmt.Errorf("members: %w", err)
				}
				return schema.Change{Seq: seq, Kind: schema.ChangeMember, ID: m.Username, Member: &m}, nil
			}},
		// The squad's co-inspectors (members.go) whose permission or user
		// row changed in range: a member while allowed and active, removed
		// once withdrawn, disabled or no longer an inspector. One who
		// joined the squad itself is its member already, left to the read
		// above.
		{`SELECT u.username, u.display_name, u.badge_no, u.role, coalesce(u.squad_id, 0),
				c.removed_at IS NULL AND NOT u.disabled AND u.role = 'inspector', GREATEST(c.seq, u.seq) AS s
			FROM squad_co_inspectors c JOIN users u ON u.id = c.user_id
			WHERE c.squad_id = $1 AND (u.squad_id IS NULL OR u.squad_id <> $1)
			  AND GREATEST(c.seq, u.seq) > $2 AND GREATEST(c.seq, u.seq) <= $3
			ORDER BY s LIMIT $4`, squadRange,
			func(rows pgx.Rows) (schema.Change, error) {
				m := schema.Member{CoInspector: true}
				var active bool
				var seq int64
				if err := rows.Scan(&m.Username, &m.Name, &m.BadgeNo, &m.Role, &m.SquadID, &active, &seq); err != nil {
					return schema.Change{}, fmt.Errorf("co-inspectors: %w", err)
				}
				c := schema.Change{Seq: seq, Kind: schema.ChangeMember, ID: m.Username, Removed: !active}
				if active {
					c.Member = &m
				}
				return c, nil
			}},
		{`SELECT ` + inspectionCols + ` FROM inspections WHERE device_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
			func(lo, hi int64, limit int) []any { return []any{p.device, lo, hi, limit} },
			func(rows pgx.Rows) (schema.Change, error) {
				r, err := scanInspection(rows)
				if err != nil {
					return schema.Change{}, fmt.Errorf("inspections: %w", err)
				}
				in := r.Inspection
				return schema.Change{Seq: r.Seq, Kind: schema.ChangeInspection, ID: in.ID, Inspection: &in}, nil
			}},
		// The findings of the squad's venues (findings.squad_id follows the
		// venue: MoveVenue), every state, re-sent on every transition.
		{`SELECT ` + strings.Join(findingCols, ", ") + ` FROM findings WHERE squad_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
			squadRange,
			func(rows pgx.Rows) (schema.Change, error) {
				r, err := scanFinding(rows)
				if err != nil {
					return schema.Change{}, fmt.Errorf("findings: %w", err)
				}
				// Overdue is left to the device (schema.IsOverdue on its
				// own clock): a pulled row is the same whenever it is pulled.
				f := r.Finding
				return schema.Change{Seq: r.Seq, Kind: schema.ChangeFinding, ID: f.ID, Finding: &f}, nil
			}},
		// The findings of venues that left the squad after lo, removed at
		// the seq the venue left.
		{`SELECT f.id, h.left_seq FROM venue_squad_history h JOIN findings f ON f.venue_id = h.venue_id
			WHERE h.squad_id = $1 AND h.left_seq > $2 AND h.left_seq <= $3 AND f.squad_id <> h.squad_id
			ORDER BY h.left_seq LIMIT $4`, squadRange,
			func(rows pgx.Rows) (schema.Change, error) {
				c := schema.Change{Kind: schema.ChangeFinding, Removed: true}
				if err := rows.Scan(&c.ID, &c.Seq); err != nil {
					return c, fmt.Errorf("moved findings: %w", err)
				}
				return c, nil
			}},
	}
}
