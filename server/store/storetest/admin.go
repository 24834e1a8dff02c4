package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var adminCases = []contractCase{
	withEnv("ListUsersBySquad", testAdminListUsers),
	withEnv("SetPasswordRevokesSessionsNotDevices", testAdminSetPassword),
	withEnv("DisableRevokesSessionsAndEnableRestores", testAdminDisable),
	withEnv("DisableAndPasswordAudited", testAdminAccountAudit),
	withEnv("ListDevicesWithClock", testAdminListDevices),
	withEnv("DecideConflictAppliesTheChosenValue", testAdminDecideConflict),
	withEnv("DecideConflictRefusals", testAdminDecideConflictRefusals),
}

func testAdminListUsers(t *testing.T, e *env) {
	all, err := e.s.ListUsers(e.ctx, store.UserFilter{})
	if err != nil || len(all) != len(districtUsers) {
		t.Fatalf("ListUsers = %d users, %v; want %d", len(all), err, len(districtUsers))
	}
	var names []string
	for _, u := range all {
		names = append(names, u.Username)
	}
	// Users without a squad first, then by squad and username.
	want := []string{"admin", "floater", "insp1a", "insp1b", "leader1", "retired1", "insp2", "leader2"}
	if !slices.Equal(names, want) {
		t.Fatalf("ListUsers order %v; want %v", names, want)
	}
	two, err := e.s.ListUsers(e.ctx, store.UserFilter{SquadID: ptr(int64(2))})
	if err != nil || len(two) != 2 || two[0].Username != "insp2" || two[1].Username != "leader2" {
		t.Fatalf("ListUsers of squad 2 = %+v, %v", two, err)
	}
	u, err := e.s.UserByID(e.ctx, e.users["insp1a"].ID)
	if err != nil || u.Username != "insp1a" || u.BadgeNo != "B-insp1a" || u.SquadID == nil || *u.SquadID != 1 {
		t.Fatalf("UserByID = %+v, %v", u, err)
	}
	_, err = e.s.UserByID(e.ctx, newID())
	wantCode(t, "UserByID of an unknown id", err, schema.CodeNotFound)
}

