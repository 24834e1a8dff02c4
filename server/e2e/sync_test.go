package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
)

// --- helpers shared by the sync, authorization and photo tests ---

func deviceID(t *testing.T, d *mobilesync.Device) string {
	t.Helper()
	id, err := d.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id.DeviceID
}

// getInspection reads an inspection through the leader API as c.
func getInspection(t *testing.T, c *client, id string) schema.Inspection {
	t.Helper()
	var in schema.Inspection
	if st := c.call("GET", schema.PathInspections+"/"+id, nil, &in); st != 200 {
		t.Fatalf("GET inspection %s: HTTP %d", id, st)
	}
	return in
}

func getVenue(t *testing.T, c *client, id string) schema.Venue {
	t.Helper()
	var v schema.Venue
	if st := c.call("GET", schema.PathVenues+"/"+id, nil, &v); st != 200 {
		t.Fatalf("GET venue %s: HTTP %d", id, st)
	}
	return v
}

func conflictsOf(t *testing.T, c *client) []schema.Conflict {
	t.Helper()
	var out []schema.Conflict
	if st := c.call("GET", schema.PathConflicts, nil, &out); st != 200 {
		t.Fatalf("GET conflicts: HTTP %d", st)
	}
	return out
}

func findConflict(list []schema.Conflict, kind, entity, field string) (schema.Conflict, bool) {
	for _, c := range list {
		if c.Kind == kind && c.EntityID == entity && (field == "" || c.Field == field) {
			return c, true
		}
	}
	return schema.Conflict{}, false
}

func hasVenue(t *testing.T, d *mobilesync.Device, id string) bool {
	t.Helper()
	return slices.ContainsFunc(venuesOf(t, d), func(v schema.Venue) bool { return v.ID == id })
}

func deviceVenue(t *testing.T, d *mobilesync.Device, id string) schema.Venue {
	t.Helper()
	v, err := d.Venue(context.Background(), id)
	if err != nil {
		t.Fatalf("device venue %s: %v", id, err)
	}
	return v
}

func mustEdit(t *testing.T, d *mobilesync.Device, id string, fields map[string]string) {
	t.Helper()
	if err := d.EditVenue(context.Background(), id, fields); err != nil {
		t.Fatalf("edit venue %s: %v", id, err)
	}
}

