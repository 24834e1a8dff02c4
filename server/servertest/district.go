package servertest

import "github.com/patrolhq/patrol/schema"

// District is a seeded set of squads. Tests read ids and names from it
// instead of repeating them.
type District struct {
	Squads []Squad
}

// Squad is one squad of a District: its jurisdiction (the box that decides
// which schools its devices see), its leader, inspectors and venues.
type Squad struct {
	ID                             int64
	Name                           string
	MinLat, MinLng, MaxLat, MaxLng float64
	Leader                         Member
	Inspectors                     []Member
	Venues                         []schema.Venue
}

// Member is a user of a squad as the district lists them.
type Member struct {
	Username, Name, BadgeNo string
}

// SmallDistrict is what Start seeds without Options.Demo: two squads side
// by side, each with a leader (leader1, leader2), two inspectors
// (inspector1 and inspector2 in squad 1, inspector3 and inspector4 in
// squad 2) and three licensed venues with fixed ids, plus the admin and
// the embedded checklists every server holds. It returns a fresh copy
// each call, so a test may change what it got.
func SmallDistrict() District {
	venue := func(id string, squad int64, kind, name string, lat, lng float64) schema.Venue {
		return schema.Venue{ID: id, SquadID: squad, Kind: kind, Name: name, Address: "Lanshan district", Licensed: true,
			LicenceNo: "LIC-" + id[len(id)-4:], Phone: "0539-800" + id[len(id)-4:], OpenState: schema.OpenStateOpen, Lat: lat, Lng: lng}
	}
	return District{Squads: []Squad{
		{
			ID: 1, Name: "Squad 1", MinLat: 35.00, MinLng: 118.30, MaxLat: 35.10, MaxLng: 118.40,
			Leader: Member{"leader1", "Chen Jun", "JX-0100"},
			Inspectors: []Member{
				{"inspector1", "Li Wei", "JX-0001"},
				{"inspector2", "Wang Fang", "JX-0002"},
			},
			Venues: []schema.Venue{
				venue("01900000-0000-7000-8000-000000000001", 1, schema.KindNetCafe, "Star Net Café", 35.06, 118.34),
				venue("01900000-0000-7000-8000-000000000002", 1, schema.KindArcade, "Golden Arcade", 35.07, 118.35),
				venue("01900000-0000-7000-8000-000000000003", 1, schema.KindKTV, "Moonlight KTV", 35.04, 118.32),
			},
		},
		{
			ID: 2, Name: "Squad 2", MinLat: 35.10, MinLng: 118.30, MaxLat: 35.20, MaxLng: 118.40,
			Leader: Member{"leader2", "Sun Li", "JX-0200"},
			Inspectors: []Member{
				{"inspector3", "Zhao Min", "JX-0003"},
				{"inspector4", "Zhou Tao", "JX-0004"},
			},
			Venues: []schema.Venue{
				venue("01900000-0000-7000-8000-000000000004", 2, schema.KindNetCafe, "Blue Sea Net Bar", 35.16, 118.34),
				venue("01900000-0000-7000-8000-000000000005", 2, schema.KindArcade, "Speed Arcade", 35.17, 118.36),
				venue("01900000-0000-7000-8000-000000000006", 2, schema.KindBookshop, "Riverside Books", 35.14, 118.31),
			},
		},
	}}
}

// ThreeSquadDistrict is SmallDistrict with a third squad north of the
// other two (leader3; inspector5 and inspector6; a café, an arcade and a
// bookshop), for tests that must show that work reaches one squad of
// several and no other.
func ThreeSquadDistrict() District {
	d := SmallDistrict()
	venue := func(id string, kind, name string, lat, lng float64) schema.Venue {
		return schema.Venue{ID: id, SquadID: 3, Kind: kind, Name: name, Address: "兰山区北城", Licensed: true,
			LicenceNo: "LIC-" + id[len(id)-4:], Phone: "0539-800" + id[len(id)-4:], OpenState: schema.OpenStateOpen, Lat: lat, Lng: lng}
	}
	d.Squads = append(d.Squads, Squad{
		ID: 3, Name: "Squad 3", MinLat: 35.20, MinLng: 118.30, MaxLat: 35.30, MaxLng: 118.40,
		Leader: Member{"leader3", "Liu Yang", "JX-0300"},
		Inspectors: []Member{
			{"inspector5", "Ma Lin", "JX-0005"},
			{"inspector6", "Hu Jing", "JX-0006"},
		},
		Venues: []schema.Venue{
			venue("01900000-0000-7000-8000-000000000007", schema.KindNetCafe, "北城网咖", 35.26, 118.34),
			venue("01900000-0000-7000-8000-000000000008", schema.KindArcade, "North Arcade", 35.27, 118.35),
			venue("01900000-0000-7000-8000-000000000009", schema.KindBookshop, "North Books", 35.24, 118.31),
		},
	})
	return d
}
