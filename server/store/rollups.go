package store

import (
	"context"
	"time"
)

// Rollups are the nightly compliance figures: what the store counts for
// one squad over one day and its month (RollupFacts, a few aggregate
// queries bounded by the month's time range), and the history the job
// keeps of them. Days are local dates "YYYY-MM-DD" and months "YYYY-MM"
// in the bureau's zone, which only the caller knows: the store is given
// the instants that bound them.
type Rollups interface {
	// RollupSquads lists every squad id, ascending.
	RollupSquads(ctx context.Context) ([]int64, error)
	// RollupFacts counts what one squad did and stood at in the window.
	RollupFacts(ctx context.Context, squadID int64, w RollupWindow) (RollupFacts, error)
	// SaveRollupDays stores the figures of one day, replacing whatever
	// that day held before (a re-run), in one transaction.
	SaveRollupDays(ctx context.Context, rows []RollupRecord) error
	// RollupDays returns the stored figures of a day, by squad; empty
	// when the day was never rolled up.
	RollupDays(ctx context.Context, day string) ([]RollupRecord, error)
	// RollupMonthDays returns every stored day of the month, by squad and
	// day.
	RollupMonthDays(ctx context.Context, month string) ([]RollupRecord, error)
	// LastRollupDay is the latest day rolled up, "" when none was.
	LastRollupDay(ctx context.Context) (string, error)
	// FreezeRollupMonth writes the month's record of each squad that has
	// none yet; a record written already is kept as it is (frozen).
	// Key of each row is the month.
	FreezeRollupMonth(ctx context.Context, rows []RollupRecord) error
	// RollupMonths returns the frozen records of a month, by squad; empty
	// when the month has not frozen.
	RollupMonths(ctx context.Context, month string) ([]RollupRecord, error)
	// ReceivedBetween lists inspections received in [from, to) that
	// started before startedBefore (syncs of old work), by received time
	// then id.
	ReceivedBetween(ctx context.Context, from, to, startedBefore time.Time) ([]ReceivedInspection, error)
	// RecordLateArrivals records inspections received after their month
	// froze; one recorded already keeps its first record.
	RecordLateArrivals(ctx context.Context, list []LateArrival) error
	// LateArrivals lists the late arrivals of a month, by received time.
	LateArrivals(ctx context.Context, month string) ([]LateArrival, error)
}

// RollupWindow bounds what RollupFacts reads: the month so far is
// [MonthStart, DayEnd), the day [DayStart, DayEnd).
type RollupWindow struct {
	MonthStart time.Time
	DayStart   time.Time
	DayEnd     time.Time
}

// RollupFacts are one squad's raw counts for a window. "Standing" figures
// (venues, overdue, repeated, zone violations) are the state the store
// holds, restricted to what existed before DayEnd.
type RollupFacts struct {
	// VenuesByKind counts venues under watch (not deleted, not closed).
	VenuesByKind map[string]int
	// LicensedCafes are licensed internet cafés, open or not yet known
	// closed (the coverage denominator: open_state open).
	LicensedCafes int
	// CafesInspected counts those of LicensedCafes with an inspection of
	// the squad started in [MonthStart, DayEnd).
	CafesInspected int
	// AtRisk are the LicensedCafes not inspected yet this month, by name.
	AtRisk []RollupVenue
	// InspectionsByStatus counts the inspections started in [DayStart,
	// DayEnd) by their status (submitted, approved, returned).
	InspectionsByStatus map[string]int
	// ByInspector counts the inspections started that day by author
	// username.
	ByInspector map[string]int
	// Findings by checklist item: opened, ordered and closed in the day;
	// overdue (ordered, deadline before DayEnd) and repeated (standing,
	// repeat > 0) as of DayEnd; standing = open or ordered, opened before
	// DayEnd.
	Opened, Ordered, Closed, Overdue, Repeated, Standing map[string]int
	// CloseOutDays are, for each finding closed in [MonthStart, DayEnd),
	// the days from opened to closed (fractional).
	CloseOutDays []float64
	// Complaints are the squad's complaints open at DayEnd (received
	// before it, and neither answered, closed nor rejected by then:
	// received, accepted, investigating or handled), by receipt, each
	// with the time limit it was past then.
	Complaints []RollupComplaint
	// BlackCafes are unlicensed internet cafés recorded in the field in
	// [DayStart, DayEnd).
	BlackCafes []RollupVenue
	// InZoneOpen are venues that stand in a school zone (a standing
	// violation) and are not closed.
	InZoneOpen []RollupVenue
	// CasesOpen counts the cases opened before DayEnd and not closed by
	// then (opened, investigating or decided and not yet carried out).
	CasesOpen int
	// CasesOverdue are the cases whose 90-day limit ended before DayStart
	// and that were not decided by DayEnd, by limit then id.
	CasesOverdue []RollupCase
}

// RollupCase names a case in a rollup list.
type RollupCase struct {
	ID        string    `json:"id"`
	Number    string    `json:"number"`
	VenueID   string    `json:"venue_id"`
	VenueName string    `json:"venue_name"`
	DecideBy  time.Time `json:"decide_by"`
}

// RollupVenue names a venue in a rollup list.
type RollupVenue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// RollupRecord is one stored body of figures: a squad's day (Key a date)
// or month (Key "YYYY-MM"). Body is JSON the jobs package writes.
type RollupRecord struct {
	SquadID int64
	Key     string
	Body    []byte
	At      time.Time // computed_at or frozen_at
}

// ReceivedInspection is an inspection as the late-arrival check sees it.
type ReceivedInspection struct {
	ID         string
	SquadID    int64
	StartedAt  time.Time
	ReceivedAt time.Time
}

// LateArrival is an inspection received after its month froze.
type LateArrival struct {
	InspectionID string    `json:"inspection_id"`
	SquadID      int64     `json:"squad_id"`
	Day          string    `json:"day"`
	Month        string    `json:"month"`
	ReceivedAt   time.Time `json:"received_at"`
}

// CloseOutDays is the time from a finding's opening to its close-out in
// days, from the stored times: the one reading of it both adapters use.
func CloseOutDays(openedAt, closedAt string) (float64, error) {
	o, err := time.Parse(time.RFC3339Nano, openedAt)
	if err != nil {
		return 0, err
	}
	c, err := time.Parse(time.RFC3339Nano, closedAt)
	if err != nil {
		return 0, err
	}
	return c.Sub(o).Hours() / 24, nil
}

// The time limits a complaint can be past (RollupComplaint.Limit).
const (
	ComplaintLimitAccept = "accept" // still received past accept_by
	ComplaintLimitFinish = "finish" // not handled past due
)

// RollupComplaint is an open complaint of a rollup window.
type RollupComplaint struct {
	ID     string
	Number string
	// Limit is the limit it was past at the window's end ("" for none),
	// LimitAt when that limit ran out.
	Limit   string
	LimitAt *time.Time
}