func testAdminSetPassword(t *testing.T, e *env) {
	u := e.users["insp1a"]
	d := e.enroll("insp1a")
	s1, s2, other := randomHex(), randomHex(), randomHex()
	for _, s := range []struct{ user, tok string }{{u.ID, s1}, {u.ID, s2}, {e.users["insp1b"].ID, other}} {
		if err := e.s.CreateSession(e.ctx, s.user, s.tok, e.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.SetPassword(e.ctx, u.ID, "new-hash"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if got, err := e.s.UserByUsername(e.ctx, "insp1a"); err != nil || got.PasswordHash != "new-hash" {
		t.Fatalf("user after SetPassword: %+v, %v", got, err)
	}
	for _, tok := range []string{s1, s2} {
		_, err := e.s.Authenticate(e.ctx, tok)
		wantCode(t, "a session made before the password changed", err, schema.CodeUnauthorized)
	}
	if _, err := e.s.Authenticate(e.ctx, other); err != nil {
		t.Fatalf("another user's session after SetPassword: %v", err)
	}
	// The device holds its own credential, which a password does not guard.
	if p, err := e.s.Authenticate(e.ctx, d.token); err != nil || p.DeviceID != d.id {
		t.Fatalf("device token after SetPassword: %+v, %v", p, err)
	}
	wantCode(t, "SetPassword of an unknown user", e.s.SetPassword(e.ctx, newID(), "h"), schema.CodeNotFound)
}

func testAdminDisable(t *testing.T, e *env) {
	u := e.users["insp1b"]
	tok := randomHex()
	if err := e.s.CreateSession(e.ctx, u.ID, tok, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.SetUserDisabled(e.ctx, u.ID, true)
	if err != nil || !got.Disabled || got.ID != u.ID {
		t.Fatalf("SetUserDisabled(true) = %+v, %v", got, err)
	}
	got, err = e.s.SetUserDisabled(e.ctx, u.ID, false)
	if err != nil || got.Disabled {
		t.Fatalf("SetUserDisabled(false) = %+v, %v", got, err)
	}
	// The session revoked with the disabling stays revoked.
	_, err = e.s.Authenticate(e.ctx, tok)
	wantCode(t, "a session of a user disabled and enabled again", err, schema.CodeUnauthorized)
	fresh := randomHex()
	if err := e.s.CreateSession(e.ctx, u.ID, fresh, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Authenticate(e.ctx, fresh); err != nil {
		t.Fatalf("a new session after enabling: %v", err)
	}
	_, err = e.s.SetUserDisabled(e.ctx, newID(), true)
	wantCode(t, "SetUserDisabled of an unknown user", err, schema.CodeNotFound)
}

func testAdminListDevices(t *testing.T, e *env) {
	a := e.enroll("insp1a")
	e.clock.Advance(time.Minute)
	b := e.enroll("insp2")
	at := e.clock.Now()
	if err := e.s.RecordClockSample(e.ctx, store.ClockSample{DeviceID: a.id, At: at, OffsetMS: -4200, Endpoint: "pull"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RevokeDevice(e.ctx, b.id); err != nil {
		t.Fatal(err)
	}
	all, err := e.s.ListDevices(e.ctx, store.DeviceFilter{})
	if err != nil || len(all) != 2 || all[0].ID != b.id || all[1].ID != a.id {
		t.Fatalf("ListDevices = %+v, %v; want insp2's then insp1a's", all, err)
	}
	da := all[1]
	if da.Username != "insp1a" || da.UserID != e.users["insp1a"].ID || da.Name != "insp1a phone" || da.SquadID == nil || *da.SquadID != 1 ||
		da.RevokedAt != nil || da.LastSyncAt == nil || !da.LastSyncAt.Equal(at) || da.ClockOffset == nil || *da.ClockOffset != -4200 {
		t.Fatalf("insp1a's device: %+v", da)
	}
	if db := all[0]; db.RevokedAt == nil || db.LastSyncAt != nil || db.ClockOffset != nil {
		t.Fatalf("insp2's revoked, never synced device: %+v", db)
	}
	one, err := e.s.ListDevices(e.ctx, store.DeviceFilter{SquadID: ptr(int64(1))})
	if err != nil || len(one) != 1 || one[0].ID != a.id {
		t.Fatalf("ListDevices of squad 1 = %+v, %v", one, err)
	}
}

// concurrentPhoneEdit makes a conflict on the phone of a new venue of
// squad 1: the server writes "server", then a device edits from an older
// base with a later clock and wins with "device".
func (e *env) concurrentPhoneEdit(name string) (schema.Venue, schema.Conflict) {
	e.t.Helper()
	d := e.enroll("insp1a")
	v := e.newVenue(1, name)
	seen := pulledVenue(e.t, d, v.ID)
	e.clock.Advance(time.Second)
	if _, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "server"}}, nil, serverActor("leader1"), schema.SquadScope(1)); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	r := d.push(d.edit(v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "device", Base: seen.Clocks[schema.FieldPhone]}}))[0]
	wantOutcome(e.t, "concurrent edit of "+name, r, schema.OutcomeConflict, schema.CodeConflict)
	c := e.conflict(r.ConflictID)
	if c.Winner != schema.WinnerDevice || e.venue(v.ID).Phone != "device" {
		e.t.Fatalf("conflict %+v, phone %q; want the device's later edit kept", c, e.venue(v.ID).Phone)
	}
	return v, c
}

func testAdminDecideConflict(t *testing.T, e *env) {
	// Keeping the value the merge kept changes nothing but the conflict.
	v, c := e.concurrentPhoneEdit("Kept")
	e.clock.Advance(time.Minute)
	got, err := e.s.DecideConflict(e.ctx, c.ID, schema.WinnerDevice, serverActor("leader1"), "leader1", schema.SquadScope(1))
	if err != nil || got.ResolvedAt == nil || !got.ResolvedAt.Equal(e.clock.Now()) || got.Winner != schema.WinnerDevice {
		t.Fatalf("DecideConflict(device) of the device's kept value: %+v, %v", got, err)
	}
	if a := e.auditEntries(store.AuditFilter{EntityKind: schema.AuditConflict, EntityID: c.ID}); len(a) == 0 || a[0].Action != "decide" ||
		a[0].SquadID == nil || *a[0].SquadID != c.SquadID {
		t.Fatalf("audit of the decided conflict: %+v; want a decide entry of its squad", a)
	}
	if p := e.venue(v.ID).Phone; p != "device" {
		t.Fatalf("phone %q after keeping the device's value", p)
	}

	// Choosing the other side writes it through the field merge.
	v, c = e.concurrentPhoneEdit("Overturned")
	before := e.venue(v.ID)
	e.clock.Advance(time.Minute)
	got, err = e.s.DecideConflict(e.ctx, c.ID, schema.WinnerServer, serverActor("leader1"), "leader1", schema.SquadScope(1))
	if err != nil || got.ResolvedAt == nil || got.Winner != schema.WinnerServer {
		t.Fatalf("DecideConflict(server): %+v, %v", got, err)
	}
	after := e.venue(v.ID)
	if after.Phone != "server" || after.Clocks[schema.FieldPhone] <= before.Clocks[schema.FieldPhone] {
		t.Fatalf("venue after the server's value was chosen: phone %q clock %s (was %s)", after.Phone,
			after.Clocks[schema.FieldPhone], before.Clocks[schema.FieldPhone])
	}
	// Deciding again answers the conflict as it is.
	again, err := e.s.DecideConflict(e.ctx, c.ID, schema.WinnerDevice, serverActor("leader1"), "leader1", schema.SquadScope(1))
	if err != nil || again.Winner != schema.WinnerServer || !again.ResolvedAt.Equal(*got.ResolvedAt) {
		t.Fatalf("second DecideConflict: %+v, %v", again, err)
	}
	if p := e.venue(v.ID).Phone; p != "server" {
		t.Fatalf("phone %q after a second decision", p)
	}
}

func testAdminDecideConflictRefusals(t *testing.T, e *env) {
	v, c := e.concurrentPhoneEdit("Refused")
	_, err := e.s.DecideConflict(e.ctx, c.ID, "both", serverActor("leader1"), "leader1", schema.SquadScope(1))
	wantCode(t, "DecideConflict with winner both", err, schema.CodeInvalid)
	for _, sc := range []schema.Scope{schema.SquadScope(2), {}} {
		_, err := e.s.DecideConflict(e.ctx, c.ID, schema.WinnerServer, serverActor("leader2"), "leader2", sc)
		wantCode(t, "DecideConflict out of scope", err, schema.CodeNotFound)
	}
	// The field changed again since: the choice is between stale values.
	e.clock.Advance(time.Second)
	if _, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "third"}}, nil, serverActor("admin"), schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.DecideConflict(e.ctx, c.ID, schema.WinnerServer, serverActor("leader1"), "leader1", schema.SquadScope(1))
	wantCode(t, "DecideConflict after the field changed again", err, schema.CodeConflict)
	if got := e.conflict(c.ID); got.ResolvedAt != nil || got.Winner != schema.WinnerDevice {
		t.Fatalf("conflict after refusals: %+v", got)
	}
	if p := e.venue(v.ID).Phone; p != "third" {
		t.Fatalf("phone %q after refusals", p)
	}
	// Keeping what stands is still allowed.
	if got, err := e.s.DecideConflict(e.ctx, c.ID, schema.WinnerDevice, serverActor("leader1"), "leader1", schema.SquadScope(1)); err != nil || got.ResolvedAt == nil {
		t.Fatalf("DecideConflict keeping the kept value: %+v, %v", got, err)
	}
	_, err = e.s.DecideConflict(e.ctx, newID(), schema.WinnerServer, serverActor("leader1"), "leader1", schema.AllSquads())
	wantCode(t, "DecideConflict of an unknown id", err, schema.CodeNotFound)
}

