// Package jobs is Patrol's scheduled work as plain functions of (store,
// day, zone): the nightly compliance rollups that cron calls at 02:00 in
// the bureau's zone, that an admin or the command line calls on demand,
// and that tests call with a fixed clock and no cron at all.
//
// A day is a local date of the bureau's zone (Asia/Shanghai by default):
// an inspection counts on the local day it started, so one at 23:30 and
// one at 00:30 Beijing time on the last night of a month fall in different
// months although both are on the same UTC date.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// DefaultTimezone is the bureau's zone when none is configured.
const DefaultTimezone = "Asia/Shanghai"

// JobNightlyRollup names the nightly rollup in the store's job locks.
const JobNightlyRollup = "nightly-rollup"

// MaxCatchUpDays bounds how many missed days a start catches up: two
// months, so that a server down over a holiday fills its gap, while one
// started on an old database does not roll up years.
const MaxCatchUpDays = 62

// DayLayout and MonthLayout are how days and months are written in the
// API, the command line and the stored history.
const (
	DayLayout   = "2006-01-02"
	MonthLayout = "2006-01"
)

// SquadDay is one squad's figures for one local day, with the month so far
// (coverage, at risk, close-out) and the standing ledger as of the day's
// end. It is the stored body of rollup_days and the API's squad object.
type SquadDay struct {
	SquadID int64  `json:"squad_id"`
	Day     string `json:"day"`
	// VenuesByKind counts venues under watch (not closed) by kind.
	VenuesByKind map[string]int `json:"venues_by_kind"`
	// Cafes are the licensed open internet cafés: what must be inspected.
	Cafes          int `json:"cafes"`
	CafesInspected int `json:"cafes_inspected"`
	// Coverage is CafesInspected / Cafes in percent (100 without cafés).
	Coverage float64 `json:"coverage"`
	// AtRisk are the cafés not yet inspected this month, DaysLeft the days
	// of the month after this one in which to inspect them.
	AtRisk   []store.RollupVenue `json:"at_risk"`
	DaysLeft int                 `json:"days_left"`
	// Inspections started on the day, by their status now.
	Inspections InspectionCounts `json:"inspections"`
	// Findings: the day's flow (opened, ordered, closed) and, as of the
	// day's end, standing (open or ordered), overdue and repeated.
	FindingsOpened   int                     `json:"findings_opened"`
	FindingsOrdered  int                     `json:"findings_ordered"`
	FindingsClosed   int                     `json:"findings_closed"`
	FindingsOpen     int                     `json:"findings_open"`
	FindingsOverdue  int                     `json:"findings_overdue"`
	FindingsRepeated int                     `json:"findings_repeated"`
	ByItem           map[string]ItemFindings `json:"by_item"`
	// MedianCloseOutDays is the median of days from opening to close-out
	// of the findings closed this month so far; nil when none closed.
	MedianCloseOutDays *float64 `json:"median_close_out_days"`
	// Complaints at the day's end: open (received, accepted, investigating
	// or handled) and, of those, past a time limit, each named in
	// OverdueComplaints.
	ComplaintsOpen    int                `json:"complaints_open"`
	ComplaintsOverdue int                `json:"complaints_overdue"`
	OverdueComplaints []OverdueComplaint `json:"overdue_complaints"`
	// BlackCafes are unlicensed venues recorded in the field that day.
	BlackCafes []store.RollupVenue `json:"black_cafes"`
	// InZoneOpen are venues inside a school zone that are not closed.
	InZoneOpen []store.RollupVenue `json:"in_zone_open"`
	// ByInspector counts the day's inspections by author username.
	ByInspector map[string]int `json:"by_inspector"`
	// CasesOpen counts the cases (立案) not closed as of the day's end;
	// CasesOverdue those past their 90-day limit before the day began and
	// undecided at its end, named in OverdueCases.
	CasesOpen    int                `json:"cases_open"`
	CasesOverdue int                `json:"cases_overdue"`
	OverdueCases []store.RollupCase `json:"overdue_cases"`
	// Rank among the squads rolled up for the same day, 1 the best (see
	// Rank), and Score, the coverage it ranks by first.
	Rank  int     `json:"rank"`
	Score float64 `json:"score"`
}

