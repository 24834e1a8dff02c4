package storetest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// device is an enrolled device: its id, its user, its own HLC (which may
// run off the true time by skew), the cursor it pulls from and the rows it
// holds after applying every page.
type device struct {
	e      *env
	id     string
	user   store.User
	token  string
	clock  *schema.Clock
	skew   time.Duration // set before the device is used, never while it is
	cursor string
	held   replica
	last   int64 // highest seq delivered since the last reset
	// recordCount is what enrolment said of the user's record numbers.
	recordCount int
}

// enroll enrols a device for username through an enrollment code, as a
// leader and the device would.
func (e *env) enroll(username string) *device {
	e.t.Helper()
	d, err := e.enrollErr(username)
	if err != nil {
		e.t.Fatalf("enroll %s: %v", username, err)
	}
	return d
}

func (e *env) enrollErr(username string) (*device, error) {
	u, ok := e.users[username]
	if !ok {
		return nil, fmt.Errorf("no user %s in the district", username)
	}
	code, token := randomHex(), randomHex()
	if err := e.s.CreateEnrollmentCode(e.ctx, code, u.ID, e.users["leader1"].ID, e.clock.Now().Add(time.Hour)); err != nil {
		return nil, err
	}
	ed, err := e.s.EnrollDevice(e.ctx, code, username+" phone", token, e.clock.Now().Add(365*24*time.Hour))
	if err != nil {
		return nil, err
	}
	d := &device{e: e, id: ed.DeviceID, user: ed.User, token: token, held: replica{}, recordCount: ed.RecordCount}
	d.clock = schema.NewClock(ed.DeviceID, func() time.Time { return e.clock.Now().Add(d.skew) })
	return d, nil
}

func (d *device) now() time.Time { return d.e.clock.Now().Add(d.skew) }

// twin is the same device starting over: no cursor, nothing held, as if
// its local database had been wiped.
func (d *device) twin() *device {
	return &device{e: d.e, id: d.id, user: d.user, token: d.token, clock: schema.NewClock(d.id, d.now), held: replica{}}
}

// observeServer merges the server's clock into the device's, as the
// device library does with the server_hlc of every push and pull answer,
// so that an edit made after a sync is after what the sync delivered.
func (d *device) observeServer() { d.clock.Observe(d.e.s.Clock().Tick()) }

// inspection is a submitted inspection of venueID by the device's user and
// a colleague of the squad (alone where the squad has none), answering
// every item.
func (d *device) inspection(venueID string) *schema.Inspection {
	start := d.now().Add(-30 * time.Minute)
	end := d.now().Add(-5 * time.Minute)
	inspectors := []schema.Inspector{{Username: d.user.Username}}
	if c := colleague(d.user.Username); c != "" {
		inspectors = append(inspectors, schema.Inspector{Username: c})
	}
	return &schema.Inspection{ID: uuid.NewString(), VenueID: venueID, Status: schema.StatusSubmitted, ChecklistVersion: schema.DefaultChecklistVersion,
		Inspectors: inspectors, StartedAt: start, FinishedAt: &end, Items: allPass()}
}

// colleague is another active inspector of username's squad in the
// district, "" if the squad has none.
func colleague(username string) string {
	var squad int64
	for _, u := range districtUsers {
		if u.username == username {
			squad = u.squad
		}
	}
	for _, u := range districtUsers {
		if u.username != username && u.squad == squad && squad != 0 && u.role == schema.RoleInspector && !u.disabled {
			return u.username
		}
	}
	return ""
}

// upsert makes the mutation that pushes a copy of in as it is now, so that
// later changes to in make a later version.
func (d *device) upsert(in *schema.Inspection) schema.Mutation {
	return schema.Mutation{ID: newID(), Kind: schema.MutInspectionUpsert, HLC: d.clock.Tick().String(), Inspection: clone(in)}
}

func (d *device) edit(venueID string, fields map[string]schema.FieldEdit) schema.Mutation {
	return schema.Mutation{ID: newID(), Kind: schema.MutVenueUpdate, HLC: d.clock.Tick().String(),
		VenueUpdate: &schema.VenueUpdate{VenueID: venueID, Fields: fields}}
}

func (d *device) create(v schema.Venue) schema.Mutation {
	return schema.Mutation{ID: newID(), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: clone(&v)}
}

func clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

func (d *device) pushInput(muts []schema.Mutation) store.PushInput {
	return store.PushInput{DeviceID: d.id, UserID: d.user.ID, SquadID: d.user.SquadID, ReceivedAt: d.e.clock.Now(),
		Request: &schema.PushRequest{ClientTime: d.now(), HLC: d.clock.Tick().String(), Mutations: muts}}
}

// pushErr pushes one batch and checks that every mutation was answered, in
// order; it is safe to call from any goroutine.
func (d *device) pushErr(muts ...schema.Mutation) ([]schema.MutationResult, error) {
	res, err := d.e.s.Push(d.e.ctx, d.pushInput(muts))
	if err != nil {
		return nil, fmt.Errorf("push of %d mutations from %s: %w", len(muts), d.user.Username, err)
	}
	if len(res) != len(muts) {
		return nil, fmt.Errorf("push of %d mutations answered %d", len(muts), len(res))
	}
	for i := range res {
		if res[i].ID != muts[i].ID {
			return nil, fmt.Errorf("answer %d is for mutation %q; want %q (answers in batch order)", i, res[i].ID, muts[i].ID)
		}
	}
	d.observeServer()
	return res, nil
}

func (d *device) push(muts ...schema.Mutation) []schema.MutationResult {
	d.e.t.Helper()
	res, err := d.pushErr(muts...)
	if err != nil {
		d.e.t.Fatal(err)
	}
	return res
}

// mustApply pushes muts and fails unless every one was applied.
func (d *device) mustApply(muts ...schema.Mutation) {
	d.e.t.Helper()
	for i, r := range d.push(muts...) {
		if r.Outcome != schema.OutcomeApplied {
			d.e.t.Fatalf("mutation %d (%s): %+v; want applied", i, muts[i].Kind, r)
		}
	}
}

func (d *device) pullInput(cursor string, limit int) store.PullInput {
	return store.PullInput{UserID: d.user.ID, DeviceID: d.id, SquadID: d.user.SquadID, Cursor: cursor, Limit: limit}
}

// step pulls one page from the device's cursor, checks it, applies it to
// what the device holds and advances the cursor, as the device library
// does in one local transaction. It is safe to call from the goroutine
// that owns the device.
func (d *device) step(limit int) (store.PullPage, error) {
	p, err := d.e.s.Pull(d.e.ctx, d.pullInput(d.cursor, limit))
	if err != nil {
		return p, fmt.Errorf("pull of %s from cursor %q: %w", d.user.Username, d.cursor, err)
	}
	if p.Reset {
		d.last = 0
	}
	if err := d.checkPage(p, limit, d.last); err != nil {
		return p, err
	}
	d.held.apply(p)
	d.cursor = p.Cursor
	d.observeServer()
	if n := len(p.Changes); n > 0 {
		d.last = p.Changes[n-1].Seq
	}
	return p, nil
}

// checkPage checks what every page must be: a cursor to go on from, seqs
// in order and all after the previous page (a seq is never split across
// pages), at most limit changes unless they share one seq, and nothing the
// device may not see.
func (d *device) checkPage(p store.PullPage, limit int, after int64) error {
	if p.Cursor == "" {
		return fmt.Errorf("page without a cursor")
	}
	for i, c := range p.Changes {
		if c.Seq <= after {
			return fmt.Errorf("change %d (%s/%s) has seq %d, not after %d delivered earlier", i, c.Kind, c.ID, c.Seq, after)
		}
		if i > 0 && c.Seq < p.Changes[i-1].Seq {
			return fmt.Errorf("change %d has seq %d after seq %d in one page", i, c.Seq, p.Changes[i-1].Seq)
		}
		if err := d.visible(c); err != nil {
			return err
		}
	}
	if limit > 0 && limit <= store.MaxPullLimit && len(p.Changes) > limit && p.Changes[0].Seq != p.Changes[len(p.Changes)-1].Seq {
		return fmt.Errorf("page of %d changes with limit %d spans seqs %d..%d", len(p.Changes), limit, p.Changes[0].Seq, p.Changes[len(p.Changes)-1].Seq)
	}
	if p.More && len(p.Changes) == 0 {
		return fmt.Errorf("empty page that says there is more")
	}
	return nil
}

