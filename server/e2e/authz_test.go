package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/uuid"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// deviceCall sends a request with a device's own credentials (its token,
// its transport), as a tampered app on that device could.
func deviceCall(t *testing.T, d *mobilesync.Device, method, path string, in any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := d.NewRequest(context.Background(), method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Del("Accept-Encoding")
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

func newMutationID(t *testing.T) string {
	t.Helper()
	return uuid.Must(uuid.NewV7()).String()
}

func deviceCursor(t *testing.T, d *mobilesync.Device) string {
	t.Helper()
	var c string
	if err := d.DB().R.QueryRow(`SELECT value FROM meta WHERE key = 'cursor'`).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAuth_SquadOneCannotReachSquadTwo: a device and the leader of squad 1
// use real ids of squad 2 (a venue, an inspection, the squad 2 device's own
// pull cursor) and get nothing of squad 2: not by pull, not by push, not
// through the leader API.
func TestAuth_SquadOneCannotReachSquadTwo(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	d1 := e.newDevice(admin, "inspector1")
	d3 := e.newDevice(admin, "inspector3")
	mustSync(t, d1)
	mustSync(t, d3)
	v2 := nthVenue(t, d3, schema.KindNetCafe, 0)
	in2ID := inspectAll(t, d3, v2.ID, "inspector4")
	mustSync(t, d3)
	in2 := getInspection(t, admin, in2ID)

	leader1 := e.login("leader1")
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		want   []int
	}{
		{"list squad 2 inspections", "GET", schema.PathInspections + "?squad=2", nil, []int{403, 404}},
		{"read squad 2 inspection", "GET", schema.PathInspections + "/" + in2ID, nil, []int{403, 404}},
		{"review squad 2 inspection", "POST", schema.PathInspections + "/" + in2ID + "/review", map[string]string{"action": "approve"}, []int{403, 404}},
		{"list squad 2 venues", "GET", schema.PathVenues + "?squad=2", nil, []int{403, 404}},
		{"read squad 2 venue", "GET", schema.PathVenues + "/" + v2.ID, nil, []int{403, 404}},
		{"edit squad 2 venue", "PATCH", schema.PathVenues + "/" + v2.ID, map[string]any{"fields": map[string]string{"name": "x"}}, []int{403, 404}},
		{"move squad 2 venue", "POST", schema.PathVenues + "/" + v2.ID + "/move", map[string]int64{"squad_id": 1}, []int{403, 404}},
		{"delete squad 2 venue", "DELETE", schema.PathVenues + "/" + v2.ID, nil, []int{403, 404}},
		{"squad 2 conflicts", "GET", schema.PathConflicts + "?squad=2", nil, []int{403, 404}},
	}
	for _, tc := range cases {
		t.Run("leader/"+tc.name, func(t *testing.T) {
			st := leader1.call(tc.method, tc.path, tc.body, nil)
			if st != tc.want[0] && st != tc.want[1] {
				t.Fatalf("leader 1: %s %s: HTTP %d; want 403 or 404", tc.method, tc.path, st)
			}
		})
		t.Run("device/"+tc.name, func(t *testing.T) {
			st, raw := deviceCall(t, d1, tc.method, tc.path, tc.body)
			if st != 403 && st != 404 {
				t.Fatalf("squad 1 device: %s %s: HTTP %d %s; want 403 or 404", tc.method, tc.path, st, raw)
			}
		})
	}
	var mine []schema.Inspection
	if st := leader1.call("GET", schema.PathInspections, nil, &mine); st != 200 {
		t.Fatalf("leader 1 lists inspections: HTTP %d", st)
	}
	for _, in := range mine {
		if in.SquadID != 1 || in.ID == in2ID {
			t.Fatalf("leader 1 listed inspection %s of squad %d", in.ID, in.SquadID)
		}
	}
	var venues []schema.Venue
	if st := leader1.call("GET", schema.PathVenues, nil, &venues); st != 200 {
		t.Fatalf("leader 1 lists venues: HTTP %d", st)
	}
	for _, v := range venues {
		if v.SquadID != 1 {
			t.Fatalf("leader 1 listed venue %s of squad %d", v.ID, v.SquadID)
		}
	}

	// Pull, from scratch and with the squad 2 device's own cursor.
	for _, cursor := range []string{"", deviceCursor(t, d3)} {
		st, raw := deviceCall(t, d1, "POST", schema.PathPull, schema.PullRequest{Cursor: cursor, Limit: 1000})
		if st != 200 {
			continue // refusing a foreign cursor is fine too
		}
		var page schema.PullResponse
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			if c.ID == v2.ID || c.ID == in2ID || (c.Venue != nil && c.Venue.SquadID != 1) || (c.Inspection != nil && c.Inspection.SquadID != 1) {
				t.Fatalf("squad 1 device pulled %s %s with cursor %q", c.Kind, c.ID, cursor)
			}
		}
	}

	// Push: edit their venue, inspect it, overwrite their inspection,
	// re-create their venue under its id.
	hlc := d1.Clock().Tick().String()
	newer := in2
	newer.Venue, newer.Review, newer.MissingPhotos, newer.PhotosComplete = nil, nil, nil, nil
	newer.Items = append([]schema.ItemResult(nil), in2.Items...)
	newer.Items[0].Note = "overwritten by squad 1"
	newer.HLC = hlc
	fresh := newer
	fresh.ID = newMutationID(t)
	stolen := v2
	stolen.Name = "hijacked"
	req := schema.PushRequest{HLC: hlc, Mutations: []schema.Mutation{
		{ID: newMutationID(t), Kind: schema.MutVenueUpdate, HLC: hlc, VenueUpdate: &schema.VenueUpdate{VenueID: v2.ID,
			Fields: map[string]schema.FieldEdit{schema.FieldName: {Value: "renamed by squad 1", Base: v2.Clocks[schema.FieldName]}}}},
		{ID: newMutationID(t), Kind: schema.MutInspectionUpsert, HLC: hlc, Inspection: &fresh},
		{ID: newMutationID(t), Kind: schema.MutInspectionUpsert, HLC: hlc, Inspection: &newer},
		{ID: newMutationID(t), Kind: schema.MutVenueCreate, HLC: hlc, Venue: &stolen},
	}}
	st, raw := deviceCall(t, d1, "POST", schema.PathPush, req)
	if st == 200 {
		var resp schema.PushResponse
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		for i, r := range resp.Results {
			if r.Outcome != schema.OutcomeRejected {
				t.Errorf("push %d into squad 2 answered %+v; want rejected", i, r)
			}
		}
	} else if st != 403 && st != 404 {
		t.Fatalf("push into squad 2: HTTP %d %s", st, raw)
	}
	if got := getVenue(t, admin, v2.ID); got.Name != v2.Name || got.SquadID != 2 {
		t.Fatalf("squad 2 venue after squad 1's push: %+v", got)
	}
	if got := getInspection(t, admin, in2ID); got.Items[0].Note == "overwritten by squad 1" || got.DeviceID != deviceID(t, d3) {
		t.Fatalf("squad 2 inspection overwritten by squad 1: %+v", got.Items[0])
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, fresh.ID); n != 0 {
		t.Fatal("squad 1 stored an inspection of a squad 2 venue")
	}
}
