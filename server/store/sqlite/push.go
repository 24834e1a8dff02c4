package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

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
	recent     map[string]bool            // venues this squad left within the grace period
	existing   map[string]*inspectionRow  // inspections on the server; nil value: looked up, none
	applied    map[string]appliedMutation // answers recorded earlier
	checklists schema.ChecklistLookup
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

// venueSquadOf returns the squad of a venue the batch has looked up.
func (b *pushBatch) venueSquadOf(id string) (int64, bool) {
	if v, ok := b.venues[id]; ok {
		if v == nil {
			return 0, false
		}
		return v.SquadID, true
	}
	r := b.squads[id]
	return r.squad, r.found
}

type appliedMutation struct {
	DeviceID, UserID, Outcome, Code, Reason, ConflictID string
}

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
			recent: map[string]bool{}, existing: make(map[string]*inspectionRow, batchHint), applied: make(map[string]appliedMutation, batchHint),
			appliedAt: schema.FormatTime(w.now)}
		var err error
		if b.checklists, err = s.checklistSet(wctx, w.tx); err != nil {
			return err
		}
		setup = pushSetup{lookup: b.checklists, cutoff: schema.FormatTime(w.now.Add(-schema.ReassignmentGrace)), now: w.nowText()}
		b.deviceArg, b.appliedAtArg = in.DeviceID, b.appliedAt
		close(ready)
		// The first chunk is prepared and looked up here, in the write
		// transaction, while the preparing goroutine starts on the next.
		pr := newPreparer(&in, squad, &setup)
		for i := range first.muts {
			pr.prepare(&first.muts[i])
		}
		loader := txChunkLoader(w.tx, w.stmts, squad, setup.cutoff) // never closed: the writer owns w.tx
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
func (b *pushBatch) queueInspection(ctx context.Context, p *preparedMutation) error {
	row := p.row
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
		if row.HLC != p.m.HLC {
			p.args[insertArgHLC] = row.HLC
		}
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
		// The same device re-enrolled (a revoked token, a new code) keeps its
		// outbox, so its inspector's earlier device answers for it.
		if a.DeviceID != b.in.DeviceID && a.UserID != b.in.UserID {
			return reject(m.ID, schema.CodeConflict, fmt.Sprintf("mutation id %s was already used by another device; make a new id", m.ID)), nil
		}
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeDuplicate, Original: a.Outcome, Code: schema.Code(a.Code),
			Reason: a.Reason, ConflictID: a.ConflictID}, nil
	}
	if err := schema.ValidUUID7(m.ID); err != nil {
		// Not recorded: without a usable id there is nothing to replay against.
		return reject(m.ID, schema.CodeInvalid, "mutation id: "+err.Error()), nil
	}
	res, err := b.decide(ctx, p)
	if err != nil {
		return res, err
	}
	if err := b.queueApplied(ctx, p.idArg, b.deviceArg, kindArg(m.Kind), outcomeArg(res.Outcome), string(res.Code), res.Reason,
		res.ConflictID, b.appliedAtArg); err != nil {
		return res, err
	}
	b.applied[m.ID] = appliedMutation{DeviceID: b.in.DeviceID, UserID: b.in.UserID, Outcome: res.Outcome, Code: string(res.Code), Reason: res.Reason, ConflictID: res.ConflictID}
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

func reject(id string, code schema.Code, reason string) schema.MutationResult {
	return schema.MutationResult{ID: id, Outcome: schema.OutcomeRejected, Code: code, Reason: reason}
}

func rejectErr(id string, err *schema.Error) schema.MutationResult {
	return reject(id, err.Code, err.Message)
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// decide validates and applies one new mutation. Errors returned are
// server faults that abort the batch; everything the device got wrong is a
// rejected result.
func (b *pushBatch) decide(ctx context.Context, p *preparedMutation) (schema.MutationResult, error) {
	m := &p.m
	if err := p.invalid; err != nil {
		se, ok := err.(*schema.Error)
		if !ok {
			se = schema.Errorf(schema.CodeInvalid, "%v", err)
		}
		return rejectErr(m.ID, se), nil
	}
	if b.in.SquadID == nil {
		return reject(m.ID, schema.CodeForbidden, "your account belongs to no squad; ask an admin to assign one"), nil
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
	switch m.Kind {
	case schema.MutVenueCreate:
		return b.venueCreate(ctx, m, hlc)
	case schema.MutVenueUpdate:
		return b.venueUpdate(ctx, m, hlc)
	default:
		return b.inspectionUpsert(ctx, p, hlc, restamped)
	}
}

// intakeHLC accepts a device HLC into the server clock, or restamps it with
// the server's own when it runs too far ahead of the server.
func (b *pushBatch) intakeHLC(ctx context.Context, s string) (string, bool, error) {
	h, err := schema.ParseHLC(s)
	if err != nil {
		return b.s.clock.Tick().String(), true, nil
	}
	if h.Time().After(b.s.now().Add(schema.MaxHLCLead)) {
		r := b.s.clock.Tick().String()
		// Remember the replacement: the device names its own stamp as the
		// base of later edits of the same fields.
		if _, err := b.exec(ctx, `INSERT OR IGNORE INTO hlc_restamps (original, replacement, device_id, at) VALUES (?, ?, ?, ?)`,
			s, r, b.in.DeviceID, schema.FormatTime(b.now)); err != nil {
			return "", false, fmt.Errorf("record restamp of %s: %w", s, err)
		}
		return r, true, nil
	}
	b.s.clock.Observe(h)
	return s, false, nil
}

func (b *pushBatch) venueCreate(ctx context.Context, m *schema.Mutation, hlc string) (schema.MutationResult, error) {
	in := m.Venue
	if v, ok := b.venues[in.ID]; ok && v != nil {
		if v.CreatedBy == b.in.DeviceID {
			return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeApplied}, nil
		}
		return reject(m.ID, schema.CodeConflict, fmt.Sprintf("venue id %s already exists; make a new id", in.ID)), nil
	}
	row := &venueRow{Venue: *in}
	row.SquadID = b.squad
	row.CreatedBy = b.in.DeviceID
	row.Deleted = false
	if row.OpenState == "" {
		row.OpenState = schema.OpenStateOpen
	}
	row.Clocks = make(map[string]string, len(schema.VenueFields))
	for _, f := range schema.VenueFields {
		row.Clocks[f] = hlc
	}
	if err := b.insertVenue(ctx, row); err != nil {
		return schema.MutationResult{}, err
	}
	b.venues[row.ID] = row
	return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeApplied}, nil
}

