package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var accountCases = []contractCase{
	withEnv("CreateUserAndDuplicateUsername", testAccountsCreateUser),
	withEnv("SessionTokens", testAccountsSessions),
	withEnv("EnrollmentCodes", testAccountsEnrollment),
	withEnv("RevokeDevice", testAccountsRevokeDevice),
	{name: "ImportOnlyIntoAnEmptyStore", run: testAccountsImport},
	withEnv("CreateUserInAMissingSquadIsInvalid", testAccountsCreateUserMissingSquad),
	{name: "ImportOfAUserInAMissingSquadIsInvalid", run: testAccountsImportMissingSquad},
}

// A user placed in a squad that does not exist is bad input, refused as
// invalid with a message that names the squad, like a venue placed there
// (CreateVenue, MoveVenue); it is not a taken username.
func testAccountsCreateUserMissingSquad(t *testing.T, e *env) {
	_, err := e.s.CreateUser(e.ctx, store.User{Username: "lost", DisplayName: "Lost", Role: schema.RoleInspector, SquadID: ptr(int64(99))})
	wantCode(t, "CreateUser in squad 99, which does not exist", err, schema.CodeInvalid)
	if _, err := e.s.UserByUsername(e.ctx, "lost"); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Fatalf("user of the refused CreateUser: %v", err)
	}
}

func testAccountsImportMissingSquad(t *testing.T, open Open) {
	clock := &fakeClock{t: start}
	e := &env{t: t, ctx: t.Context(), clock: clock, s: openStore(t, open, clock)}
	d := e.district()
	d.Users = append(d.Users, store.User{ID: "u-lost", Username: "lost", Role: schema.RoleInspector, SquadID: ptr(int64(7))})
	wantCode(t, "Import of a user in squad 7, which the data set does not hold", e.s.Import(e.ctx, d), schema.CodeInvalid)
	if n, err := e.s.CountUsers(e.ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers after the refused Import = %d, %v", n, err)
	}
}

func testAccountsCreateUser(t *testing.T, e *env) {
	n, err := e.s.CountUsers(e.ctx)
	if err != nil || n != len(districtUsers) {
		t.Fatalf("CountUsers = %d, %v; want the %d imported", n, err, len(districtUsers))
	}
	sq := int64(2)
	in := store.User{Username: "newcomer", DisplayName: "New Comer", BadgeNo: "B-9", Role: schema.RoleInspector, SquadID: &sq, PasswordHash: "pw-hash"}
	u, err := e.s.CreateUser(e.ctx, in)
	if err != nil || u.ID == "" {
		t.Fatalf("CreateUser: %+v, %v; want the user with an id", u, err)
	}
	got, err := e.s.UserByUsername(e.ctx, "newcomer")
	in.ID = u.ID
	if err != nil || got.ID != in.ID || got.DisplayName != in.DisplayName || got.BadgeNo != in.BadgeNo || got.Role != in.Role ||
		got.SquadID == nil || *got.SquadID != 2 || got.PasswordHash != in.PasswordHash || got.Disabled {
		t.Fatalf("UserByUsername = %+v, %v; want %+v", got, err, in)
	}
	// A user of no squad (an admin) has none.
	if admin, err := e.s.UserByUsername(e.ctx, "admin"); err != nil || admin.SquadID != nil || admin.Role != schema.RoleAdmin {
		t.Fatalf("UserByUsername(admin) = %+v, %v", admin, err)
	}
	// A taken username is a conflict, and the first user stays as it was.
	dup := store.User{Username: "newcomer", DisplayName: "Impostor", Role: schema.RoleAdmin, PasswordHash: "other"}
	_, err = e.s.CreateUser(e.ctx, dup)
	wantCode(t, "CreateUser with a taken username", err, schema.CodeConflict)
	_, err = e.s.CreateUser(e.ctx, store.User{Username: "insp1a", Role: schema.RoleInspector})
	wantCode(t, "CreateUser with an imported user's name", err, schema.CodeConflict)
	if again, err := e.s.UserByUsername(e.ctx, "newcomer"); err != nil || again.ID != u.ID || again.DisplayName != "New Comer" || again.Role != schema.RoleInspector {
		t.Fatalf("user after the refused duplicate: %+v, %v", again, err)
	}
	if n, err := e.s.CountUsers(e.ctx); err != nil || n != len(districtUsers)+1 {
		t.Fatalf("CountUsers = %d, %v; want %d", n, err, len(districtUsers)+1)
	}
}

