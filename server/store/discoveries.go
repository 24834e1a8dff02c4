package store

import (
	"context"
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
