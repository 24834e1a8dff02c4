package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// pushBatch is the state of one push transaction: the writer and per-batch
// caches, filled chunk by chunk before the mutations are applied in order.
type pushBatch struct {
	*writer
	s          *Store
	in         PushInput
	squad      int64
	venues     map[string]*venueRow       // nil value: looked up, unknown
	squads     map[string]venueSquad      // venues only inspections refer to: just their squad
	leftAt     map[string]time.Time       // when venues of other squads last left this one
	restamps   map[string]string          // HLCs the server replaced, by original
	existing   map[string]*inspectionRow  // inspections on the server; nil value: looked up, none
	applied    map[string]appliedMutation // answers recorded earlier
	checklists schema.ChecklistLookup
	pusher     schema.Pusher
	appliedAt  string
	// Arguments of every applied_mutations row, boxed once.
	deviceArg, appliedAtArg any
	// Rows waiting to be inserted insertGroup at a time (see queueInspection).
	inspQueue, appliedQueue []any
}

// insertGroup is how many rows one INSERT statement of a push writes: the
// per-statement cost of the driver is paid once per group.
const insertGroup = 16

// appliedInsertHead and appliedInsertRow make the statement that records
// answers, one VALUES row each (OR FAIL: see inspectionInsertHead).
const (
	appliedInsertHead = `INSERT OR FAIL INTO applied_mutations (id, device_id, kind, outcome, code, reason, conflict_id, applied_at) VALUES `
	appliedInsertRow  = `(?, ?, ?, ?, ?, ?, ?, ?)`
	appliedArgs       = 8
	inspectionArgs    = 16
)

var (
	inspectionInsertGroup = multiRow(inspectionInsertHead, inspectionInsertRow, insertGroup)
	appliedInsertGroup    = multiRow(appliedInsertHead, appliedInsertRow, insertGroup)
)

// venueSquad is what an inspection needs of its venue.
type venueSquad struct {
	squad int64
	found bool
}

// venueSquad is what the batch knows of the squad of a venue.
func (b *pushBatch) venueSquad(id string) schema.VenueSquad {
	vs := schema.VenueSquad{LeftAt: b.leftAt[id]}
	if v, ok := b.venues[id]; ok {
		if v != nil {
			vs.Known, vs.Squad = true, v.SquadID
		}
		return vs
	}
	r := b.squads[id]
	vs.Known, vs.Squad = r.found, r.squad
	return vs
}

type appliedMutation = schema.RecordedAnswer