func (b *pushBatch) venueUpdate(ctx context.Context, m *schema.Mutation, hlc string) (schema.MutationResult, error) {
	u := m.VenueUpdate
	v := b.venues[u.VenueID]
	if v == nil {
		return reject(m.ID, schema.CodeNotFound, fmt.Sprintf("venue %s is unknown to the server", u.VenueID)), nil
	}
	if v.SquadID != b.squad {
		return reject(m.ID, schema.CodeForbidden, fmt.Sprintf("venue %s is not in your squad", u.VenueID)), nil
	}
	if v.Deleted {
		dv := make(map[string]string, len(u.Fields))
		for f, e := range u.Fields {
			dv[f] = e.Value
		}
		body, _ := json.Marshal(dv)
		id, err := b.insertConflict(ctx, schema.Conflict{SquadID: v.SquadID, Kind: schema.ConflictEditOfDeleted, EntityKind: "venue",
			EntityID: v.ID, ServerValue: "deleted", DeviceValue: string(body), Winner: "server", MutationID: m.ID, DeviceID: b.in.DeviceID})
		if err != nil {
			return schema.MutationResult{}, err
		}
		sv := v.Venue
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeConflict, Code: schema.CodeGone,
			Reason:     fmt.Sprintf("venue %s was deleted on the server; the edit was kept as a conflict for your squad leader", v.ID),
			ConflictID: id, ServerVenue: &sv}, nil
	}
	res, err := b.mergeVenueFields(ctx, v, u.Fields, hlc, Actor{MutationID: m.ID, DeviceID: b.in.DeviceID})
	if err != nil {
		return schema.MutationResult{}, err
	}
	if len(res.Conflicts) > 0 {
		sv := v.Venue
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeConflict, Code: schema.CodeConflict,
			Reason:     fmt.Sprintf("%d field(s) of venue %s were edited concurrently; merged by clock and recorded", len(res.Conflicts), v.ID),
			ConflictID: res.Conflicts[0], ServerVenue: &sv}, nil
	}
	return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeApplied}, nil
}

func (b *pushBatch) inspectionUpsert(ctx context.Context, p *preparedMutation, hlc string, restamped bool) (schema.MutationResult, error) {
	m := &p.m
	in := m.Inspection
	squad, found := b.venueSquadOf(in.VenueID)
	if !found {
		return reject(m.ID, schema.CodeNotFound, fmt.Sprintf("venue %s unknown to the server; its venue.create must be pushed first", in.VenueID)), nil
	}
	if squad != b.squad && !b.recent[in.VenueID] {
		return reject(m.ID, schema.CodeForbidden, fmt.Sprintf("venue %s is not in your squad", in.VenueID)), nil
	}
	row := p.row // built by the preparer: the device's record as the server stores it
	row.HLC = hlc
	row.TimeSuspect = restamped || p.oddTime
	old := b.existing[in.ID]
	if old == nil {
		if err := b.queueInspection(ctx, p); err != nil {
			return schema.MutationResult{}, err
		}
		b.existing[row.ID] = row
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeApplied}, nil
	}
	if old.AuthorID != b.in.UserID {
		return reject(m.ID, schema.CodeForbidden, fmt.Sprintf("inspection %s belongs to another inspector", in.ID)), nil
	}
	if schema.CompareHLCStrings(hlc, old.HLC) <= 0 {
		// Same or older version than the server holds: nothing new to apply.
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeApplied}, nil
	}
	// What follows reads or rewrites the stored row.
	if err := b.flush(ctx); err != nil {
		return schema.MutationResult{}, err
	}
	if old.Review != nil {
		sv, _ := json.Marshal(old.Inspection)
		dv, _ := json.Marshal(in)
		id, err := b.insertConflict(ctx, schema.Conflict{SquadID: old.SquadID, Kind: schema.ConflictEditAfterReview, EntityKind: "inspection",
			EntityID: in.ID, ServerValue: string(sv), DeviceValue: string(dv), Winner: "server", MutationID: m.ID, DeviceID: b.in.DeviceID})
		if err != nil {
			return schema.MutationResult{}, err
		}
		si := old.Inspection
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeConflict, Code: schema.CodeConflict,
			Reason:     fmt.Sprintf("inspection %s was already reviewed (%s); the edit was kept as a conflict for your squad leader", in.ID, old.Review.Decision),
			ConflictID: id, ServerInspection: &si}, nil
	}
	if err := b.replaceInspection(ctx, row); err != nil {
		return schema.MutationResult{}, err
	}
	b.existing[row.ID] = row
	return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeApplied}, nil
}
