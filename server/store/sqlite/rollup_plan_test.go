package sqlite

import (
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// TestRollupPlan_RangesOfIndexes: over two years of a squad's history,
// every read of the rollup searches an index by the squad and the day's or
// month's time range (or the squad's standing rows), never scanning a
// table of the history whole, so a night's cost follows the month's data.
func TestRollupPlan_RangesOfIndexes(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s, _, _ := ledgerStore(t, now)
	ms, ds, de := schema.FormatTime(now.AddDate(0, 0, -20)), schema.FormatTime(now.AddDate(0, 0, -1)), schema.FormatTime(now)
	for _, c := range []struct {
		name, q string
		args    []any
		want    []string
	}{
		{"cafés and the month's inspections", rollupCafesSQL, []any{ms, de, 1, de}, []string{"INDEX inspections_venue (venue_id=? AND started_at>?"}},
		{"the day's inspections", rollupInspectionsSQL, []any{1, ds, de}, []string{"inspections_squad_"}},
		{"opened", rollupOpenedSQL, []any{1, ds, de}, []string{"USING INDEX findings_squad_opened"}},
		{"ordered", rollupOrderedSQL, []any{1, ds, de}, []string{"USING INDEX findings_squad_ordered"}},
		{"closed", rollupClosedSQL, []any{1, ds, de}, []string{"USING INDEX findings_squad_closed"}},
		{"close-out of the month", rollupCloseOutSQL, []any{1, ms, de}, []string{"USING INDEX findings_squad_closed"}},
		{"standing", rollupStandSQL, []any{de, 1, de}, []string{"USING INDEX findings_"}},
		{"black cafés", rollupBlackSQL, []any{1, ds, de}, []string{"USING INDEX venues_squad_created"}},
		{"late syncs", `SELECT id, squad_id, started_at, received_at FROM inspections
			WHERE received_at >= ? AND received_at < ? AND started_at < ? ORDER BY received_at, id`, []any{ds, de, ms},
			[]string{"USING INDEX inspections_received"}},
	} {
		rows, err := s.db.R.Query(`EXPLAIN QUERY PLAN `+c.q, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
		got := strings.Join(lines, "\n")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: plan\n%s\nwant %q", c.name, got, w)
			}
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "SCAN inspections") || strings.HasPrefix(l, "SCAN findings") {
				t.Errorf("%s: scans a history table: %s", c.name, l)
			}
		}
	}
}
