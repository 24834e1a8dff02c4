package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// known is what a push knows of the rows its mutations name: looked up a
// chunk at a time inside the push's transaction (so it sees the push's own
// writes), and updated as the push writes. A nil entry was looked up and
// does not exist.
type known struct {
	applied  map[string]schema.RecordedAnswer // answers recorded for mutation ids
	venues   map[string]*venueRow             // venues mutations or inspections name
	leftAt   map[string]time.Time             // when venues of other squads last left the pushing one
	restamps map[string]string                // HLCs the server replaced, by original
	stored   map[string]*inspectionRow        // inspections on the server
	photos   map[string]schema.PhotoHolding   // photos inspections name, as the pushing squad holds them
	numbers  map[string]string                // on-site record numbers: the inspection holding each ("" none)
	seen     map[seenKey]bool                 // keys looked up already
}

// seenKey is a key a push looked up: a mutation id ('m'), venue id ('v'),
// inspection id ('i'), restamped base ('h'), photo hash ('p') or record
// number ('r').
type seenKey struct {
	kind byte
	key  string
}

// batchHint sizes the per-push maps, which grow to one entry a mutation.
const batchHint = 256

// The push answers through the rules of schema with what it looked up.
var _ schema.Facts = (*known)(nil)

func newKnown() known {
	return known{applied: make(map[string]schema.RecordedAnswer, batchHint), venues: map[string]*venueRow{}, leftAt: map[string]time.Time{},
		restamps: map[string]string{}, stored: make(map[string]*inspectionRow, batchHint), photos: map[string]schema.PhotoHolding{},
		numbers: map[string]string{}, seen: make(map[seenKey]bool, 3*batchHint)}
}

// VenueLeftAt is when venue id last left the pushing squad.
func (k *known) VenueLeftAt(id string) time.Time { return k.leftAt[id] }

// Restamp is the stamp the server gave in place of base, if it did.
func (k *known) Restamp(base string) (string, bool) { return schema.Restamps(k.restamps).Lookup(base) }

// PhotoHolding is what the push knows of the photo named sha (looked up
// with the chunk that names it).
func (k *known) PhotoHolding(sha string) schema.PhotoHolding { return k.photos[sha] }

// RecordNumberHolder is the inspection holding on-site record number n
// (looked up with the chunk that names it), "" if none.
func (k *known) RecordNumberHolder(n string) string { return k.numbers[n] }

// mergedInto is the survivor of a venue the push knows was merged, "" if
// it was not.
func (k *known) mergedInto(id string) string {
	if v := k.venues[id]; v != nil {
		return v.MergedInto
	}
	return ""
}

// Venue is the venue the push knows under id, nil if none.
func (k *known) Venue(id string) *schema.Venue {
	if v := k.venues[id]; v != nil {
		return &v.Venue
	}
	return nil
}

// VenueSquad is what the push knows of the squad of a venue.
func (k *known) VenueSquad(id string) schema.VenueSquad {
	vs := schema.VenueSquad{LeftAt: k.leftAt[id]}
	if v := k.venues[id]; v != nil {
		vs.Known, vs.Squad = true, v.SquadID
	}
	return vs
}

// Inspection is the server's copy of an inspection, nil if none.
func (k *known) Inspection(id string) *schema.StoredInspection {
	if r := k.stored[id]; r != nil {
		return &schema.StoredInspection{Inspection: r.Inspection, AuthorID: r.AuthorID}
	}
	return nil
}

// unseen appends key to keys unless it was looked up before, and marks it.
func (k *known) unseen(keys []string, kind byte, key string) []string {
	sk := seenKey{kind, key}
	if k.seen[sk] {
		return keys
	}
	k.seen[sk] = true
	return append(keys, key)
}

