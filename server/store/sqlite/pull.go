package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Pull returns the next page of changes visible to the device's user:
// the venues of its squad, the schools whose zone touches the squad's area,
// all zone rules and checklists, the squad's members and the user's own
// inspections. All reads run in one read transaction so the page is a
// consistent snapshot.
func (s *Store) Pull(ctx context.Context, in PullInput) (PullPage, error) {
	if in.SquadID == nil {
		return PullPage{}, schema.Errorf(schema.CodeForbidden, "your account belongs to no squad; ask an admin to assign one")
	}
	squad := *in.SquadID
	limit := clampLimit(in.Limit, DefaultPullLimit, MaxPullLimit)
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return PullPage{}, wrap("pull", err)
	}
	defer tx.Rollback()

	var area [4]float64
	var scope int64
	err = tx.QueryRowContext(ctx, `SELECT min_lat, min_lng, max_lat, max_lng, scope_version FROM squads WHERE id = ?`, squad).
		Scan(&area[0], &area[1], &area[2], &area[3], &scope)
	if errors.Is(err, sql.ErrNoRows) {
		return PullPage{}, notFound("squad", fmt.Sprint(squad))
	}
	if err != nil {
		return PullPage{}, wrap("pull", err)
	}
	cur, reset := store.ResumeCursor(in.Cursor, in.UserID, squad, scope)
	page := PullPage{Reset: reset}

	dist, err := maxZoneDistance(ctx, tx)
	if err != nil {
		return PullPage{}, wrap("pull", err)
	}
	var username string
	if err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = ?`, in.UserID).Scan(&username); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return PullPage{}, wrap("pull", err)
	}
	p := &puller{ctx: ctx, tx: tx, squad: squad, device: in.DeviceID, username: username, box: schema.ZoneSearchBox(area, dist)}
	changes, err := p.fetch(cur.Q, math.MaxInt64, limit+1)
	if err != nil {
		return PullPage{}, wrap("pull", err)
	}
	changes, more, whole := store.CutPage(changes, limit)
	if !whole {
		// One seq holds more changes than a page: deliver it whole.
		if changes, err = p.fetch(changes[0].Seq-1, changes[0].Seq, -1); err != nil {
			return PullPage{}, wrap("pull", err)
		}
	}
	if len(changes) > 0 {
		cur.Q = changes[len(changes)-1].Seq
	}
	page.Changes, page.More = changes, more
	page.Cursor = cur.Encode()
	return page, nil
}

func maxZoneDistance(ctx context.Context, q queryer) (float64, error) {
	rows, err := q.QueryContext(ctx, `SELECT body FROM zone_rules`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var rules []schema.ZoneRule
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return 0, err
		}
		var r schema.ZoneRule
		if json.Unmarshal([]byte(body), &r) == nil {
			rules = append(rules, r)
		}
	}
	return schema.MaxZoneDistance(rules), rows.Err()
}

// puller reads the changes of one visible set between two seqs.
type puller struct {
	ctx    context.Context
	tx     *sql.Tx
	squad  int64
	device string
	// username is the device user's: its planned visits come with the pull.
	username string
	box      [4]float64 // squad bbox grown by the largest zone distance
}

// fetch returns up to limit changes (per table, then merged) with
// lo < seq <= hi, in seq order; limit -1 means all.
func (p *puller) fetch(lo, hi int64, limit int) ([]schema.Change, error) {
	var all []schema.Change
	for _, f := range []func(lo, hi int64, limit int) ([]schema.Change, error){
		p.venues, p.movedOut, p.schools, p.zoneRules, p.checklists, p.members, p.coInspectors, p.inspections,
		p.findings, p.findingsMovedOut, p.visits, p.complaints, p.complaintsLeft,
	} {
		c, err := f(lo, hi, limit)
		if err != nil {
			return nil, err
		}
		all = append(all, c...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	return all, nil
}

func (p *puller) venues(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT `+venueCols+` FROM venues WHERE squad_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
		p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("venues: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("venues: %w", err)
		}
		if v.Deleted {
			out = append(out, schema.Change{Seq: v.Seq, Kind: schema.ChangeVenue, ID: v.ID, Removed: true, MergedInto: v.MergedInto})
			continue
		}
		vv := v.Venue
		out = append(out, schema.Change{Seq: v.Seq, Kind: schema.ChangeVenue, ID: v.ID, Venue: &vv})
	}
	return out, rows.Err()
}

// movedOut yields removals for venues that left the squad after lo.
func (p *puller) movedOut(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT h.venue_id, h.left_seq FROM venue_squad_history h
		WHERE h.squad_id = ? AND h.left_seq > ? AND h.left_seq <= ?
		  AND NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = h.venue_id AND v.squad_id = h.squad_id)
		ORDER BY h.left_seq LIMIT ?`, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("moved venues: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		var c schema.Change
		if err := rows.Scan(&c.ID, &c.Seq); err != nil {
			return nil, fmt.Errorf("moved venues: %w", err)
		}
		c.Kind, c.Removed = schema.ChangeVenue, true
		out = append(out, c)
	}
	return out, rows.Err()
}

