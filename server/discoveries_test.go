package server_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
)

// TestDiscoveries_API walks a field discovery through the API: a device
// records two black cafés, the leader of their squad lists, confirms and
// merges them; every other caller is refused as the scope rules say
// (another squad's venue is not found, so its existence does not leak).
func TestDiscoveries_API(t *testing.T) {
	e := newEnv(t)
	known := e.venues(1)[0]
	d := e.enroll("inspector1")
	var ids [2]string
	for i := range ids {
		v := schema.Venue{ID: uuid.NewString(), Kind: schema.KindNetCafe, Name: "黑网吧 " + itoa(int64(i)), Licensed: false,
			Lat: known.Lat + 0.00005*float64(i+1), Lng: known.Lng}
		r := d.push(schema.Mutation{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &v})
		if r[0].Outcome != schema.OutcomeApplied {
			t.Fatalf("venue.create: %+v", r[0])
		}
		ids[i] = v.ID
	}
	leader1, leader2, admin := e.login("leader1"), e.login("leader2"), e.login("admin")
	var list []schema.Discovery
	leader1.must(200, "GET", schema.PathDiscoveries, nil, &list)
	if len(list) != 2 || list[0].FoundBy != "inspector1" || len(list[0].Nearby) == 0 {
		t.Fatalf("leader1's discoveries: %+v", list)
	}
	near := map[string]bool{}
	for _, n := range list[0].Nearby {
		near[n.ID] = true
	}
	if !near[known.ID] {
		t.Errorf("the known café beside it is not offered to merge into: %+v", list[0].Nearby)
	}
	leader2.must(200, "GET", schema.PathDiscoveries, nil, &list)
	if len(list) != 0 {
		t.Fatalf("leader2 sees squad 1's discoveries: %+v", list)
	}
	inspector := e.login("inspector2")
	venue := func(i int, tail string) string { return schema.PathVenues + "/" + ids[i] + tail }
	for _, tc := range []struct {
		name         string
		c            *client
		method, path string
		body         any
		want         int
	}{
		{"leader2 lists squad 1", leader2, "GET", schema.PathDiscoveries + "?squad=1", nil, 403},
		{"leader2 confirms squad 1's", leader2, "POST", venue(0, "/confirm"), nil, 404},
		{"leader2 merges squad 1's", leader2, "POST", venue(0, "/merge"), schema.MergeRequest{Into: ids[1]}, 404},
		{"inspector lists", inspector, "GET", schema.PathDiscoveries, nil, 403},
		{"inspector confirms", inspector, "POST", venue(0, "/confirm"), nil, 403},
		{"device merges", d.client, "POST", venue(0, "/merge"), schema.MergeRequest{Into: ids[1]}, 403},
		{"anonymous lists", e.anon(), "GET", schema.PathDiscoveries, nil, 401},
		{"bad state", leader1, "GET", schema.PathDiscoveries + "?state=maybe", nil, 400},
		{"merge into nothing", leader1, "POST", venue(0, "/merge"), map[string]string{}, 400},
		{"merge into itself", leader1, "POST", venue(0, "/merge"), schema.MergeRequest{Into: ids[0]}, 400},
		{"merge a register venue", leader1, "POST", schema.PathVenues + "/" + known.ID + "/merge", schema.MergeRequest{Into: ids[0]}, 400},
		{"confirm a register venue", leader1, "POST", schema.PathVenues + "/" + known.ID + "/confirm", nil, 400},
		{"merge into another squad's", leader1, "POST", venue(0, "/merge"), schema.MergeRequest{Into: e.venues(2)[0].ID}, 404},
		{"confirm", leader1, "POST", venue(1, "/confirm"), nil, 200},
		{"confirm again", leader1, "POST", venue(1, "/confirm"), nil, 200},
		{"merge", leader1, "POST", venue(0, "/merge"), schema.MergeRequest{Into: known.ID}, 200},
		{"merge retried", leader1, "POST", venue(0, "/merge"), schema.MergeRequest{Into: known.ID}, 200},
		{"merge elsewhere after", admin, "POST", venue(0, "/merge"), schema.MergeRequest{Into: ids[1]}, 409},
		{"confirm the merged", leader1, "POST", venue(0, "/confirm"), nil, 410},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.call(tc.method, tc.path, tc.body, nil); r.status != tc.want {
				t.Fatalf("%s %s: %d (%s); want %d", tc.method, tc.path, r.status, r.err.Message, tc.want)
			}
		})
	}
	var confirmed []schema.Discovery
	leader1.must(200, "GET", schema.PathDiscoveries+"?state=confirmed", nil, &confirmed)
	if len(confirmed) != 1 || confirmed[0].Venue.ID != ids[1] || confirmed[0].DecidedBy != "leader1" {
		t.Fatalf("confirmed: %+v", confirmed)
	}
	var v schema.Venue
	leader1.must(200, "GET", venue(0, ""), nil, &v)
	if !v.Deleted || v.MergedInto != known.ID {
		t.Fatalf("merged venue reads %+v", v)
	}
}
