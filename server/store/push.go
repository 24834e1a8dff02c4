package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Limits of plausibility for device-made times.
const (
	// MaxHLCLead is how far a mutation's HLC may run ahead of the server
	// clock before the server restamps it: a device clock hours ahead must
	// not win every future merge.
	MaxHLCLead = 5 * time.Minute
	// MaxInspectionAge is how old a pushed inspection's start may be before
	// its times are flagged as suspect.
	MaxInspectionAge = 400 * 24 * time.Hour
	// ReassignmentGrace is how long after a venue left a squad that squad's
	// devices may still deliver inspections of it (work done before the move).
	ReassignmentGrace = 30 * 24 * time.Hour
)

// PushInput is one push batch from an authenticated device.
type PushInput struct {
	DeviceID   string
	UserID     string
	SquadID    *int64
	Request    *schema.PushRequest
	ReceivedAt time.Time
	// Clock, when set, is recorded in the same transaction as the batch.
	Clock *ClockSample
}

// pushBatch is the state of one push transaction: the writer and per-batch
// caches loaded in bulk before the mutations are applied in order.
type pushBatch struct {
	*writer
	s          *Store
	in         PushInput
	squad      int64
	venues     map[string]*venueRow       // nil value: looked up, unknown
	recent     map[string]bool            // venues this squad left within the grace period
	existing   map[string]*inspectionRow  // inspections already on the server
	applied    map[string]appliedMutation // answers recorded earlier
	checklists schema.ChecklistLookup
}

type appliedMutation struct {
	DeviceID, Outcome, Code, Reason, ConflictID string
}

