package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// RollupZone is the zone of the rollup fixture: the bureau's, Beijing time.
var RollupZone = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// CST is a time of 2026 in RollupZone.
func CST(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, RollupZone)
}

// RollupImportAt is when the rollup fixture is imported (the store's clock
// then): the venues are recorded that day, the black café found on it.
var RollupImportAt = CST(3, 10, 10, 0)

// RollupFixture is a hand-built month (March 2026, Beijing time) of three
// squads whose every rollup figure is known in advance:
//
// Squad 1: licensed open cafés c1a c1b c1c c1d, closed café c1x, arcade a1,
// and black café b1 (found in the field on 10 March). c1d stands 55 m from
// a school (in its zone, open). Inspections: c1c on 27 Feb (not March),
// c1a on 3 Mar (approved), c1a on 15 Mar (returned), c1b on 15 Mar
// (submitted), c1c at 23:30 on 31 Mar and c1d at 00:30 on 1 Apr.
// Findings: f1 NC02 opened 3 Mar, ordered, deadline 10 Mar (overdue from
// then), repeat 1; f2 NC11 opened 15 Mar, open; f3 NC02 opened 1 Mar,
// closed 5 Mar (4 days); f4 NC14 opened 20 Feb, closed 15 Mar (23 days).
// On 15 Mar: coverage 2/4 = 50 %, at risk c1c c1d, 16 days left, median
// close-out 13.5 days, 2 open, 1 overdue, 1 repeated.
//
// Squads 2 and 3: cafés c2a c2b and c3a c3b, all inspected by 14 Mar
// (100 %); one ordered finding each past its deadline (NC04, deadlines 12
// and 13 Mar), and one closed each after 6 days: they tie on every key,
// so squad 2 ranks 1st, squad 3 2nd, squad 1 3rd.
type RollupFixture struct {
	Dataset store.Dataset
	Venues  map[string]schema.Venue // by key (c1a, …)
	Users   map[string]store.User   // by username
}

