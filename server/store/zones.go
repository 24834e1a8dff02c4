package store

import (
	"context"
	"encoding/json"
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

// ZoneRuleWriter is what an adapter's write transaction offers
// PublishZoneRule. Implementations hold no zone logic.
type ZoneRuleWriter interface {
	// ZoneRuleBody reads the stored body (JSON) of a rule; found is false
	// when there is none.
	ZoneRuleBody(ctx context.Context, id string) (body string, found bool, err error)
	// WriteZoneRule inserts or replaces a rule with its body, with a new seq.
	WriteZoneRule(ctx context.Context, r schema.ZoneRule, body string) error
	// Audit appends an audit entry in the transaction.
	Audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error
	// VenuesOfKinds reads the venues of the kinds (nil: every kind),
	// deleted ones included.
	VenuesOfKinds(ctx context.Context, kinds []string) ([]schema.Venue, error)
	// EvaluateZones re-evaluates the venues' zones (EvaluateZones).
	EvaluateZones(ctx context.Context, why string, venues ...schema.Venue) error
}

// PublishZoneRule stores a validated rule inside the caller's write
// transaction (Zones.PutZoneRule): a rule stored as it is changes
// nothing; else it is written, audited with both bodies, and every venue
// of the kinds the old and the new rule cover is re-evaluated.
func PublishZoneRule(ctx context.Context, w ZoneRuleWriter, r schema.ZoneRule, body []byte) error {
	var old *schema.ZoneRule
	oldBody, found, err := w.ZoneRuleBody(ctx, r.ID)
	if err != nil {
		return err
	}
	if found {
		old = new(schema.ZoneRule)
		if err := json.Unmarshal([]byte(oldBody), old); err != nil {
			return fmt.Errorf("zone rule %s: %w", r.ID, err)
		}
		if oldBody == string(body) {
			return nil
		}
	}
	if err := w.WriteZoneRule(ctx, r, string(body)); err != nil {
		return err
	}
	if err := w.Audit(ctx, schema.AuditZoneRule, r.ID, nil, "publish", oldBody, string(body), ""); err != nil {
		return err
	}
	venues, err := w.VenuesOfKinds(ctx, RuleVenueKinds(old, r))
	if err != nil {
		return err
	}
	return w.EvaluateZones(ctx, schema.ZoneClearRule, venues...)
}

// RelocateWriter is what an adapter's write transaction offers
// RelocateVenue. Implementations hold no zone logic.
type RelocateWriter interface {
	// LoadVenue reads a venue; not found: schema.CodeNotFound.
	LoadVenue(ctx context.Context, id string) (schema.Venue, error)
	// SetVenuePosition writes a venue's position with a new seq.
	SetVenuePosition(ctx context.Context, id string, lat, lng float64) error
	// Audit appends an audit entry in the transaction.
	Audit(ctx context.Context, kind, id string, squad *int64, action, from, to, reason string) error
	// EvaluateZones re-evaluates the venues' zones (EvaluateZones).
	EvaluateZones(ctx context.Context, why string, venues ...schema.Venue) error
}

// RelocateVenue moves a venue the scope covers to a valid position inside
// the caller's write transaction (Zones.RelocateVenue), audits the move
// with both positions and re-evaluates its zones; it answers the venue as
// it is afterwards.
func RelocateVenue(ctx context.Context, w RelocateWriter, id string, lat, lng float64, scope schema.Scope, now time.Time) (schema.Venue, error) {
	v, err := w.LoadVenue(ctx, id)
	if err != nil {
		return schema.Venue{}, err
	}
	if !scope.Covers(v.SquadID) {
		return schema.Venue{}, schema.Errorf(schema.CodeNotFound, "%s %s not found", "venue", id)
	}
	if v.Deleted {
		return schema.Venue{}, schema.Errorf(schema.CodeGone, "venue %s was deleted", id)
	}
	if v.Lat == lat && v.Lng == lng {
		return v, nil
	}
	if err := w.SetVenuePosition(ctx, id, lat, lng); err != nil {
		return schema.Venue{}, err
	}
	from := fmt.Sprintf("%.6f,%.6f", v.Lat, v.Lng)
	v.Lat, v.Lng, v.UpdatedAt = lat, lng, now
	if err := w.Audit(ctx, schema.AuditVenue, id, &v.SquadID, "relocate", from, fmt.Sprintf("%.6f,%.6f", lat, lng), ""); err != nil {
		return schema.Venue{}, err
	}
	return v, w.EvaluateZones(ctx, "", v)
}