// Push applies a batch of device mutations in one write transaction and
// answers each: applied, duplicate, conflict or rejected. Every answer
// except a duplicate is recorded with the mutation id in that same
// transaction, so a replay of any batch, in any order, is answered the same
// and changes nothing. The transaction commits durably before Push returns.
func (s *Store) Push(ctx context.Context, in PushInput) ([]schema.MutationResult, error) {
	results := make([]schema.MutationResult, len(in.Request.Mutations))
	err := s.writeTx(ctx, func(w *writer) error {
		b := &pushBatch{writer: w, s: s, in: in, venues: map[string]*venueRow{}, recent: map[string]bool{},
			existing: map[string]*inspectionRow{}, applied: map[string]appliedMutation{}, checklists: s.checklistLookup(ctx, w.tx)}
		if in.SquadID != nil {
			b.squad = *in.SquadID
		}
		if err := b.preload(ctx); err != nil {
			return err
		}
		for i := range in.Request.Mutations {
			r, err := b.apply(ctx, &in.Request.Mutations[i])
			if err != nil {
				return err
			}
			results[i] = r
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

// preload fetches, with one query per table and IN-list chunk, every row the
// batch will look at: earlier answers, venues and existing inspections.
func (b *pushBatch) preload(ctx context.Context) error {
	muts := b.in.Request.Mutations
	ids := make([]string, 0, len(muts))
	var venueIDs, inspIDs []string
	for i := range muts {
		m := &muts[i]
		ids = append(ids, m.ID)
		switch {
		case m.Venue != nil:
			venueIDs = append(venueIDs, m.Venue.ID)
		case m.VenueUpdate != nil:
			venueIDs = append(venueIDs, m.VenueUpdate.VenueID)
		case m.Inspection != nil:
			venueIDs = append(venueIDs, m.Inspection.VenueID)
			inspIDs = append(inspIDs, m.Inspection.ID)
		}
	}
	err := inChunks(ids, func(chunk []any) error {
		rows, err := b.tx.QueryContext(ctx, `SELECT id, device_id, outcome, code, reason, conflict_id FROM applied_mutations
			WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var a appliedMutation
			if err := rows.Scan(&id, &a.DeviceID, &a.Outcome, &a.Code, &a.Reason, &a.ConflictID); err != nil {
				return err
			}
			b.applied[id] = a
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("load applied mutations: %w", err)
	}
	err = inChunks(dedupe(venueIDs), func(chunk []any) error {
		rows, err := b.tx.QueryContext(ctx, `SELECT `+venueCols+` FROM venues WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVenue(rows)
			if err != nil {
				return err
			}
			b.venues[v.ID] = v
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("load venues: %w", err)
	}
	var foreign []string
	for _, id := range dedupe(venueIDs) {
		if v := b.venues[id]; v != nil && v.SquadID != b.squad {
			foreign = append(foreign, id)
		}
	}
	cutoff := schema.FormatTime(b.now.Add(-ReassignmentGrace))
	err = inChunks(foreign, func(chunk []any) error {
		args := append([]any{b.squad, cutoff}, chunk...)
		rows, err := b.tx.QueryContext(ctx, `SELECT venue_id FROM venue_squad_history WHERE squad_id = ? AND to_at >= ?
			AND venue_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			b.recent[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("load venue history: %w", err)
	}
	err = inChunks(dedupe(inspIDs), func(chunk []any) error {
		rows, err := b.tx.QueryContext(ctx, `SELECT `+inspectionCols+` FROM inspections WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanInspection(rows)
			if err != nil {
				return err
			}
			b.existing[r.ID] = r
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("load inspections: %w", err)
	}
	return nil
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
func (b *pushBatch) apply(ctx context.Context, m *schema.Mutation) (schema.MutationResult, error) {
	if a, ok := b.applied[m.ID]; ok {
		if a.DeviceID != b.in.DeviceID {
			return reject(m.ID, schema.CodeConflict, fmt.Sprintf("mutation id %s was already used by another device; make a new id", m.ID)), nil
		}
		return schema.MutationResult{ID: m.ID, Outcome: schema.OutcomeDuplicate, Original: a.Outcome, Code: schema.Code(a.Code),
			Reason: a.Reason, ConflictID: a.ConflictID}, nil
	}
	if err := schema.ValidUUID7(m.ID); err != nil {
		// Not recorded: without a usable id there is nothing to replay against.
		return reject(m.ID, schema.CodeInvalid, "mutation id: "+err.Error()), nil
	}
	res, err := b.decide(ctx, m)
	if err != nil {
		return res, err
	}
	_, err = b.exec(ctx, `INSERT INTO applied_mutations (id, device_id, kind, outcome, code, reason, conflict_id, applied_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, b.in.DeviceID, truncateRunes(m.Kind, 40), res.Outcome, string(res.Code), res.Reason,
		res.ConflictID, schema.FormatTime(b.now))
	if err != nil {
		return res, fmt.Errorf("record mutation %s: %w", m.ID, err)
	}
	b.applied[m.ID] = appliedMutation{DeviceID: b.in.DeviceID, Outcome: res.Outcome, Code: string(res.Code), Reason: res.Reason, ConflictID: res.ConflictID}
	return res, nil
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
func (b *pushBatch) decide(ctx context.Context, m *schema.Mutation) (schema.MutationResult, error) {
	if err := schema.ValidateMutation(m, b.checklists); err != nil {
		se, ok := err.(*schema.Error)
		if !ok {
			se = schema.Errorf(schema.CodeInvalid, "%v", err)
		}
		return rejectErr(m.ID, se), nil
	}
	if b.in.SquadID == nil {
		return reject(m.ID, schema.CodeForbidden, "your account belongs to no squad; ask an admin to assign one"), nil
	}
	hlc, restamped := b.intakeHLC(m.HLC)
	switch m.Kind {
	case schema.MutVenueCreate:
		return b.venueCreate(ctx, m, hlc)
	case schema.MutVenueUpdate:
		return b.venueUpdate(ctx, m, hlc)
	default:
		return b.inspectionUpsert(ctx, m, hlc, restamped)
	}
}

// intakeHLC accepts a device HLC into the server clock, or restamps it with
// the server's own when it runs too far ahead of the server.
func (b *pushBatch) intakeHLC(s string) (string, bool) {
	h, err := schema.ParseHLC(s)
	if err != nil {
		return b.s.clock.Tick().String(), true
	}
	if h.Time().After(b.s.now().Add(MaxHLCLead)) {
		return b.s.clock.Tick().String(), true
	}
	b.s.clock.Observe(h)
	return s, false
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

func (b *pushBatch) inspectionUpsert(ctx context.Context, m *schema.Mutation, hlc string, restamped bool) (schema.MutationResult, error) {
	in := m.Inspection
	v := b.venues[in.VenueID]
	if v == nil {
		return reject(m.ID, schema.CodeNotFound, fmt.Sprintf("venue %s unknown to the server; its venue.create must be pushed first", in.VenueID)), nil
	}
	if v.SquadID != b.squad && !b.recent[v.ID] {
		return reject(m.ID, schema.CodeForbidden, fmt.Sprintf("venue %s is not in your squad", v.ID)), nil
	}
	suspect := restamped || in.StartedAt.After(b.in.ReceivedAt.Add(MaxHLCLead)) || in.StartedAt.Before(b.in.ReceivedAt.Add(-MaxInspectionAge)) ||
		(in.FinishedAt != nil && in.FinishedAt.Before(in.StartedAt))
	row := &inspectionRow{Inspection: *in, AuthorID: b.in.UserID}
	row.SquadID = b.squad
	row.DeviceID = b.in.DeviceID
	row.HLC = hlc
	row.TimeSuspect = suspect
	row.Review = nil
	old := b.existing[in.ID]
	if old == nil {
		if err := b.insertInspection(ctx, row); err != nil {
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