func pendingOf(t *testing.T, d *mobilesync.Device) mobilesync.Status {
	t.Helper()
	st, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// nthVenue returns the n-th licensed venue of kind the device sees.
func nthVenue(t *testing.T, d *mobilesync.Device, kind string, n int) schema.Venue {
	t.Helper()
	for _, v := range venuesOf(t, d) {
		if v.Kind == kind && v.Licensed {
			if n == 0 {
				return v
			}
			n--
		}
	}
	t.Fatalf("device sees too few licensed %s", kind)
	return schema.Venue{}
}

// hlcAfter lets a device's wall clock move past the last millisecond it
// stamped, so that two devices' edits made one after the other are ordered
// by their clocks, not by the node tie-break.
func hlcAfter() { time.Sleep(20 * time.Millisecond) }

// --- the tests ---

// TestSync_OfflineInspectionsTwoSquads: two devices of squad 1 and one of
// squad 2 get exactly their squad's venues; one device works with the
// server unreachable, loses nothing, and delivers everything once the
// network is back, each inspection once, with the API's field names.
func TestSync_OfflineInspectionsTwoSquads(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	b := e.newDevice(admin, "inspector2", func(o *mobilesync.Options) { o.PullLimit = 7 }) // many small pages
	c := e.newDevice(admin, "inspector3")
	for _, d := range []*mobilesync.Device{a, b, c} {
		mustSync(t, d)
	}
	ids := func(d *mobilesync.Device, squad int64) []string {
		var out []string
		for _, v := range venuesOf(t, d) {
			if v.SquadID != squad {
				t.Fatalf("a device of squad %d holds venue %s of squad %d", squad, v.ID, v.SquadID)
			}
			out = append(out, v.ID)
		}
		slices.Sort(out)
		return out
	}
	va, vb, vc := ids(a, 1), ids(b, 1), ids(c, 2)
	if len(va) == 0 || len(vc) == 0 || !slices.Equal(va, vb) {
		t.Fatalf("squad 1 devices see %d and %d venues, squad 2 %d; want equal non-empty sets", len(va), len(vb), len(vc))
	}
	if want := e.countRows(`SELECT count(*) FROM venues WHERE squad_id = 1 AND deleted = 0`); len(va) != want {
		t.Fatalf("squad 1 device holds %d venues; the server has %d", len(va), want)
	}
	for _, id := range vc {
		if slices.Contains(va, id) {
			t.Fatalf("venue %s is on devices of both squads", id)
		}
	}

	net.down.Store(true)
	var offline []string
	for i := 0; i < 3; i++ {
		offline = append(offline, inspectAll(t, a, nthVenue(t, a, schema.KindNetCafe, i).ID, "inspector2"))
	}
	_, err := a.Sync(context.Background())
	if !errors.Is(err, mobilesync.ErrUnreachable) {
		t.Fatalf("sync without network: %v; want ErrUnreachable", err)
	}
	if st := pendingOf(t, a); st.PendingMutations != 3 {
		t.Fatalf("after a failed sync the device holds %d pending mutations; want 3", st.PendingMutations)
	}
	other := inspectAll(t, c, nthVenue(t, c, schema.KindNetCafe, 0).ID, "inspector4")
	mustSync(t, c)
	for _, id := range offline {
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 0 {
			t.Fatalf("inspection %s reached the server while the device was offline", id)
		}
	}

	net.down.Store(false)
	rep := mustSync(t, a)
	if rep.Pushed != 3 || rep.PendingMutations != 0 || rep.Conflicts != 0 || rep.Rejected != 0 {
		t.Fatalf("sync after coming back online: %+v; want 3 pushed, nothing pending", rep)
	}
	for _, id := range offline {
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ? AND squad_id = 1 AND status = 'submitted'`, id); n != 1 {
			t.Fatalf("inspection %s is on the server %d times; want once, submitted, in squad 1", id, n)
		}
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ? AND squad_id = 2`, other); n != 1 {
		t.Fatalf("squad 2 inspection on the server %d times", n)
	}

	// The API's inspection object, by its JSON names.
	leader1 := e.login("leader1")
	var raw map[string]json.RawMessage
	if st := leader1.call("GET", schema.PathInspections+"/"+offline[0], nil, &raw); st != 200 {
		t.Fatalf("leader reads own squad's inspection: HTTP %d", st)
	}
	for _, k := range []string{"id", "venue_id", "squad_id", "status", "checklist_version", "inspectors", "started_at", "finished_at", "items"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("inspection JSON lacks %q: %s", k, raw)
		}
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw["items"], &items); err != nil || len(items) != 16 {
		t.Fatalf("items: %v, %d of them; want 16", err, len(items))
	}
	for _, k := range []string{"item_id", "result", "note"} {
		if _, ok := items[0][k]; !ok {
			t.Errorf("item JSON lacks %q: %s", k, raw["items"])
		}
	}
	in := getInspection(t, leader1, offline[0])
	if len(in.Inspectors) != 2 || in.Inspectors[0].Username != "inspector1" || in.Inspectors[1].Username != "inspector2" ||
		in.FinishedAt == nil || in.ChecklistVersion == "" || in.Items[2].Result != schema.ResultFail {
		t.Fatalf("inspection as the leader reads it: %+v", in)
	}
}

