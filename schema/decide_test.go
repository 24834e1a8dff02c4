package schema_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

var decideNow = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

func pusher() schema.Pusher {
	return schema.Pusher{DeviceID: "dev-1", UserID: "u1", Username: "inspector1", Squad: 1, InSquad: true, ReceivedAt: decideNow, Now: decideNow,
		Members: squad1Members()}
}

// squad1Members are the active users of squad 1 as a server or device
// lists them: its leader, two inspectors and a co-inspector of squad 2.
func squad1Members() []schema.Member {
	return []schema.Member{
		{Username: "leader1", Name: "Chen Jun", BadgeNo: "JX-0100", Role: schema.RoleLeader, SquadID: 1},
		{Username: "inspector1", Name: "Li Wei", BadgeNo: "JX-0001", Role: schema.RoleInspector, SquadID: 1},
		{Username: "inspector2", Name: "Wang Fang", BadgeNo: "JX-0002", Role: schema.RoleInspector, SquadID: 1},
		{Username: "inspector3", Name: "Zhao Min", BadgeNo: "JX-0003", Role: schema.RoleInspector, SquadID: 2, CoInspector: true},
	}
}

// decided is what a test checks of a Decision.
type decided struct {
	outcome  string
	code     schema.Code
	reason   string // a part of the reason
	effect   schema.Effect
	conflict string // the kind of the one conflict recorded, "" for none
}

func checkDecision(t *testing.T, d schema.Decision, want decided) {
	t.Helper()
	if d.Result.Outcome != want.outcome || d.Result.Code != want.code || !strings.Contains(d.Result.Reason, want.reason) {
		t.Errorf("answer %s %q %q; want %s %q containing %q", d.Result.Outcome, d.Result.Code, d.Result.Reason, want.outcome, want.code, want.reason)
	}
	if d.Effect != want.effect {
		t.Errorf("effect %d; want %d", d.Effect, want.effect)
	}
	switch {
	case want.conflict == "" && len(d.Conflicts) > 0:
		t.Errorf("conflicts %+v; want none", d.Conflicts)
	case want.conflict != "" && (len(d.Conflicts) != 1 || d.Conflicts[0].Kind != want.conflict):
		t.Errorf("conflicts %+v; want one %s", d.Conflicts, want.conflict)
	}
}

func TestAnswerReplay_Table(t *testing.T) {
	prev := schema.RecordedAnswer{DeviceID: "dev-1", UserID: "u1", Outcome: schema.OutcomeRejected, Code: schema.CodeInvalid, Reason: "bad", ConflictID: "c"}
	cases := []struct {
		name           string
		device, user   string
		outcome        string
		original, code string
	}{
		{"same device: the recorded answer", "dev-1", "u1", schema.OutcomeDuplicate, schema.OutcomeRejected, string(schema.CodeInvalid)},
		{"same inspector on a new device: the recorded answer", "dev-2", "u1", schema.OutcomeDuplicate, schema.OutcomeRejected, string(schema.CodeInvalid)},
		{"another inspector's device: the id is taken", "dev-3", "u3", schema.OutcomeRejected, "", string(schema.CodeConflict)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pusher()
			p.DeviceID, p.UserID = c.device, c.user
			r := schema.AnswerReplay("m1", prev, p)
			if r.ID != "m1" || r.Outcome != c.outcome || r.Original != c.original || string(r.Code) != c.code {
				t.Fatalf("%+v; want %s (original %q, code %q)", r, c.outcome, c.original, c.code)
			}
			if r.Outcome == schema.OutcomeDuplicate && (r.Reason != "bad" || r.ConflictID != "c") {
				t.Fatalf("a duplicate answers %+v; want the recorded reason and conflict", r)
			}
		})
	}
}