// OverdueComplaint is a complaint past a time limit at a day's end: which
// limit (store.ComplaintLimitAccept or store.ComplaintLimitFinish), when
// it ran out, and by how many of the zone's days (at least 1) on that day.
type OverdueComplaint struct {
	ID       string    `json:"id"`
	Number   string    `json:"number"`
	Limit    string    `json:"limit"`
	Since    time.Time `json:"since"`
	DaysOver int       `json:"days_over"`
}

// InspectionCounts are a day's inspections by status.
type InspectionCounts struct {
	Total     int `json:"total"`
	Submitted int `json:"submitted"`
	Approved  int `json:"approved"`
	Returned  int `json:"returned"`
}

// ItemFindings are one checklist item's finding figures.
type ItemFindings struct {
	Opened   int `json:"opened,omitempty"`
	Ordered  int `json:"ordered,omitempty"`
	Closed   int `json:"closed,omitempty"`
	Open     int `json:"open,omitempty"`
	Overdue  int `json:"overdue,omitempty"`
	Repeated int `json:"repeated,omitempty"`
}

// SquadMonth is a squad's record of a month: its figures on the month's
// last day (coverage, ledger, rank) and the month's totals of the daily
// flows. It is the body of rollup_months, frozen once written.
type SquadMonth struct {
	SquadDay
	Month             string `json:"month"`
	InspectionsTotal  int    `json:"inspections_total"`
	FindingsOpenedSum int    `json:"findings_opened_total"`
	FindingsClosedSum int    `json:"findings_closed_total"`
	BlackCafesFound   int    `json:"black_cafes_found"`
	Frozen            bool   `json:"frozen"`
}

// Window is the local day's bounds as instants.
func Window(day time.Time) store.RollupWindow {
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())
	return store.RollupWindow{
		MonthStart: time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, day.Location()),
		DayStart:   start,
		DayEnd:     start.AddDate(0, 0, 1),
	}
}

// ParseDay reads a "YYYY-MM-DD" day of the zone; bad input is invalid
// with a message a person can act on.
func ParseDay(s string, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(DayLayout, s, loc)
	if err != nil {
		return time.Time{}, schema.Errorf(schema.CodeInvalid, "date %q is not a day written YYYY-MM-DD", s)
	}
	return d, nil
}

// ParseMonth reads a "YYYY-MM" month of the zone.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	m, err := time.ParseInLocation(MonthLayout, s, loc)
	if err != nil {
		return time.Time{}, schema.Errorf(schema.CodeInvalid, "month %q is not a month written YYYY-MM", s)
	}
	return m, nil
}

// Figures turns one squad's facts into its day's figures (without rank).
func Figures(squadID int64, day time.Time, f store.RollupFacts) SquadDay {
	d := SquadDay{
		SquadID: squadID, Day: day.Format(DayLayout), VenuesByKind: f.VenuesByKind,
		Cafes: f.LicensedCafes, CafesInspected: f.CafesInspected, Coverage: coverage(f.CafesInspected, f.LicensedCafes),
		AtRisk: f.AtRisk, DaysLeft: daysIn(day) - day.Day(),
		BlackCafes: f.BlackCafes, InZoneOpen: f.InZoneOpen, ByInspector: f.ByInspector,
		ByItem: map[string]ItemFindings{}, MedianCloseOutDays: Median(f.CloseOutDays),
		CasesOpen: f.CasesOpen, CasesOverdue: len(f.CasesOverdue), OverdueCases: f.CasesOverdue,
	}
	if d.OverdueCases == nil {
		d.OverdueCases = []store.RollupCase{}
	}
	for status, n := range f.InspectionsByStatus {
		d.Inspections.Total += n
		switch status {
		case schema.StatusSubmitted:
			d.Inspections.Submitted += n
		case schema.StatusApproved:
			d.Inspections.Approved += n
		case schema.StatusReturned:
			d.Inspections.Returned += n
		}
	}
	item := func(m map[string]int, sum *int, set func(*ItemFindings, int)) {
		for id, n := range m {
			it := d.ByItem[id]
			set(&it, n)
			d.ByItem[id] = it
			*sum += n
		}
	}
	item(f.Opened, &d.FindingsOpened, func(it *ItemFindings, n int) { it.Opened = n })
	item(f.Ordered, &d.FindingsOrdered, func(it *ItemFindings, n int) { it.Ordered = n })
	item(f.Closed, &d.FindingsClosed, func(it *ItemFindings, n int) { it.Closed = n })
	item(f.Standing, &d.FindingsOpen, func(it *ItemFindings, n int) { it.Open = n })
	item(f.Overdue, &d.FindingsOverdue, func(it *ItemFindings, n int) { it.Overdue = n })
	item(f.Repeated, &d.FindingsRepeated, func(it *ItemFindings, n int) { it.Repeated = n })
	d.ComplaintsOpen, d.OverdueComplaints = len(f.Complaints), overdueComplaints(day, f.Complaints)
	d.ComplaintsOverdue = len(d.OverdueComplaints)
	return d
}

