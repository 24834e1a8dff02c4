package schema_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestCheckInspectors_Table(t *testing.T) {
	named := func(us ...string) []schema.Inspector {
		out := make([]schema.Inspector, len(us))
		for i, u := range us {
			// What a device might have typed or kept: never what is stored.
			out[i] = schema.Inspector{Username: u, Name: "typed " + u, BadgeNo: "FORGED"}
		}
		return out
	}
	members := squad1Members()
	// inspector2 became a leader since the record was made (a disabled
	// user is not among the active members at all, like one that never was).
	promoted := []schema.Member{members[0], members[1], {Username: "inspector2", Role: schema.RoleLeader, SquadID: 1}}
	cases := []struct {
		name       string
		inspectors []schema.Inspector
		author     string
		members    []schema.Member
		code       schema.Code // "" accepted
		reason     string
	}{
		{"the author and a colleague", named("inspector1", "inspector2"), "inspector1", members, "", ""},
		{"the author alone", named("inspector1"), "inspector1", members, "", ""},
		{"a colleague first", named("inspector2", "inspector1"), "inspector1", members, "", ""},
		{"an allowed co-inspector of another squad", named("inspector1", "inspector3"), "inspector1", members, "", ""},
		{"an inspector of another squad", named("inspector1", "inspector4"), "inspector1", append(slices.Clone(members),
			schema.Member{Username: "inspector4", Role: schema.RoleInspector, SquadID: 2}), schema.CodeForbidden,
			"inspector inspector4 is not an active inspector of squad 1; ask your leader"},
		{"the squad's leader", named("inspector1", "leader1"), "inspector1", members, schema.CodeForbidden,
			"inspector leader1 is not an active inspector of squad 1; ask your leader"},
		{"the admin", named("inspector1", "admin"), "inspector1", members, schema.CodeForbidden,
			"inspector admin is not an active inspector of squad 1; ask your leader"},
		{"a user that does not exist", named("inspector1", "ghost"), "inspector1", members, schema.CodeForbidden,
			"inspector ghost is not an active inspector of squad 1; ask your leader"},
		{"a member who became a leader", named("inspector1", "inspector2"), "inspector1", promoted, schema.CodeForbidden,
			"inspector inspector2 is not an active inspector"},
		{"without its author", named("inspector2", "inspector3"), "inspector1", members, schema.CodeInvalid,
			"does not name its author inspector1"},
		{"the author twice", named("inspector1", "inspector2", "inspector1"), "inspector1", members, schema.CodeInvalid,
			"inspector inspector1 is named twice"},
		{"a colleague twice", named("inspector1", "inspector2", "inspector2"), "inspector1", members, schema.CodeInvalid,
			"inspector inspector2 is named twice"},
		{"an author who leads the squad", named("leader1", "inspector1"), "leader1", members, schema.CodeForbidden,
			"you (leader1) are not an active inspector of squad 1"},
		{"an author allowed only as a co-inspector", named("inspector3", "inspector1"), "inspector3", members, schema.CodeForbidden,
			"you (inspector3) are not an active inspector of squad 1"},
		{"no members known yet", named("inspector1", "inspector2"), "inspector1", nil, schema.CodeForbidden, "sync once"},
		{"nobody", nil, "inspector1", members, schema.CodeInvalid, "1 to 10 inspectors"},
		{"an empty username", named("inspector1", ""), "inspector1", members, schema.CodeInvalid, "inspector 2 of the record has no username"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := schema.CheckInspectors(c.inspectors, c.author, 1, c.members)
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(got) != len(c.inspectors) {
					t.Fatalf("%d inspectors back for %d named", len(got), len(c.inspectors))
				}
				for i, in := range got {
					m := c.members[slices.IndexFunc(c.members, func(m schema.Member) bool { return m.Username == c.inspectors[i].Username })]
					if in != (schema.Inspector{Username: m.Username, Name: m.Name, BadgeNo: m.BadgeNo}) {
						t.Errorf("inspector %d is %+v; want the member record %+v", i, in, m)
					}
				}
				return
			}
			if schema.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %v (code %s); want %s containing %q", err, schema.ErrorCode(err), c.code, c.reason)
			}
			if got != nil {
				t.Fatalf("refused, but returned %+v", got)
			}
		})
	}
}

func TestVenueSeenBy_Table(t *testing.T) {
	current := schema.Venue{ID: "v1", SquadID: 2, Kind: schema.KindNetCafe, Name: "New name", Phone: "squad 2's phone", Address: "squad 2's address",
		LicenceNo: "L-2", Lat: 35.1, Lng: 118.3}
	left := &schema.Venue{ID: "v1", SquadID: 1, Kind: schema.KindNetCafe, Name: "Old name", Phone: "squad 1's phone", Address: "squad 1's address",
		LicenceNo: "L-1", Lat: 35.1, Lng: 118.3}
	cases := []struct {
		name  string
		squad int64
		left  *schema.Venue
		want  schema.Venue
	}{
		{"the venue's own squad sees it as it is", 2, nil, current},
		{"the squad it left sees it as it left", 1, left, *left},
		{"a squad it left before copies were kept sees what never changes", 1, nil,
			schema.Venue{ID: "v1", SquadID: 1, Kind: schema.KindNetCafe, Lat: 35.1, Lng: 118.3}},
	}
	for _, c := range cases {
		if got := schema.VenueSeenBy(c.squad, current, c.left); !venueEqual(got, c.want) {
			t.Errorf("%s: %+v; want %+v", c.name, got, c.want)
		}
	}
}

func venueEqual(a, b schema.Venue) bool {
	return a.ID == b.ID && a.SquadID == b.SquadID && a.Kind == b.Kind && a.Name == b.Name && a.Phone == b.Phone && a.Address == b.Address &&
		a.LicenceNo == b.LicenceNo && a.Lat == b.Lat && a.Lng == b.Lng
}
