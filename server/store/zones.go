package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Zones are the school-perimeter rules and the violations they find. The
// store keeps violations current itself: every write that creates, edits,
// closes or moves a venue, changes a school or publishes a rule
// re-evaluates the venues it touches inside its own transaction
// (EvaluateZones), so a violation stands exactly while its cause does.
type Zones interface {
	// ZoneViolations lists violations, standing ones first by since, then
	// cleared ones newest cleared first.
	ZoneViolations(ctx context.Context, f ZoneViolationFilter) ([]schema.ZoneViolation, error)
	// ZoneRules lists the published rules by id.
	ZoneRules(ctx context.Context) ([]schema.ZoneRule, error)
	// PutZoneRule publishes a rule (new or replacing the one of its id,
	// schema.ValidateZoneRule) and re-evaluates every venue of the kinds
	// the old and the new rule cover, in the same transaction; devices
	// receive the rule with their next pull.
	PutZoneRule(ctx context.Context, r schema.ZoneRule) (schema.ZoneRule, error)
	// SchoolsIn lists the schools whose bounding box meets box (min lat,
	// min lng, max lat, max lng), by id: what a map of an area draws.
	SchoolsIn(ctx context.Context, box [4]float64) ([]schema.School, error)
	// SquadBounds returns a squad with its area.
	SquadBounds(ctx context.Context, id int64) (Squad, error)
	// RelocateVenue moves a venue the scope covers to a new position (a
	// surveyed correction: devices cannot edit positions), re-evaluating
	// its zones; the move is audited with both positions.
	RelocateVenue(ctx context.Context, id string, lat, lng float64, scope schema.Scope) (schema.Venue, error)
}

// ZoneViolationFilter selects violations.
type ZoneViolationFilter struct {
	SquadID        *int64
	VenueID        string
	IncludeCleared bool
	Limit          int // 0: 500; at most 5000
}

// ViolationLimit is f.Limit clamped.
func (f ZoneViolationFilter) ViolationLimit() int {
	switch {
	case f.Limit <= 0:
		return 500
	case f.Limit > 5000:
		return 5000
	}
	return f.Limit
}

// ZoneWriter is what an adapter's write transaction offers EvaluateZones:
// reads of the rules, schools and standing rows, and the writes of a
// decision. Implementations hold no zone logic.
type ZoneWriter interface {
	// ZoneRules reads every published rule.
	ZoneRules(ctx context.Context) ([]schema.ZoneRule, error)
	// SchoolsIn reads the schools whose box meets box; nil reads all.
	SchoolsIn(ctx context.Context, box *[4]float64) ([]schema.School, error)
	// SchoolsByID reads the schools of those ids that exist.
	SchoolsByID(ctx context.Context, ids []string) ([]schema.School, error)
	// StandingViolations reads a venue's rows not yet cleared.
	StandingViolations(ctx context.Context, venueID string) ([]schema.ZoneViolation, error)
	// FlagViolation inserts a new standing row.
	FlagViolation(ctx context.Context, v schema.ZoneViolation) error
	// UpdateViolation rewrites distance, rule and squad of a standing row.
	UpdateViolation(ctx context.Context, v schema.ZoneViolation) error
	// ClearViolation sets cleared_at and clear_reason of a standing row.
	ClearViolation(ctx context.Context, v schema.ZoneViolation) error
	// AuditVenue appends an audit entry about the venue in the transaction.
	AuditVenue(ctx context.Context, venueID string, squadID int64, action, from, to, reason string) error
}

// Audit actions of zone violations (entity kind venue).
const (
	AuditZoneFlag  = "zone_flag"
	AuditZoneClear = "zone_clear"
)