// load looks up what the mutations of one chunk need and the push has not
// looked up before: one query per table for the chunk.
func (b *pushBatch) load(ctx context.Context, chunk []pushed) error {
	var ids, venueIDs, inspIDs, bases, hashes, numbers []string
	for i := range chunk {
		m := &chunk[i].m
		ids = b.unseen(ids, 'm', m.ID)
		switch {
		case m.Venue != nil:
			venueIDs = b.unseen(venueIDs, 'v', m.Venue.ID)
		case m.VenueUpdate != nil:
			venueIDs = b.unseen(venueIDs, 'v', m.VenueUpdate.VenueID)
			for _, e := range m.VenueUpdate.Fields {
				if e.Base != "" {
					bases = b.unseen(bases, 'h', e.Base)
				}
			}
		case m.Inspection != nil:
			inspIDs = b.unseen(inspIDs, 'i', m.Inspection.ID)
			venueIDs = b.unseen(venueIDs, 'v', m.Inspection.VenueID)
			for j := range m.Inspection.Items {
				if chunk[i].invalid != nil {
					break // refused without a look at its photos
				}
				for _, p := range m.Inspection.Items[j].Photos {
					hashes = b.unseen(hashes, 'p', p.SHA256)
				}
			}
			if r := m.Inspection.Record; r != nil && chunk[i].invalid == nil {
				for _, p := range schema.RecordSignatures(m.Inspection) {
					hashes = b.unseen(hashes, 'p', p.SHA256)
				}
				numbers = b.unseen(numbers, 'r', r.Number)
			}
		}
	}
	err := b.lookup(ctx, ids, `SELECT am.id, am.device_id, coalesce(d.user_id, ''), am.outcome, am.code, am.reason, am.conflict_id
			FROM applied_mutations am LEFT JOIN devices d ON d.id = am.device_id
			WHERE am.id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		var id string
		var a schema.RecordedAnswer
		if err := rows.Scan(&id, &a.DeviceID, &a.UserID, &a.Outcome, &a.Code, &a.Reason, &a.ConflictID); err != nil {
			return err
		}
		b.applied[id] = a
		return nil
	})
	if err != nil {
		return fmt.Errorf("load applied mutations: %w", err)
	}
	var foreign []string
	// The venues named, then the survivors of those merged away: a
	// mutation naming a merged venue is applied to its survivor
	// (schema.RedirectMerged). A merge re-points earlier merges into the
	// duplicate, so one round of survivors is all there is.
	for round := 0; round < 2 && len(venueIDs) > 0; round++ {
		for _, id := range venueIDs {
			b.venues[id] = nil
		}
		var survivors []string
		err = b.lookup(ctx, venueIDs, `SELECT `+venueCols+` FROM venues WHERE id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
			v, err := scanVenue(rows)
			if err != nil {
				return err
			}
			b.venues[v.ID] = v
			if v.SquadID != b.pusher.Squad {
				foreign = append(foreign, v.ID)
			}
			if v.MergedInto != "" {
				survivors = b.unseen(survivors, 'v', v.MergedInto)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load venues: %w", err)
		}
		venueIDs = survivors
	}
	err = b.lookup(ctx, foreign, `SELECT venue_id, max(to_at) FROM venue_squad_history WHERE squad_id = ? AND to_at IS NOT NULL
			AND venue_id IN (SELECT value FROM json_each(?)) GROUP BY venue_id`, func(rows *sql.Rows) error {
		var id, at string
		if err := rows.Scan(&id, &at); err != nil {
			return err
		}
		b.leftAt[id] = parseTime(at)
		return nil
	}, b.pusher.Squad)
	if err != nil {
		return fmt.Errorf("load venue history: %w", err)
	}
	err = b.lookup(ctx, bases, restampQuery, func(rows *sql.Rows) error {
		var o, r string
		if err := rows.Scan(&o, &r); err != nil {
			return err
		}
		b.restamps[o] = r
		return nil
	})
	if err != nil {
		return fmt.Errorf("load restamps: %w", err)
	}
	for _, id := range inspIDs {
		b.stored[id] = nil
	}
	var found []*inspectionRow
	err = b.lookup(ctx, inspIDs, `SELECT `+inspectionCols+` FROM inspections WHERE id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		r, err := scanInspection(rows)
		if err != nil {
			return err
		}
		b.stored[r.ID] = r
		if r.Review != nil {
			found = append(found, r)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load inspections: %w", err)
	}
	// A reviewed one answers an amendment with its whole record; the rules
	// need no more of the others than their head.
	if err := fillItems(ctx, b.tx, found); err != nil {
		return fmt.Errorf("load inspections: %w", err)
	}
	// Whether the pushing squad had a photo does not change during the
	// push: bytes are recorded in transactions of their own, and a claim
	// the push proves was proven by what it read here.
	err = b.lookup(ctx, hashes, `SELECT p.sha256, p.size,
			EXISTS (SELECT 1 FROM photo_receipts r WHERE r.sha256 = p.sha256 AND r.squad_id = ?)
			OR EXISTS (SELECT 1 FROM inspection_photos ip WHERE ip.sha256 = p.sha256 AND ip.squad_id = ? AND ip.claim = 'proven')
			OR EXISTS (SELECT 1 FROM record_signatures rs WHERE rs.sha256 = p.sha256 AND rs.squad_id = ? AND rs.claim = 'proven')
			FROM photos p WHERE p.sha256 IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		var sha string
		h := schema.PhotoHolding{Stored: true}
		if err := rows.Scan(&sha, &h.Size, &h.Squad); err != nil {
			return err
		}
		b.photos[sha] = h
		return nil
	}, b.pusher.Squad, b.pusher.Squad, b.pusher.Squad)
	if err != nil {
		return fmt.Errorf("load photos: %w", err)
	}
	for _, n := range numbers {
		b.numbers[n] = ""
	}
	err = b.lookup(ctx, numbers, `SELECT record_number, id FROM inspections WHERE record_number IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		var n, id string
		if err := rows.Scan(&n, &id); err != nil {
			return err
		}
		b.numbers[n] = id
		return nil
	})
	if err != nil {
		return fmt.Errorf("load record numbers: %w", err)
	}
	return nil
}

// lookup runs query, whose last argument is the JSON list of ids after
// args (one statement text for any number of ids, prepared once per
// push), and hands each row to scan; no ids, no query.
func (b *pushBatch) lookup(ctx context.Context, ids []string, query string, scan func(rows *sql.Rows) error, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return err
	}
	rows, err := b.query(ctx, query, append(args, list)...)
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
}

// checklistCache keeps checklists parsed from their stored bodies, so
// that a push parses a version only when its body changed.
type checklistCache struct {
	mu     sync.Mutex
	parsed map[string]parsedChecklist
}

type parsedChecklist struct {
	body string
	c    *schema.Checklist // read only once cached
}

// parse returns the checklist stored as body, or false if it does not
// parse.
func (cc *checklistCache) parse(version, body string) (*schema.Checklist, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if p, ok := cc.parsed[version]; ok && p.body == body {
		return p.c, true
	}
	var c schema.Checklist
	if json.Unmarshal([]byte(body), &c) != nil {
		return nil, false
	}
	if cc.parsed == nil {
		cc.parsed = map[string]parsedChecklist{}
	}
	cc.parsed[version] = parsedChecklist{body: body, c: &c}
	return &c, true
}

// checklistSet reads every checklist version the server knows, stored or
// embedded, into a lookup that is safe to share between goroutines.
func (s *Store) checklistSet(ctx context.Context, q queryer) (schema.ChecklistLookup, error) {
	set := map[string]*schema.Checklist{}
	rows, err := q.QueryContext(ctx, `SELECT version, body FROM checklists`)
	if err != nil {
		return nil, fmt.Errorf("load checklists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var version, body string
		if err := rows.Scan(&version, &body); err != nil {
			return nil, fmt.Errorf("load checklists: %w", err)
		}
		if c, ok := s.checklists.parse(version, body); ok {
			set[version] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load checklists: %w", err)
	}
	for _, c := range schema.Checklists() {
		if _, ok := set[c.Version]; !ok {
			set[c.Version] = &c
		}
	}
	return func(version string) (*schema.Checklist, bool) {
		c, ok := set[version]
		return c, ok
	}, nil
}
