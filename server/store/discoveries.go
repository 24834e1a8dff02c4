package store

import (
	"context"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Discoveries are the venues devices recorded in the field (black cafés
// above all) as their squad's leader takes them into the ledger: each
// waits as pending until it is confirmed, or merged into a venue already
// known. Both decisions are audited, bump the venues' seqs so that devices
// receive them, and are answered the same when retried.
type Discoveries interface {
	// Discoveries lists field-discovered venues the filter selects, oldest
	// found first, each with its finder, standing violations, the photos
	// of its inspections and the squad's venues it may be merged into.
	Discoveries(ctx context.Context, f DiscoveryFilter) ([]schema.Discovery, error)
	// Discovery returns one field-discovered venue the scope covers as
	// Discoveries shows it (one it does not cover is not found).
	Discovery(ctx context.Context, id string, scope schema.Scope) (schema.Discovery, error)
	// ConfirmVenue confirms a pending discovery the scope covers, by the
	// named leader (schema.CheckConfirm); one confirmed already is
	// answered as it stands.
	ConfirmVenue(ctx context.Context, id, by string, scope schema.Scope) (schema.Discovery, error)
	// MergeVenue merges venue dup into venue into (schema.CheckMerge) in
	// one transaction: every inspection, finding, zone violation and
	// conflict of dup is re-pointed to into, into takes the fields it
	// lacks (schema.MergeVenueFields), dup is deleted with merged_into,
	// both venues are audited, and the seqs of everything moved are
	// bumped. A venue neither of whose two the scope covers is not found;
	// the same merge retried is answered as it stands.
	MergeVenue(ctx context.Context, dup, into, by string, scope schema.Scope) (schema.MergeResult, error)
}

// DiscoveryFilter selects discoveries: of a squad (nil: every squad) in a
// state (schema.DiscoveryPending when "").
type DiscoveryFilter struct {
	SquadID *int64
	State   string
	Limit   int // 0: 200; at most 1000
}

// DiscoveryLimit is f.Limit clamped.
func (f DiscoveryFilter) DiscoveryLimit() int {
	switch {
	case f.Limit <= 0:
		return 200
	case f.Limit > 1000:
		return 1000
	}
	return f.Limit
}

// Audit actions of merges and confirmations are schema.AuditDiscoveryConfirm,
// schema.AuditMergedInto and schema.AuditMergeAbsorb (entity kind venue).

// DiscoveryRow is a field-discovered venue as an adapter reads it, before
// AssembleDiscoveries adds what other reads know of it.
type DiscoveryRow struct {
	Venue     schema.Venue
	State     string
	DecidedBy string
	DecidedAt string // as stored; "" before a decision
	FoundAt   string // as stored
}

// DiscoveryReader is the reads AssembleDiscoveries makes; every Store is one.
type DiscoveryReader interface {
	DeviceOwner(ctx context.Context, deviceID string) (User, error)
	ZoneViolations(ctx context.Context, f ZoneViolationFilter) ([]schema.ZoneViolation, error)
	ListInspections(ctx context.Context, f InspectionFilter) ([]schema.Inspection, error)
	ListVenues(ctx context.Context, f VenueFilter) ([]schema.Venue, error)
}

// AssembleDiscoveries completes the rows an adapter read: the finder (the
// owner of the device that recorded the venue), the venue's standing zone
// violations, the photos of its inspections (newest inspection first, each
// photo once) and the squad's standing venues it may be merged into. It
// is shared by the adapters so that both show a discovery alike.
func AssembleDiscoveries(ctx context.Context, r DiscoveryReader, rows []DiscoveryRow) ([]schema.Discovery, error) {
	out := make([]schema.Discovery, 0, len(rows))
	squadVenues := map[int64][]schema.Venue{}
	for _, row := range rows {
		v := row.Venue
		d := schema.Discovery{Venue: v, State: row.State, DecidedBy: row.DecidedBy, FoundAt: storedTime(row.FoundAt),
			Violations: []schema.ZoneViolation{}, Photos: []schema.PhotoRef{}, Inspections: []string{}, Nearby: []schema.NearbyVenue{}}
		if row.DecidedAt != "" {
			t := storedTime(row.DecidedAt)
			d.DecidedAt = &t
		}
		if u, err := r.DeviceOwner(ctx, v.CreatedBy); err == nil {
			d.FoundBy, d.FoundByName = u.Username, u.DisplayName
		} else if schema.ErrorCode(err) != schema.CodeNotFound {
			return nil, err
		}
		zv, err := r.ZoneViolations(ctx, ZoneViolationFilter{VenueID: v.ID})
		if err != nil {
			return nil, err
		}
		d.Violations = append(d.Violations, zv...)
		ins, err := r.ListInspections(ctx, InspectionFilter{VenueID: v.ID, Limit: 20})
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, in := range ins {
			d.Inspections = append(d.Inspections, in.ID)
			for _, it := range in.Items {
				for _, p := range it.Photos {
					if !seen[p.SHA256] {
						seen[p.SHA256] = true
						d.Photos = append(d.Photos, p)
					}
				}
			}
		}
		if !v.Deleted {
			list, ok := squadVenues[v.SquadID]
			if !ok {
				sq := v.SquadID
				if list, err = r.ListVenues(ctx, VenueFilter{SquadID: &sq, Limit: 20000}); err != nil {
					return nil, err
				}
				squadVenues[v.SquadID] = list
			}
			d.Nearby = schema.NearbyVenues(v, list)
		}
		out = append(out, d)
	}
	return out, nil
}

// storedTime reads a time as the adapters store it; zero when unreadable.
func storedTime(s string) time.Time {
	t, _ := schema.ParseTime(s)
	return t
}

// DiscoveryWriter is what an adapter's write transaction offers
// ConfirmVenue and MergeVenue. Implementations hold no discovery logic,
// only their SQL.
type DiscoveryWriter interface {
	// DiscoveryVenue reads a venue and its discovery state ("" for the
	// register's venues); not found: schema.CodeNotFound.
	DiscoveryVenue(ctx context.Context, id string) (v schema.Venue, discovery string, err error)
	// ConfirmDiscovery sets a venue's discovery state to confirmed, by by, now.
	ConfirmDiscovery(ctx context.Context, id, by string) error
	// Clock is the store's hybrid logical clock.
	Clock() *schema.Clock
	// WriteConflicts records the conflicts of a field merge.
	WriteConflicts(ctx context.Context, cs []schema.ConflictDecision, actor Actor) error
	// MoveVenueRecords moves the duplicate's inspections, findings, zone
	// violations (clearing those the survivor already has of a school)
	// and conflicts to the survivor, points earlier merges at the survivor
	// and marks the duplicate deleted and merged, all with one new seq.
	MoveVenueRecords(ctx context.Context, dup, into schema.Venue, by string) error
	// SaveVenueFields writes a venue's mergeable fields and clocks with a
	// new seq; v is updated to what it becomes.
	SaveVenueFields(ctx context.Context, v *schema.Venue) error
	// Audit appends an audit entry in the transaction.
	Audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error
	// EvaluateZones re-evaluates the venues' zones (EvaluateZones).
	EvaluateZones(ctx context.Context, why string, venues ...schema.Venue) error
}

// ConfirmVenue confirms a pending discovery the scope covers inside the
// caller's write transaction (Discoveries.ConfirmVenue), audited there.
func ConfirmVenue(ctx context.Context, w DiscoveryWriter, id, by string, scope schema.Scope) error {
	v, discovery, err := w.DiscoveryVenue(ctx, id)
	if err != nil {
		return err
	}
	if !scope.Covers(v.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "%s %s not found", "venue", id)
	}
	change, err := schema.CheckConfirm(v, discovery)
	if err != nil || !change {
		return err
	}
	if err := w.ConfirmDiscovery(ctx, id, by); err != nil {
		return fmt.Errorf("confirm venue %s: %w", id, err)
	}
	return w.Audit(ctx, schema.AuditVenue, id, &v.SquadID, schema.AuditDiscoveryConfirm, discovery, schema.DiscoveryConfirmed,
		fmt.Sprintf("field discovery confirmed by %s (licensed: %t)", by, v.Licensed))
}

// MergeVenue merges venue dupID into intoID inside the caller's write
// transaction (Discoveries.MergeVenue), when schema.CheckMerge allows it;
// merging a duplicate again changes nothing. It answers both venues as
// they are afterwards.
func MergeVenue(ctx context.Context, w DiscoveryWriter, dupID, intoID, by string, scope schema.Scope) (schema.MergeResult, error) {
	dup, discovery, err := w.DiscoveryVenue(ctx, dupID)
	if err != nil {
		return schema.MergeResult{}, err
	}
	if !scope.Covers(dup.SquadID) {
		return schema.MergeResult{}, schema.Errorf(schema.CodeNotFound, "%s %s not found", "venue", dupID)
	}
	into, _, err := w.DiscoveryVenue(ctx, intoID)
	if err != nil {
		return schema.MergeResult{}, err
	}
	if !scope.Covers(into.SquadID) {
		return schema.MergeResult{}, schema.Errorf(schema.CodeNotFound, "%s %s not found", "venue", intoID)
	}
	again, err := schema.CheckMerge(dup, into, scope)
	if err != nil {
		return schema.MergeResult{}, err
	}
	if !again {
		if err := mergeVenue(ctx, w, dup, discovery, into, by); err != nil {
			return schema.MergeResult{}, err
		}
	}
	if dup, _, err = w.DiscoveryVenue(ctx, dupID); err != nil {
		return schema.MergeResult{}, err
	}
	if into, _, err = w.DiscoveryVenue(ctx, intoID); err != nil {
		return schema.MergeResult{}, err
	}
	return schema.MergeResult{Survivor: into, Duplicate: dup}, nil
}

// mergeVenue carries out a merge CheckMerge allowed.
func mergeVenue(ctx context.Context, w DiscoveryWriter, dup schema.Venue, discovery string, into schema.Venue, by string) error {
	clock := w.Clock()
	for _, c := range into.Clocks {
		if h, err := schema.ParseHLC(c); err == nil {
			clock.Observe(h)
		}
	}
	vm := schema.MergeVenueFields(into, dup, clock.Tick().String())
	if err := w.WriteConflicts(ctx, vm.Conflicts, Actor{MutationID: "merge:" + dup.ID, DeviceID: "server:" + by}); err != nil {
		return err
	}
	if err := w.MoveVenueRecords(ctx, dup, into, by); err != nil {
		return fmt.Errorf("merge venue %s: %w", dup.ID, err)
	}
	into = vm.Venue
	// The survivor's seq moves even when no field did: devices of its
	// squad then hold it beside the removal of the duplicate.
	if err := w.SaveVenueFields(ctx, &into); err != nil {
		return err
	}
	if err := w.Audit(ctx, schema.AuditVenue, dup.ID, &dup.SquadID, schema.AuditMergedInto, mergeFrom(discovery), "merged_into:"+into.ID,
		fmt.Sprintf("merged by %s into %q (%s): its inspections, findings and zone violations are that venue's now", by, into.Name, into.ID)); err != nil {
		return err
	}
	if err := w.Audit(ctx, schema.AuditVenue, into.ID, &into.SquadID, schema.AuditMergeAbsorb, "", "absorbed:"+dup.ID,
		fmt.Sprintf("took over by %s the records of %q (%s), found in the field by device %s", by, dup.Name, dup.ID, dup.CreatedBy)); err != nil {
		return err
	}
	return w.EvaluateZones(ctx, "", into)
}

// mergeFrom is the state a merged duplicate leaves, for the audit entry.
func mergeFrom(discovery string) string {
	if discovery == "" {
		return "active"
	}
	return discovery
}