// NewRollupFixture builds the fixture with fresh ids.
func NewRollupFixture() *RollupFixture {
	f := &RollupFixture{Venues: map[string]schema.Venue{}, Users: map[string]store.User{}}
	d := &f.Dataset
	d.Squads = []store.Squad{
		{ID: 1, Name: "Squad 1", Bounds: [4]float64{35.00, 118.30, 35.10, 118.40}},
		{ID: 2, Name: "Squad 2", Bounds: [4]float64{36.00, 117.00, 36.10, 117.10}},
		{ID: 3, Name: "Squad 3", Bounds: [4]float64{37.00, 116.00, 37.10, 116.10}},
	}
	for _, u := range []struct {
		name, role string
		squad      int64
	}{{"admin", schema.RoleAdmin, 0}, {"lead1", schema.RoleLeader, 1}, {"lead2", schema.RoleLeader, 2},
		{"ins1a", schema.RoleInspector, 1}, {"ins1b", schema.RoleInspector, 1},
		{"ins2a", schema.RoleInspector, 2}, {"ins2b", schema.RoleInspector, 2},
		{"ins3a", schema.RoleInspector, 3}, {"ins3b", schema.RoleInspector, 3}} {
		nu := store.User{ID: uuid.NewString(), Username: u.name, DisplayName: "Officer " + u.name, BadgeNo: "B-" + u.name,
			Role: u.role, PasswordHash: "hash-of-" + u.name}
		if u.squad != 0 {
			nu.SquadID = ptr(u.squad)
		}
		f.Users[u.name] = nu
		d.Users = append(d.Users, nu)
	}
	venue := func(key string, squad int64, kind string, licensed bool, state string, lat, lng float64, createdBy string) {
		v := schema.Venue{ID: uuid.NewString(), SquadID: squad, Kind: kind, Name: "Venue " + key, Address: key + " Road",
			Licensed: licensed, OpenState: state, Lat: lat, Lng: lng, CreatedBy: createdBy}
		if licensed {
			v.LicenceNo = "L-" + key
		}
		f.Venues[key] = v
		d.Venues = append(d.Venues, v)
	}
	venue("c1a", 1, schema.KindNetCafe, true, schema.OpenStateOpen, 35.01, 118.31, "")
	venue("c1b", 1, schema.KindNetCafe, true, schema.OpenStateOpen, 35.02, 118.32, "")
	venue("c1c", 1, schema.KindNetCafe, true, schema.OpenStateOpen, 35.03, 118.33, "")
	venue("c1d", 1, schema.KindNetCafe, true, schema.OpenStateOpen, 35.05, 118.35, "")
	venue("c1x", 1, schema.KindNetCafe, true, schema.OpenStateClosed, 35.06, 118.36, "")
	venue("a1", 1, schema.KindArcade, true, schema.OpenStateOpen, 35.07, 118.37, "")
	venue("b1", 1, schema.KindNetCafe, false, schema.OpenStateOpen, 35.08, 118.38, "device-in-the-field")
	venue("c2a", 2, schema.KindNetCafe, true, schema.OpenStateOpen, 36.01, 117.01, "")
	venue("c2b", 2, schema.KindNetCafe, true, schema.OpenStateOpen, 36.02, 117.02, "")
	venue("c3a", 3, schema.KindNetCafe, true, schema.OpenStateOpen, 37.01, 116.01, "")
	venue("c3b", 3, schema.KindNetCafe, true, schema.OpenStateOpen, 37.02, 116.02, "")
	// A school 55 m north of c1d.
	lat, lng := 35.0505, 118.35
	d.Schools = []schema.School{{ID: uuid.NewString(), Name: "School by c1d", Kind: "primary", Address: "School Lane",
		Polygon: [][2]float64{{lng, lat}, {lng + 0.0005, lat}, {lng + 0.0005, lat + 0.0005}, {lng, lat + 0.0005}, {lng, lat}}}}

	inspections := map[string]string{}
	inspect := func(key, venueKey, author, colleague, status string, started time.Time) {
		v := f.Venues[venueKey]
		end := started.Add(40 * time.Minute)
		in := schema.Inspection{ID: uuid.NewString(), VenueID: v.ID, SquadID: v.SquadID, DeviceID: "import-" + author,
			Status: status, ChecklistVersion: schema.DefaultChecklistVersion,
			Inspectors: []schema.Inspector{{Username: author}, {Username: colleague}},
			StartedAt:  started.UTC(), FinishedAt: &end, Items: allPass()}
		if status != schema.StatusSubmitted {
			in.Review = &schema.Review{ReviewedBy: "lead1", ReviewedAt: end.Add(time.Hour), Decision: status, Note: "fixture"}
		}
		inspections[key] = in.ID
		d.Inspections = append(d.Inspections, store.ImportedInspection{Inspection: in, AuthorID: f.Users[author].ID,
			ReceivedAt: end.Add(10 * time.Minute)})
	}
	inspect("i1", "c1c", "ins1a", "ins1b", schema.StatusApproved, CST(2, 27, 10, 0))
	inspect("i2", "c1a", "ins1a", "ins1b", schema.StatusApproved, CST(3, 3, 10, 0))
	inspect("i3", "c1a", "ins1b", "ins1a", schema.StatusReturned, CST(3, 15, 9, 0))
	inspect("i4", "c1b", "ins1a", "ins1b", schema.StatusSubmitted, CST(3, 15, 14, 0))
	inspect("i5", "c1c", "ins1a", "ins1b", schema.StatusSubmitted, CST(3, 31, 23, 30))
	inspect("i6", "c1d", "ins1a", "ins1b", schema.StatusSubmitted, CST(4, 1, 0, 30))
	inspect("i7", "c2a", "ins2a", "ins2b", schema.StatusApproved, CST(3, 5, 10, 0))
	inspect("i8", "c2b", "ins2a", "ins2b", schema.StatusApproved, CST(3, 12, 10, 0))
	inspect("i9", "c3a", "ins3a", "ins3b", schema.StatusApproved, CST(3, 8, 10, 0))
	inspect("i10", "c3b", "ins3a", "ins3b", schema.StatusApproved, CST(3, 14, 10, 0))

	finding := func(inspection, venueKey, item, status string, opened time.Time, deadline, closed *time.Time, repeat int) {
		v := f.Venues[venueKey]
		fd := schema.Finding{ID: uuid.NewString(), InspectionID: inspections[inspection], VenueID: v.ID, SquadID: v.SquadID,
			ItemID: item, Status: status, OpenedAt: opened.UTC(), Repeat: repeat, UpdatedAt: opened.UTC()}
		if deadline != nil {
			dl := deadline.UTC()
			fd.Deadline = &dl
			fd.Order = &schema.Order{Number: fmt.Sprintf("责改〔2026〕%d号", len(d.Findings)+1), Deadline: dl, Action: "correct",
				LegalBasis: "art. 21", OrderedBy: "lead1", OrderedAt: opened.Add(time.Hour).UTC()}
		}
		if closed != nil {
			c := closed.UTC()
			fd.ClosedAt, fd.ClosedBy, fd.UpdatedAt = &c, "lead1", c
		}
		d.Findings = append(d.Findings, fd)
	}
	at := func(t time.Time) *time.Time { return &t }
	finding("i2", "c1a", "NC02", schema.FindingOrdered, CST(3, 3, 11, 0), at(CST(3, 10, 12, 0)), nil, 1)
	finding("i3", "c1a", "NC11", schema.FindingOpen, CST(3, 15, 10, 0), nil, nil, 0)
	finding("i2", "c1a", "NC02", schema.FindingClosed, CST(3, 1, 10, 0), nil, at(CST(3, 5, 10, 0)), 0)
	finding("i1", "c1c", "NC14", schema.FindingClosed, CST(2, 20, 10, 0), nil, at(CST(3, 15, 10, 0)), 0)
	finding("i7", "c2a", "NC04", schema.FindingOrdered, CST(3, 5, 11, 0), at(CST(3, 12, 12, 0)), nil, 0)
	finding("i7", "c2a", "NC16", schema.FindingClosed, CST(3, 1, 10, 0), nil, at(CST(3, 7, 10, 0)), 0)
	finding("i9", "c3a", "NC04", schema.FindingOrdered, CST(3, 8, 11, 0), at(CST(3, 13, 12, 0)), nil, 0)
	finding("i9", "c3a", "NC16", schema.FindingClosed, CST(3, 1, 10, 0), nil, at(CST(3, 7, 10, 0)), 0)
	return f
}