// overdueComplaints are the complaints of list past a limit at the end of
// day, with the days over counted in day's zone.
func overdueComplaints(day time.Time, list []store.RollupComplaint) []OverdueComplaint {
	out := []OverdueComplaint{}
	for _, c := range list {
		if c.Limit == "" || c.LimitAt == nil {
			continue
		}
		s := c.LimitAt.In(day.Location())
		since := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC)
		on := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		out = append(out, OverdueComplaint{ID: c.ID, Number: c.Number, Limit: c.Limit, Since: c.LimitAt.UTC(),
			DaysOver: max(1, int(on.Sub(since).Hours()/24))})
	}
	return out
}

// coverage is inspected / cafés in percent, rounded to 0.01; a squad with
// no café to inspect has nothing left undone (100).
func coverage(inspected, cafes int) float64 {
	if cafes == 0 {
		return 100
	}
	return float64(inspected*10000/cafes) / 100
}

// daysIn is the number of days of day's month.
func daysIn(day time.Time) int {
	return time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, day.Location()).Day()
}

// Median is the median of the values (the mean of the middle two of an
// even count), rounded to 0.01; nil for none.
func Median(values []float64) *float64 {
	if len(values) == 0 {
		return nil
	}
	v := slices.Clone(values)
	sort.Float64s(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m = float64(int64(m*100+0.5)) / 100
	return &m
}

// RollupDay computes and stores every squad's figures of the local day
// (day's location is the bureau's zone), replacing what that day held.
// Rolling up the first day of a month first freezes the month before
// (FreezeMonth). Inspections received on the day that started in a month
// already frozen are recorded as late arrivals. now stamps the records.
func RollupDay(ctx context.Context, st store.Rollups, day time.Time, now time.Time) ([]SquadDay, error) {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())
	if day.Day() == 1 {
		if err := FreezeMonth(ctx, st, day.AddDate(0, -1, 0), now); err != nil {
			return nil, err
		}
	}
	days, err := computeDay(ctx, st, day, now)
	if err != nil {
		return nil, err
	}
	if err := recordLate(ctx, st, day, now); err != nil {
		return nil, err
	}
	return days, nil
}

// computeDay computes, ranks and stores one day's figures.
func computeDay(ctx context.Context, st store.Rollups, day time.Time, now time.Time) ([]SquadDay, error) {
	squads, err := st.RollupSquads(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: rollup %s: %w", day.Format(DayLayout), err)
	}
	w := Window(day)
	out := make([]SquadDay, 0, len(squads))
	for _, id := range squads {
		f, err := st.RollupFacts(ctx, id, w)
		if err != nil {
			return nil, fmt.Errorf("jobs: rollup %s: %w", day.Format(DayLayout), err)
		}
		out = append(out, Figures(id, day, f))
	}
	ApplyRank(out)
	rows := make([]store.RollupRecord, len(out))
	for i, d := range out {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		rows[i] = store.RollupRecord{SquadID: d.SquadID, Key: d.Day, Body: b, At: now}
	}
	if err := st.SaveRollupDays(ctx, rows); err != nil {
		return nil, fmt.Errorf("jobs: rollup %s: %w", day.Format(DayLayout), err)
	}
	return out, nil
}

