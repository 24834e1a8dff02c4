// Package storetest is the contract every store.Store must meet, as one
// test suite run against each implementation: the embedded SQLite adapter
// today, the PostgreSQL adapter for several replicas later. The tests use
// nothing but the store.Store interface: their data goes in through Import
// and the store's own writes, their time through the injected clock, so
// that an adapter which passes cannot be told from another by the server.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Open makes a fresh store that reads the time from now: no users yet,
// but the reference data every store starts with (the embedded checklists
// and at least one zone rule). Each subtest opens its own (a temporary
// file, a fresh database) and may run in parallel with the others; Run
// closes the store when the subtest ends.
type Open func(t *testing.T, now func() time.Time) store.Store

// Run runs the store contract against stores made by open, one subtest
// per promise of the interface, grouped by what they exercise (Push,
// Inspectors, Merge, Pull, Cursor, Photos, Accounts, Supervision, Ledger, NotFound, and
// the state replicas share: Uploads, Attempts, Jobs).
func Run(t *testing.T, open Open) {
	for _, g := range []struct {
		name  string
		cases []contractCase
	}{
		{"Push", pushCases},
		{"Inspectors", inspectorCases},
		{"Merge", mergeCases},
		{"Pull", pullCases},
		{"Cursor", cursorCases},
		{"Photos", photoCases},
		{"Accounts", accountCases},
		{"Supervision", supervisionCases},
		{"Ledger", ledgerCases},
		{"NotFound", notFoundCases},
		{"Uploads", uploadCases},
		{"Attempts", attemptCases},
		{"Jobs", jobCases},
		{"Audit", auditCases},
		{"Admin", adminCases},
		{"Zones", zoneCases},
		{"Imports", importCases},
		{"Discoveries", discoveryCases},
		{"Rollups", rollupCases},
		{"RollupComplaints", rollupComplaintCases},
		{"Plans", planCases},
		{"Complaints", complaintCases},
		{"Record", recordCases},
		{"Cases", caseCases},
	} {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, open)
				})
			}
		})
	}
}

// contractCase is one subtest; most start from newEnv, a few (the empty
// store) from open itself.
type contractCase struct {
	name string
	run  func(t *testing.T, open Open)
}

// withEnv adapts a test of an imported district to a contractCase.
func withEnv(name string, fn func(t *testing.T, e *env)) contractCase {
	return contractCase{name: name, run: func(t *testing.T, open Open) { fn(t, newEnv(t, open)) }}
}

// start is the time every store of the suite begins at.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeClock is the injected wall clock; tests move it, never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// The two squads of the district: far enough apart that no school is near
// both. Bounds are min lat, min lng, max lat, max lng.
var (
	squad1 = store.Squad{ID: 1, Name: "Squad 1", Bounds: [4]float64{35.00, 118.30, 35.10, 118.40}}
	squad2 = store.Squad{ID: 2, Name: "Squad 2", Bounds: [4]float64{36.00, 117.00, 36.10, 117.10}}
)

// Users of the district by username. retired1 is disabled; floater
// belongs to no squad.
var districtUsers = []struct {
	username, role string
	squad          int64 // 0: none
	disabled       bool
}{
	{"admin", schema.RoleAdmin, 0, false},
	{"leader1", schema.RoleLeader, 1, false},
	{"insp1a", schema.RoleInspector, 1, false},
	{"insp1b", schema.RoleInspector, 1, false},
	{"retired1", schema.RoleInspector, 1, true},
	{"leader2", schema.RoleLeader, 2, false},
	{"insp2", schema.RoleInspector, 2, false},
	{"floater", schema.RoleInspector, 0, false},
}

// env is one store holding the imported district, with the clock the test
// moves.
type env struct {
	t       *testing.T
	ctx     context.Context
	s       store.Store
	clock   *fakeClock
	users   map[string]store.User
	venues  map[string]schema.Venue  // imported: v1a, v1b (squad 1), v2a (squad 2)
	schools map[string]schema.School // s1in, s1edge, s1east (near squad 1), s2in (squad 2), far (near none)
	past    store.ImportedInspection // by insp1a on a device long gone, naming pastPhoto
}

// pastPhoto is the photo the imported inspection names.
var pastPhoto = sha("past photo")

