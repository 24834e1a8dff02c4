package schema

import (
	"fmt"
	"sort"
	"time"
)

// The patrol plan: a squad leader spreads the month's remaining café
// inspections over days and pairs of inspectors, so that no licensed café
// goes a month unvisited. A visit is done once either of its inspectors
// starts an inspection of its venue on or after its day.

// PlanVisit is one planned inspection of a venue by two inspectors on a
// local day. Starts is the instant that day begins in the bureau's zone,
// so that a device can tell "on or after the day" without knowing it.
type PlanVisit struct {
	ID         string    `json:"id"`
	SquadID    int64     `json:"squad_id"`
	VenueID    string    `json:"venue_id"`
	Day        string    `json:"day"`
	Starts     time.Time `json:"starts"`
	Inspectors [2]string `json:"inspectors"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	// DoneInspectionID names the inspection that carried the visit out,
	// "" while it is still to do.
	DoneInspectionID string `json:"done_inspection_id,omitempty"`
}

// PlanCandidate is a café of the squad not yet inspected this month, with
// what makes it risky: the plan lists them riskiest first.
type PlanCandidate struct {
	VenueID string `json:"venue_id"`
	Name    string `json:"name"`
	// AtRisk is a licensed open café (the rollup's at-risk list): leaving
	// it uninspected by month end misses the month's coverage.
	AtRisk bool `json:"at_risk"`
	// Critical counts its open or ordered critical findings.
	Critical int `json:"critical"`
	// Repeats sums the repeats of its findings.
	Repeats int `json:"repeats"`
	// LastInspected is its latest inspection's start, nil when never.
	LastInspected *time.Time `json:"last_inspected,omitempty"`
	// Reasons say in Chinese why it is risky (PlanReasons).
	Reasons []string `json:"reasons"`
}

// Plan flag kinds (PlanFlag.Kind).
const (
	PlanFlagUncovered = "uncovered" // an at-risk café no visit covers
	PlanFlagAfterEnd  = "after_end" // a visit after the month's end
	PlanFlagPastDay   = "past_day"  // a visit on a day already gone
	PlanFlagBadDay    = "bad_day"   // a visit whose day is no date
)

// PlanFlag is one warning about a plan a leader is about to save.
type PlanFlag struct {
	Kind    string `json:"kind"`
	VenueID string `json:"venue_id"`
	Name    string `json:"name,omitempty"`
	Day     string `json:"day,omitempty"`
	Message string `json:"message"`
}

// SortPlanCandidates orders candidates riskiest first: more critical
// findings, then more repeats, then longest since the last inspection
// (never inspected first), then name and id.
func SortPlanCandidates(list []PlanCandidate) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Critical != b.Critical {
			return a.Critical > b.Critical
		}
		if a.Repeats != b.Repeats {
			return a.Repeats > b.Repeats
		}
		switch {
		case a.LastInspected == nil && b.LastInspected != nil:
			return true
		case a.LastInspected != nil && b.LastInspected == nil:
			return false
		case a.LastInspected != nil && !a.LastInspected.Equal(*b.LastInspected):
			return a.LastInspected.Before(*b.LastInspected)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.VenueID < b.VenueID
	})
}

// PlanReasons says why a candidate is risky, for the leader's page.
func PlanReasons(c PlanCandidate, now time.Time) []string {
	out := []string{}
	if c.Critical > 0 {
		out = append(out, fmt.Sprintf("%d 项严重问题未整改", c.Critical))
	}
	if c.Repeats > 0 {
		out = append(out, fmt.Sprintf("问题重复出现 %d 次", c.Repeats))
	}
	if c.LastInspected == nil {
		out = append(out, "从未检查")
	} else {
		out = append(out, fmt.Sprintf("距上次检查 %d 天", int(now.Sub(*c.LastInspected).Hours()/24)))
	}
	return out
}

// CheckPlan flags what a plan leaves wrong: every at-risk candidate no
// visit covers (it would stay uninspected by month end), and every visit
// after monthEnd or before today (days are local dates "YYYY-MM-DD"). The
// leader may save a flagged plan; the flags are shown, not enforced.
func CheckPlan(candidates []PlanCandidate, visits []PlanVisit, today, monthEnd string) []PlanFlag {
	out := []PlanFlag{}
	covered := map[string]bool{}
	for _, v := range visits {
		switch {
		case !isDate(v.Day):
			out = append(out, PlanFlag{Kind: PlanFlagBadDay, VenueID: v.VenueID, Day: v.Day,
				Message: fmt.Sprintf("日期 %q 无效", v.Day)})
			continue
		case v.Day > monthEnd:
			out = append(out, PlanFlag{Kind: PlanFlagAfterEnd, VenueID: v.VenueID, Day: v.Day,
				Message: fmt.Sprintf("%s 已超出本月（月底 %s）", v.Day, monthEnd)})
		case v.Day < today:
			out = append(out, PlanFlag{Kind: PlanFlagPastDay, VenueID: v.VenueID, Day: v.Day,
				Message: fmt.Sprintf("%s 已过去（今天 %s）", v.Day, today)})
		default:
			covered[v.VenueID] = true
		}
	}
	for _, c := range candidates {
		if c.AtRisk && !covered[c.VenueID] {
			out = append(out, PlanFlag{Kind: PlanFlagUncovered, VenueID: c.VenueID, Name: c.Name,
				Message: fmt.Sprintf("%s 月底前无检查安排", c.Name)})
		}
	}
	return out
}

// CheckPlanVisit validates one visit a leader saves: a date from today to
// monthEnd, two distinct inspectors who are active inspectors among the
// squad's members (its own or its co-inspectors).
func CheckPlanVisit(v PlanVisit, members []Member, today, monthEnd string) error {
	if !isDate(v.Day) {
		return Errorf(CodeInvalid, "visit of venue %s: day %q is not a date YYYY-MM-DD", v.VenueID, v.Day)
	}
	if v.Day < today || v.Day > monthEnd {
		return Errorf(CodeInvalid, "visit of venue %s: day %s is not between today %s and the month's end %s", v.VenueID, v.Day, today, monthEnd)
	}
	a, b := v.Inspectors[0], v.Inspectors[1]
	if a == "" || b == "" || a == b {
		return Errorf(CodeInvalid, "visit of venue %s: name two different inspectors", v.VenueID)
	}
	for _, u := range v.Inspectors {
		ok := false
		for _, m := range members {
			if m.Username == u && m.Role == RoleInspector {
				ok = true
				break
			}
		}
		if !ok {
			return Errorf(CodeInvalid, "visit of venue %s: %s is no active inspector of the squad or its co-inspectors", v.VenueID, u)
		}
	}
	return nil
}

// VisitDone reports whether an inspection of the visit's venue, started
// at startedAt by inspectors (usernames, the author among them), carries
// the visit out: started on or after its day, by either of its inspectors.
func VisitDone(v PlanVisit, venueID string, startedAt time.Time, inspectors []string) bool {
	if venueID != v.VenueID || startedAt.Before(v.Starts) {
		return false
	}
	for _, u := range inspectors {
		if u == v.Inspectors[0] || u == v.Inspectors[1] {
			return true
		}
	}
	return false
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && len(s) == 10
}