// FreezeMonth writes the record of month's month (any day of it, in the
// zone) unless it froze already: the month's last day is rolled up again
// first, so that what arrived until the freeze counts, and each squad's
// record is that day's figures with the month's daily totals. Once
// written a record never changes; what arrives later is a late arrival.
func FreezeMonth(ctx context.Context, st store.Rollups, month time.Time, now time.Time) error {
	key := month.Format(MonthLayout)
	frozen, err := st.RollupMonths(ctx, key)
	if err != nil {
		return fmt.Errorf("jobs: freeze %s: %w", key, err)
	}
	if len(frozen) > 0 {
		return nil
	}
	last := time.Date(month.Year(), month.Month()+1, 0, 0, 0, 0, 0, month.Location())
	if _, err := computeDay(ctx, st, last, now); err != nil {
		return err
	}
	months, err := MonthFigures(ctx, st, key)
	if err != nil {
		return err
	}
	rows := make([]store.RollupRecord, 0, len(months))
	for _, m := range months {
		m.Frozen = true
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		rows = append(rows, store.RollupRecord{SquadID: m.SquadID, Key: key, Body: b, At: now})
	}
	if err := st.FreezeRollupMonth(ctx, rows); err != nil {
		return fmt.Errorf("jobs: freeze %s: %w", key, err)
	}
	return nil
}

// MonthFigures builds each squad's month from the stored days of the
// month (a month not frozen yet: its figures so far), by squad.
func MonthFigures(ctx context.Context, st store.Rollups, month string) ([]SquadMonth, error) {
	days, err := st.RollupMonthDays(ctx, month)
	if err != nil {
		return nil, fmt.Errorf("jobs: month %s: %w", month, err)
	}
	var out []SquadMonth
	for _, r := range days {
		var d SquadDay
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, fmt.Errorf("jobs: month %s: day %s of squad %d: %w", month, r.Key, r.SquadID, err)
		}
		if len(out) == 0 || out[len(out)-1].SquadID != r.SquadID {
			out = append(out, SquadMonth{Month: month})
		}
		m := &out[len(out)-1]
		m.InspectionsTotal += d.Inspections.Total
		m.FindingsOpenedSum += d.FindingsOpened
		m.FindingsClosedSum += d.FindingsClosed
		m.BlackCafesFound += len(d.BlackCafes)
		m.SquadDay = d // days come in order: the last one stands
	}
	return out, nil
}

// StoredMonth is the month's record: the frozen one when the month froze,
// else its figures so far (Frozen false).
func StoredMonth(ctx context.Context, st store.Rollups, month string) ([]SquadMonth, error) {
	frozen, err := st.RollupMonths(ctx, month)
	if err != nil {
		return nil, fmt.Errorf("jobs: month %s: %w", month, err)
	}
	if len(frozen) == 0 {
		return MonthFigures(ctx, st, month)
	}
	out := make([]SquadMonth, len(frozen))
	for i, r := range frozen {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			return nil, fmt.Errorf("jobs: month %s of squad %d: %w", month, r.SquadID, err)
		}
	}
	return out, nil
}

// StoredDay is a day's stored figures, by squad.
func StoredDay(ctx context.Context, st store.Rollups, day string) ([]SquadDay, error) {
	rows, err := st.RollupDays(ctx, day)
	if err != nil {
		return nil, fmt.Errorf("jobs: day %s: %w", day, err)
	}
	out := make([]SquadDay, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			return nil, fmt.Errorf("jobs: day %s of squad %d: %w", day, r.SquadID, err)
		}
	}
	return out, nil
}

// recordLate records the inspections received on day that started in a
// month before it which froze before they were received.
func recordLate(ctx context.Context, st store.Rollups, day time.Time, now time.Time) error {
	w := Window(day)
	list, err := st.ReceivedBetween(ctx, w.DayStart, w.DayEnd, w.MonthStart)
	if err != nil {
		return fmt.Errorf("jobs: late arrivals of %s: %w", day.Format(DayLayout), err)
	}
	frozenAt := map[string]*time.Time{}
	var late []store.LateArrival
	for _, in := range list {
		month := in.StartedAt.In(day.Location()).Format(MonthLayout)
		at, ok := frozenAt[month]
		if !ok {
			recs, err := st.RollupMonths(ctx, month)
			if err != nil {
				return fmt.Errorf("jobs: late arrivals of %s: %w", day.Format(DayLayout), err)
			}
			if len(recs) > 0 {
				t := recs[0].At
				at = &t
			}
			frozenAt[month] = at
		}
		if at == nil || !in.ReceivedAt.After(*at) {
			continue // its month is still open, or it counted in the record
		}
		late = append(late, store.LateArrival{InspectionID: in.ID, SquadID: in.SquadID, Day: day.Format(DayLayout),
			Month: month, ReceivedAt: in.ReceivedAt})
	}
	if err := st.RecordLateArrivals(ctx, late); err != nil {
		return fmt.Errorf("jobs: late arrivals of %s: %w", day.Format(DayLayout), err)
	}
	return nil
}