func TestRefusal_Table(t *testing.T) {
	m := &schema.Mutation{ID: "m1"}
	noSquad := pusher()
	noSquad.InSquad = false
	cases := []struct {
		name    string
		invalid error
		p       schema.Pusher
		refused bool
		code    schema.Code
	}{
		{"valid, in a squad: for the rules of its kind", nil, pusher(), false, ""},
		{"invalid: refused with the validator's code", schema.Errorf(schema.CodeTooLarge, "too long"), pusher(), true, schema.CodeTooLarge},
		{"a plain error is invalid", errors.New("odd"), pusher(), true, schema.CodeInvalid},
		{"no squad: forbidden", nil, noSquad, true, schema.CodeForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, refused := schema.Refusal(m, c.invalid, c.p)
			if refused != c.refused || (refused && (r.Outcome != schema.OutcomeRejected || r.Code != c.code || r.Reason == "")) {
				t.Fatalf("%+v, %v; want refused=%v with %q", r, refused, c.refused, c.code)
			}
		})
	}
}

func TestDecideVenueCreate_Table(t *testing.T) {
	hlc := hlcAt(decideNow.UnixMilli(), "dev-1")
	m := &schema.Mutation{ID: "m1", Kind: schema.MutVenueCreate, HLC: hlc,
		Venue: &schema.Venue{ID: "v1", SquadID: 9, Kind: schema.KindNetCafe, Name: "黑网吧", Deleted: true, Lat: 35.1, Lng: 118.3}}
	cases := []struct {
		name     string
		existing *schema.Venue
		want     decided
	}{
		{"new: inserted", nil, decided{outcome: schema.OutcomeApplied, effect: schema.EffectInsert}},
		{"sent again by its device: applied, nothing written", &schema.Venue{ID: "v1", CreatedBy: "dev-1"}, decided{outcome: schema.OutcomeApplied}},
		{"id of another device's venue: refused", &schema.Venue{ID: "v1", CreatedBy: "dev-2"},
			decided{outcome: schema.OutcomeRejected, code: schema.CodeConflict, reason: "cannot be used; make a new id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := schema.DecideVenueCreate(m, pusher(), c.existing, hlc)
			checkDecision(t, d, c.want)
			if d.Effect != schema.EffectInsert {
				return
			}
			v := d.Venue
			if v.SquadID != 1 || v.CreatedBy != "dev-1" || v.Deleted || v.OpenState != schema.OpenStateOpen || !v.UpdatedAt.Equal(decideNow) {
				t.Fatalf("venue to write %+v; want squad 1, created by dev-1, open, not deleted, updated now", v)
			}
			for _, f := range schema.VenueFields {
				if v.Clocks[f] != hlc {
					t.Fatalf("field %s stamped %q; want the mutation's %s", f, v.Clocks[f], hlc)
				}
			}
		})
	}
}

