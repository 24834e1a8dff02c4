package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Plans are the squads' patrol plans: which café is visited on which local
// day by which two inspectors. A visit is done when an inspection of its
// venue by either inspector starts on or after its day; the store links it
// at read (PlanVisits, from the inspections it holds) and keeps the link
// once a later SavePlan finds it done, so pushes need not know of plans.
type Plans interface {
	// PlanCandidates lists the squad's cafés (not deleted, not closed) not
	// yet inspected in the month, riskiest first (schema.SortPlanCandidates),
	// with their risk reasons.
	PlanCandidates(ctx context.Context, squadID int64, m PlanMonth) ([]schema.PlanCandidate, error)
	// SavePlan replaces the squad's unfinished visits of the month from
	// today on by visits, in one transaction with an audit entry each:
	// venues of the squad, two distinct active inspectors of the squad or
	// its co-inspectors, days from today to the month's end (invalid
	// otherwise). Done visits and past days are kept. It returns the
	// month's visits as PlanVisits would.
	SavePlan(ctx context.Context, squadID int64, m PlanMonth, visits []schema.PlanVisit, by string) ([]schema.PlanVisit, error)
	// PlanVisits lists the squad's visits of the month by day, then venue.
	PlanVisits(ctx context.Context, squadID int64, m PlanMonth) ([]schema.PlanVisit, error)
	// PlanInspectors lists whom a visit of the squad may name: its active
	// inspectors, then its co-inspectors, each by username.
	PlanInspectors(ctx context.Context, squadID int64) ([]schema.Member, error)
}

// PlanInspectorsOf keeps the inspectors of a squad's roster, its own
// first, each by username: the one reading both adapters use.
func PlanInspectorsOf(roster []schema.Member) []schema.Member {
	out := []schema.Member{}
	for _, m := range roster {
		if m.Role == schema.RoleInspector {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b schema.Member) int {
		if a.CoInspector != b.CoInspector {
			if a.CoInspector {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Username, b.Username)
	})
	return out
}

// PlanMonth is a month of the bureau's zone as the store needs it: the
// instants that bound it and today's date.
type PlanMonth struct {
	Month       string // YYYY-MM
	Today       string // YYYY-MM-DD
	End         string // the month's last day, YYYY-MM-DD
	Start, Stop time.Time
	Now         time.Time
	Loc         *time.Location
}

// NewPlanMonth reads month ("YYYY-MM", "" for now's month) in loc.
func NewPlanMonth(month string, now time.Time, loc *time.Location) (PlanMonth, error) {
	local := now.In(loc)
	if month == "" {
		month = local.Format("2006-01")
	}
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil || len(month) != 7 {
		return PlanMonth{}, schema.Errorf(schema.CodeInvalid, "month %q is not YYYY-MM", month)
	}
	stop := t.AddDate(0, 1, 0)
	return PlanMonth{Month: month, Today: local.Format(time.DateOnly), End: stop.AddDate(0, 0, -1).Format(time.DateOnly),
		Start: t, Stop: stop, Now: now, Loc: loc}, nil
}

// DayStart is the instant a local day of the month begins.
func (m PlanMonth) DayStart(day string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, day, m.Loc)
	if err != nil {
		return time.Time{}, schema.Errorf(schema.CodeInvalid, "day %q is not YYYY-MM-DD", day)
	}
	return t, nil
}

// PlanCafe is a café as PlanCandidates reads it, before ranking.
type PlanCafe struct {
	ID, Name      string
	Licensed      bool
	OpenState     string
	Inspected     bool // in the month
	Critical      int
	Repeats       int
	LastInspected *time.Time
}

// RankPlanCandidates turns the cafés an adapter read into the ranked
// candidate list: the one reading both adapters use.
func RankPlanCandidates(list []PlanCafe, now time.Time) []schema.PlanCandidate {
	out := []schema.PlanCandidate{}
	for _, v := range list {
		if v.Inspected {
			continue
		}
		c := schema.PlanCandidate{VenueID: v.ID, Name: v.Name, AtRisk: v.Licensed && v.OpenState == "open",
			Critical: v.Critical, Repeats: v.Repeats, LastInspected: v.LastInspected}
		c.Reasons = schema.PlanReasons(c, now)
		out = append(out, c)
	}
	schema.SortPlanCandidates(out)
	return out
}

// PlanInspection is an inspection that may carry a visit out.
type PlanInspection struct {
	ID         string
	VenueID    string
	StartedAt  time.Time
	Inspectors []string // usernames, the author's among them
}

// LinkDone sets DoneInspectionID of each visit not linked yet to the
// earliest inspection (then id) that carries it out (schema.VisitDone).
func LinkDone(visits []schema.PlanVisit, ins []PlanInspection) {
	for i := range visits {
		v := &visits[i]
		if v.DoneInspectionID != "" {
			continue
		}
		var best *PlanInspection
		for j := range ins {
			in := &ins[j]
			if schema.VisitDone(*v, in.VenueID, in.StartedAt, in.Inspectors) &&
				(best == nil || in.StartedAt.Before(best.StartedAt) || in.StartedAt.Equal(best.StartedAt) && in.ID < best.ID) {
				best = in
			}
		}
		if best != nil {
			v.DoneInspectionID = best.ID
		}
	}
}

// CheckPlanInput validates the visits of a SavePlan against the squad's
// members and venue squads (venue id → squad, only those that exist and
// are not deleted), and fills each visit's Starts.
func CheckPlanInput(visits []schema.PlanVisit, m PlanMonth, members []schema.Member, squadID int64, venueSquad map[string]int64) error {
	for i := range visits {
		v := &visits[i]
		if err := schema.CheckPlanVisit(*v, members, m.Today, m.End); err != nil {
			return err
		}
		if sq, ok := venueSquad[v.VenueID]; !ok || sq != squadID {
			return schema.Errorf(schema.CodeInvalid, "venue %s is no venue of squad %d", v.VenueID, squadID)
		}
		st, err := m.DayStart(v.Day)
		if err != nil {
			return err
		}
		v.Starts = st
	}
	return nil
}

// VisitAuditText is how an audit entry names a visit.
func VisitAuditText(v schema.PlanVisit) string {
	return fmt.Sprintf("%s %s+%s", v.Day, v.Inspectors[0], v.Inspectors[1])
}