// CatchUp rolls up, in order, every day from the one after the last day
// rolled up to yesterday (of now, in loc), at most MaxCatchUpDays of them
// (the most recent); with no day rolled up yet, yesterday alone. The
// nightly job is CatchUp, so a night missed while the server was down is
// filled by the next start or the next night. It returns the days rolled.
func CatchUp(ctx context.Context, st store.Rollups, loc *time.Location, now time.Time) ([]string, error) {
	local := now.In(loc)
	yesterday := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, loc)
	from := yesterday
	last, err := st.LastRollupDay(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: catch up: %w", err)
	}
	if last != "" {
		l, err := ParseDay(last, loc)
		if err != nil {
			return nil, fmt.Errorf("jobs: catch up: stored day %q: %w", last, err)
		}
		from = l.AddDate(0, 0, 1)
	}
	if earliest := yesterday.AddDate(0, 0, -(MaxCatchUpDays - 1)); from.Before(earliest) {
		from = earliest
	}
	var done []string
	for d := from; !d.After(yesterday); d = d.AddDate(0, 0, 1) {
		if _, err := RollupDay(ctx, st, d, now); err != nil {
			return done, err
		}
		done = append(done, d.Format(DayLayout))
	}
	return done, nil
}

// RollupRange rolls up, in order, every local day from from to to (both
// included, dates in loc): the history of data brought in at once, such
// as the demo district's months or an import of past records, which the
// nightly catch-up (at most MaxCatchUpDays) would not reach. Months end
// and freeze as they do night by night. It returns the days rolled.
func RollupRange(ctx context.Context, st store.Rollups, from, to time.Time, loc *time.Location, now time.Time) ([]string, error) {
	f, t := from.In(loc), to.In(loc)
	start := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	end := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	var done []string
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		if _, err := RollupDay(ctx, st, d, now); err != nil {
			return done, err
		}
		done = append(done, d.Format(DayLayout))
	}
	return done, nil
}

// MonthItemsOpened sums, by squad and checklist item, the findings opened
// on each stored day of the month: what the month brought up, item by
// item (a day's ByItem holds that day's flow, the last day's alone would
// miss the rest of the month).
func MonthItemsOpened(ctx context.Context, st store.Rollups, month string) (map[int64]map[string]int, error) {
	days, err := st.RollupMonthDays(ctx, month)
	if err != nil {
		return nil, fmt.Errorf("jobs: items of %s: %w", month, err)
	}
	out := map[int64]map[string]int{}
	for _, r := range days {
		var d struct {
			ByItem map[string]ItemFindings `json:"by_item"`
		}
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, fmt.Errorf("jobs: items of %s: day %s of squad %d: %w", month, r.Key, r.SquadID, err)
		}
		m := out[r.SquadID]
		if m == nil {
			m = map[string]int{}
			out[r.SquadID] = m
		}
		for id, it := range d.ByItem {
			if it.Opened > 0 {
				m[id] += it.Opened
			}
		}
	}
	return out, nil
}

