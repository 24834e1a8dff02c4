package servertest_test

import (
	"slices"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
)

func TestStart_SeedsSmallDistrict(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	admin := s.Admin()
	var all []schema.Venue
	if st := admin.Call("GET", schema.PathVenues, nil, &all); st != 200 || len(all) != 6 {
		t.Fatalf("admin lists %d venues (HTTP %d), want 6", len(all), st)
	}
	for _, sq := range s.District.Squads {
		leader := s.Leader(sq.ID)
		var mine []schema.Venue
		if st := leader.Call("GET", schema.PathVenues, nil, &mine); st != 200 {
			t.Fatalf("leader of squad %d: HTTP %d", sq.ID, st)
		}
		var got, want []string
		for _, v := range mine {
			got = append(got, v.ID)
		}
		for _, v := range sq.Venues {
			want = append(want, v.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("leader of squad %d sees venues %v, want %v", sq.ID, got, want)
		}
		for _, in := range sq.Inspectors {
			if code, err := leader.EnrollmentCode(in.Username); err != nil || code == "" {
				t.Errorf("enrollment code for %s from their leader: %q, %v", in.Username, code, err)
			}
		}
	}
	// A leader reaches only their own squad: squad 2's venue is not found.
	other := s.District.Squads[1].Venues[0].ID
	if _, err := s.Leader(1).Venue(other); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("leader1 reading squad 2's venue: %v, want not_found", err)
	}
}

func TestClient_VenueActions(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	admin := s.Admin()
	id := s.District.Squads[0].Venues[0].ID
	res, err := admin.EditVenue(id, map[string]string{schema.FieldPhone: "0539-1"})
	if err != nil || res.Venue.Phone != "0539-1" {
		t.Fatalf("edit: %+v, %v", res, err)
	}
	if v, err := admin.MoveVenue(id, 2); err != nil || v.SquadID != 2 {
		t.Fatalf("move: %+v, %v", v, err)
	}
	if err := admin.DeleteVenue(id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := admin.EditVenue(id, map[string]string{schema.FieldPhone: "0539-2"}); schema.ErrorCode(err) != schema.CodeGone {
		t.Fatalf("edit of a deleted venue: %v, want gone", err)
	}
	if list, err := admin.Inspections(nil); err != nil || len(list) != 0 {
		t.Fatalf("inspections of a fresh district: %+v, %v", list, err)
	}
}

// The three-squad district seeds a third squad whose leader sees only its
// own venues.
func TestStart_ThreeSquadDistrict(t *testing.T) {
	d := servertest.ThreeSquadDistrict()
	s := servertest.Start(t, servertest.Options{District: &d})
	var mine []schema.Venue
	if st := s.Leader(3).Call("GET", schema.PathVenues, nil, &mine); st != 200 {
		t.Fatalf("leader3 venues: HTTP %d", st)
	}
	if len(mine) != 3 {
		t.Fatalf("leader3 sees %d venues; want 3", len(mine))
	}
	for _, v := range mine {
		if v.SquadID != 3 {
			t.Fatalf("leader3 sees venue %s of squad %d", v.ID, v.SquadID)
		}
	}
}