// TestSync_PushReplayed: every push travels twice and the recorded pushes
// are replayed again in reverse order; nothing on the server doubles and
// every replay gets the first answer.
func TestSync_PushReplayed(t *testing.T) {
	// Four replays of one push run at once below, from one device: more
	// than a device's default share of syncs, which is not what this tests.
	e := newEnvWith(t, func(c *server.Config) { c.MaxSyncsPerDevice = 4 })
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts(), func(o *mobilesync.Options) { o.PushBatch = 2 })
	mustSync(t, a)
	ctx := context.Background()
	v := nthVenue(t, a, schema.KindNetCafe, 0)
	black, err := a.AddVenue(ctx, mobilesync.NewVenue{Name: "无名网吧", Kind: schema.KindNetCafe, Lat: v.Lat + 0.001, Lng: v.Lng})
	if err != nil {
		t.Fatal(err)
	}
	ins := []string{inspectAll(t, a, v.ID, "inspector2"), inspectAll(t, a, black.ID, "inspector2")}
	mustEdit(t, a, v.ID, map[string]string{schema.FieldPhone: "0539-1234567"})

	net.duplicate.Store(true)
	rep := mustSync(t, a)
	net.duplicate.Store(false)
	if rep.Pushed != 4 || rep.PendingMutations != 0 || rep.Conflicts+rep.Rejected != 0 {
		t.Fatalf("sync with every push sent twice: %+v", rep)
	}
	dev := deviceID(t, a)
	count := func() [4]int {
		return [4]int{
			e.countRows(`SELECT count(*) FROM applied_mutations WHERE device_id = ?`, dev),
			e.countRows(`SELECT count(*) FROM inspections WHERE id IN (?, ?)`, ins[0], ins[1]),
			e.countRows(`SELECT count(*) FROM venues WHERE created_by = ?`, dev),
			e.countRows(`SELECT count(*) FROM conflicts`),
		}
	}
	want := [4]int{4, 2, 1, 0}
	if got := count(); got != want {
		t.Fatalf("after duplicated pushes: mutations, inspections, venues, conflicts = %v; want %v", got, want)
	}
	pushes := net.recordedPushes()
	if len(pushes) < 4 {
		t.Fatalf("recorded %d pushes; want at least 2 batches sent twice", len(pushes))
	}
	seqBefore := e.countRows(`SELECT max(seq) FROM venues`)
	for round := 0; round < 2; round++ {
		for i := len(pushes) - 1; i >= 0; i-- {
			st, resp := net.replay(pushes[i])
			if st != 200 || len(resp.Results) == 0 {
				t.Fatalf("replay %d: HTTP %d, %d results", i, st, len(resp.Results))
			}
			for _, r := range resp.Results {
				if r.Outcome != schema.OutcomeDuplicate || r.Original != schema.OutcomeApplied {
					t.Fatalf("replayed mutation %s answered %+v; want duplicate of applied", r.ID, r)
				}
			}
		}
	}
	if got := count(); got != want {
		t.Fatalf("after replays: mutations, inspections, venues, conflicts = %v; want %v", got, want)
	}
	if got := e.countRows(`SELECT max(seq) FROM venues`); got != seqBefore {
		t.Fatalf("replays rewrote venues: max seq %d → %d", seqBefore, got)
	}
	if got := getVenue(t, admin, v.ID); got.Phone != "0539-1234567" {
		t.Fatalf("venue phone %q after replays", got.Phone)
	}
	answers, err := a.Answers(ctx)
	if err != nil || len(answers) != 0 {
		t.Fatalf("device answers: %v %+v; want none", err, answers)
	}

	// The same push arriving several times at once is still applied once.
	if err := a.SetItem(ctx, ins[0], "NC16", schema.ResultFail, "amended: rubbish in the corridor"); err != nil {
		t.Fatal(err)
	}
	net.duplicate.Store(true)
	mustSync(t, a)
	net.duplicate.Store(false)
	all := net.recordedPushes()
	last := all[len(all)-1]
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, resp, err := replayErr(last)
			if err != nil || st != 200 || len(resp.Results) != 1 || resp.Results[0].Outcome != schema.OutcomeDuplicate {
				t.Errorf("concurrent replay: HTTP %d %+v %v", st, resp.Results, err)
			}
		}()
	}
	wg.Wait()
	// Replaying the first version after the amendment does not roll it back.
	for _, rec := range pushes {
		net.replay(rec)
	}
	if in := getInspection(t, admin, ins[0]); in.Items[15].Note != "amended: rubbish in the corridor" {
		t.Fatalf("replaying an old push rolled the amendment back: NC16 %+v", in.Items[15])
	}
	want[0]++
	if got := count(); got != want {
		t.Fatalf("after concurrent replays: mutations, inspections, venues, conflicts = %v; want %v", got, want)
	}
}