// MonthWithItems is StoredMonth and MonthItemsOpened of the same month at
// once: the month's stored days are read once and each body decoded once,
// in full only for a squad's last day (the one that stands in an open
// month's record), else for the flows summed alone.
func MonthWithItems(ctx context.Context, st store.Rollups, month string) ([]SquadMonth, map[int64]map[string]int, error) {
	frozen, err := st.RollupMonths(ctx, month)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: month %s: %w", month, err)
	}
	days, err := st.RollupMonthDays(ctx, month)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: month %s: %w", month, err)
	}
	var out []SquadMonth
	if len(frozen) > 0 {
		out = make([]SquadMonth, len(frozen))
		for i, r := range frozen {
			if err := json.Unmarshal(r.Body, &out[i]); err != nil {
				return nil, nil, fmt.Errorf("jobs: month %s of squad %d: %w", month, r.SquadID, err)
			}
		}
	}
	items := map[int64]map[string]int{}
	for i, r := range days {
		last := i == len(days)-1 || days[i+1].SquadID != r.SquadID
		var f dayFlows
		var d SquadDay
		if last && len(frozen) == 0 {
			if err := json.Unmarshal(r.Body, &d); err != nil {
				return nil, nil, fmt.Errorf("jobs: month %s: day %s of squad %d: %w", month, r.Key, r.SquadID, err)
			}
			f.Inspections.Total, f.FindingsOpened, f.FindingsClosed = d.Inspections.Total, d.FindingsOpened, d.FindingsClosed
			f.BlackCafes = countList(len(d.BlackCafes))
			f.ByItem = make(map[string]itemOpened, len(d.ByItem))
			for id, it := range d.ByItem {
				f.ByItem[id] = itemOpened{Opened: it.Opened}
			}
		} else if err := json.Unmarshal(r.Body, &f); err != nil {
			return nil, nil, fmt.Errorf("jobs: month %s: day %s of squad %d: %w", month, r.Key, r.SquadID, err)
		}
		m := items[r.SquadID]
		if m == nil {
			m = map[string]int{}
			items[r.SquadID] = m
		}
		for id, it := range f.ByItem {
			if it.Opened > 0 {
				m[id] += it.Opened
			}
		}
		if len(frozen) > 0 {
			continue
		}
		if i == 0 || days[i-1].SquadID != r.SquadID {
			out = append(out, SquadMonth{Month: month})
		}
		s := &out[len(out)-1]
		s.InspectionsTotal += f.Inspections.Total
		s.FindingsOpenedSum += f.FindingsOpened
		s.FindingsClosedSum += f.FindingsClosed
		s.BlackCafesFound += int(f.BlackCafes)
		if last {
			s.SquadDay = d
		}
	}
	return out, items, nil
}

// dayFlows are the parts of a stored day its month sums.
type dayFlows struct {
	Inspections struct {
		Total int `json:"total"`
	} `json:"inspections"`
	FindingsOpened int                   `json:"findings_opened"`
	FindingsClosed int                   `json:"findings_closed"`
	BlackCafes     countList             `json:"black_cafes"`
	ByItem         map[string]itemOpened `json:"by_item"`
}

// itemOpened is the part of ItemFindings a month sums by item.
type itemOpened struct {
	Opened int `json:"opened"`
}

// countList decodes a JSON list as its length alone.
type countList int

// UnmarshalJSON counts the list's elements without keeping them.
func (n *countList) UnmarshalJSON(b []byte) error {
	var l []json.RawMessage
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*n = countList(len(l))
	return nil
}

// SquadCoverage is a squad's coverage in a month's record.
type SquadCoverage struct {
	SquadID  int64   `json:"squad_id"`
	Coverage float64 `json:"coverage"`
}

// MonthCoverage is each squad's coverage in StoredMonth's record of the
// month, decoding no more of the bodies than that: the frozen records, or
// for a month still open the last stored day of each squad.
func MonthCoverage(ctx context.Context, st store.Rollups, month string) ([]SquadCoverage, error) {
	rows, err := st.RollupMonths(ctx, month)
	if err != nil {
		return nil, fmt.Errorf("jobs: month %s: %w", month, err)
	}
	open := len(rows) == 0
	if open {
		if rows, err = st.RollupMonthDays(ctx, month); err != nil {
			return nil, fmt.Errorf("jobs: month %s: %w", month, err)
		}
	}
	var out []SquadCoverage
	for i, r := range rows {
		if open && i < len(rows)-1 && rows[i+1].SquadID == r.SquadID {
			continue // a day before the squad's last
		}
		var c SquadCoverage
		if err := json.Unmarshal(r.Body, &c); err != nil {
			return nil, fmt.Errorf("jobs: month %s of squad %d: %w", month, r.SquadID, err)
		}
		out = append(out, c)
	}
	return out, nil
}
