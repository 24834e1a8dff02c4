package e2e_test

import (
	"context"
	"slices"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// TestDiscoveries_TwoDevicesRecordOneBlackCafe: two inspectors of squad 1
// record the same unlicensed café offline, 10 m apart, each under its own
// id, and inspect it with photos; both sync. The leader finds both on the
// workbench list, the other one offered first to merge into, and merges
// one into the other. Then there is one venue holding both inspections,
// every photo is still the leader's to read, both venues' audit history is
// kept, and after a pull each device holds its own inspection on the
// survivor and both hold the same venues.
func TestDiscoveries_TwoDevicesRecordOneBlackCafe(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.login("admin")
	d1, d2 := e.newDevice(admin, "inspector1"), e.newDevice(admin, "inspector2")
	mustSync(t, d1)
	mustSync(t, d2)
	base := firstVenue(t, d1, schema.KindNetCafe)
	lat, lng := base.Lat+0.0045, base.Lng+0.0045 // about 640 m from a known café

	v1, err := d1.AddVenue(ctx, mobilesync.NewVenue{Name: "无证网吧", Kind: schema.KindNetCafe, Address: "后巷 3 号", Lat: lat, Lng: lng})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := d2.AddVenue(ctx, mobilesync.NewVenue{Name: "二楼网吧", Kind: schema.KindNetCafe, Phone: "13900000000", Lat: lat, Lng: lng + 0.00011})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p1, h1 := writePhoto(t, dir, 6000, 101)
	p2, h2 := writePhoto(t, dir, 6000, 102)
	i1 := recordWithPhotos(t, d1, v1.ID, []string{p1}, nil)
	i2 := recordWithPhotos(t, d2, v2.ID, []string{p2}, nil)
	for _, d := range []*mobilesync.Device{d1, d2} {
		if rep := mustSync(t, d); rep.Rejected != 0 || rep.PhotosUploaded != 1 {
			t.Fatalf("sync: %+v", rep)
		}
	}

	leader := e.login("leader1")
	var list []schema.Discovery
	if st := leader.call("GET", schema.PathDiscoveries+"?squad=1", nil, &list); st != 200 {
		t.Fatalf("discoveries: %d", st)
	}
	var d2nd *schema.Discovery
	for i := range list {
		if list[i].Venue.ID == v2.ID {
			d2nd = &list[i]
		}
	}
	if d2nd == nil || d2nd.FoundBy != "inspector2" || len(d2nd.Photos) != 1 || d2nd.Photos[0].SHA256 != h2 {
		t.Fatalf("the second device's café on the list: %+v", d2nd)
	}
	if len(d2nd.Nearby) == 0 || d2nd.Nearby[0].ID != v1.ID || d2nd.Nearby[0].DistanceM > 15 {
		t.Fatalf("nearest venue to merge into: %+v; want the first device's café about 10 m away", d2nd.Nearby)
	}

	var res schema.MergeResult
	if st := leader.call("POST", schema.PathVenues+"/"+v2.ID+"/merge", schema.MergeRequest{Into: v1.ID}, &res); st != 200 {
		t.Fatalf("merge: %d", st)
	}
	if res.Survivor.Name != "无证网吧" || res.Survivor.Phone != "13900000000" || res.Duplicate.MergedInto != v1.ID {
		t.Fatalf("merge result: %+v", res)
	}
	var ledger struct {
		Inspections []schema.Inspection `json:"inspections"`
	}
	if st := leader.call("GET", schema.PathVenues+"/"+v1.ID+"/ledger", nil, &ledger); st != 200 {
		t.Fatalf("ledger: %d", st)
	}
	got := []string{}
	for _, in := range ledger.Inspections {
		got = append(got, in.ID)
	}
	if slices.Sort(got); !slices.Equal(got, sorted(i1, i2)) {
		t.Fatalf("inspections of the survivor: %v; want %s and %s", got, i1, i2)
	}
	for _, h := range []string{h1, h2} {
		if resp, body := leader.rawGet("GET", schema.PathPhotos+"/"+h, nil); resp.StatusCode != 200 || len(body) != 6000 {
			t.Fatalf("photo %s after the merge: %d, %d bytes", h[:8], resp.StatusCode, len(body))
		}
	}
	for id, want := range map[string]string{v2.ID: schema.AuditMergedInto, v1.ID: schema.AuditMergeAbsorb} {
		var audit []schema.AuditEntry
		if st := leader.call("GET", schema.PathAudit+"?entity=venue&id="+id, nil, &audit); st != 200 {
			t.Fatalf("audit: %d", st)
		}
		actions := []string{}
		for _, a := range audit {
			actions = append(actions, a.Action)
		}
		if !slices.Contains(actions, want) {
			t.Fatalf("audit of %s: %v; want %s", id, actions, want)
		}
	}
	// The history of the duplicate's inspection is kept under its id.
	var audit []schema.AuditEntry
	if st := leader.call("GET", schema.PathAudit+"?entity=inspection&id="+i2, nil, &audit); st != 200 || len(audit) == 0 {
		t.Fatalf("audit of the duplicate's inspection: %d, %+v", st, audit)
	}

	for _, d := range []*mobilesync.Device{d1, d2} {
		mustSync(t, d)
	}
	ids := func(d *mobilesync.Device) []string {
		var out []string
		for _, v := range venuesOf(t, d) {
			out = append(out, v.ID)
		}
		slices.Sort(out)
		return out
	}
	a, b := ids(d1), ids(d2)
	if !slices.Equal(a, b) {
		t.Fatalf("the devices hold different venues: %d and %d", len(a), len(b))
	}
	if slices.Contains(a, v2.ID) || !slices.Contains(a, v1.ID) {
		t.Fatal("the devices still hold the duplicate, or not the survivor")
	}
	for d, id := range map[*mobilesync.Device]string{d1: i1, d2: i2} {
		in, err := d.Inspection(ctx, id)
		if err != nil || in.VenueID != v1.ID {
			t.Fatalf("device's own inspection %s: venue %s, %v; want the survivor", id, in.VenueID, err)
		}
	}
	if to, err := d2.MergedInto(ctx, v2.ID); err != nil || to != v1.ID {
		t.Fatalf("d2 knows %s merged into %q, %v", v2.ID, to, err)
	}
	// The second device's café is gone from its list; a new inspection it
	// records after the pull is of the survivor and goes through.
	i3 := inspectAll(t, d2, v1.ID, "inspector1")
	if rep := mustSync(t, d2); rep.Rejected != 0 {
		t.Fatalf("sync after the merge: %+v", rep)
	}
	var in schema.Inspection
	if st := leader.call("GET", schema.PathInspections+"/"+i3, nil, &in); st != 200 || in.VenueID != v1.ID {
		t.Fatalf("later inspection: %d, venue %s", st, in.VenueID)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