// testAdminAccountAudit: disabling, enabling and setting a password each
// leave one entry of the user, with the user's squad and the request's
// actor; a refused change (unknown user) leaves none.
func testAdminAccountAudit(t *testing.T, e *env) {
	u := e.users["insp1b"]
	ctx := store.WithAuditor(e.ctx, "leader1", "192.0.2.9")
	base := e.verifyAudit()
	if _, err := e.s.SetUserDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetUserDisabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetPassword(ctx, u.ID, "new-hash"); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.SetUserDisabled(ctx, newID(), true)
	wantCode(t, "SetUserDisabled of an unknown user", err, schema.CodeNotFound)
	wantCode(t, "SetPassword of an unknown user", e.s.SetPassword(ctx, newID(), "h"), schema.CodeNotFound)
	if n := e.verifyAudit(); n != base+3 {
		t.Fatalf("%d entries after disable, enable and password; want %d", n, base+3)
	}
	got := e.auditEntries(store.AuditFilter{EntityKind: schema.AuditUser, EntityID: u.ID})
	want := []struct{ action, from, to string }{{"password", "", ""}, {"enable", "disabled", "active"}, {"disable", "active", "disabled"}}
	if len(got) != len(want) {
		t.Fatalf("entries of the user: %+v; want %d", got, len(want))
	}
	for i, w := range want {
		a := got[i]
		if a.Action != w.action || a.From != w.from || a.To != w.to || a.Actor != "leader1" || a.Address != "192.0.2.9" ||
			a.SquadID == nil || *a.SquadID != 1 {
			t.Errorf("entry %d: %+v; want %s %q→%q by leader1 of squad 1", i, a, w.action, w.from, w.to)
		}
	}
}
