package schema_test

import (
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestCheckMerge_Rules(t *testing.T) {
	found := schema.Venue{ID: "dup", SquadID: 1, CreatedBy: "device-1", Licensed: true, Name: "x"}
	into := schema.Venue{ID: "into", SquadID: 1, Name: "y"}
	for _, c := range []struct {
		name      string
		dup, into schema.Venue
		scope     schema.Scope
		again     bool
		want      schema.Code
	}{
		{"field discovery", found, into, schema.SquadScope(1), false, ""},
		{"unlicensed register venue", schema.Venue{ID: "dup", SquadID: 1, CreatedBy: "server:admin"}, into, schema.SquadScope(1), false, ""},
		{"licensed register venue", schema.Venue{ID: "dup", SquadID: 1, Licensed: true, CreatedBy: "server:admin"}, into, schema.SquadScope(1), false, schema.CodeInvalid},
		{"two squads", found, schema.Venue{ID: "into", SquadID: 2}, schema.SquadScope(1), false, schema.CodeForbidden},
		{"two squads, admin", found, schema.Venue{ID: "into", SquadID: 2}, schema.AllSquads(), false, ""},
		{"itself", found, found, schema.SquadScope(1), false, schema.CodeInvalid},
		{"survivor deleted", found, schema.Venue{ID: "into", SquadID: 1, Deleted: true}, schema.SquadScope(1), false, schema.CodeGone},
		{"done already", schema.Venue{ID: "dup", SquadID: 1, Deleted: true, MergedInto: "into"}, into, schema.SquadScope(1), true, ""},
		{"merged elsewhere", schema.Venue{ID: "dup", SquadID: 1, Deleted: true, MergedInto: "other"}, into, schema.SquadScope(1), false, schema.CodeConflict},
	} {
		again, err := schema.CheckMerge(c.dup, c.into, c.scope)
		if again != c.again || (c.want == "") != (err == nil) || (err != nil && schema.ErrorCode(err) != c.want) {
			t.Errorf("%s: again %v, err %v; want %v, %q", c.name, again, err, c.again, c.want)
		}
	}
}

func TestMergeVenueFields_SurvivorWinsEmptyFilled(t *testing.T) {
	old := schema.HLC{WallMS: 1000, Node: "a"}.String()
	clocks := map[string]string{}
	for _, f := range schema.VenueFields {
		clocks[f] = old
	}
	into := schema.Venue{ID: "into", SquadID: 1, Name: "后街网吧", Clocks: clocks}
	dup := schema.Venue{ID: "dup", SquadID: 1, Name: "无名网吧", Address: "北街 7 号", Phone: "  ", Licensed: true}
	now := schema.HLC{WallMS: 2000, Node: "server"}.String()
	m := schema.MergeVenueFields(into, dup, now)
	if !m.Changed || m.Venue.Name != "后街网吧" || m.Venue.Address != "北街 7 号" || m.Venue.Clocks[schema.FieldAddress] != now ||
		m.Venue.Phone != "" || m.Venue.Licensed {
		t.Fatalf("merged: %+v", m.Venue)
	}
	if len(m.Conflicts) != 1 || m.Conflicts[0].Field != schema.FieldName || m.Conflicts[0].Kind != schema.ConflictMergeDisagree ||
		m.Conflicts[0].DeviceValue != "无名网吧" || m.Conflicts[0].EntityID != "into" {
		t.Fatalf("conflicts: %+v", m.Conflicts)
	}
	if into.Address != "" || into.Clocks[schema.FieldAddress] != old {
		t.Fatal("the survivor passed in was changed")
	}
}

func TestRedirectMerged_RewritesNamesNotCreations(t *testing.T) {
	merged := func(id string) string {
		if id == "dup" {
			return "into"
		}
		return ""
	}
	in := schema.Mutation{Kind: schema.MutInspectionUpsert, Inspection: &schema.Inspection{VenueID: "dup"}}
	if from := schema.RedirectMerged(&in, merged); from != "dup" || in.Inspection.VenueID != "into" {
		t.Errorf("inspection: %q, %s", from, in.Inspection.VenueID)
	}
	up := schema.Mutation{Kind: schema.MutVenueUpdate, VenueUpdate: &schema.VenueUpdate{VenueID: "dup"}}
	if from := schema.RedirectMerged(&up, merged); from != "dup" || up.VenueUpdate.VenueID != "into" {
		t.Errorf("update: %q, %s", from, up.VenueUpdate.VenueID)
	}
	cr := schema.Mutation{Kind: schema.MutVenueCreate, Venue: &schema.Venue{ID: "dup"}}
	if from := schema.RedirectMerged(&cr, merged); from != "" || cr.Venue.ID != "dup" {
		t.Errorf("create: %q, %s", from, cr.Venue.ID)
	}
	other := schema.Mutation{Kind: schema.MutInspectionUpsert, Inspection: &schema.Inspection{VenueID: "v"}}
	if from := schema.RedirectMerged(&other, merged); from != "" || other.Inspection.VenueID != "v" {
		t.Errorf("unmerged: %q", from)
	}
}
