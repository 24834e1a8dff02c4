package store

import (
	"time"

	"github.com/patrolhq/patrol/schema"
)

// RollupSQL is an adapter's text of the rollup's reads, each taking the
// arguments CollectRollupFacts passes it, in the order noted.
type RollupSQL struct {
	Venues      string // kind, count: squad, day end
	Cafes       string // id, name, inspected: month start, day end, squad, day end
	Inspections string // status, inspector, count: squad, day start, day end
	Opened      string // item, count: squad, day start, day end
	Ordered     string // item, count: squad, day start, day end
	Closed      string // item, count: squad, day start, day end
	Complaints  string // open at the day's end: id, number, accept_by, due, accepted_at or '', handled_at or '': squad, day end (×4)
	Stand       string // item, count, repeated, overdue: day end, squad, day end
	CloseOut    string // opened_at, closed_at: squad, month start, day end
	Black       string // id, name, kind: squad, day start, day end
	Zone        string // id, name, kind: squad, day end
	CasesOpen   string // count: squad, day end, day end
	// CasesOverdue: id, number, venue id, venue name, decide_by: squad,
	// day end, day start, day end
	CasesOverdue string
}

// RowScanner is the current row of a query being read.
type RowScanner interface {
	Scan(dest ...any) error
}

// NewRollupFacts is the facts of a window with nothing counted yet (empty,
// not nil, maps and lists).
func NewRollupFacts() RollupFacts {
	return RollupFacts{VenuesByKind: map[string]int{}, InspectionsByStatus: map[string]int{}, ByInspector: map[string]int{},
		Complaints: []RollupComplaint{},
		Opened:     map[string]int{}, Ordered: map[string]int{}, Closed: map[string]int{}, Overdue: map[string]int{},
		Repeated: map[string]int{}, Standing: map[string]int{}, AtRisk: []RollupVenue{}, BlackCafes: []RollupVenue{},
		InZoneOpen: []RollupVenue{}, CloseOutDays: []float64{}, CasesOverdue: []RollupCase{}}
}

// CollectRollupFacts counts one squad's window (Rollups.RollupFacts) with
// each, which runs one of q's reads in the adapter's one read transaction
// and calls scan with every row it returns.
func CollectRollupFacts(squadID int64, w RollupWindow, q RollupSQL,
	each func(q string, scan func(RowScanner) error, args ...any) error) (RollupFacts, error) {
	ms, ds, de := schema.FormatTime(w.MonthStart), schema.FormatTime(w.DayStart), schema.FormatTime(w.DayEnd)
	f := NewRollupFacts()
	counts := func(m map[string]int) func(RowScanner) error {
		return func(r RowScanner) error {
			var k string
			var n int
			if err := r.Scan(&k, &n); err != nil {
				return err
			}
			m[k] = n
			return nil
		}
	}
	venues := func(list *[]RollupVenue) func(RowScanner) error {
		return func(r RowScanner) error {
			var v RollupVenue
			if err := r.Scan(&v.ID, &v.Name, &v.Kind); err != nil {
				return err
			}
			*list = append(*list, v)
			return nil
		}
	}
	steps := []struct {
		q    string
		scan func(RowScanner) error
		args []any
	}{
		{q.Venues, counts(f.VenuesByKind), []any{squadID, de}},
		{q.Cafes, func(r RowScanner) error {
			var v RollupVenue
			var inspected bool
			if err := r.Scan(&v.ID, &v.Name, &inspected); err != nil {
				return err
			}
			f.LicensedCafes++
			if inspected {
				f.CafesInspected++
			} else {
				v.Kind = schema.KindNetCafe
				f.AtRisk = append(f.AtRisk, v)
			}
			return nil
		}, []any{ms, de, squadID, de}},
		{q.Inspections, func(r RowScanner) error {
			var status, who string
			var n int
			if err := r.Scan(&status, &who, &n); err != nil {
				return err
			}
			f.InspectionsByStatus[status] += n
			f.ByInspector[who] += n
			return nil
		}, []any{squadID, ds, de}},
		{q.Opened, counts(f.Opened), []any{squadID, ds, de}},
		{q.Ordered, counts(f.Ordered), []any{squadID, ds, de}},
		{q.Closed, counts(f.Closed), []any{squadID, ds, de}},
		{q.Stand, func(r RowScanner) error {
			var item string
			var n, rep, over int
			if err := r.Scan(&item, &n, &rep, &over); err != nil {
				return err
			}
			f.Standing[item] = n
			if rep > 0 {
				f.Repeated[item] = rep
			}
			if over > 0 {
				f.Overdue[item] = over
			}
			return nil
		}, []any{de, squadID, de}},
		{q.Complaints, func(r RowScanner) error {
			c, err := scanRollupComplaint(r, de)
			if err == nil {
				f.Complaints = append(f.Complaints, c)
			}
			return err
		}, []any{squadID, de, de, de, de}},
		{q.CloseOut, func(r RowScanner) error {
			var o, c string
			if err := r.Scan(&o, &c); err != nil {
				return err
			}
			d, err := CloseOutDays(o, c)
			if err != nil {
				return err
			}
			f.CloseOutDays = append(f.CloseOutDays, d)
			return nil
		}, []any{squadID, ms, de}},
		{q.Black, venues(&f.BlackCafes), []any{squadID, ds, de}},
		{q.Zone, venues(&f.InZoneOpen), []any{squadID, de}},
		{q.CasesOpen, func(r RowScanner) error { return r.Scan(&f.CasesOpen) }, []any{squadID, de, de}},
		{q.CasesOverdue, func(r RowScanner) error {
			var c RollupCase
			var by string
			if err := r.Scan(&c.ID, &c.Number, &c.VenueID, &c.VenueName, &by); err != nil {
				return err
			}
			t, err := schema.ParseTime(by)
			if err != nil {
				return err
			}
			c.DecideBy = t
			f.CasesOverdue = append(f.CasesOverdue, c)
			return nil
		}, []any{squadID, de, ds, de}},
	}
	for _, st := range steps {
		if err := each(st.q, st.scan, st.args...); err != nil {
			return RollupFacts{}, err
		}
	}
	return f, nil
}

// scanRollupComplaint reads a row of RollupSQL.Complaints: a complaint
// open at the window's end de (stored time text), and the limit it was
// past then: acceptance when it was not accepted by then, else finishing
// when it was not handled by then. The limits are the complaint's as
// stored now (an acceptance or extension after de moved its due later).
func scanRollupComplaint(r RowScanner, de string) (RollupComplaint, error) {
	var c RollupComplaint
	var acceptBy, due, accepted, handled string
	if err := r.Scan(&c.ID, &c.Number, &acceptBy, &due, &accepted, &handled); err != nil {
		return c, err
	}
	at := ""
	switch {
	case (accepted == "" || accepted >= de) && acceptBy < de:
		c.Limit, at = ComplaintLimitAccept, acceptBy
	case (handled == "" || handled >= de) && due < de:
		c.Limit, at = ComplaintLimitFinish, due
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return c, err
		}
		c.LimitAt = &t
	}
	return c, nil
}