func TestDecideVenueUpdate_Table(t *testing.T) {
	old, hlc := hlcAt(1_000, "server"), hlcAt(decideNow.UnixMilli(), "dev-1")
	mine := &schema.Venue{ID: "v1", SquadID: 1, Name: "A", Clocks: map[string]string{schema.FieldName: old}}
	others := &schema.Venue{ID: "v1", SquadID: 2, Name: "A", Clocks: mine.Clocks}
	deleted := &schema.Venue{ID: "v1", SquadID: 1, Name: "A", Deleted: true, Clocks: mine.Clocks}
	edit := func(base string) *schema.Mutation {
		return &schema.Mutation{ID: "m1", Kind: schema.MutVenueUpdate, HLC: hlc,
			VenueUpdate: &schema.VenueUpdate{VenueID: "v1", Fields: map[string]schema.FieldEdit{schema.FieldName: {Value: "B", Base: base}}}}
	}
	cases := []struct {
		name   string
		m      *schema.Mutation
		venue  *schema.Venue
		leftAt time.Time
		want   decided
	}{
		{"unknown venue", edit(old), nil, time.Time{}, decided{outcome: schema.OutcomeRejected, code: schema.CodeNotFound, reason: "not known to the server as a venue of your squad"}},
		{"a venue the squad never had: answered as an unknown one", edit(old), others, time.Time{},
			decided{outcome: schema.OutcomeRejected, code: schema.CodeNotFound, reason: "not known to the server as a venue of your squad"}},
		{"a venue that left the squad", edit(old), others, decideNow.Add(-time.Hour),
			decided{outcome: schema.OutcomeRejected, code: schema.CodeForbidden, reason: "not in your squad"}},
		{"a deleted venue: a conflict, not resurrected", edit(old), deleted, time.Time{},
			decided{outcome: schema.OutcomeConflict, code: schema.CodeGone, reason: "deleted on the server", conflict: schema.ConflictEditOfDeleted}},
		{"based on the current clock: applied", edit(old), mine, time.Time{}, decided{outcome: schema.OutcomeApplied, effect: schema.EffectReplace}},
		{"concurrent: merged and a conflict", edit(hlcAt(500, "dev-9")), mine, time.Time{},
			decided{outcome: schema.OutcomeConflict, code: schema.CodeConflict, reason: "1 field(s)", effect: schema.EffectReplace, conflict: schema.ConflictConcurrentEdit}},
		{"older than what the server holds: nothing to write", &schema.Mutation{ID: "m1", Kind: schema.MutVenueUpdate, HLC: hlcAt(10, "dev-1"),
			VenueUpdate: &schema.VenueUpdate{VenueID: "v1", Fields: map[string]schema.FieldEdit{schema.FieldName: {Value: "B", Base: old}}}}, mine, time.Time{},
			decided{outcome: schema.OutcomeApplied}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := schema.DecideVenueUpdate(c.m, pusher(), c.venue, c.leftAt, c.m.HLC, nil)
			checkDecision(t, d, c.want)
			if d.Effect == schema.EffectReplace && (d.Venue.Name != "B" || !d.Venue.UpdatedAt.Equal(decideNow)) {
				t.Errorf("venue to write %+v; want the edit, updated now", d.Venue)
			}
			if d.Result.Outcome == schema.OutcomeConflict && d.Result.ServerVenue == nil {
				t.Errorf("a conflict answers without the server's venue")
			}
			if c.venue != nil && c.venue.Name != "A" {
				t.Errorf("the stored venue passed in changed: %+v", c.venue)
			}
		})
	}
	d := schema.DecideVenueUpdate(edit(old), pusher(), deleted, time.Time{}, hlc, nil)
	if c := d.Conflicts[0]; c.ServerValue != "deleted" || c.DeviceValue != `{"name":"B"}` || c.Winner != schema.WinnerServer {
		t.Errorf("edit of a deleted venue recorded as %+v", c)
	}
}