// PushLate sends, as ins2a's freshly enrolled device at the store's time
// now, an inspection of venueKey that started at started: the late sync
// of work done offline long before.
func (f *RollupFixture) PushLate(ctx context.Context, s store.Store, now time.Time, venueKey string, started time.Time) (string, error) {
	u := f.Users["ins2a"]
	code, token := randomHex(), randomHex()
	if err := s.CreateEnrollmentCode(ctx, code, u.ID, f.Users["lead2"].ID, now.Add(time.Hour)); err != nil {
		return "", err
	}
	ed, err := s.EnrollDevice(ctx, code, "ins2a phone", token, now.Add(365*24*time.Hour))
	if err != nil {
		return "", err
	}
	end := started.Add(30 * time.Minute).UTC()
	in := &schema.Inspection{ID: uuid.NewString(), VenueID: f.Venues[venueKey].ID, Status: schema.StatusSubmitted,
		ChecklistVersion: schema.DefaultChecklistVersion, Inspectors: []schema.Inspector{{Username: "ins2a"}, {Username: "ins2b"}},
		StartedAt: started.UTC(), FinishedAt: &end, Items: allPass()}
	clock := schema.NewClock(ed.DeviceID, func() time.Time { return now })
	res, err := s.Push(ctx, store.PushInput{DeviceID: ed.DeviceID, UserID: u.ID, SquadID: u.SquadID, ReceivedAt: now,
		Request: &schema.PushRequest{ClientTime: now, HLC: clock.Tick().String(), Mutations: []schema.Mutation{
			{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert, HLC: clock.Tick().String(), Inspection: in}}}})
	if err != nil {
		return "", err
	}
	if len(res) != 1 || res[0].Outcome != schema.OutcomeApplied {
		return "", fmt.Errorf("push of the late inspection: %+v", res)
	}
	return in.ID, nil
}

