package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// chunkLoader looks up the rows the mutations of each chunk will look at
// (earlier answers, venues, existing inspections) on the preparing
// goroutine, so that the writer only merges them. It reads in a read
// transaction begun after the push's write transaction took the database's
// one write lock: no other writer can commit until the push does, so the
// read transaction sees exactly what the write transaction saw when it
// began. What the push itself changed lives in the writer's maps, which
// keep what they hold when they merge (pushBatch.merge).
type chunkLoader struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	squad int64
	// Ids looked up already in this push; the writer has their rows.
	seenApplied, seenVenue, seenRef, seenInsp, seenBase map[string]bool
}

// chunkLookups are the rows found for one chunk.
type chunkLookups struct {
	applied  map[string]appliedMutation
	venues   map[string]*venueRow      // full rows for venue mutations; nil: no such venue
	squads   map[string]venueSquad     // the squads of venues inspections refer to
	leftAt   map[string]time.Time      // when venues of other squads last left this one
	restamps map[string]string         // replacements of the bases venue edits name
	existing map[string]*inspectionRow // nil: no such inspection
}

// batchHint sizes the per-push maps, which grow to one entry a mutation.
const batchHint = 256

// newChunkLoader reads in a read transaction of its own on db.
func newChunkLoader(ctx context.Context, db *sql.DB, squad int64) (*chunkLoader, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin lookups: %w", err)
	}
	return txChunkLoader(tx, map[string]*sql.Stmt{}, squad), nil
}

// txChunkLoader reads in tx, with stmts as its statement cache; close
// must not be called on it unless it owns tx.
func txChunkLoader(tx *sql.Tx, stmts map[string]*sql.Stmt, squad int64) *chunkLoader {
	return &chunkLoader{tx: tx, stmts: stmts, squad: squad, seenApplied: make(map[string]bool, batchHint),
		seenVenue: map[string]bool{}, seenRef: map[string]bool{}, seenInsp: make(map[string]bool, batchHint), seenBase: map[string]bool{}}
}

func (l *chunkLoader) close() {
	for _, st := range l.stmts {
		st.Close()
	}
	l.tx.Rollback()
}

// lookup runs query, whose last argument is the JSON list of ids (one
// statement text for any number of ids, prepared once per push) after
// args, and hands its rows to scan; no ids, no query.
func (l *chunkLoader) lookup(ctx context.Context, ids []string, query string, scan func(rows *sql.Rows) error, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return err
	}
	st, ok := l.stmts[query]
	if !ok {
		if st, err = l.tx.PrepareContext(ctx, query); err != nil {
			return err
		}
		l.stmts[query] = st
	}
	rows, err := st.QueryContext(ctx, append(args, list)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	return rows.Err()
}

// unseen appends id to ids unless seen has it, and marks it.
func unseen(ids []string, seen map[string]bool, id string) []string {
	if seen[id] {
		return ids
	}
	seen[id] = true
	return append(ids, id)
}