func TestDecideInspection_Table(t *testing.T) {
	hlc := hlcAt(decideNow.UnixMilli(), "dev-1")
	m := validInspection(t)
	m.Inspection.StartedAt = decideNow.Add(-time.Hour)
	fin := decideNow.Add(-time.Minute)
	m.Inspection.FinishedAt = &fin
	in := m.Inspection
	ours := schema.VenueSquad{Known: true, Squad: 1}
	// stored is the server's copy; its status is the review's decision
	// (submitted without one).
	stored := func(author, hlc string, review *schema.Review) *schema.StoredInspection {
		status := schema.StatusSubmitted
		if review != nil {
			status = review.Decision
		}
		return &schema.StoredInspection{Inspection: schema.Inspection{ID: in.ID, SquadID: 1, HLC: hlc, Review: review, Status: status, Version: 2},
			AuthorID: author}
	}
	older, newer := hlcAt(decideNow.UnixMilli()-60_000, "dev-1"), hlcAt(decideNow.UnixMilli()+1, "dev-1")
	cases := []struct {
		name   string
		venue  schema.VenueSquad
		stored *schema.StoredInspection
		hlc    string
		want   decided
	}{
		{"unknown venue", schema.VenueSquad{}, nil, hlc, decided{outcome: schema.OutcomeRejected, code: schema.CodeNotFound, reason: "venue.create must be pushed first"}},
		{"venue of another squad: answered as an unknown one", schema.VenueSquad{Known: true, Squad: 2}, nil, hlc,
			decided{outcome: schema.OutcomeRejected, code: schema.CodeNotFound, reason: "venue.create must be pushed first"}},
		{"venue that left the squad within the grace", schema.VenueSquad{Known: true, Squad: 2, LeftAt: decideNow.Add(-schema.ReassignmentGrace)}, nil, hlc,
			decided{outcome: schema.OutcomeRejected, code: schema.CodeForbidden, reason: "not in your squad"}},
		{"venue that left the squad after the inspection started, within the grace", schema.VenueSquad{Known: true, Squad: 2, LeftAt: in.StartedAt.Add(time.Second)}, nil, hlc,
			decided{outcome: schema.OutcomeApplied, effect: schema.EffectInsert}},
		{"venue that left the squad before the grace", schema.VenueSquad{Known: true, Squad: 2, LeftAt: decideNow.Add(-schema.ReassignmentGrace - time.Second)}, nil, hlc,
			decided{outcome: schema.OutcomeRejected, code: schema.CodeForbidden, reason: "not in your squad"}},
		{"new: inserted", ours, nil, hlc, decided{outcome: schema.OutcomeApplied, effect: schema.EffectInsert}},
		{"another inspector's inspection: its id cannot be used", ours, stored("u2", older, nil), hlc,
			decided{outcome: schema.OutcomeRejected, code: schema.CodeConflict, reason: "inspection id " + in.ID + " cannot be used; make a new id"}},
		{"the same version again: applied, nothing written", ours, stored("u1", hlc, nil), hlc, decided{outcome: schema.OutcomeApplied}},
		{"an older version: applied, nothing written", ours, stored("u1", newer, nil), hlc, decided{outcome: schema.OutcomeApplied}},
		{"a newer version: replaces", ours, stored("u1", older, nil), hlc, decided{outcome: schema.OutcomeApplied, effect: schema.EffectReplace}},
		{"a newer version of an approved one: a conflict", ours, stored("u1", older, &schema.Review{Decision: schema.StatusApproved}), hlc,
			decided{outcome: schema.OutcomeConflict, code: schema.CodeConflict, reason: "already reviewed (approved)", conflict: schema.ConflictEditAfterReview}},
		{"a newer version of a legacy reviewed one: a conflict", ours, stored("u1", older, &schema.Review{Decision: schema.StatusReviewed}), hlc,
			decided{outcome: schema.OutcomeConflict, code: schema.CodeConflict, reason: "already reviewed (reviewed)", conflict: schema.ConflictEditAfterReview}},
		{"an older version of an approved one: applied, no conflict", ours, stored("u1", newer, &schema.Review{Decision: schema.StatusApproved}), hlc,
			decided{outcome: schema.OutcomeApplied}},
		{"a newer version of a returned one: the amendment replaces it", ours, stored("u1", older, &schema.Review{Decision: schema.StatusReturned}), hlc,
			decided{outcome: schema.OutcomeApplied, effect: schema.EffectReplace}},
		{"an older version of a returned one: applied, nothing written", ours, stored("u1", newer, &schema.Review{Decision: schema.StatusReturned}), hlc,
			decided{outcome: schema.OutcomeApplied}},
	}
	forged := *m
	fi := *in
	fi.Inspectors = []schema.Inspector{{Username: "inspector1"}, {Username: "leader1"}}
	forged.Inspection = &fi
	forgedCases := []struct {
		name   string
		stored *schema.StoredInspection
		want   decided
	}{
		{"new, naming the leader", nil, decided{outcome: schema.OutcomeRejected, code: schema.CodeForbidden, reason: "leader1 is not an active inspector of squad 1"}},
		{"a newer version naming the leader", stored("u1", older, nil),
			decided{outcome: schema.OutcomeRejected, code: schema.CodeForbidden, reason: "leader1 is not an active inspector of squad 1"}},
		{"a newer version of a reviewed one naming the leader: refused, no conflict", stored("u1", older, &schema.Review{Decision: schema.StatusApproved}),
			decided{outcome: schema.OutcomeRejected, code: schema.CodeForbidden, reason: "leader1 is not an active inspector of squad 1"}},
		{"a late copy naming the leader: applied, nothing written", stored("u1", newer, nil), decided{outcome: schema.OutcomeApplied}},
	}
	for _, c := range forgedCases {
		t.Run("forged inspectors: "+c.name, func(t *testing.T) {
			checkDecision(t, schema.DecideInspection(&forged, pusher(), ours, c.stored, hlc, false), c.want)
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := schema.DecideInspection(m, pusher(), c.venue, c.stored, c.hlc, false)
			checkDecision(t, d, c.want)
			if d.Result.Outcome == schema.OutcomeConflict && (d.Result.ServerInspection == nil || d.Result.ServerInspection.Review == nil) {
				t.Errorf("a conflict answers %+v; want the server's reviewed copy", d.Result.ServerInspection)
			}
			if d.Effect == schema.EffectNone {
				return
			}
			r := d.Inspection
			if r.ID != in.ID || r.SquadID != 1 || r.DeviceID != "dev-1" || r.HLC != c.hlc || r.Review != nil || r.TimeSuspect || len(r.Items) != len(in.Items) {
				t.Errorf("record to write %+v", r)
			}
			// A first version is 1; each replacement is the next, submitted for review again.
			wantVersion := 1
			if c.stored != nil {
				wantVersion = c.stored.Version + 1
			}
			if r.Version != wantVersion || r.Status != schema.StatusSubmitted {
				t.Errorf("record to write is version %d %s; want %d submitted", r.Version, r.Status, wantVersion)
			}
			// The officers as the server's members list them, not as pushed.
			want := []schema.Inspector{{Username: "inspector1", Name: "Li Wei", BadgeNo: "JX-0001"}, {Username: "inspector2", Name: "Wang Fang", BadgeNo: "JX-0002"}}
			if !slices.Equal(r.Inspectors, want) || in.Inspectors[0].Name != "" {
				t.Errorf("inspectors to write %+v (pushed %+v); want %+v", r.Inspectors, in.Inspectors, want)
			}
		})
	}
}

