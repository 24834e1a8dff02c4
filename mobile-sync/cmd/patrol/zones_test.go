package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/servertest"
)

// zoneDevice enrols and syncs a device of the demo district's squad 1 and
// returns its database with a primary or secondary school it holds.
func zoneDevice(t *testing.T) (string, schema.School) {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{Demo: &demo.Options{MonthsHistory: 1}})
	code, err := srv.Admin().EnrollmentCode("inspector1")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code)
	mustPatrol(t, db, "sync")
	d, err := mobilesync.Open(context.Background(), mobilesync.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	schools, err := d.Schools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range schools {
		if s.Kind == "primary" || s.Kind == "secondary" {
			return db, s
		}
	}
	t.Fatalf("no primary or secondary school among %d", len(schools))
	return "", schema.School{}
}

// awayFrom is "LAT,LNG" dist metres straight out from the middle of the
// campus's first edge.
func awayFrom(s schema.School, dist float64) (string, string, string) {
	a, b := geo.Point(s.Polygon[0]), geo.Point(s.Polygon[1])
	l, azi, _ := geo.Inverse(a, b)
	mid := geo.Direct(a, azi, l/2)
	out := azi + 90
	if schema.SchoolGeometry(s).(geo.Polygon).Contains(geo.Direct(mid, out, 1)) {
		out = azi - 90
	}
	p := geo.Direct(mid, out, dist)
	lat, lng := fmt.Sprintf("%.7f", p[1]), fmt.Sprintf("%.7f", p[0])
	return lat + "," + lng, lat, lng
}

func TestCLI_ZonesJSONAndVenueAddWarning(t *testing.T) {
	db, s := zoneDevice(t)

	at, lat, lng := awayFrom(s, 150)
	var hits []map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "zones", "--at", at, "--json")), &hits); err != nil {
		t.Fatal(err)
	}
	var mine map[string]any
	for _, h := range hits {
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"distance_m", "inside_zone", "rule_id", "school_id", "school_name"}; !slices.Equal(keys, want) {
			t.Fatalf("zone object has %v, want exactly %v", keys, want)
		}
		if h["school_id"] == s.ID {
			mine = h
		}
	}
	if mine == nil || mine["inside_zone"] != true || mine["school_name"] != s.Name {
		t.Fatalf("150 m from %s: %v", s.Name, hits)
	}

	out := mustPatrol(t, db, "zones", "--at", at)
	if !strings.Contains(out, s.Name) || !strings.Contains(out, "距离 150 米") || !strings.Contains(out, "在禁设区内") {
		t.Fatalf("zones at 150 m:\n%s", out)
	}
	far, _, _ := awayFrom(s, 210)
	if out := mustPatrol(t, db, "zones", "--at", far, "--kind", "arcade"); !strings.Contains(out, "距离 210 米") || !strings.Contains(out, "在禁设区外") {
		t.Fatalf("zones at 210 m:\n%s", out)
	}
	if _, errs, code := patrol(t, db, "zones", "--at", "35.06"); code != exitUsage || !strings.Contains(errs, "comma") {
		t.Fatalf("--at without longitude: exit %d, %s", code, errs)
	}
	if _, errs, code := patrol(t, db, "zones", "--at", "135,118"); code != exitError || !strings.Contains(errs, "latitude") {
		t.Fatalf("--at 135,118: exit %d, %s", code, errs)
	}

	stdout, stderr, code := patrol(t, db, "venue", "add", "--name", "无名网吧", "--kind", "net_cafe", "--lat", lat, "--lng", lng, "--unlicensed")
	if code != 0 {
		t.Fatalf("venue add: exit %d\n%s", code, stderr)
	}
	want := fmt.Sprintf("警告：该位置位于 %s 学校 200 米禁设区内 (150 m)", s.Name)
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "WARNING") {
		t.Fatalf("venue add in a zone warned:\n%s\nwant %q", stderr, want)
	}
	id := lastLine(stdout)
	if err := schema.ValidUUID(id); err != nil {
		t.Fatalf("venue add printed %q", stdout)
	}
	var venues []schema.Venue
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "venues", "--json")), &venues); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(venues, func(v schema.Venue) bool { return v.ID == id })
	if i < 0 || venues[i].FoundInZone == nil || venues[i].FoundInZone.SchoolID != s.ID || !venues[i].FoundInZone.InsideZone {
		t.Fatalf("the recorded venue does not carry its zone: %+v", venues)
	}

	// Outside every zone: no warning.
	_, farLat, farLng := awayFrom(s, 450)
	if _, stderr, code := patrol(t, db, "venue", "add", "--name", "远处网吧", "--lat", farLat, "--lng", farLng); code != 0 || strings.Contains(stderr, s.Name) {
		t.Fatalf("venue add 450 m away: exit %d, %s", code, stderr)
	}
}
