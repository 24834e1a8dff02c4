package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// A push runs in one write transaction that holds the counter row (see
// the package comment), a chunk of mutations at a time: the chunk is read
// from the stream and validated, the rows its mutations name are looked up
// in one batch (one round trip), and each mutation is decided by the rules
// of package schema and its decision carried out here. New inspections,
// their photo references and the answers wait in queues that go out with
// COPY when they are long and as one batch of INSERTs when short
// (writeQueued).

// chunkSize is how many mutations are looked up together.
const chunkSize = 250

// pushBatch is the state of one push transaction.
type pushBatch struct {
	*writer
	s          *Store
	in         store.PushInput
	pusher     schema.Pusher
	checklists schema.ChecklistLookup
	known
	queued  inspectionQueues
	answerQ [][]any
	// links are the complaints the push's inspections investigate,
	// written once the inspections' rows are (linkComplaints).
	links []store.ComplaintLink
}

// pushed is one mutation of a push with what validation said of it.
type pushed struct {
	m       schema.Mutation
	invalid error
}

// Push applies a batch of device mutations in one transaction and answers
// each: applied, duplicate, conflict or rejected. Every answer except a
// duplicate is recorded with the mutation id in that same transaction, so
// a replay of any batch, in any order, is answered the same and changes
// nothing; a concurrent replay waits for the counter row and then finds
// the answers. When the input's stream fails, nothing is applied and the
// error wraps the stream's.
func (s *Store) Push(ctx context.Context, in store.PushInput) ([]schema.MutationResult, error) {
	src := in.Stream
	if src == nil {
		src = &sliceStream{muts: in.Request.Mutations}
	}
	var results []schema.MutationResult
	err := s.writeTx(ctx, func(w *writer) error {
		results = results[:0]
		b, err := s.newPushBatch(ctx, w, in)
		if err != nil {
			return err
		}
		chunk := make([]pushed, 0, chunkSize)
		for more := true; more; {
			if chunk, more, err = readChunk(src, chunk[:0]); err != nil {
				return err
			}
			for i := range chunk {
				chunk[i].invalid = schema.ValidateMutation(&chunk[i].m, b.checklists)
			}
			if err := b.load(ctx, chunk); err != nil {
				return err
			}
			for i := range chunk {
				r, err := b.apply(ctx, &chunk[i])
				if err != nil {
					return err
				}
				results = append(results, r)
			}
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		if in.Clock != nil {
			return recordClockSample(ctx, w.tx, *in.Clock)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: push from device %s: %w", in.DeviceID, err)
	}
	return results, nil
}

func (s *Store) newPushBatch(ctx context.Context, w *writer, in store.PushInput) (*pushBatch, error) {
	var squad int64
	if in.SquadID != nil {
		squad = *in.SquadID
	}
	b := &pushBatch{writer: w, s: s, in: in, known: newKnown(),
		pusher: schema.Pusher{DeviceID: in.DeviceID, UserID: in.UserID, Squad: squad, InSquad: in.SquadID != nil,
			ReceivedAt: in.ReceivedAt, Now: w.now}}
	var err error
	if b.checklists, err = s.checklistSet(ctx, w.tx); err != nil {
		return nil, err
	}
	if b.pusher.InSquad {
		// Once per push: whom its inspections may name.
		b.pusher.Members, b.pusher.Username, err = squadRoster(ctx, w.tx, squad, in.UserID)
	}
	return b, err
}

// sliceStream yields an already decoded batch.
type sliceStream struct {
	muts []schema.Mutation
	next int
}

func (s *sliceStream) Next(m *schema.Mutation) (bool, error) {
	if s.next >= len(s.muts) {
		return false, nil
	}
	*m = s.muts[s.next]
	s.next++
	return true, nil
}

// readChunk appends up to chunkSize mutations of src to chunk; more
// reports whether src may hold further ones.
func readChunk(src store.MutationStream, chunk []pushed) (_ []pushed, more bool, err error) {
	for len(chunk) < chunkSize {
		chunk = append(chunk, pushed{})
		ok, err := src.Next(&chunk[len(chunk)-1].m)
		if err != nil || !ok {
			return chunk[:len(chunk)-1], false, err
		}
	}
	return chunk, true, nil
}

// apply answers one mutation and queues its answer.
func (b *pushBatch) apply(ctx context.Context, p *pushed) (schema.MutationResult, error) {
	m := &p.m
	if a, ok := b.applied[m.ID]; ok {
		return schema.AnswerReplay(m.ID, a, b.pusher), nil
	}
	if err := schema.ValidUUID7(m.ID); err != nil {
		// Not recorded: without a usable id there is nothing to replay against.
		return schema.Reject(m.ID, schema.CodeInvalid, "mutation id: "+err.Error()), nil
	}
	res, err := b.decide(ctx, p)
	if err != nil {
		return res, err
	}
	kind := m.Kind
	if len(kind) > 40 {
		kind = kind[:40]
	}
	b.answerQ = append(b.answerQ, []any{m.ID, b.in.DeviceID, kind, res.Outcome, string(res.Code), res.Reason, res.ConflictID, b.nowText()})
	b.applied[m.ID] = schema.RecordedAnswer{DeviceID: b.in.DeviceID, UserID: b.in.UserID, Outcome: res.Outcome, Code: res.Code,
		Reason: res.Reason, ConflictID: res.ConflictID}
	return res, nil
}

// decide applies one new mutation by the rules of package schema. Errors
// returned are server faults that abort the batch; everything the device
// got wrong is a rejected result.
func (b *pushBatch) decide(ctx context.Context, p *pushed) (schema.MutationResult, error) {
	m := &p.m
	if r, refused := schema.Refusal(m, p.invalid, b.pusher); refused {
		return r, nil
	}
	schema.RedirectMerged(m, b.mergedInto)
	if r, ok, err := b.complaintRefusal(ctx, m); err != nil || !ok {
		return r, err
	}
	hlc, restamped, err := b.intakeHLC(ctx, m.HLC)
	if err != nil {
		return schema.MutationResult{}, err
	}
	d, claims := schema.DecideMutation(m, b.pusher, &b.known, hlc, restamped)
	res, err := b.carryOut(ctx, m, d, claims)
	if err == nil && d.Effect != schema.EffectNone && d.Inspection != nil && d.Inspection.ComplaintID != "" {
		b.links = append(b.links, store.ComplaintLink{ComplaintID: d.Inspection.ComplaintID, InspectionID: d.Inspection.ID,
			SquadID: b.pusher.Squad, By: b.pusher.Username})
	}
	return res, err
}

// intakeHLC accepts a device HLC into the server clock, or restamps it with
// the server's own when it runs too far ahead of the server.
func (b *pushBatch) intakeHLC(ctx context.Context, s string) (string, bool, error) {
	h, err := schema.ParseHLC(s)
	if err != nil {
		return b.s.clock.Tick().String(), true, nil
	}
	if schema.HLCRunsAhead(h, b.s.now()) {
		r := b.s.clock.Tick().String()
		// Remember the replacement: the device names its own stamp as the
		// base of later edits of the same fields.
		tag, err := b.tx.Exec(ctx, `INSERT INTO hlc_restamps (original, replacement, device_id, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (original) DO NOTHING`, s, r, b.in.DeviceID, b.nowText())
		if err != nil {
			return "", false, fmt.Errorf("record restamp of %s: %w", s, err)
		}
		if tag.RowsAffected() == 1 {
			b.restamps[s] = r
		}
		return r, true, nil
	}
	b.s.clock.Observe(h)
	return s, false, nil
}

// carryOut writes what a decision says, its conflicts and its record (an
// inspection with the claims to its photos), and returns the answer naming
// the first conflict. Venue writes are rare and go out at once; new
// inspections wait in the queues (their seqs, given now, keep mutation
// order).
func (b *pushBatch) carryOut(ctx context.Context, m *schema.Mutation, d schema.Decision, claims map[string]string) (schema.MutationResult, error) {
	res := d.Result
	ids, err := b.writeConflicts(ctx, d.Conflicts, store.Actor{MutationID: m.ID, DeviceID: b.in.DeviceID})
	if err != nil {
		return res, err
	}
	if len(ids) > 0 {
		res.ConflictID = ids[0]
	}
	if d.Effect == schema.EffectNone {
		return res, nil
	}
	if d.Venue != nil {
		row := &venueRow{Venue: *d.Venue}
		if d.Effect == schema.EffectInsert {
			// The register's id is the bureau's to give, through an
			// import; one a device sends could collide with a venue's.
			row.ExternalID = ""
			err = b.insertVenue(ctx, row)
		} else {
			err = b.saveVenueFields(ctx, row)
		}
		b.venues[row.ID] = row
		if err == nil {
			err = b.evaluateZones(ctx, "", row.Venue)
		}
		return res, err
	}
	row := &inspectionRow{Inspection: *d.Inspection, AuthorID: b.in.UserID, Claims: claims}
	cl, _ := b.checklists(row.ChecklistVersion)
	if d.Effect == schema.EffectInsert {
		err = b.queueNewInspection(ctx, row, cl)
		if err == nil {
			squad := row.SquadID
			err = recordChange(ctx, b.writer, change{Actor: b.pusher.Username, EntityKind: schema.AuditInspection, EntityID: row.ID, SquadID: &squad,
				Action: "submit", To: row.Status, Reason: fmt.Sprintf("version %d from device %s", row.Version, b.in.DeviceID)})
		}
	} else {
		err = b.replaceInspection(ctx, &b.queued, row, cl)
		if err == nil {
			err = b.recordResubmission(ctx, row)
		}
	}
	if err == nil {
		err = b.recordEvents(ctx, row)
	}
	b.stored[row.ID] = row
	return res, err
}

// recordResubmission passes the replacement of a stored inspection by its
// next version through recordChange: a resubmission when a leader had
// returned it, an amendment when it still waited for review.
func (b *pushBatch) recordResubmission(ctx context.Context, row *inspectionRow) error {
	from, action := schema.StatusSubmitted, "amended"
	if prev := b.stored[row.ID]; prev != nil {
		from = prev.Status
	}
	if from == schema.StatusReturned {
		action = "resubmitted"
	}
	squad := row.SquadID
	return recordChange(ctx, b.writer, change{Actor: b.pusher.Username, EntityKind: "inspection", EntityID: row.ID, SquadID: &squad,
		Action: action, From: from, To: row.Status, Reason: fmt.Sprintf("version %d from device %s", row.Version, b.in.DeviceID)})
}

// queueNewInspection gives a new inspection its seq and queues its rows.
// Until the queues are flushed the inspection exists only in b.known.
func (b *pushBatch) queueNewInspection(ctx context.Context, r *inspectionRow, cl *schema.Checklist) error {
	r.Seq = b.nextSeq()
	b.queued.add(r, cl, b.nowText())
	if len(b.queued.insp) >= maxQueued {
		return b.flush(ctx)
	}
	return nil
}

// maxQueued bounds the inspections a push holds in memory before it
// writes them.
const maxQueued = 1000

// flush writes every queued row: inspections before the rows that refer
// to them, and the answers.
func (b *pushBatch) flush(ctx context.Context) error {
	tables := append(b.queued.tables(), queuedTable{"applied_mutations", answerCols, answerInsert, &b.answerQ})
	if err := writeQueued(ctx, b.tx, tables); err != nil {
		return fmt.Errorf("push from %s: %w", b.in.DeviceID, err)
	}
	if err := b.linkComplaints(ctx); err != nil {
		return fmt.Errorf("link complaints from %s: %w", b.in.DeviceID, err)
	}
	return nil
}

// answerCols are the columns of applied_mutations, in apply's order.
var answerCols = []string{"id", "device_id", "kind", "outcome", "code", "reason", "conflict_id", "applied_at"}

const answerInsert = `INSERT INTO applied_mutations (id, device_id, kind, outcome, code, reason, conflict_id, applied_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// known is what a push knows of the rows its mutations name: looked up a
// chunk at a time inside the push's transaction (so it sees the push's own
// writes and every writer's that committed before it took the counter),
// and updated as the push writes. A nil entry was looked up and does not
// exist.
type known struct {
	applied  map[string]schema.RecordedAnswer
	venues   map[string]*venueRow
	leftAt   map[string]time.Time // when venues last left the pushing squad
	restamps map[string]string
	stored   map[string]*inspectionRow
	photos   map[string]schema.PhotoHolding // photos inspections name, as the pushing squad holds them
	numbers  map[string]string              // on-site record numbers: the inspection holding each ("" none)
	seen     map[seenKey]bool
}

// seenKey is a key a push looked up: a mutation id ('m'), venue id ('v'),
// inspection id ('i'), restamped base ('h'), photo hash ('p') or record
// number ('r').
type seenKey struct {
	kind byte
	key  string
}

// The push answers through the rules of schema with what it looked up.
var _ schema.Facts = (*known)(nil)

func newKnown() known {
	return known{applied: map[string]schema.RecordedAnswer{}, venues: map[string]*venueRow{}, leftAt: map[string]time.Time{},
		restamps: map[string]string{}, stored: map[string]*inspectionRow{}, photos: map[string]schema.PhotoHolding{}, numbers: map[string]string{}, seen: map[seenKey]bool{}}
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

func (k *known) Inspection(id string) *schema.StoredInspection {
	if r := k.stored[id]; r != nil {
		return &schema.StoredInspection{Inspection: r.Inspection, AuthorID: r.AuthorID}
	}
	return nil
}

func (k *known) unseen(keys []string, kind byte, key string) []string {
	sk := seenKey{kind, key}
	if k.seen[sk] {
		return keys
	}
	k.seen[sk] = true
	return append(keys, key)
}

// load looks up what the mutations of one chunk need and the push has not
// looked up before, every table in one batch.
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
	for _, id := range venueIDs {
		b.venues[id] = nil
	}
	for _, id := range inspIDs {
		b.stored[id] = nil
	}
	for _, n := range numbers {
		b.numbers[n] = ""
	}
	q := &pgx.Batch{}
	each := func(rows pgx.Rows, scan func() error) error {
		for rows.Next() {
			if err := scan(); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if len(ids) > 0 {
		q.Queue(`SELECT am.id, am.device_id, coalesce(d.user_id, ''), am.outcome, am.code, am.reason, am.conflict_id
			FROM applied_mutations am LEFT JOIN devices d ON d.id = am.device_id WHERE am.id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var id string
				var a schema.RecordedAnswer
				if err := rows.Scan(&id, &a.DeviceID, &a.UserID, &a.Outcome, &a.Code, &a.Reason, &a.ConflictID); err != nil {
					return err
				}
				b.applied[id] = a
				return nil
			})
		})
	}
	if len(venueIDs) > 0 {
		// With the survivors of those merged away: a mutation naming a
		// merged venue is applied to its survivor (schema.RedirectMerged).
		q.Queue(`SELECT `+venueCols+` FROM venues WHERE id = ANY($1)
			OR id IN (SELECT merged_into FROM venues WHERE id = ANY($1) AND merged_into <> '')`, venueIDs).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				v, err := scanVenue(rows)
				if err == nil {
					b.venues[v.ID] = v
				}
				return err
			})
		})
		// Only venues of other squads need it; asking for all saves a round trip.
		q.Queue(`SELECT venue_id, max(to_at) FROM venue_squad_history WHERE squad_id = $1 AND to_at IS NOT NULL
			AND (venue_id = ANY($2) OR venue_id IN (SELECT merged_into FROM venues WHERE id = ANY($2) AND merged_into <> ''))
			GROUP BY venue_id`, b.pusher.Squad, venueIDs).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var id, at string
				if err := rows.Scan(&id, &at); err != nil {
					return err
				}
				b.leftAt[id] = parseTime(at)
				return nil
			})
		})
	}
	if len(bases) > 0 {
		q.Queue(restampQuery, bases).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var o, r string
				if err := rows.Scan(&o, &r); err != nil {
					return err
				}
				b.restamps[o] = r
				return nil
			})
		})
	}
	if len(inspIDs) > 0 {
		q.Queue(`SELECT `+inspectionCols+` FROM inspections WHERE id = ANY($1)`, inspIDs).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				r, err := scanInspection(rows)
				if err == nil {
					b.stored[r.ID] = r
				}
				return err
			})
		})
	}
	if len(hashes) > 0 {
		// Whether the pushing squad had a photo does not change during the
		// push: deliveries wait for the counter row it holds (RecordPhoto),
		// and a claim the push proves was proven by what it read here.
		q.Queue(`SELECT p.sha256, p.size,
				EXISTS (SELECT 1 FROM photo_receipts r WHERE r.sha256 = p.sha256 AND r.squad_id = $1)
				OR EXISTS (SELECT 1 FROM inspection_photos ip WHERE ip.sha256 = p.sha256 AND ip.squad_id = $1 AND ip.claim = 'proven')
				OR EXISTS (SELECT 1 FROM record_signatures rs WHERE rs.sha256 = p.sha256 AND rs.squad_id = $1 AND rs.claim = 'proven')
			FROM photos p WHERE p.sha256 = ANY($2)`, b.pusher.Squad, hashes).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var sha string
				h := schema.PhotoHolding{Stored: true}
				if err := rows.Scan(&sha, &h.Size, &h.Squad); err != nil {
					return err
				}
				b.photos[sha] = h
				return nil
			})
		})
	}
	if len(numbers) > 0 {
		q.Queue(`SELECT record_number, id FROM inspections WHERE record_number = ANY($1)`, numbers).Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var n, id string
				if err := rows.Scan(&n, &id); err != nil {
					return err
				}
				b.numbers[n] = id
				return nil
			})
		})
	}
	if q.Len() == 0 {
		return nil
	}
	if err := b.tx.SendBatch(ctx, q).Close(); err != nil {
		return fmt.Errorf("look up the rows of a push: %w", err)
	}
	// The rules compare and keep whole records, answers included.
	var found []*inspectionRow
	for _, id := range inspIDs {
		if r := b.stored[id]; r != nil {
			found = append(found, r)
		}
	}
	return fillItems(ctx, b.tx, found)
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
// embedded, into a lookup.
func (s *Store) checklistSet(ctx context.Context, tx pgx.Tx) (schema.ChecklistLookup, error) {
	set := map[string]*schema.Checklist{}
	rows, err := tx.Query(ctx, `SELECT version, body FROM checklists`)
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

// recordEvents audits what a version does to its on-site record (signed,
// refused, each new amendment) against the copy the push holds, and
// notes its number as taken.
func (b *pushBatch) recordEvents(ctx context.Context, row *inspectionRow) error {
	var prev *schema.Inspection
	if p := b.stored[row.ID]; p != nil {
		prev = &p.Inspection
	}
	squad := row.SquadID
	for _, e := range schema.RecordEvents(prev, &row.Inspection) {
		if err := recordChange(ctx, b.writer, change{Actor: b.pusher.Username, EntityKind: schema.AuditInspection, EntityID: row.ID, SquadID: &squad,
			Action: e.Action, Reason: e.Reason}); err != nil {
			return err
		}
	}
	if row.Record != nil {
		b.numbers[row.Record.Number] = row.ID
	}
	return nil
}
