package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliSquads = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":1,"name":"一中队"},"geometry":{"type":"Polygon","coordinates":[[[118.30,35.00],[118.40,35.00],[118.40,35.10],[118.30,35.10],[118.30,35.00]]]}}]}`

const cliSchools = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"EDU-1","name":"第一小学","kind":"小学"},"geometry":{"type":"Polygon","coordinates":[[[118.35,35.05],[118.351,35.05],[118.351,35.051],[118.35,35.05]]]}}]}`

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestImport_CommandLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data := filepath.Join(dir, "data")
	squads, schools := write("squads.geojson", cliSquads), write("schools.geojson", cliSchools)
	venues := write("venues.csv", "external_id,licence_no,kind,name,address,lat,lng\nV-1,L-1,net_cafe,星际网吧,1 Road,35.05,118.35\n")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"import", "squads", squads, "--data", data, "--dry-run"}, "dry run"},
		{[]string{"import", "squads", squads, "--data", data}, "squads: 1 created, 0 updated, 0 unchanged"},
		{[]string{"import", "schools", "--datum", "gcj02", "--data", data, schools}, "schools: 1 created"},
		{[]string{"import", "schools", schools, "--datum", "gcj02", "--data", data}, "schools: 0 created, 0 updated, 1 unchanged"},
		{[]string{"import", "venues", venues, "--data", data}, "venues: 1 created"},
		{[]string{"import", "venues", venues, "--data", data}, "venues: 0 created, 0 updated, 1 unchanged"},
	}
	for _, s := range steps {
		out, err := runCLI(t, s.args...)
		if err != nil || !strings.Contains(out, s.want) {
			t.Fatalf("%v: %q, %v; want %q", s.args, out, err, s.want)
		}
	}
	bad := write("bad.csv", "external_id,kind,name,lat,lng\nV-2,casino,x,35.05,118.35\nV-3,net_cafe,y,north,118.35\n")
	_, err := runCLI(t, "import", "venues", bad, "--data", data)
	if err == nil || !strings.Contains(err.Error(), "line 2 (id V-2)") || !strings.Contains(err.Error(), "line 3 (id V-3)") {
		t.Fatalf("a bad file: %v; want both lines listed", err)
	}
	if _, err := runCLI(t, "import", "venues", venues, "--datum", "mars", "--data", data); err == nil {
		t.Fatal("an unknown datum was accepted")
	}
}