func (p *puller) schools(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT id, name, kind, address, polygon, seq, geometry, external_id FROM schools
		WHERE seq > ? AND seq <= ? AND max_lat >= ? AND max_lng >= ? AND min_lat <= ? AND min_lng <= ?
		ORDER BY seq LIMIT ?`, lo, hi, p.box[0], p.box[1], p.box[2], p.box[3], limit)
	if err != nil {
		return nil, fmt.Errorf("schools: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		var sc schema.School
		var poly string
		var geom, external sql.NullString
		var seq int64
		if err := rows.Scan(&sc.ID, &sc.Name, &sc.Kind, &sc.Address, &poly, &seq, &geom, &external); err != nil {
			return nil, fmt.Errorf("schools: %w", err)
		}
		if err := decodeSchool(&sc, poly, geom.String, external.String); err != nil {
			return nil, err
		}
		out = append(out, schema.Change{Seq: seq, Kind: schema.ChangeSchool, ID: sc.ID, School: &sc})
	}
	return out, rows.Err()
}

func (p *puller) zoneRules(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT id, body, seq FROM zone_rules WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("zone rules: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		var id, body string
		var seq int64
		if err := rows.Scan(&id, &body, &seq); err != nil {
			return nil, fmt.Errorf("zone rules: %w", err)
		}
		var r schema.ZoneRule
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("zone rule %s: %w", id, err)
		}
		r.ID = id
		out = append(out, schema.Change{Seq: seq, Kind: schema.ChangeZoneRule, ID: id, ZoneRule: &r})
	}
	return out, rows.Err()
}

func (p *puller) checklists(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT version, body, seq FROM checklists WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("checklists: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		var version, body string
		var seq int64
		if err := rows.Scan(&version, &body, &seq); err != nil {
			return nil, fmt.Errorf("checklists: %w", err)
		}
		var c schema.Checklist
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return nil, fmt.Errorf("checklist %s: %w", version, err)
		}
		out = append(out, schema.Change{Seq: seq, Kind: schema.ChangeChecklist, ID: version, Checklist: &c})
	}
	return out, rows.Err()
}

func (p *puller) members(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT username, display_name, badge_no, role, seq FROM users
		WHERE squad_id = ? AND disabled = 0 AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		m := schema.Member{SquadID: p.squad}
		var seq int64
		if err := rows.Scan(&m.Username, &m.Name, &m.BadgeNo, &m.Role, &seq); err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		out = append(out, schema.Change{Seq: seq, Kind: schema.ChangeMember, ID: m.Username, Member: &m})
	}
	return out, rows.Err()
}

// coInspectors yields the squad's co-inspectors (members.go) whose
// permission or user row changed in range: a member while allowed and
// active, removed once withdrawn, disabled or no longer an inspector. One
// who joined the squad itself is its member already and is left to
// members.
func (p *puller) coInspectors(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT u.username, u.display_name, u.badge_no, u.role, coalesce(u.squad_id, 0),
			c.removed_at IS NULL AND u.disabled = 0 AND u.role = 'inspector', max(c.seq, u.seq) AS s
		FROM squad_co_inspectors c JOIN users u ON u.id = c.user_id
		WHERE c.squad_id = ? AND (u.squad_id IS NULL OR u.squad_id <> ?) AND max(c.seq, u.seq) > ? AND max(c.seq, u.seq) <= ?
		ORDER BY s LIMIT ?`, p.squad, p.squad, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("co-inspectors: %w", err)
	}
	defer rows.Close()
	var out []schema.Change
	for rows.Next() {
		m := schema.Member{CoInspector: true}
		var active bool
		var seq int64
		if err := rows.Scan(&m.Username, &m.Name, &m.BadgeNo, &m.Role, &m.SquadID, &active, &seq); err != nil {
			return nil, fmt.Errorf("co-inspectors: %w", err)
		}
		c := schema.Change{Seq: seq, Kind: schema.ChangeMember, ID: m.Username, Removed: !active}
		if active {
			c.Member = &m
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (p *puller) inspections(lo, hi int64, limit int) ([]schema.Change, error) {
	rows, err := p.tx.QueryContext(p.ctx, `SELECT `+inspectionCols+` FROM inspections WHERE device_id = ? AND seq > ? AND seq <= ?
		ORDER BY seq LIMIT ?`, p.device, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("inspections: %w", err)
	}
	var list []*inspectionRow
	for rows.Next() {
		r, err := scanInspection(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("inspections: %w", err)
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inspections: %w", err)
	}
	if err := fillItems(p.ctx, p.tx, list); err != nil {
		return nil, err
	}
	out := make([]schema.Change, 0, len(list))
	for _, r := range list {
		in := r.Inspection
		out = append(out, schema.Change{Seq: r.Seq, Kind: schema.ChangeInspection, ID: in.ID, Inspection: &in})
	}
	return out, nil
}

// decodeSchool fills a school's shape and external id from their columns.
func decodeSchool(sc *schema.School, poly, geom, external string) error {
	sc.ExternalID = external
	if err := json.Unmarshal([]byte(poly), &sc.Polygon); err != nil {
		return fmt.Errorf("school %s polygon: %w", sc.ID, err)
	}
	if geom != "" {
		if err := json.Unmarshal([]byte(geom), &sc.Geometry); err != nil {
			return fmt.Errorf("school %s geometry: %w", sc.ID, err)
		}
	}
	return nil
}