func TestInspectionRecord_TimeSuspect(t *testing.T) {
	m := validInspection(t)
	cases := []struct {
		name      string
		start     time.Time
		end       time.Duration // after start
		restamped bool
		want      bool
	}{
		{"plausible", decideNow.Add(-time.Hour), 40 * time.Minute, false, false},
		{"restamped clock", decideNow.Add(-time.Hour), 40 * time.Minute, true, true},
		{"started in the future", decideNow.Add(schema.MaxHLCLead + time.Second), time.Minute, false, true},
		{"started just within the lead", decideNow.Add(schema.MaxHLCLead), time.Minute, false, false},
		{"started too long ago", decideNow.Add(-schema.MaxInspectionAge - time.Second), time.Minute, false, true},
		{"ended before it started", decideNow.Add(-time.Hour), -time.Minute, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := *m.Inspection
			in.StartedAt = c.start
			end := c.start.Add(c.end)
			in.FinishedAt = &end
			in.Review = &schema.Review{Decision: schema.StatusApproved}
			rec := schema.InspectionRecord(&in, pusher(), "h", c.restamped)
			if rec.TimeSuspect != c.want {
				t.Fatalf("time suspect %v; want %v", rec.TimeSuspect, c.want)
			}
			if rec.Review != nil || rec.HLC != "h" || in.Review == nil {
				t.Fatalf("record %+v; want the pushed one without review, stamped h, the pushed one unchanged", rec)
			}
		})
	}
}