// load looks up what the mutations of one chunk need and this push has
// not looked up before.
func (l *chunkLoader) load(ctx context.Context, muts []preparedMutation) (*chunkLookups, error) {
	out := &chunkLookups{applied: map[string]appliedMutation{}, venues: map[string]*venueRow{}, squads: map[string]venueSquad{},
		leftAt: map[string]time.Time{}, restamps: map[string]string{}, existing: make(map[string]*inspectionRow, len(muts))}
	var ids, venueIDs, refIDs, inspIDs, bases []string
	for i := range muts {
		m := &muts[i].m
		ids = unseen(ids, l.seenApplied, m.ID)
		switch {
		case m.Venue != nil:
			venueIDs = unseen(venueIDs, l.seenVenue, m.Venue.ID)
		case m.VenueUpdate != nil:
			venueIDs = unseen(venueIDs, l.seenVenue, m.VenueUpdate.VenueID)
			for _, e := range m.VenueUpdate.Fields {
				if e.Base != "" {
					bases = unseen(bases, l.seenBase, e.Base)
				}
			}
		case m.Inspection != nil:
			inspIDs = unseen(inspIDs, l.seenInsp, m.Inspection.ID)
			// An inspection needs only its venue's squad.
			refIDs = unseen(refIDs, l.seenRef, m.Inspection.VenueID)
		}
	}
	err := l.lookup(ctx, ids, `SELECT am.id, am.device_id, coalesce(d.user_id, ''), am.outcome, am.code, am.reason, am.conflict_id
			FROM applied_mutations am LEFT JOIN devices d ON d.id = am.device_id
			WHERE am.id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		for rows.Next() {
			var id string
			var a appliedMutation
			if err := rows.Scan(&id, &a.DeviceID, &a.UserID, &a.Outcome, &a.Code, &a.Reason, &a.ConflictID); err != nil {
				return err
			}
			out.applied[id] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load applied mutations: %w", err)
	}
	err = l.lookup(ctx, venueIDs, `SELECT `+venueCols+` FROM venues WHERE id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		for rows.Next() {
			v, err := scanVenue(rows)
			if err != nil {
				return err
			}
			out.venues[v.ID] = v
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load venues: %w", err)
	}
	var foreign []string
	for _, id := range venueIDs {
		if v := out.venues[id]; v == nil {
			out.venues[id] = nil
		} else if v.SquadID != l.squad {
			foreign = append(foreign, id)
		}
	}
	err = l.lookup(ctx, refIDs, `SELECT id, squad_id FROM venues WHERE id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		for rows.Next() {
			var id string
			var squad int64
			if err := rows.Scan(&id, &squad); err != nil {
				return err
			}
			out.squads[id] = venueSquad{squad: squad, found: true}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load venues: %w", err)
	}
	for _, id := range refIDs {
		if r, ok := out.squads[id]; !ok {
			out.squads[id] = venueSquad{}
		} else if r.squad != l.squad {
			foreign = append(foreign, id)
		}
	}
	err = l.lookup(ctx, foreign, `SELECT venue_id, max(to_at) FROM venue_squad_history WHERE squad_id = ?
			AND to_at IS NOT NULL AND venue_id IN (SELECT value FROM json_each(?)) GROUP BY venue_id`, func(rows *sql.Rows) error {
		for rows.Next() {
			var id, at string
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			out.leftAt[id] = parseTime(at)
		}
		return nil
	}, l.squad)
	if err != nil {
		return nil, fmt.Errorf("load venue history: %w", err)
	}
	err = l.lookup(ctx, bases, restampQuery, func(rows *sql.Rows) error {
		for rows.Next() {
			var o, r string
			if err := rows.Scan(&o, &r); err != nil {
				return err
			}
			out.restamps[o] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load restamps: %w", err)
	}
	err = l.lookup(ctx, inspIDs, `SELECT `+inspectionCols+` FROM inspections WHERE id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		for rows.Next() {
			r, err := scanInspection(rows)
			if err != nil {
				return err
			}
			out.existing[r.ID] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load inspections: %w", err)
	}
	for _, id := range inspIDs {
		if _, ok := out.existing[id]; !ok {
			out.existing[id] = nil
		}
	}
	return out, nil
}

// merge takes what a chunk's lookups found into the batch, keeping what
// the batch holds already: its own rows are newer than the snapshot's.
func (b *pushBatch) merge(l *chunkLookups) {
	for id, a := range l.applied {
		if _, ok := b.applied[id]; !ok {
			b.applied[id] = a
		}
	}
	for id, v := range l.venues {
		if _, ok := b.venues[id]; !ok {
			b.venues[id] = v
		}
	}
	for id, r := range l.squads {
		if _, ok := b.squads[id]; !ok {
			b.squads[id] = r
		}
	}
	for id, t := range l.leftAt {
		b.leftAt[id] = t
	}
	for o, r := range l.restamps {
		if _, ok := b.restamps[o]; !ok {
			b.restamps[o] = r
		}
	}
	for id, r := range l.existing {
		if _, ok := b.existing[id]; !ok {
			b.existing[id] = r
		}
	}
}
