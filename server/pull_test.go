package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func TestPull_VisibleSetOfTheSquad(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	changes, reset := d.pullAll(0)
	if !reset {
		t.Fatal("first pull should reset")
	}
	kinds := map[string]int{}
	for _, c := range changes {
		kinds[c.Kind]++
		switch {
		case c.Venue != nil && c.Venue.SquadID != 1:
			t.Fatalf("venue of squad %d delivered to squad 1", c.Venue.SquadID)
		case c.Member != nil && c.Member.SquadID != 1:
			t.Fatalf("member %+v", c.Member)
		case c.Inspection != nil && c.Inspection.SquadID != 1:
			t.Fatalf("inspection %s of squad %d delivered", c.ID, c.Inspection.SquadID)
		}
	}
	if kinds[schema.ChangeVenue] != len(e.venues(1)) || kinds[schema.ChangeChecklist] != 1 || kinds[schema.ChangeZoneRule] != 1 || kinds[schema.ChangeMember] != 3 {
		t.Fatalf("pulled kinds %v", kinds)
	}
	// A device gets back its own inspections, not the inspector's earlier
	// work from other devices (the demo history).
	if own := e.count("inspections WHERE device_id = '" + d.id + "'"); kinds[schema.ChangeInspection] != own {
		t.Fatalf("pulled %d inspections; the device made %d", kinds[schema.ChangeInspection], own)
	}
	if e.count("inspections WHERE author_id = (SELECT id FROM users WHERE username = 'inspector1')") == 0 {
		t.Fatal("the demo history has no inspections by inspector1; the check above proves nothing")
	}
	if kinds[schema.ChangeSchool] == 0 || kinds[schema.ChangeSchool] == 12 {
		t.Fatalf("pulled %d of 12 schools; want those near squad 1 only", kinds[schema.ChangeSchool])
	}
	again, reset := d.pullAll(0)
	if reset || len(again) != 0 {
		t.Fatalf("second pull: reset=%v %d changes", reset, len(again))
	}
}

func TestPull_PagesDeliverEveryRowExactlyOnce(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	whole, _ := d.pullAll(schema.MaxMutationsPerPush * 5)
	d.cursor = ""
	seen := map[string]int{}
	var pages int
	var last int64
	for {
		var pr schema.PullResponse
		d.must(200, "POST", schema.PathPull, schema.PullRequest{Cursor: d.cursor, Limit: 7}, &pr)
		pages++
		if len(pr.Changes) > 7 {
			t.Fatalf("page of %d changes with limit 7", len(pr.Changes))
		}
		for _, c := range pr.Changes {
			if c.Seq < last {
				t.Fatalf("seq %d after %d", c.Seq, last)
			}
			last = c.Seq
			seen[c.Kind+"/"+c.ID]++
		}
		d.cursor = pr.Cursor
		if pages == 2 {
			// A write between pages arrives later in the sequence, not lost.
			d.push(d.upsert(d.inspection(e.venues(1)[0].ID)))
		}
		if !pr.More {
			break
		}
	}
	if pages < 3 {
		t.Fatalf("only %d pages", pages)
	}
	for _, c := range whole {
		if seen[c.Kind+"/"+c.ID] != 1 {
			t.Fatalf("%s/%s delivered %d times", c.Kind, c.ID, seen[c.Kind+"/"+c.ID])
		}
	}
	if len(seen) != len(whole)+1 {
		t.Fatalf("paged pull delivered %d rows; single pull %d plus one new inspection", len(seen), len(whole))
	}
}

func TestPull_GzipAndBadCursorResets(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	d.pullAll(0)
	body, _ := json.Marshal(schema.PullRequest{Cursor: "garbage!!"})
	req, _ := http.NewRequest("POST", e.http.URL+schema.PathPull, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("pull not gzip-compressed: %v", res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	var pr schema.PullResponse
	if err := json.Unmarshal(raw, &pr); err != nil {
		t.Fatal(err)
	}
	if !pr.Reset || len(pr.Changes) == 0 {
		t.Fatalf("unusable cursor: reset=%v changes=%d", pr.Reset, len(pr.Changes))
	}
}

func TestMove_VenueArrivesInNewSquadAndLeavesOld(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.enroll("inspector1"), e.enroll("inspector3")
	changes, _ := d1.pullAll(0)
	v := firstVenue(t, changes)
	d2.pullAll(0)
	// Unrelated writes move the cursors well past the venue's last change.
	d2.push(d2.upsert(d2.inspection(e.venues(2)[0].ID)))
	d2.pullAll(0)
	inspectedBeforeMove := d1.inspection(v.ID)

	var moved schema.Venue
	e.login("admin").must(200, "POST", schema.PathVenues+"/"+v.ID+"/move", map[string]int64{"squad_id": 2}, &moved)
	if moved.SquadID != 2 {
		t.Fatalf("moved %+v", moved)
	}
	got2, reset := d2.pullAll(0)
	if reset {
		t.Fatal("a move must not reset the other squad")
	}
	if c := byID(got2, schema.ChangeVenue, v.ID); len(c) != 1 || c[0].Venue == nil || c[0].Venue.SquadID != 2 {
		t.Fatalf("new squad pulled %+v", c)
	}
	got1, _ := d1.pullAll(0)
	if c := byID(got1, schema.ChangeVenue, v.ID); len(c) != 1 || !c[0].Removed {
		t.Fatalf("old squad pulled %+v", c)
	}
	if r := d1.push(d1.upsert(inspectedBeforeMove))[0]; r.Outcome != schema.OutcomeApplied {
		t.Fatalf("unsent inspection of the moved venue: %+v", r)
	}
	// An edit of the venue from the old squad is refused.
	if r := d1.push(d1.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "1"}}))[0]; r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeForbidden {
		t.Fatalf("old squad edit: %+v", r)
	}
	// After the grace period, the old squad can no longer deliver work on it.
	e.clock.Advance(31 * 24 * time.Hour)
	late := d1.inspection(v.ID)
	if r := d1.push(d1.upsert(late))[0]; r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeForbidden {
		t.Fatalf("inspection 31 days after the move: %+v", r)
	}
}