// RollupComplaints are the complaints AddComplaints takes in, by key. With
// the default limits (15 days to accept, 60 to finish):
//
// Squad 2: k2 received 1 Jan, accepted 5 Jan (due 6 Mar 10:00), never
// handled; k1 received 1 Feb (accept by 16 Feb 10:00), never accepted; k5
// received 20 Feb, rejected 25 Feb; k3 received 1 Mar, accepted 2 Mar,
// handled 10 Mar; k4 received 1 Mar, accepted 2 Mar, handled 3 Mar,
// answered 5 Mar; k6 received 14 Mar; k7 received 20 Mar. Squad 1: k8
// received 10 Jan, accepted 12 Jan, extended by 30 days on 1 Mar (due
// 12 Apr instead of 13 Mar). Squad 3: none.
//
// At the end of 15 March squad 2 has 4 open (k2, k1, k3, k6) of which 2
// overdue: k1 at acceptance by 27 days, k2 at finishing by 9 days; squad
// 1 has k8 open, not overdue. At the end of 4 March squad 2 has 4 open
// (k2, k1, k3, k4), k1 overdue.
type RollupComplaints map[string]schema.Complaint

// AddComplaints takes the fixture's complaints in and acts on them
// through s, each step at its own time (set moves the store's clock).
func (f *RollupFixture) AddComplaints(ctx context.Context, s store.Complaints, set func(time.Time)) (RollupComplaints, error) {
	out := RollupComplaints{}
	lim := schema.DefaultComplaintLimits()
	admin := schema.ComplaintAccessOf(schema.RoleAdmin, nil, false)
	take := func(key, venueKey string, at time.Time) error {
		set(at)
		c, err := s.CreateComplaint(ctx, schema.ComplaintIntake{Channel: schema.Channel12345, Category: schema.CategoryCafe,
			ReceivedAt: at, VenueID: f.Venues[venueKey].ID, Content: "complaint " + key}, "office", lim)
		out[key] = c
		return err
	}
	act := func(key string, at time.Time, a schema.ComplaintAction) error {
		set(at)
		a.By = "lead"
		c, err := s.ActOnComplaint(ctx, out[key].ID, a, admin, lim)
		out[key] = c
		return err
	}
	accept := schema.ComplaintAction{Action: schema.ComplaintActAccept}
	steps := []func() error{
		func() error { return take("k2", "c2b", CST(1, 1, 10, 0)) },
		func() error { return act("k2", CST(1, 5, 10, 0), accept) },
		func() error { return take("k8", "c1a", CST(1, 10, 10, 0)) },
		func() error { return act("k8", CST(1, 12, 10, 0), accept) },
		func() error { return take("k1", "c2a", CST(2, 1, 10, 0)) },
		func() error { return take("k5", "c2a", CST(2, 20, 10, 0)) },
		func() error {
			return act("k5", CST(2, 25, 10, 0), schema.ComplaintAction{Action: schema.ComplaintActReject, Reason: "not ours"})
		},
		func() error { return take("k3", "c2a", CST(3, 1, 9, 0)) },
		func() error { return take("k4", "c2b", CST(3, 1, 9, 30)) },
		func() error {
			return act("k8", CST(3, 1, 11, 0), schema.ComplaintAction{Action: schema.ComplaintActExtend, Days: 30, Reason: "needs the police"})
		},
		func() error { return act("k3", CST(3, 2, 10, 0), accept) },
		func() error { return act("k4", CST(3, 2, 10, 5), accept) },
		func() error {
			return act("k4", CST(3, 3, 10, 0), schema.ComplaintAction{Action: schema.ComplaintActHandle, Text: "corrected"})
		},
		func() error {
			return act("k4", CST(3, 5, 10, 0), schema.ComplaintAction{Action: schema.ComplaintActAnswer, Text: "told", Method: "phone"})
		},
		func() error {
			return act("k3", CST(3, 10, 10, 0), schema.ComplaintAction{Action: schema.ComplaintActHandle, Text: "warned"})
		},
		func() error { return take("k6", "c2a", CST(3, 14, 10, 0)) },
		func() error { return take("k7", "c2b", CST(3, 20, 10, 0)) },
	}
	for i, st := range steps {
		if err := st(); err != nil {
			return out, fmt.Errorf("complaint step %d: %w", i+1, err)
		}
	}
	return out, nil
}
