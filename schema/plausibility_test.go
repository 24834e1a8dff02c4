package schema_test

import (
	"slices"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func TestPhotoTimePlausible_Table(t *testing.T) {
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	now := start.Add(time.Hour)
	cases := []struct {
		name     string
		captured time.Time
		want     bool
	}{
		{"during the inspection", start.Add(30 * time.Minute), true},
		{"just before it", start.Add(-time.Hour), true},
		{"a minute ahead of the device clock", now.Add(time.Minute), true},
		{"an hour in the future", now.Add(time.Hour), false},
		{"eleven months before", start.AddDate(0, -11, 0), true},
		{"two years before", start.AddDate(-2, 0, 0), false},
	}
	for _, c := range cases {
		if got := schema.PhotoTimePlausible(c.captured, start, now); got != c.want {
			t.Errorf("%s: PhotoTimePlausible = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestHLCRunsAhead_Table(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"behind", now.Add(-time.Hour), false},
		{"at the lead", now.Add(schema.MaxHLCLead), false},
		{"past the lead", now.Add(schema.MaxHLCLead + time.Millisecond), true},
		{"three hours ahead", now.Add(3 * time.Hour), true},
	}
	for _, c := range cases {
		if got := schema.HLCRunsAhead(schema.HLC{WallMS: c.at.UnixMilli(), Node: "d"}, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestInspectionFlags_Table(t *testing.T) {
	two := []schema.Inspector{{Username: "a"}, {Username: "b"}}
	cases := []struct {
		name string
		in   schema.Inspection
		want []string
	}{
		{"nothing to look at", schema.Inspection{Inspectors: two}, nil},
		{"one inspector", schema.Inspection{Inspectors: two[:1]}, []string{schema.FlagSingleInspector}},
		{"suspect times", schema.Inspection{Inspectors: two, TimeSuspect: true}, []string{schema.FlagTimeSuspect}},
		{"photos missing", schema.Inspection{Inspectors: two, MissingPhotos: []string{"ab"}}, []string{schema.FlagPhotosMissing}},
		{"all, in order", schema.Inspection{TimeSuspect: true, MissingPhotos: []string{"ab"}},
			[]string{schema.FlagSingleInspector, schema.FlagTimeSuspect, schema.FlagPhotosMissing}},
	}
	for _, c := range cases {
		if got := schema.InspectionFlags(&c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestVenueSquad_TakesInspectionFrom(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cases := []struct {
		name    string
		v       schema.VenueSquad
		started time.Time
		want    bool
	}{
		{"unknown venue", schema.VenueSquad{Squad: 1}, now.Add(-time.Hour), false},
		{"the squad's venue", schema.VenueSquad{Known: true, Squad: 1}, now.Add(-time.Hour), true},
		{"another squad's, never the pusher's", schema.VenueSquad{Known: true, Squad: 2}, now.Add(-time.Hour), false},
		{"left a day ago, started before", schema.VenueSquad{Known: true, Squad: 2, LeftAt: now.Add(-day)}, now.Add(-day - time.Hour), true},
		{"left a day ago, started after the move", schema.VenueSquad{Known: true, Squad: 2, LeftAt: now.Add(-day)}, now.Add(-time.Hour), false},
		{"left a day ago, started at the move", schema.VenueSquad{Known: true, Squad: 2, LeftAt: now.Add(-day)}, now.Add(-day), true},
		{"left a day ago, started just after the move", schema.VenueSquad{Known: true, Squad: 2, LeftAt: now.Add(-day)}, now.Add(-day + time.Millisecond), false},
		{"left exactly the grace ago, started before", schema.VenueSquad{Known: true, Squad: 2, LeftAt: now.Add(-schema.ReassignmentGrace)},
			now.Add(-schema.ReassignmentGrace - time.Hour), true},
		{"left before the grace, started before", schema.VenueSquad{Known: true, Squad: 2, LeftAt: now.Add(-schema.ReassignmentGrace - time.Second)},
			now.Add(-schema.ReassignmentGrace - time.Hour), false},
	}
	for _, c := range cases {
		if got := c.v.TakesInspectionFrom(1, c.started, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
