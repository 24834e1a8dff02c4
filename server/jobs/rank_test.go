package jobs_test

import (
	"slices"
	"testing"

	"github.com/patrolhq/patrol/server/jobs"
)

func days(d float64) *float64 { return &d }

func TestRank_Order(t *testing.T) {
	for _, c := range []struct {
		name   string
		scores []jobs.Score
		want   []int64
	}{
		{"coverage first", []jobs.Score{
			{SquadID: 1, CafesInspected: 5, Cafes: 10},
			{SquadID: 2, CafesInspected: 9, Cafes: 10, Overdue: 7},
		}, []int64{2, 1}},
		{"coverage compared as fractions", []jobs.Score{
			{SquadID: 1, CafesInspected: 1, Cafes: 3},
			{SquadID: 2, CafesInspected: 2, Cafes: 6, Overdue: 1},
			{SquadID: 3, CafesInspected: 0, Cafes: 0, Overdue: 9}, // nothing to inspect: 100 %
		}, []int64{3, 1, 2}},
		{"then fewer overdue", []jobs.Score{
			{SquadID: 1, CafesInspected: 4, Cafes: 5, Overdue: 3},
			{SquadID: 2, CafesInspected: 4, Cafes: 5, Overdue: 1},
		}, []int64{2, 1}},
		{"then shorter close-out, none closed last", []jobs.Score{
			{SquadID: 1, CafesInspected: 4, Cafes: 5, MedianDays: nil},
			{SquadID: 2, CafesInspected: 4, Cafes: 5, MedianDays: days(9)},
			{SquadID: 3, CafesInspected: 4, Cafes: 5, MedianDays: days(2.5)},
		}, []int64{3, 2, 1}},
		{"full tie by squad id", []jobs.Score{
			{SquadID: 6, CafesInspected: 2, Cafes: 4, Overdue: 1, MedianDays: days(3)},
			{SquadID: 4, CafesInspected: 1, Cafes: 2, Overdue: 1, MedianDays: days(3)},
			{SquadID: 5, CafesInspected: 3, Cafes: 4},
		}, []int64{5, 4, 6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := jobs.Rank(c.scores); !slices.Equal(got, c.want) {
				t.Fatalf("Rank = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMedian_Values(t *testing.T) {
	if jobs.Median(nil) != nil {
		t.Fatal("median of none is not nil")
	}
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 2, 10}, 3}, {[]float64{1.0 / 3}, 0.33}} {
		if got := *jobs.Median(c.in); got != c.want {
			t.Fatalf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
