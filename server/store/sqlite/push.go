package sqlite

import (
	"context"
	"fmt"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// A push runs in one write transaction, a chunk of mutations at a time:
// the chunk is read from the stream and validated, the rows its mutations
// name are looked up together (pushload.go), and each mutation is decided
// by the rules of package schema and its decision carried out here. New
// rows wait in queues and are inserted many to a statement.

// chunkSize is how many mutations are looked up together.
const chunkSize = 128

// answerGroup is how many answers one INSERT statement of a push records.
const answerGroup = 16

// pushBatch is the state of one push transaction: what the rules need of
// the rows the push names, looked up a chunk at a time and kept current as
// the push writes, and the rows waiting to be inserted.
type pushBatch struct {
	*writer
	s          *Store
	in         PushInput
	pusher     schema.Pusher
	checklists schema.ChecklistLookup
	known      // pushload.go
	// Rows waiting to be inserted.
	queued  inspectionQueues
	answerQ *rowQueue
	// links are the complaints the push's inspections investigate,
	// written once the inspections' rows are (linkComplaints).
	links []store.ComplaintLink
	// Arguments of every applied_mutations row, boxed once.
	deviceArg, appliedAtArg any
}

// pushed is one mutation of a push with what validation said of it.
type pushed struct {
	m       schema.Mutation
	invalid error
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
	if src == nil {
		src = &sliceStream{muts: in.Request.Mutations}
	}
	var results []schema.MutationResult
	// Statements run without the request's cancellation: the driver would
	// start a watcher for each. The transaction itself still ends with the
	// request, and cancellation is checked between chunks.
	wctx := context.WithoutCancel(ctx)
	err := s.writeTx(ctx, func(w *writer) error {
		b, err := s.newPushBatch(wctx, w, in)
		if err != nil {
			return err
		}
		chunk := make([]pushed, 0, chunkSize)
		for more := true; more; {
			if chunk, more, err = readChunk(src, chunk[:0]); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			for i := range chunk {
				chunk[i].invalid = schema.ValidateMutation(&chunk[i].m, b.checklists)
			}
			if err := b.load(wctx, chunk); err != nil {
				return err
			}
			for i := range chunk {
				r, err := b.apply(wctx, &chunk[i])
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

func (s *Store) newPushBatch(ctx context.Context, w *writer, in PushInput) (*pushBatch, error) {
	var squad int64
	if in.SquadID != nil {
		squad = *in.SquadID
	}
	b := &pushBatch{writer: w, s: s, in: in, known: newKnown(),
		pusher: schema.Pusher{DeviceID: in.DeviceID, UserID: in.UserID, Squad: squad, InSquad: in.SquadID != nil,
			ReceivedAt: in.ReceivedAt, Now: w.now},
		queued: newInspectionQueues(), answerQ: newRowQueue(answerInsertHead, answerInsertRow, answerGroup),
		deviceArg: in.DeviceID, appliedAtArg: w.nowText()}
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
func readChunk(src MutationStream, chunk []pushed) (_ []pushed, more bool, err error) {
	for len(chunk) < chunkSize {
		chunk = append(chunk, pushed{})
		ok, err := src.Next(&chunk[len(chunk)-1].m)
		if err != nil || !ok {
			return chunk[:len(chunk)-1], false, err
		}
	}
	return chunk, true, nil
}

// answerInsertHead and answerInsertRow make the statement that records
// answers, one VALUES row each (OR FAIL: see inspectionInsertHead).
const (
	answerInsertHead = `INSERT OR FAIL INTO applied_mutations (id, device_id, kind, outcome, code, reason, conflict_id, applied_at) VALUES `
	answerInsertRow  = `(?, ?, ?, ?, ?, ?, ?, ?)`
)

// apply answers one mutation and records the answer.
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
	if b.answerQ.add(m.ID, b.deviceArg, kindArg(m.Kind), outcomeArg(res.Outcome), string(res.Code), res.Reason, res.ConflictID, b.appliedAtArg) {
		if err := b.answerQ.flush(ctx, b.writer); err != nil {
			return res, fmt.Errorf("record mutations from %s: %w", b.in.DeviceID, err)
		}
	}
	b.applied[m.ID] = schema.RecordedAnswer{DeviceID: b.in.DeviceID, UserID: b.in.UserID, Outcome: res.Outcome, Code: res.Code,
		Reason: res.Reason, ConflictID: res.ConflictID}
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
		res, err := b.exec(ctx, `INSERT OR IGNORE INTO hlc_restamps (original, replacement, device_id, at) VALUES (?, ?, ?, ?)`,
			s, r, b.in.DeviceID, b.nowText())
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

// carryOut writes what a decision says, its conflicts and its record (an
// inspection with the claims to its photos), and returns the answer naming
// the first conflict. Venue writes are rare and go out at once;
// inspections wait in the queues (their seqs, given now, keep mutation
// order).
func (b *pushBatch) carryOut(ctx context.Context, m *schema.Mutation, d schema.Decision, claims map[string]string) (schema.MutationResult, error) {
	res := d.Result
	ids, err := b.writeConflicts(ctx, d.Conflicts, Actor{MutationID: m.ID, DeviceID: b.in.DeviceID})
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
		err = b.queueInspection(ctx, row, cl)
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

// queueInspection gives a new inspection its seq and queues its rows.
// Until the queues are flushed the inspection exists only in b.known.
func (b *pushBatch) queueInspection(ctx context.Context, r *inspectionRow, cl *schema.Checklist) error {
	seq, err := b.seq.nextSeq(ctx)
	if err != nil {
		return err
	}
	r.Seq = seq
	if b.queued.add(r, cl, b.nowText()) {
		return b.queued.flush(ctx, b.writer)
	}
	return nil
}

// flush writes every queued row.
func (b *pushBatch) flush(ctx context.Context) error {
	if err := b.queued.flush(ctx, b.writer); err != nil {
		return fmt.Errorf("from %s: %w", b.in.DeviceID, err)
	}
	if err := b.linkComplaints(ctx); err != nil {
		return fmt.Errorf("link complaints from %s: %w", b.in.DeviceID, err)
	}
	if err := b.answerQ.flush(ctx, b.writer); err != nil {
		return fmt.Errorf("record mutations from %s: %w", b.in.DeviceID, err)
	}
	return nil
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