// openStore opens a store and closes it when the test ends.
func openStore(t *testing.T, open Open, clock *fakeClock) store.Store {
	t.Helper()
	s := open(t, clock.Now)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func newEnv(t *testing.T, open Open) *env {
	t.Helper()
	clock := &fakeClock{t: start}
	e := &env{t: t, ctx: context.Background(), clock: clock, s: openStore(t, open, clock)}
	d := e.district()
	if err := e.s.Import(e.ctx, d); err != nil {
		t.Fatalf("Import of the district: %v", err)
	}
	return e
}

// district builds the data set every env imports and remembers its parts.
func (e *env) district() store.Dataset {
	d := store.Dataset{Squads: []store.Squad{squad1, squad2}}
	e.users = map[string]store.User{}
	for _, u := range districtUsers {
		nu := store.User{ID: uuid.NewString(), Username: u.username, DisplayName: "Officer " + u.username, BadgeNo: "B-" + u.username,
			Role: u.role, PasswordHash: "hash-of-" + u.username, Disabled: u.disabled}
		if u.squad != 0 {
			nu.SquadID = ptr(u.squad)
		}
		e.users[u.username] = nu
		d.Users = append(d.Users, nu)
	}
	// Imported venues were last changed a month ago, on a clock of their own.
	// They stand, like venueOf's, more than a kilometre from every school:
	// the zone cases (zones.go) place their own.
	old := schema.HLC{WallMS: start.Add(-30 * 24 * time.Hour).UnixMilli(), Node: "import"}.String()
	clocks := map[string]string{}
	for _, f := range schema.VenueFields {
		clocks[f] = old
	}
	e.venues = map[string]schema.Venue{}
	for _, v := range []struct {
		key      string
		squad    int64
		lat, lng float64
	}{{"v1a", 1, 35.03, 118.32}, {"v1b", 1, 35.06, 118.36}, {"v2a", 2, 36.03, 117.02}} {
		nv := schema.Venue{ID: uuid.NewString(), SquadID: v.squad, Kind: schema.KindNetCafe, Name: "Café " + v.key, Address: v.key + " Road 1",
			LicenceNo: "L-" + v.key, Licensed: true, Phone: "0539-" + v.key, OpenState: schema.OpenStateOpen, Lat: v.lat, Lng: v.lng,
			Clocks: clocks, UpdatedAt: start.Add(-30 * 24 * time.Hour)}
		e.venues[v.key] = nv
		d.Venues = append(d.Venues, nv)
	}
	// Schools: inside squad 1's area, 110 m north and 145 m east of it
	// (within the 200 m zone), 3 km north of it (outside), and inside
	// squad 2's area.
	e.schools = map[string]schema.School{}
	for _, s := range []struct {
		key      string
		lat, lng float64
	}{{"s1in", 35.05, 118.35}, {"s1edge", 35.101, 118.35}, {"s1east", 35.05, 118.4016}, {"far", 35.13, 118.35}, {"s2in", 36.05, 117.05}} {
		ns := schema.School{ID: uuid.NewString(), Name: "School " + s.key, Kind: "primary", Address: s.key + " Lane",
			Polygon: [][2]float64{{s.lng, s.lat}, {s.lng + 0.0005, s.lat}, {s.lng + 0.0005, s.lat + 0.0005}, {s.lng, s.lat + 0.0005}, {s.lng, s.lat}}}
		e.schools[s.key] = ns
		d.Schools = append(d.Schools, ns)
	}
	started := start.Add(-10 * 24 * time.Hour)
	finished := started.Add(40 * time.Minute)
	past := schema.Inspection{ID: uuid.NewString(), VenueID: e.venues["v1a"].ID, SquadID: 1, DeviceID: uuid.NewString(),
		Status: schema.StatusSubmitted, ChecklistVersion: schema.DefaultChecklistVersion,
		Inspectors: []schema.Inspector{{Username: "insp1a"}, {Username: "insp1b"}}, StartedAt: started, FinishedAt: &finished,
		HLC: schema.HLC{WallMS: finished.UnixMilli(), Node: "import"}.String()}
	past.Items = allPass()
	past.Items[0].Photos = []schema.PhotoRef{photoRef(pastPhoto, past.DeviceID, started)}
	e.past = store.ImportedInspection{Inspection: past, AuthorID: e.users["insp1a"].ID, ReceivedAt: finished.Add(time.Hour)}
	d.Inspections = []store.ImportedInspection{e.past}
	return d
}

func ptr[T any](v T) *T { return &v }

// newID makes a client id of the form devices make (UUIDv7).
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// sha is the SHA-256 a test names a photo by; the bytes never matter here.
func sha(s string) string {
	var b [32]byte
	copy(b[:], s)
	for i := len(s); i < 32; i++ {
		b[i] = byte(i * 7)
	}
	return hex.EncodeToString(b[:])
}

func photoRef(hash, deviceID string, at time.Time) schema.PhotoRef {
	return schema.PhotoRef{SHA256: hash, Size: 2048, MediaType: "image/jpeg", CapturedAt: at, DeviceID: deviceID}
}

// allPass answers every item of the default checklist with pass. The
// checklist is embedded: without it nothing here could run.
func allPass() []schema.ItemResult {
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		panic(err)
	}
	items := make([]schema.ItemResult, 0, len(cl.Items))
	for _, it := range cl.Items {
		items = append(items, schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass})
	}
	return items
}