func testAccountsSessions(t *testing.T, e *env) {
	u := e.users["leader1"]
	tok := randomHex()
	if err := e.s.CreateSession(e.ctx, u.ID, tok, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p, err := e.s.Authenticate(e.ctx, tok)
	if err != nil || p.UserID != u.ID || p.Username != "leader1" || p.Role != schema.RoleLeader || p.SquadID == nil || *p.SquadID != 1 ||
		p.DeviceID != "" || p.TokenHash != tok || p.DisplayName != u.DisplayName {
		t.Fatalf("Authenticate of a session: %+v, %v", p, err)
	}
	_, err = e.s.Authenticate(e.ctx, randomHex())
	wantCode(t, "Authenticate of an unknown token", err, schema.CodeUnauthorized)

	// Expiry follows the injected clock.
	e.clock.Advance(59 * time.Minute)
	if _, err := e.s.Authenticate(e.ctx, tok); err != nil {
		t.Fatalf("Authenticate a minute before expiry: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	_, err = e.s.Authenticate(e.ctx, tok)
	wantCode(t, "Authenticate after expiry", err, schema.CodeUnauthorized)

	// Revoking one token leaves the user's others alone.
	one, two := randomHex(), randomHex()
	for _, h := range []string{one, two} {
		if err := e.s.CreateSession(e.ctx, u.ID, h, e.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.RevokeToken(e.ctx, one); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Authenticate(e.ctx, one)
	wantCode(t, "Authenticate of a revoked token", err, schema.CodeUnauthorized)
	if _, err := e.s.Authenticate(e.ctx, two); err != nil {
		t.Fatalf("the user's other token after one was revoked: %v", err)
	}
	if err := e.s.RevokeToken(e.ctx, one); err != nil {
		t.Fatalf("RevokeToken twice: %v", err)
	}

	// A disabled account's token does not authenticate.
	off := randomHex()
	if err := e.s.CreateSession(e.ctx, e.users["retired1"].ID, off, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Authenticate(e.ctx, off)
	wantCode(t, "Authenticate of a disabled user's token", err, schema.CodeUnauthorized)
}

func testAccountsEnrollment(t *testing.T, e *env) {
	leader := e.users["leader1"].ID
	enroll := func(code string) (store.EnrolledDevice, string, error) {
		tok := randomHex()
		ed, err := e.s.EnrollDevice(e.ctx, code, "phone", tok, e.clock.Now().Add(30*24*time.Hour))
		return ed, tok, err
	}
	code := randomHex()
	u := e.users["insp1a"]
	if err := e.s.CreateEnrollmentCode(e.ctx, code, u.ID, leader, e.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ed, tok, err := enroll(code)
	if err != nil || ed.DeviceID == "" || ed.User.ID != u.ID || ed.User.Username != "insp1a" || ed.User.SquadID == nil || *ed.User.SquadID != 1 {
		t.Fatalf("EnrollDevice: %+v, %v", ed, err)
	}
	// The device token works and names the device.
	p, err := e.s.Authenticate(e.ctx, tok)
	if err != nil || p.DeviceID != ed.DeviceID || p.UserID != u.ID || p.SquadID == nil || *p.SquadID != 1 || p.Role != schema.RoleInspector {
		t.Fatalf("Authenticate of the device token: %+v, %v", p, err)
	}
	if owner, err := e.s.DeviceOwner(e.ctx, ed.DeviceID); err != nil || owner.ID != u.ID || owner.Username != "insp1a" {
		t.Fatalf("DeviceOwner: %+v, %v", owner, err)
	}
	// The code is used up.
	_, _, err = enroll(code)
	wantCode(t, "EnrollDevice with a used code", err, schema.CodeUnauthorized)
	_, _, err = enroll(randomHex())
	wantCode(t, "EnrollDevice with an unknown code", err, schema.CodeUnauthorized)

	// A code expires by the injected clock.
	late := randomHex()
	if err := e.s.CreateEnrollmentCode(e.ctx, late, u.ID, leader, e.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Minute)
	_, _, err = enroll(late)
	wantCode(t, "EnrollDevice with an expired code", err, schema.CodeUnauthorized)

	// Nor can a disabled user, or one without a squad, enrol a device.
	for _, c := range []struct {
		user string
		code schema.Code
	}{{"retired1", schema.CodeUnauthorized}, {"floater", schema.CodeForbidden}} {
		h := randomHex()
		if err := e.s.CreateEnrollmentCode(e.ctx, h, e.users[c.user].ID, leader, e.clock.Now().Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		_, _, err := enroll(h)
		wantCode(t, "EnrollDevice for "+c.user, err, c.code)
	}
	// Redeemed by several requests at once, a code still enrols one device.
	race := randomHex()
	if err := e.s.CreateEnrollmentCode(e.ctx, race, u.ID, leader, e.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	const tries = 4
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = enroll(race)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if schema.ErrorCode(err) != schema.CodeUnauthorized {
			t.Fatalf("concurrent EnrollDevice with one code: %v; want success or unauthorized", err)
		}
	}
	if won != 1 {
		t.Fatalf("one code enrolled %d devices at once: %v", won, errs)
	}
	// Two devices of one inspector are two devices.
	second := randomHex()
	if err := e.s.CreateEnrollmentCode(e.ctx, second, u.ID, leader, e.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ed2, _, err := enroll(second)
	if err != nil || ed2.DeviceID == ed.DeviceID || ed2.DeviceID == "" {
		t.Fatalf("second enrollment of the same inspector: %+v, %v (first device %s)", ed2, err, ed.DeviceID)
	}
	// The device token expires by the injected clock too.
	e.clock.Advance(31 * 24 * time.Hour)
	_, err = e.s.Authenticate(e.ctx, tok)
	wantCode(t, "Authenticate of an expired device token", err, schema.CodeUnauthorized)
}

func testAccountsRevokeDevice(t *testing.T, e *env) {
	a, a2 := e.enroll("insp1a"), e.enroll("insp1a")
	session := randomHex()
	if err := e.s.CreateSession(e.ctx, a.user.ID, session, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RevokeDevice(e.ctx, a.id); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Authenticate(e.ctx, a.token)
	wantCode(t, "Authenticate of a revoked device's token", err, schema.CodeUnauthorized)
	for what, tok := range map[string]string{"the inspector's other device": a2.token, "the inspector's session": session} {
		if _, err := e.s.Authenticate(e.ctx, tok); err != nil {
			t.Fatalf("%s after the revocation: %v", what, err)
		}
	}
	// Revoking again is no error; the device still has its owner.
	if err := e.s.RevokeDevice(e.ctx, a.id); err != nil {
		t.Fatalf("RevokeDevice twice: %v", err)
	}
	if owner, err := e.s.DeviceOwner(e.ctx, a.id); err != nil || owner.ID != a.user.ID {
		t.Fatalf("DeviceOwner of a revoked device: %+v, %v", owner, err)
	}
	wantCode(t, "RevokeDevice of an unknown device", e.s.RevokeDevice(e.ctx, uuid.NewString()), schema.CodeNotFound)
}

func testAccountsImport(t *testing.T, open Open) {
	clock := &fakeClock{t: start}
	e := &env{t: t, ctx: t.Context(), clock: clock, s: openStore(t, open, clock)}
	if n, err := e.s.CountUsers(e.ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers of a new store = %d, %v", n, err)
	}
	if err := e.s.Ping(e.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// A data set that fails half way is written not at all.
	broken := e.district()
	broken.Users = append(broken.Users, store.User{ID: uuid.NewString(), Username: "insp1a", Role: schema.RoleInspector})
	wantCode(t, "Import of a data set with a username twice", e.s.Import(e.ctx, broken), schema.CodeConflict)
	if n, err := e.s.CountUsers(e.ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers after a failed Import = %d, %v; want 0", n, err)
	}
	_, err := e.s.Venue(e.ctx, broken.Venues[0].ID)
	wantCode(t, "venue of the failed import", err, schema.CodeNotFound)
	if err := e.s.Import(e.ctx, e.district()); err != nil {
		t.Fatalf("Import into an empty store: %v", err)
	}
	if n, err := e.s.CountUsers(e.ctx); err != nil || n != len(districtUsers) {
		t.Fatalf("CountUsers after Import = %d, %v", n, err)
	}
	// A second data set is refused whole: none of it is written.
	extra := store.Dataset{
		Squads: []store.Squad{{ID: 3, Name: "Squad 3", Bounds: [4]float64{34, 117, 34.1, 117.1}}},
		Users:  []store.User{{ID: uuid.NewString(), Username: "late-arrival", Role: schema.RoleInspector, SquadID: ptr(int64(3))}},
		Venues: []schema.Venue{venueOf(1, "Late venue")},
	}
	wantCode(t, "Import into a store with users", e.s.Import(e.ctx, extra), schema.CodeConflict)
	_, err = e.s.UserByUsername(e.ctx, "late-arrival")
	wantCode(t, "user of the refused import", err, schema.CodeNotFound)
	_, err = e.s.Venue(e.ctx, extra.Venues[0].ID)
	wantCode(t, "venue of the refused import", err, schema.CodeNotFound)
	_, err = e.s.CreateVenue(e.ctx, venueOf(1, "After the refusal"), serverActor("admin"))
	if err != nil {
		t.Fatalf("CreateVenue after the refused import: %v", err)
	}
	v := venueOf(1, "Nowhere")
	v.SquadID = 3
	_, err = e.s.CreateVenue(e.ctx, v, serverActor("admin"))
	wantCode(t, "CreateVenue in the squad of the refused import", err, schema.CodeInvalid)
	// What was imported is what is read back.
	for _, u := range districtUsers {
		got, err := e.s.UserByUsername(e.ctx, u.username)
		if err != nil || got.ID != e.users[u.username].ID || got.Disabled != u.disabled || got.Role != u.role {
			t.Fatalf("imported user %s read back as %+v, %v", u.username, got, err)
		}
	}
	for k, want := range e.venues {
		got := e.venue(want.ID)
		if got.Name != want.Name || got.SquadID != want.SquadID || got.Clocks[schema.FieldName] != want.Clocks[schema.FieldName] || got.Lat != want.Lat {
			t.Fatalf("imported venue %s read back as %+v", k, got)
		}
	}
	past := e.inspection(e.past.ID)
	if past.SquadID != 1 || past.DeviceID != e.past.DeviceID || len(past.Items) != len(e.past.Items) || !past.StartedAt.Equal(e.past.StartedAt) {
		t.Fatalf("imported inspection read back as %+v", past)
	}
}