// TestSync_ResponseLostAfterCommit: the server commits a push but its
// answer never reaches the device; the device retries, within the sync
// and in a later one, and gets duplicates; nothing doubles.
func TestSync_ResponseLostAfterCommit(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	mustSync(t, a)
	dev := deviceID(t, a)
	v := nthVenue(t, a, schema.KindNetCafe, 0)

	first := inspectAll(t, a, v.ID, "inspector2")
	mustEdit(t, a, v.ID, map[string]string{schema.FieldName: "新名字网吧"})
	net.loseNext.Store(1)
	rep := mustSync(t, a)
	if rep.Pushed != 2 || rep.PendingMutations != 0 || rep.Conflicts+rep.Rejected != 0 {
		t.Fatalf("sync that lost one answer: %+v; want 2 pushed on retry", rep)
	}
	if n := len(net.recordedPushes()); n != 2 {
		t.Fatalf("%d pushes reached the server; want the lost one and its retry", n)
	}

	// Lose every answer of a whole sync: the sync fails, the work stays,
	// the next sync is answered from the server's records.
	second := inspectAll(t, a, nthVenue(t, a, schema.KindNetCafe, 1).ID, "inspector2")
	net.loseNext.Store(mobilesync.DefaultMaxAttempts)
	if _, err := a.Sync(context.Background()); err == nil {
		t.Fatal("sync whose every answer was lost succeeded")
	}
	if st := pendingOf(t, a); st.PendingMutations != 1 {
		t.Fatalf("after a sync without answers %d mutations pending; want 1", st.PendingMutations)
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, second); n != 1 {
		t.Fatalf("the server committed the unanswered push %d times; want 1", n)
	}
	rep = mustSync(t, a)
	if rep.Pushed != 1 || rep.PendingMutations != 0 || rep.Conflicts+rep.Rejected != 0 {
		t.Fatalf("sync after lost answers: %+v", rep)
	}
	for _, id := range []string{first, second} {
		if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ?`, id); n != 1 {
			t.Fatalf("inspection %s stored %d times", id, n)
		}
	}
	if n := e.countRows(`SELECT count(*) FROM applied_mutations WHERE device_id = ?`, dev); n != 3 {
		t.Fatalf("%d mutations recorded for the device; want 3", n)
	}
	if n := e.countRows(`SELECT count(*) FROM conflicts`); n != 0 {
		t.Fatalf("%d conflicts from retried pushes; want 0", n)
	}
	if got := getVenue(t, admin, v.ID).Name; got != "新名字网吧" {
		t.Fatalf("venue name %q", got)
	}
	if answers, _ := a.Answers(context.Background()); len(answers) != 0 {
		t.Fatalf("device set aside %+v", answers)
	}
	acked, err := a.Acknowledged(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first, second} {
		if !slices.ContainsFunc(acked, func(in schema.Inspection) bool { return in.ID == id }) {
			t.Fatalf("the device does not count inspection %s as acknowledged", id)
		}
	}
}

// TestSync_VenueReassigned: an admin moves a venue from squad 1 to squad
// 2. It arrives on the squad 2 device although it last changed before that
// device's cursor, leaves the squad 1 device, and the squad 1 device's
// work on it — a finished inspection and a draft finished afterwards — is
// still delivered.
func TestSync_VenueReassigned(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	a := e.newDevice(admin, "inspector1")
	c := e.newDevice(admin, "inspector3")
	mustSync(t, a)
	mustSync(t, c)
	ctx := context.Background()
	v := nthVenue(t, a, schema.KindNetCafe, 0)
	if hasVenue(t, c, v.ID) {
		t.Fatal("squad 2 device holds a squad 1 venue before the move")
	}

	done := inspectAll(t, a, v.ID, "inspector2")
	draft, err := a.StartInspection(ctx, v.ID, "inspector2")
	if err != nil {
		t.Fatal(err)
	}
	var moved schema.Venue
	if st := admin.call("POST", schema.PathVenues+"/"+v.ID+"/move", map[string]int64{"squad_id": 2}, &moved); st != 200 || moved.SquadID != 2 {
		t.Fatalf("move venue: HTTP %d, squad %d", st, moved.SquadID)
	}

	mustSync(t, c)
	if got := deviceVenue(t, c, v.ID); got.SquadID != 2 || got.Name != v.Name {
		t.Fatalf("squad 2 device got the moved venue as %+v", got)
	}
	rep := mustSync(t, a)
	if rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("squad 1 sync after the move: %+v; want its finished inspection accepted", rep)
	}
	if hasVenue(t, a, v.ID) {
		t.Fatal("squad 1 device still holds the venue moved away")
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ? AND venue_id = ?`, done, v.ID); n != 1 {
		t.Fatalf("finished inspection of the moved venue on the server %d times", n)
	}

	// The draft outlives the purge of its venue and is finished offline.
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	for _, it := range cl.Items {
		if err := a.SetItem(ctx, draft, it.ID, schema.ResultPass, ""); err != nil {
			t.Fatalf("answer %s of a draft whose venue moved away: %v", it.ID, err)
		}
	}
	if err := a.Submit(ctx, draft); err != nil {
		t.Fatalf("submit a draft whose venue moved away: %v", err)
	}
	rep = mustSync(t, a)
	if rep.Pushed != 1 || rep.Rejected != 0 || rep.PendingMutations != 0 {
		t.Fatalf("delivering the draft: %+v", rep)
	}
	if n := e.countRows(`SELECT count(*) FROM inspections WHERE id = ? AND status = 'submitted'`, draft); n != 1 {
		t.Fatalf("draft of the moved venue on the server %d times", n)
	}
	if hasVenue(t, a, v.ID) {
		t.Fatal("the moved venue came back to the squad 1 device")
	}
	// And back: moved to squad 1 again, it arrives again.
	if st := admin.call("POST", schema.PathVenues+"/"+v.ID+"/move", map[string]int64{"squad_id": 1}, nil); st != 200 {
		t.Fatalf("move back: HTTP %d", st)
	}
	mustSync(t, a)
	mustSync(t, c)
	if !hasVenue(t, a, v.ID) || hasVenue(t, c, v.ID) {
		t.Fatalf("after moving back: on squad 1 device %v, on squad 2 device %v", hasVenue(t, a, v.ID), hasVenue(t, c, v.ID))
	}
}