// Push applies a batch of device mutations in one write transaction and
// answers each: applied, duplicate, conflict or rejected. Every answer
// except a duplicate is recorded with the mutation id in that same
// transaction, so a replay of any batch, in any order, is answered the same
// and changes nothing. The transaction commits durably before Push returns.
// When the input's stream fails, nothing is applied and the error wraps
// the stream's.
func (s *Store) Push(ctx context.Context, in PushInput) ([]schema.MutationResult, error) {
	src := in.Stream
	capacity := 64
	if src == nil {
		src = &sliceStream{muts: in.Request.Mutations}
		capacity = len(in.Request.Mutations)
	}
	results := make([]schema.MutationResult, 0, capacity)
	var squad int64
	if in.SquadID != nil {
		squad = *in.SquadID
	}
	donePreparing := s.preparingPush()
	first, more := readChunk(src, chunkSizes[0])
	var setup pushSetup
	ready, stop := make(chan struct{}), make(chan struct{})
	chunks := make(chan *mutationChunk, chunkQueue)
	if more {
		prepared := make(chan struct{})
		go func() {
			defer close(prepared)
			defer donePreparing()
			s.prepareMutations(ctx, src, &in, squad, ready, &setup, chunks, stop)
		}()
		defer func() {
			close(stop)
			<-prepared
		}()
	} else {
		close(chunks)
		donePreparing()
	}
	// Statements run without the request's cancellation: the driver would
	// start a watcher for each. The transaction itself still ends with the
	// request, and cancellation is checked between chunks.
	wctx := context.WithoutCancel(ctx)
	err := s.writeTx(ctx, func(w *writer) error {
		b := &pushBatch{writer: w, s: s, in: in, squad: squad, venues: map[string]*venueRow{}, squads: map[string]venueSquad{},
			leftAt: map[string]time.Time{}, restamps: map[string]string{}, existing: make(map[string]*inspectionRow, batchHint),
			applied: make(map[string]appliedMutation, batchHint), appliedAt: schema.FormatTime(w.now),
			pusher: schema.Pusher{DeviceID: in.DeviceID, UserID: in.UserID, Squad: squad, InSquad: in.SquadID != nil, ReceivedAt: in.ReceivedAt, Now: w.now}}
		var err error
		if b.checklists, err = s.checklistSet(wctx, w.tx); err != nil {
			return err
		}
		setup = pushSetup{lookup: b.checklists, now: w.nowText()}
		b.deviceArg, b.appliedAtArg = in.DeviceID, b.appliedAt
		close(ready)
		// The first chunk is prepared and looked up here, in the write
		// transaction, while the preparing goroutine starts on the next.
		pr := newPreparer(&in, squad, &setup)
		for i := range first.muts {
			pr.prepare(&first.muts[i])
		}
		loader := txChunkLoader(w.tx, w.stmts, squad) // never closed: the writer owns w.tx
		if first.lookups, err = loader.load(wctx, first.muts); err != nil {
			return err
		}
		for c := first; c != nil; c = <-chunks {
			if c.err != nil {
				return c.err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			b.merge(c.lookups)
			for i := range c.muts {
				r, err := b.apply(wctx, &c.muts[i])
				if err != nil {
					return err
				}
				results = append(results, r)
			}
		}
		if err := b.flush(wctx); err != nil {
			return err
		}
		if in.Clock != nil {
			return recordClockSample(wctx, w.tx, *in.Clock)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: push from device %s: %w", in.DeviceID, err)
	}
	s.kickCheckpoint()
	return results, nil
}

// queueInspection inserts a new inspection row, or queues it to be
// inserted with others in one statement. Until the queue is flushed the
// row exists only in b.existing, so anything that touches stored
// inspections flushes first.
func (b *pushBatch) queueInspection(ctx context.Context, p *preparedMutation, row *inspectionRow) error {
	for _, it := range row.Items {
		if len(it.Photos) > 0 {
			// Its photo rows refer to the inspection row: write it now.
			if err := b.flush(ctx); err != nil {
				return err
			}
			return b.insertInspection(ctx, row)
		}
	}
	if p.args == nil {
		var err error
		if b.inspQueue, err = b.inspectionInsertArgs(ctx, b.inspQueue, row); err != nil {
			return err
		}
	} else {
		// The preparer made the arguments; fill in what the writer decided.
		seq, err := b.seq.nextSeq(ctx)
		if err != nil {
			return err
		}
		row.Seq = seq
		p.args[insertArgHLC] = row.HLC
		p.args[insertArgTimeSuspect] = boolInt(row.TimeSuspect)
		p.args[insertArgSeq] = seq
		b.inspQueue = append(b.inspQueue, p.args...)
	}
	if len(b.inspQueue) == insertGroup*inspectionArgs {
		return b.flushInspections(ctx)
	}
	return nil
}

func (b *pushBatch) flushInspections(ctx context.Context) error {
	n := len(b.inspQueue) / inspectionArgs
	if n == 0 {
		return nil
	}
	q := inspectionInsertGroup
	if n != insertGroup {
		q = multiRow(inspectionInsertHead, inspectionInsertRow, n)
	}
	if _, err := b.exec(ctx, q, b.inspQueue...); err != nil {
		return fmt.Errorf("insert %d inspections from %s: %w", n, b.inspQueue[0], err)
	}
	clear(b.inspQueue)
	b.inspQueue = b.inspQueue[:0]
	return nil
}

// queueApplied records the answer to a mutation, in groups.
func (b *pushBatch) queueApplied(ctx context.Context, args ...any) error {
	b.appliedQueue = append(b.appliedQueue, args...)
	if len(b.appliedQueue) == insertGroup*appliedArgs {
		return b.flushApplied(ctx)
	}
	return nil
}

func (b *pushBatch) flushApplied(ctx context.Context) error {
	n := len(b.appliedQueue) / appliedArgs
	if n == 0 {
		return nil
	}
	q := appliedInsertGroup
	if n != insertGroup {
		q = multiRow(appliedInsertHead, appliedInsertRow, n)
	}
	if _, err := b.exec(ctx, q, b.appliedQueue...); err != nil {
		return fmt.Errorf("record mutations from %s: %w", b.appliedQueue[0], err)
	}
	clear(b.appliedQueue)
	b.appliedQueue = b.appliedQueue[:0]
	return nil
}

// flush writes every queued row.
func (b *pushBatch) flush(ctx context.Context) error {
	if err := b.flushInspections(ctx); err != nil {
		return err
	}
	return b.flushApplied(ctx)
}

func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// apply answers one mutation and records the answer.
func (b *pushBatch) apply(ctx context.Context, p *preparedMutation) (schema.MutationResult, error) {
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
	if err := b.queueApplied(ctx, p.idArg, b.deviceArg, kindArg(m.Kind), outcomeArg(res.Outcome), string(res.Code), res.Reason,
		res.ConflictID, b.appliedAtArg); err != nil {
		return res, err
	}
	b.applied[m.ID] = appliedMutation{DeviceID: b.in.DeviceID, UserID: b.in.UserID, Outcome: res.Outcome, Code: res.Code, Reason: res.Reason, ConflictID: res.ConflictID}
	return res, nil
}

// Arguments for the common kinds and outcomes, boxed once.
var (
	kindArgs    = map[string]any{schema.MutInspectionUpsert: schema.MutInspectionUpsert, schema.MutVenueCreate: schema.MutVenueCreate, schema.MutVenueUpdate: schema.MutVenueUpdate}
	outcomeArgs = map[string]any{schema.OutcomeApplied: schema.OutcomeApplied, schema.OutcomeConflict: schema.OutcomeConflict, schema.OutcomeRejected: schema.OutcomeRejected}
)

// kindArg is the kind column of a mutation's answer.
func kindArg(kind string) any {
	if a, ok := kindArgs[kind]; ok {
		return a
	}
	return truncateRunes(kind, 40)
}

func outcomeArg(outcome string) any {
	if a, ok := outcomeArgs[outcome]; ok {
		return a
	}
	return outcome
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// decide applies one new mutation by the rules of package schema. Errors
// returned are server faults that abort the batch; everything the device
// got wrong is a rejected result.
func (b *pushBatch) decide(ctx context.Context, p *preparedMutation) (schema.MutationResult, error) {
	m := &p.m
	if r, refused := schema.Refusal(m, p.invalid, b.pusher); refused {
		return r, nil
	}
	hlc, restamped, err := b.intakeHLC(ctx, m.HLC)
	if err != nil {
		return schema.MutationResult{}, err
	}
	if m.Kind != schema.MutInspectionUpsert {
		// Venue writes are rare: keep every write in mutation order.
		if err := b.flush(ctx); err != nil {
			return schema.MutationResult{}, err
		}
	}
	var d schema.Decision
	switch m.Kind {
	case schema.MutVenueCreate:
		d = schema.DecideVenueCreate(m, b.pusher, b.storedVenue(m.Venue.ID), hlc)
	case schema.MutVenueUpdate:
		d = schema.DecideVenueUpdate(m, b.pusher, b.storedVenue(m.VenueUpdate.VenueID), hlc, lookupIn(b.restamps))
	default:
		var stored *schema.StoredInspection
		if old := b.existing[m.Inspection.ID]; old != nil {
			stored = &schema.StoredInspection{Inspection: old.Inspection, AuthorID: old.AuthorID}
		}
		d = schema.DecideInspection(m, b.pusher, b.venueSquad(m.Inspection.VenueID), stored, hlc, restamped)
	}
	return b.carryOut(ctx, p, d)
}

// storedVenue is the venue the batch knows under id, nil if none.
func (b *pushBatch) storedVenue(id string) *schema.Venue {
	if v := b.venues[id]; v != nil {
		return &v.Venue
	}
	return nil
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
		res, err := b.exec(ctx, `INSERT OR IGNORE INTO hlc_restamps (original, replacement, device_id, at) VALUES (?, ?, ?, ?)`,
			s, r, b.in.DeviceID, schema.FormatTime(b.now))
		if err != nil {
			return "", false, fmt.Errorf("record restamp of %s: %w", s, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			b.restamps[s] = r
		}
		return r, true, nil
	}
	b.s.clock.Observe(h)
	return s, false, nil
}

// carryOut writes what a decision says: its conflicts, then its record,
// and returns the answer naming the first conflict.
func (b *pushBatch) carryOut(ctx context.Context, p *preparedMutation, d schema.Decision) (schema.MutationResult, error) {
	res := d.Result
	ids, err := b.writeConflicts(ctx, d.Conflicts, Actor{MutationID: p.m.ID, DeviceID: b.in.DeviceID})
	if err != nil {
		return res, err
	}
	if len(ids) > 0 {
		res.ConflictID = ids[0]
	}
	switch {
	case d.Effect == schema.EffectNone:
	case d.Venue != nil:
		row := &venueRow{Venue: *d.Venue}
		if d.Effect == schema.EffectInsert {
			err = b.insertVenue(ctx, row)
		} else {
			err = b.saveVenueFields(ctx, row)
		}
		b.venues[row.ID] = row
	case d.Effect == schema.EffectInsert:
		row := &inspectionRow{Inspection: *d.Inspection, AuthorID: b.in.UserID, cols: p.cols}
		err = b.queueInspection(ctx, p, row)
		b.existing[row.ID] = row
	default:
		// What follows rewrites the stored row.
		if err := b.flush(ctx); err != nil {
			return res, err
		}
		row := &inspectionRow{Inspection: *d.Inspection, AuthorID: b.in.UserID}
		err = b.replaceInspection(ctx, row)
		b.existing[row.ID] = row
	}
	return res, err
}