func randomHex() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// serverActor names a server-side change by a user.
func serverActor(username string) store.Actor {
	return store.Actor{MutationID: newID(), DeviceID: "server:" + username}
}

// newVenue creates a venue of squad through the store, as an admin would.
func (e *env) newVenue(squad int64, name string) schema.Venue {
	e.t.Helper()
	v, err := e.s.CreateVenue(e.ctx, venueOf(squad, name), serverActor("admin"))
	if err != nil {
		e.t.Fatalf("CreateVenue %s: %v", name, err)
	}
	return v
}

// venueOf is a valid new venue of squad, placed inside the squad's area.
func venueOf(squad int64, name string) schema.Venue {
	b := squad1.Bounds
	if squad == 2 {
		b = squad2.Bounds
	}
	return schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: schema.KindArcade, Name: name, Address: name + " Street",
		Licensed: true, Phone: "0539-100", Lat: b[0] + 0.03, Lng: b[1] + 0.02}
}

func (e *env) venue(id string) schema.Venue {
	e.t.Helper()
	v, err := e.s.Venue(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Venue %s: %v", id, err)
	}
	return v
}

func (e *env) inspection(id string) schema.Inspection {
	e.t.Helper()
	in, err := e.s.Inspection(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Inspection %s: %v", id, err)
	}
	return in
}

func (e *env) stats() store.Stats {
	e.t.Helper()
	st, err := e.s.Stats(e.ctx)
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	return st
}

// change finds the one change of kind and id in changes.
func change(t *testing.T, changes []schema.Change, kind, id string) schema.Change {
	t.Helper()
	var found []schema.Change
	for _, c := range changes {
		if c.Kind == kind && c.ID == id {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d changes of %s/%s; want exactly 1: %+v", len(found), kind, id, found)
	}
	return found[0]
}

// wantCode checks that err is a *schema.Error with code want.
func wantCode(t *testing.T, what string, err error, want schema.Code) {
	t.Helper()
	var se *schema.Error
	switch {
	case err == nil:
		t.Fatalf("%s: no error; want %s", what, want)
	case !errors.As(err, &se):
		t.Fatalf("%s: %v (%T); want a *schema.Error with code %s", what, err, err, want)
	case se.Code != want:
		t.Fatalf("%s: code %s (%v); want %s", what, se.Code, err, want)
	case se.Message == "":
		t.Fatalf("%s: code %s without a message a person can act on", what, se.Code)
	}
}

// wantOutcome checks one answer's outcome and code.
func wantOutcome(t *testing.T, what string, r schema.MutationResult, outcome string, code schema.Code) {
	t.Helper()
	if r.Outcome != outcome || r.Code != code {
		t.Fatalf("%s: %+v; want %s %s", what, r, outcome, code)
	}
	if (outcome == schema.OutcomeRejected || outcome == schema.OutcomeConflict) && r.Reason == "" {
		t.Fatalf("%s: %s without a reason", what, outcome)
	}
	if outcome == schema.OutcomeConflict && r.ConflictID == "" {
		t.Fatalf("%s: conflict without a conflict id: %+v", what, r)
	}
	if outcome == schema.OutcomeApplied && (r.ConflictID != "" || r.Code != "") {
		t.Fatalf("%s: applied with a code or conflict: %+v", what, r)
	}
}

// snapshot is everything the store shows about its data, to compare
// before and after something that must change nothing.
func (e *env) snapshot(d *device) string {
	e.t.Helper()
	_, changes := d.freshChanges(store.MaxPullLimit)
	venues, err := e.s.ListVenues(e.ctx, store.VenueFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	ins, err := e.s.ListInspections(e.ctx, store.InspectionFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := e.s.ListConflicts(e.ctx, store.ConflictFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := json.MarshalIndent(struct {
		Changes     []schema.Change
		Venues      []schema.Venue
		Inspections []schema.Inspection
		Conflicts   []schema.Conflict
		Stats       store.Stats
	}{changes, venues, ins, cs, e.stats()}, "", " ")
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// firstDiff shows where two long texts part.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: %q → %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines → %d lines", len(la), len(lb))
}

func sortedIDs[T any](list []T, id func(T) string) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}