// TestSync_ConcurrentVenueEdit: two devices of one squad and an admin edit
// one venue at once. Different fields all survive; the same field goes to
// the latest hybrid-logical-clock, whatever order the syncs arrive in; the
// disagreement is recorded and the squad leader (only) sees it.
func TestSync_ConcurrentVenueEdit(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	a := e.newDevice(admin, "inspector1")
	b := e.newDevice(admin, "inspector2")
	mustSync(t, a)
	mustSync(t, b)
	v := nthVenue(t, a, schema.KindNetCafe, 0)
	orig := getVenue(t, admin, v.ID)

	// Offline, in this real order: b renames, a renames later, a sets the
	// phone, b the address.
	mustEdit(t, b, v.ID, map[string]string{schema.FieldName: "B 的名字", schema.FieldAddress: "B 路 1 号"})
	hlcAfter()
	mustEdit(t, a, v.ID, map[string]string{schema.FieldName: "A 的名字", schema.FieldPhone: "0539-7777777"})
	hlcAfter()
	// The admin closes the venue on the server meanwhile.
	var edited struct {
		Venue     schema.Venue `json:"venue"`
		Conflicts []string     `json:"conflicts"`
	}
	if st := admin.call("PATCH", schema.PathVenues+"/"+v.ID, map[string]any{"fields": map[string]string{schema.FieldOpenState: schema.OpenStateClosed}}, &edited); st != 200 {
		t.Fatalf("admin edit: HTTP %d", st)
	}

	// a syncs first: its fields are based on the server's clocks, so apply.
	if rep := mustSync(t, a); rep.Pushed != 1 || rep.Conflicts != 0 {
		t.Fatalf("first device's sync: %+v", rep)
	}
	// b syncs last, but its rename is older than a's: a's name stays.
	if rep := mustSync(t, b); rep.Pushed != 1 || rep.Conflicts != 1 {
		t.Fatalf("second device's sync: %+v; want its edit answered as a conflict", rep)
	}
	got := getVenue(t, admin, v.ID)
	if got.Name != "A 的名字" || got.Phone != "0539-7777777" || got.Address != "B 路 1 号" || got.OpenState != schema.OpenStateClosed ||
		got.LicenceNo != orig.LicenceNo {
		t.Fatalf("merged venue: name %q phone %q address %q open %q licence %q", got.Name, got.Phone, got.Address, got.OpenState, got.LicenceNo)
	}
	list := conflictsOf(t, e.login("leader1"))
	cf, ok := findConflict(list, schema.ConflictConcurrentEdit, v.ID, schema.FieldName)
	if !ok || cf.Winner != "server" || cf.DeviceValue != "B 的名字" || cf.ServerValue != "A 的名字" || cf.DeviceID != deviceID(t, b) {
		t.Fatalf("leader's conflicts %+v; want the name conflict won by the server's (a's) value", list)
	}
	if len(list) != 1 {
		t.Fatalf("leader sees %d conflicts; only the name was edited concurrently", len(list))
	}
	if other := conflictsOf(t, e.login("leader2")); len(other) != 0 {
		t.Fatalf("leader of squad 2 sees squad 1's conflicts: %+v", other)
	}

	// An admin edit based on the original name is concurrent too, and the
	// newest clock (the admin's) wins.
	if st := admin.call("PATCH", schema.PathVenues+"/"+v.ID, map[string]any{"fields": map[string]any{
		schema.FieldName: map[string]string{"value": "局里的名字", "base": orig.Clocks[schema.FieldName]}}}, &edited); st != 200 {
		t.Fatalf("admin concurrent edit: HTTP %d", st)
	}
	if len(edited.Conflicts) != 1 || edited.Venue.Name != "局里的名字" {
		t.Fatalf("admin concurrent edit answered %+v", edited)
	}

	// Both devices converge on the server's merged venue.
	mustSync(t, a)
	mustSync(t, b)
	for i, d := range []*mobilesync.Device{a, b} {
		dv := deviceVenue(t, d, v.ID)
		if dv.Name != "局里的名字" || dv.Phone != "0539-7777777" || dv.Address != "B 路 1 号" || dv.OpenState != schema.OpenStateClosed {
			t.Fatalf("device %d holds %+v after syncing", i, dv)
		}
	}
	if n := len(conflictsOf(t, e.login("leader1"))); n != 2 {
		t.Fatalf("leader sees %d conflicts; want 2", n)
	}
}