// visible checks that a change carries exactly what its kind says and
// nothing of another squad or device.
func (d *device) visible(c schema.Change) error {
	squad := *d.user.SquadID
	payloads := 0
	for _, set := range []bool{c.Venue != nil, c.School != nil, c.ZoneRule != nil, c.Checklist != nil, c.Inspection != nil, c.Member != nil, c.Finding != nil, c.Visit != nil, c.Complaint != nil} {
		if set {
			payloads++
		}
	}
	switch {
	case c.ID == "":
		return fmt.Errorf("change of kind %s without an id", c.Kind)
	case c.Removed && payloads != 0:
		return fmt.Errorf("removed change %s/%s carries a payload", c.Kind, c.ID)
	case !c.Removed && payloads != 1:
		return fmt.Errorf("change %s/%s carries %d payloads; want 1", c.Kind, c.ID, payloads)
	case c.Venue != nil && (c.Kind != schema.ChangeVenue || c.Venue.ID != c.ID || c.Venue.SquadID != squad || c.Venue.Deleted):
		return fmt.Errorf("device of squad %d got venue change %s/%s of squad %d (deleted %v)", squad, c.Kind, c.ID, c.Venue.SquadID, c.Venue.Deleted)
	case c.Inspection != nil && (c.Kind != schema.ChangeInspection || c.Inspection.ID != c.ID || c.Inspection.DeviceID != d.id):
		return fmt.Errorf("device %s got inspection %s/%s pushed by device %s", d.id, c.Kind, c.ID, c.Inspection.DeviceID)
	case c.Member != nil && (c.Kind != schema.ChangeMember || c.Member.Username != c.ID || (c.Member.SquadID != squad) != c.Member.CoInspector):
		return fmt.Errorf("device of squad %d got member %s/%s of squad %d", squad, c.Kind, c.ID, c.Member.SquadID)
	case c.Finding != nil && (c.Kind != schema.ChangeFinding || c.Finding.ID != c.ID || c.Finding.SquadID != squad):
		return fmt.Errorf("device of squad %d got finding %s/%s of squad %d", squad, c.Kind, c.ID, c.Finding.SquadID)
	case c.Complaint != nil && (c.Kind != schema.ChangeComplaint || c.Complaint.ID != c.ID || c.Complaint.SquadID != squad):
		return fmt.Errorf("device of squad %d got complaint %s/%s of squad %d", squad, c.Kind, c.ID, c.Complaint.SquadID)
	case c.School != nil && (c.Kind != schema.ChangeSchool || c.School.ID != c.ID):
		return fmt.Errorf("school change %s/%s carries school %s", c.Kind, c.ID, c.School.ID)
	case c.ZoneRule != nil && (c.Kind != schema.ChangeZoneRule || c.ZoneRule.ID != c.ID):
		return fmt.Errorf("zone rule change %s/%s carries rule %s", c.Kind, c.ID, c.ZoneRule.ID)
	case c.Checklist != nil && (c.Kind != schema.ChangeChecklist || c.Checklist.Version != c.ID):
		return fmt.Errorf("checklist change %s/%s carries version %s", c.Kind, c.ID, c.Checklist.Version)
	}
	return nil
}

// sync pulls pages until the server has no more, and returns what they
// delivered and whether the first page reset the device.
func (d *device) sync(limit int) (changes []schema.Change, reset bool) {
	d.e.t.Helper()
	for i := 0; ; i++ {
		p, err := d.step(limit)
		if err != nil {
			d.e.t.Fatal(err)
		}
		if i == 0 {
			reset = p.Reset
		}
		changes = append(changes, p.Changes...)
		if !p.More {
			return changes, reset
		}
		if i > 10000 {
			d.e.t.Fatalf("pull of %s does not end", d.user.Username)
		}
	}
}

// fresh is what a new device of the same user would hold after pulling
// everything from an empty cursor; the device's own cursor is untouched.
func (d *device) fresh() replica {
	d.e.t.Helper()
	r, _ := d.freshChanges(store.MaxPullLimit)
	return r
}

func (d *device) freshChanges(limit int) (replica, []schema.Change) {
	d.e.t.Helper()
	f := d.twin()
	changes, _ := f.sync(limit)
	return f.held, changes
}
