package jobs_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
)

// monthDays is a store.Rollups that holds only a month's stored days.
type monthDays struct {
	store.Rollups
	rows []store.RollupRecord
}

func (m monthDays) RollupMonthDays(context.Context, string) ([]store.RollupRecord, error) {
	return m.rows, nil
}

func dayBody(t *testing.T, d jobs.SquadDay) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The month's findings by item are the sum of each day's openings, not
// the last day's flow.
func TestMonthItemsOpened_SumsTheDays(t *testing.T) {
	st := monthDays{rows: []store.RollupRecord{
		{SquadID: 1, Key: "2026-03-01", Body: dayBody(t, jobs.SquadDay{ByItem: map[string]jobs.ItemFindings{"NC01": {Opened: 2}, "NC02": {Open: 5}}})},
		{SquadID: 1, Key: "2026-03-02", Body: dayBody(t, jobs.SquadDay{ByItem: map[string]jobs.ItemFindings{"NC01": {Opened: 1, Open: 3}}})},
		{SquadID: 2, Key: "2026-03-01", Body: dayBody(t, jobs.SquadDay{ByItem: map[string]jobs.ItemFindings{"NC11": {Opened: 4}}})},
	}}
	got, err := jobs.MonthItemsOpened(context.Background(), st, "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]map[string]int{1: {"NC01": 3}, 2: {"NC11": 4}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