// TestSync_EditOfDeletedVenue: an offline edit of a venue the admin
// deleted becomes a conflict for the squad leader; the venue stays
// deleted and leaves the device.
func TestSync_EditOfDeletedVenue(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	a := e.newDevice(admin, "inspector1")
	mustSync(t, a)
	v := nthVenue(t, a, schema.KindNetCafe, 0)
	mustEdit(t, a, v.ID, map[string]string{schema.FieldPhone: "0539-5555555"})
	if st := admin.call("DELETE", schema.PathVenues+"/"+v.ID, nil, nil); st != 204 && st != 200 {
		t.Fatalf("delete venue: HTTP %d", st)
	}
	rep := mustSync(t, a)
	if rep.Pushed != 1 || rep.Conflicts != 1 || rep.PendingMutations != 0 {
		t.Fatalf("sync of an edit of a deleted venue: %+v; want one conflict", rep)
	}
	cf, ok := findConflict(conflictsOf(t, e.login("leader1")), schema.ConflictEditOfDeleted, v.ID, "")
	if !ok || cf.Winner != "server" || cf.DeviceID != deviceID(t, a) {
		t.Fatalf("leader sees no edit_of_deleted conflict for %s: %+v", v.ID, cf)
	}
	if n := e.countRows(`SELECT count(*) FROM venues WHERE id = ? AND deleted = 1 AND phone <> '0539-5555555'`, v.ID); n != 1 {
		t.Fatal("the deleted venue was resurrected or took the edit")
	}
	if hasVenue(t, a, v.ID) {
		t.Fatal("the device still lists the deleted venue")
	}
	var list []schema.Venue
	if st := e.login("leader1").call("GET", schema.PathVenues, nil, &list); st != 200 {
		t.Fatalf("list venues: HTTP %d", st)
	}
	if slices.ContainsFunc(list, func(x schema.Venue) bool { return x.ID == v.ID && !x.Deleted }) {
		t.Fatal("the leader's venue list shows the deleted venue as live")
	}
	answers, err := a.Answers(context.Background())
	if err != nil || len(answers) != 1 || answers[0].Outcome != schema.OutcomeConflict || answers[0].EntityID != v.ID {
		t.Fatalf("device answers %+v (%v); want the conflict kept with the edit", answers, err)
	}
	mustSync(t, a)
	if hasVenue(t, a, v.ID) {
		t.Fatal("a later sync brought the deleted venue back")
	}
}

// TestSync_AmendAfterReview: an inspector amends an inspection offline
// after the leader reviewed it; the amendment is a conflict the leader
// sees, and the reviewed record stays as it was.
func TestSync_AmendAfterReview(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	a := e.newDevice(admin, "inspector1")
	mustSync(t, a)
	id := inspectAll(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, "inspector2")
	mustSync(t, a)
	leader := e.login("leader1")
	var reviewed schema.Inspection
	if st := leader.call("POST", schema.PathInspections+"/"+id+"/review", map[string]string{"action": "approve", "comment": "ok"}, &reviewed); st != 200 {
		t.Fatalf("review: HTTP %d", st)
	}
	// The device has not pulled the review when the inspector amends.
	if err := a.SetItem(context.Background(), id, "NC01", schema.ResultFail, "licence not displayed after all"); err != nil {
		t.Fatalf("amend a submitted inspection: %v", err)
	}
	rep := mustSync(t, a)
	if rep.Conflicts != 1 || rep.PendingMutations != 0 {
		t.Fatalf("sync of an amendment after review: %+v; want one conflict", rep)
	}
	cf, ok := findConflict(conflictsOf(t, leader), schema.ConflictEditAfterReview, id, "")
	if !ok || cf.Winner != "server" || cf.DeviceID != deviceID(t, a) {
		t.Fatalf("leader sees no edit_after_review conflict for %s", id)
	}
	got := getInspection(t, leader, id)
	if got.Status != schema.StatusApproved || got.Review == nil || got.Items[0].Result != schema.ResultPass {
		t.Fatalf("reviewed inspection after the amendment: status %s review %v NC01 %s", got.Status, got.Review, got.Items[0].Result)
	}
	local, err := a.Inspection(context.Background(), id)
	if err != nil || local.Review == nil || local.Items[0].Result != schema.ResultPass {
		t.Fatalf("device copy after the conflict: %v, review %v, NC01 %s; want the server's reviewed record", err, local.Review, local.Items[0].Result)
	}
	answers, _ := a.Answers(context.Background())
	if len(answers) != 1 || answers[0].Mutation.Inspection == nil || answers[0].Mutation.Inspection.Items[0].Note != "licence not displayed after all" {
		t.Fatalf("device lost its amendment: %+v", answers)
	}
}