// EvaluateZones re-evaluates venues inside the caller's write transaction:
// it reads the rules and the schools that can reach the venues once, lets
// schema.ZoneCheck decide, and writes and audits the decision. why names
// the cause of a clear that is not the venue's own ("rule changed",
// "school changed"); "" for a venue's own write.
func EvaluateZones(ctx context.Context, zw ZoneWriter, venues []schema.Venue, why string, now time.Time) error {
	if len(venues) == 0 {
		return nil
	}
	rules, err := zw.ZoneRules(ctx)
	if err != nil {
		return fmt.Errorf("zones: rules: %w", err)
	}
	box := zoneBox(venues, schema.MaxZoneDistance(rules))
	var schools []schema.School
	if len(venues) > 1 {
		schools, err = zw.SchoolsIn(ctx, nil)
	} else {
		schools, err = zw.SchoolsIn(ctx, &box)
	}
	if err != nil {
		return fmt.Errorf("zones: schools: %w", err)
	}
	standing := make([][]schema.ZoneViolation, len(venues))
	have := make(map[string]bool, len(schools))
	for _, sc := range schools {
		have[sc.ID] = true
	}
	var missing []string
	for i, v := range venues {
		if standing[i], err = zw.StandingViolations(ctx, v.ID); err != nil {
			return fmt.Errorf("zones: venue %s: %w", v.ID, err)
		}
		// A venue moved far away still needs the distance to the school
		// it leaves, for the record of the clear.
		for _, s := range standing[i] {
			if !have[s.SchoolID] {
				have[s.SchoolID] = true
				missing = append(missing, s.SchoolID)
			}
		}
	}
	if len(missing) > 0 {
		more, err := zw.SchoolsByID(ctx, missing)
		if err != nil {
			return fmt.Errorf("zones: schools: %w", err)
		}
		schools = append(schools, more...)
	}
	zc := schema.NewZoneCheck(schools, rules, now)
	for i, v := range venues {
		standing := standing[i]
		d := zc.Decide(v, standing, why, now)
		for _, f := range d.Flag {
			if err := zw.FlagViolation(ctx, f); err != nil {
				return fmt.Errorf("zones: flag venue %s: %w", v.ID, err)
			}
			if err := zw.AuditVenue(ctx, v.ID, v.SquadID, AuditZoneFlag, "", "in_zone:"+f.SchoolID, zc.ZoneFlagReason(f)); err != nil {
				return err
			}
		}
		for _, u := range d.Update {
			if err := zw.UpdateViolation(ctx, u); err != nil {
				return fmt.Errorf("zones: update venue %s: %w", v.ID, err)
			}
		}
		for _, c := range d.Clear {
			if err := zw.ClearViolation(ctx, c.Violation); err != nil {
				return fmt.Errorf("zones: clear venue %s: %w", v.ID, err)
			}
			if err := zw.AuditVenue(ctx, v.ID, v.SquadID, AuditZoneClear, "in_zone:"+c.Violation.SchoolID, "cleared", zc.ZoneClearReason(c)); err != nil {
				return err
			}
		}
	}
	return nil
}

// zoneBox is the box of the venues' positions and footprints grown by the
// largest zone distance: every school whose box meets it may reach one.
func zoneBox(venues []schema.Venue, dist float64) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, v := range venues {
		g := schema.VenueGeometry(v).Bound()
		b = [4]float64{math.Min(b[0], g.MinLat), math.Min(b[1], g.MinLng), math.Max(b[2], g.MaxLat), math.Max(b[3], g.MaxLng)}
	}
	return schema.ZoneSearchBox(b, dist)
}

// RuleVenueKinds are the venue kinds whose venues a change from old to new
// can affect; nil means every kind (a rule that names none covers all).
func RuleVenueKinds(old *schema.ZoneRule, r schema.ZoneRule) []string {
	if len(r.VenueKinds) == 0 || (old != nil && len(old.VenueKinds) == 0) {
		return nil
	}
	kinds := append([]string(nil), r.VenueKinds...)
	if old != nil {
		for _, k := range old.VenueKinds {
			if !contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
