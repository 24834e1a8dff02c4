package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"image"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/servertest"
)

// squad1 is the squad of inspector1 in the server's seeded district.
var (
	squad1 = servertest.SmallDistrict().Squads[0]
	venue1 = squad1.Venues[0].ID
)

func init() {
	tuneOptions = func(o *mobilesync.Options) {
		o.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
}

// patrol runs one command line against db and returns stdout, stderr and
// the exit code.
func patrol(t *testing.T, db string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"--db", db}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func mustPatrol(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, errs, code := patrol(t, db, args...)
	if code != 0 {
		t.Fatalf("patrol %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// keys decodes a JSON object and returns its field names.
func hasKeys(t *testing.T, obj map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Fatalf("JSON object lacks %q: %v", k, obj)
		}
	}
}

// newServer starts the real server with the small district and returns it
// with a one-time enrolment code for inspector1.
func newServer(t *testing.T) (*servertest.Server, string) {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	code, err := srv.Admin().EnrollmentCode("inspector1")
	if err != nil {
		t.Fatal(err)
	}
	return srv, code
}

func TestCLI_FieldDayOfflineThenSync(t *testing.T) {
	srv, code := newServer(t)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code, "--name", "test phone")

	var rep map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "sync", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	hasKeys(t, rep, "pulled", "pushed", "conflicts", "rejected", "pending_mutations")

	var venues []map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "venues", "--json")), &venues); err != nil {
		t.Fatal(err)
	}
	if len(venues) != len(squad1.Venues) {
		t.Fatalf("venues %v, want the %d of squad 1", venues, len(squad1.Venues))
	}
	hasKeys(t, venues[0], "id", "name", "kind", "licensed", "squad_id", "lat", "lng")

	// Offline from here: a black café found on patrol, inspected at once.
	black := lastLine(mustPatrol(t, db, "venue", "add", "--name", "No-sign net bar", "--kind", "net_cafe", "--lat", "35.05", "--lng", "118.33", "--unlicensed"))
	if err := schema.ValidUUID(black); err != nil {
		t.Fatalf("venue add printed %q", black)
	}
	mustPatrol(t, db, "venue", "edit", venue1, "--phone", "0539-888")
	id := lastLine(mustPatrol(t, db, "inspect", "start", "--venue", black, "--co-inspector", "inspector2"))
	if err := schema.ValidUUID(id); err != nil {
		t.Fatalf("inspect start printed %q", id)
	}
	mustPatrol(t, db, "inspect", "item", id, "NC01", "fail", "--note", "no licence at all")
	if _, errs, code := patrol(t, db, "inspect", "submit", id); code != 1 || !strings.Contains(errs, "NC02") {
		t.Fatalf("incomplete submit: exit %d, %s", code, errs)
	}
	for i := 2; i <= 16; i++ {
		mustPatrol(t, db, "inspect", "item", id, "NC"+pad(i), "pass")
	}
	mustPatrol(t, db, "inspect", "submit", id)
	if out := mustPatrol(t, db, "inspect", "show", id); !strings.Contains(out, "no licence at all") || !strings.Contains(out, "JX-0002") {
		t.Fatalf("inspect show:\n%s", out)
	}

	var ins []map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "inspections", "--json")), &ins); err != nil {
		t.Fatal(err)
	}
	hasKeys(t, ins[0], "id", "venue_id", "status")
	if ins[0]["status"] != schema.StatusSubmitted {
		t.Fatalf("inspections %v", ins)
	}

	var st map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	hasKeys(t, st, "pending_mutations", "pending_photos", "last_sync", "clock_offset_ms")
	if st["pending_mutations"].(float64) != 3 {
		t.Fatalf("status %v", st)
	}

	if err := json.Unmarshal([]byte(mustPatrol(t, db, "sync", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep["pushed"].(float64) != 3 || rep["pending_mutations"].(float64) != 0 {
		t.Fatalf("sync %v", rep)
	}
	admin := srv.Admin()
	if _, err := admin.Inspection(id); err != nil {
		t.Fatalf("inspection did not reach the server: %v", err)
	}
	if v, err := admin.Venue(black); err != nil || v.Licensed || v.SquadID != squad1.ID {
		t.Fatalf("black café on the server: %+v, %v; want unlicensed, in squad 1", v, err)
	}
}

func TestCLI_SyncUnreachableLosesNothing(t *testing.T) {
	srv, enrol := newServer(t)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", enrol)
	mustPatrol(t, db, "sync")
	mustPatrol(t, db, "venue", "edit", venue1, "--name", "Star Net Café 2F")

	// Point the device at a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	dev, err := mobilesync.Open(context.Background(), mobilesync.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.DB().W.Exec(`UPDATE meta SET value = ? WHERE key = 'server_url'`, dead); err != nil {
		t.Fatal(err)
	}
	dev.Close()

	out, errs, code := patrol(t, db, "sync")
	if code == 0 || !strings.Contains(errs, "cannot reach "+dead) || !strings.Contains(errs, "your work is kept") {
		t.Fatalf("sync offline: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if out := mustPatrol(t, db, "status"); !strings.Contains(out, "1 mutations") {
		t.Fatalf("status after failed sync:\n%s", out)
	}
	if _, errs, code := patrol(t, db, "enroll", "--server", dead, "--code", "X"); code == 0 || !strings.Contains(errs, "cannot reach") {
		t.Fatalf("enroll offline: exit %d, %s", code, errs)
	}
}

func TestCLI_Usage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "device.db")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"inspect", "item", "x"}, exitUsage, "usage: inspect item"},
		{[]string{"venue", "add", "--name", "x"}, exitUsage, "--lat"},
		{[]string{"venue", "add", "--name", "x", "--lat", "north", "--lng", "1"}, exitUsage, "not a number"},
		{[]string{"sync"}, exitError, "not enrolled"},
		{[]string{"inspect", "show", "nope"}, exitError, "no inspection"},
	}
	for _, tc := range cases {
		_, errs, code := patrol(t, db, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("patrol %v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	if out, _, code := patrol(t, db, "help"); code != 0 || !strings.Contains(out, "inspect item") {
		t.Fatalf("help: %d %s", code, out)
	}
}

func TestParseArgs_FlagsAfterPositionals(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	note := fs.String("note", "", "")
	pos, err := parseArgs(fs, []string{"ID", "NC01", "--note", "x y", "fail", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if *note != "x y" || strings.Join(pos, "|") != "ID|NC01|fail|--not-a-flag" {
		t.Fatalf("note %q pos %q", *note, pos)
	}
}

func pad(i int) string {
	if i < 10 {
		return "0" + string(rune('0'+i))
	}
	return "1" + string(rune('0'+i-10))
}

func TestCLI_ItemWithPhoto(t *testing.T) {
	srv, code := newServer(t)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code)
	mustPatrol(t, db, "sync")
	pic := filepath.Join(t.TempDir(), "exit.png")
	f, err := os.Create(pic)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, image.NewGray(image.Rect(0, 0, 4, 4)))
	f.Close()
	id := lastLine(mustPatrol(t, db, "inspect", "start", "--venue", venue1))
	mustPatrol(t, db, "inspect", "item", id, "NC12", "fail", "--photo", pic, "--note", "exit chained")
	mustPatrol(t, db, "inspect", "item", id, "NC11", "pass")
	mustPatrol(t, db, "inspect", "photo", id, "NC11", pic)
	var st map[string]any
	if err := json.Unmarshal([]byte(mustPatrol(t, db, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st["pending_photos"].(float64) != 1 {
		t.Fatalf("status %v: one distinct photo pending", st)
	}
	if out := mustPatrol(t, db, "inspect", "show", id); !strings.Contains(out, "[1 photos]") {
		t.Fatalf("show:\n%s", out)
	}
}

// TestCLI_InspectStartRefusesForgedCoInspectors: `inspect start` names
// only the squad's active inspectors as co-inspectors, and says whom it
// may name instead.
func TestCLI_InspectStartRefusesForgedCoInspectors(t *testing.T) {
	srv, code := newServer(t)
	db := filepath.Join(t.TempDir(), "device.db")
	mustPatrol(t, db, "enroll", "--server", srv.URL, "--code", code, "--name", "test phone")
	mustPatrol(t, db, "sync")
	for _, c := range []struct {
		co   []string
		want string
	}{
		{[]string{"inspector3"}, "inspector inspector3 is not an active inspector of squad 1; ask your leader (co-inspectors you may name: inspector2)"},
		{[]string{"leader1"}, "inspector leader1 is not an active inspector of squad 1"},
		{[]string{"admin"}, "inspector admin is not an active inspector of squad 1"},
		{[]string{"nobody"}, "inspector nobody is not an active inspector of squad 1"},
		{[]string{"inspector1"}, "inspector inspector1 is named twice"},
		{[]string{"inspector2", "inspector2"}, "inspector inspector2 is named twice"},
	} {
		args := []string{"inspect", "start", "--venue", venue1}
		for _, u := range c.co {
			args = append(args, "--co-inspector", u)
		}
		if out, errs, code := patrol(t, db, args...); code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("inspect start --co-inspector %v: exit %d, stdout %q, stderr %q; want exit 1 saying %q", c.co, code, out, errs, c.want)
		}
	}
	if out := mustPatrol(t, db, "inspections", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("inspections after refused starts: %s", out)
	}
	id := lastLine(mustPatrol(t, db, "inspect", "start", "--venue", venue1, "--co-inspector", "inspector2"))
	if out := mustPatrol(t, db, "inspect", "show", id); !strings.Contains(out, "JX-0002") {
		t.Fatalf("inspect show of the legitimate start:\n%s", out)
	}
}