// TestSync_ClockThreeHoursOff: devices whose clocks run three hours ahead
// and behind. The server records the offsets; edits are ordered by hybrid
// logical clock (the device that edited last wins, though its wall clock
// says it edited six hours earlier); inspection times are corrected.
func TestSync_ClockThreeHoursOff(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	skew := func(d time.Duration) deviceOpts {
		return func(o *mobilesync.Options) { o.Now = func() time.Time { return time.Now().Add(d) } }
	}
	ahead := e.newDevice(admin, "inspector1", skew(3*time.Hour))
	behind := e.newDevice(admin, "inspector2", skew(-3*time.Hour))
	mustSync(t, ahead)
	mustSync(t, behind)
	for _, c := range []struct {
		d    *mobilesync.Device
		want time.Duration
	}{{ahead, 3 * time.Hour}, {behind, -3 * time.Hour}} {
		off := time.Duration(e.countRows(`SELECT clock_offset_ms FROM devices WHERE id = ?`, deviceID(t, c.d))) * time.Millisecond
		if d := off - c.want; d < -time.Minute || d > time.Minute {
			t.Fatalf("server recorded clock offset %v; want about %v", off, c.want)
		}
		if st := pendingOf(t, c.d); time.Duration(st.ClockOffsetMS)*time.Millisecond-c.want > time.Minute ||
			c.want-time.Duration(st.ClockOffsetMS)*time.Millisecond > time.Minute {
			t.Fatalf("device status clock offset %d ms; want about %v", st.ClockOffsetMS, c.want)
		}
	}

	v := nthVenue(t, ahead, schema.KindNetCafe, 0)
	mustEdit(t, ahead, v.ID, map[string]string{schema.FieldName: "先改的名字"})
	hlcAfter()
	mustEdit(t, behind, v.ID, map[string]string{schema.FieldName: "后改的名字"})
	id := inspectAll(t, ahead, nthVenue(t, ahead, schema.KindNetCafe, 1).ID, "inspector2")
	mustSync(t, behind)
	if rep := mustSync(t, ahead); rep.Conflicts != 1 {
		t.Fatalf("sync of the earlier edit: %+v; want a conflict", rep)
	}
	if got := getVenue(t, admin, v.ID).Name; got != "后改的名字" {
		t.Fatalf("venue name %q: the edit made last (by the clock 3 h behind) must win", got)
	}

	in := getInspection(t, e.login("leader1"), id)
	now := time.Now()
	for name, ts := range map[string]time.Time{"started_at": in.StartedAt, "finished_at": *in.FinishedAt} {
		if d := ts.Sub(now); d > 5*time.Minute || d < -5*time.Minute {
			t.Fatalf("%s %v is %v from the server's time; the device's 3 h error must be corrected", name, ts, d)
		}
	}
	if in.TimeSuspect {
		t.Fatal("a corrected inspection time was flagged suspect")
	}
}

// TestSync_BlackCafeOffline: a café the server does not know, recorded and
// inspected offline, exists on the server for the squad after sync,
// flagged unlicensed, and reaches the squad's other device only.
func TestSync_BlackCafeOffline(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	b := e.newDevice(admin, "inspector2")
	c := e.newDevice(admin, "inspector3")
	for _, d := range []*mobilesync.Device{a, b, c} {
		mustSync(t, d)
	}
	near := nthVenue(t, a, schema.KindNetCafe, 0)
	net.down.Store(true)
	ctx := context.Background()
	black, err := a.AddVenue(ctx, mobilesync.NewVenue{Name: "地下室网吧", Kind: schema.KindNetCafe, Address: "无门牌",
		Licensed: false, Lat: near.Lat + 0.002, Lng: near.Lng - 0.002})
	if err != nil {
		t.Fatalf("record a black café offline: %v", err)
	}
	id := inspectAll(t, a, black.ID, "inspector2")
	if _, err := a.Sync(ctx); !errors.Is(err, mobilesync.ErrUnreachable) {
		t.Fatalf("offline sync: %v", err)
	}
	net.down.Store(false)
	if rep := mustSync(t, a); rep.Pushed != 2 || rep.Rejected+rep.Conflicts != 0 {
		t.Fatalf("sync of a black café and its inspection: %+v", rep)
	}
	got := getVenue(t, e.login("leader1"), black.ID)
	if got.SquadID != 1 || got.Licensed || got.Name != "地下室网吧" || got.CreatedBy != deviceID(t, a) {
		t.Fatalf("black café on the server: %+v; want squad 1, unlicensed", got)
	}
	if in := getInspection(t, admin, id); in.VenueID != black.ID || in.SquadID != 1 {
		t.Fatalf("its inspection on the server: %+v", in)
	}
	mustSync(t, b)
	mustSync(t, c)
	if v := deviceVenue(t, b, black.ID); v.Licensed {
		t.Fatal("the squad's other device got the black café as licensed")
	}
	if hasVenue(t, c, black.ID) {
		t.Fatal("a squad 2 device got squad 1's black café")
	}
	if st := e.login("leader2").call("GET", schema.PathVenues+"/"+black.ID, nil, nil); st != 404 {
		t.Fatalf("leader of squad 2 reads the black café: HTTP %d; want 404", st)
	}
	if n := e.countRows(`SELECT count(*) FROM venues WHERE id = ?`, black.ID); n != 1 {
		t.Fatalf("black café stored %d times", n)
	}
}

// TestSync_ClockJumpsWhileOffline: a device synced with a correct clock,
// then its clock jumps three hours ahead while offline (a wrong time zone
// picked by hand). It records a black café, corrects its phone number and
// inspects it. The server records the new offset, flags the inspection's
// times as suspect, and a venue only this device ever touched gets no
// conflict.
func TestSync_ClockJumpsWhileOffline(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	var skew atomic.Int64
	a := e.newDevice(admin, "inspector1", func(o *mobilesync.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	mustSync(t, a)
	ctx := context.Background()
	near := nthVenue(t, a, schema.KindNetCafe, 0)

	skew.Store(int64(3 * time.Hour))
	black, err := a.AddVenue(ctx, mobilesync.NewVenue{Name: "阁楼网吧", Kind: schema.KindNetCafe, Lat: near.Lat + 0.003, Lng: near.Lng})
	if err != nil {
		t.Fatal(err)
	}
	mustEdit(t, a, black.ID, map[string]string{schema.FieldPhone: "138-0000-0000"})
	id := inspectAll(t, a, black.ID, "inspector2")
	rep := mustSync(t, a)
	if rep.Rejected != 0 || rep.PendingMutations != 0 {
		t.Fatalf("sync after the clock jumped: %+v", rep)
	}
	off := time.Duration(e.countRows(`SELECT clock_offset_ms FROM devices WHERE id = ?`, deviceID(t, a))) * time.Millisecond
	if off < 3*time.Hour-time.Minute || off > 3*time.Hour+time.Minute {
		t.Fatalf("server recorded offset %v after the jump; want about 3h", off)
	}
	if n := e.countRows(`SELECT count(*) FROM device_clock_samples WHERE device_id = ?`, deviceID(t, a)); n < 2 {
		t.Fatalf("%d clock samples after two syncs; want the offset recorded at every sync", n)
	}
	if got := getVenue(t, admin, black.ID); got.Phone != "138-0000-0000" || got.Licensed {
		t.Fatalf("black café on the server: %+v", got)
	}
	if cs := conflictsOf(t, e.login("leader1")); len(cs) != 0 || rep.Conflicts != 0 {
		t.Errorf("a venue only one device touched got conflicts: %+v (report %+v)", cs, rep)
	}
	if in := getInspection(t, admin, id); !in.TimeSuspect {
		t.Fatalf("inspection stamped 3 h in the future (started %v) is not flagged", in.StartedAt)
	}
}
