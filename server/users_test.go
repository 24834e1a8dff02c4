package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/demo"
)

// users lists the users as the admin sees them, by username.
func (e *env) users() map[string]server.User {
	e.t.Helper()
	var list []server.User
	e.login("admin").must(200, "GET", schema.PathUsers, nil, &list)
	out := map[string]server.User{}
	for _, u := range list {
		out[u.Username] = u
	}
	return out
}

func TestUserAPI_Authz(t *testing.T) {
	e := newEnv(t)
	users := e.users()
	in1, in3, admin := users["inspector1"], users["inspector3"], users["admin"]
	d1 := e.enroll("inspector1")
	leader1, leader2, inspector := e.login("leader1"), e.login("leader2"), e.login("inspector2")
	newUser := func(name string, squad int64, role string) server.CreateUserRequest {
		return server.CreateUserRequest{Username: name, DisplayName: "新人 " + name, BadgeNo: "B-" + name, Role: role, SquadID: &squad, Password: "long-enough-pw"}
	}
	hostile := newUser("hostile", 2, schema.RoleInspector)
	hostile.DisplayName = "Evil\x1b[31m name"
	badge := newUser("badge", 2, schema.RoleInspector)
	badge.BadgeNo = "B\x00"
	noSquad := newUser("nosquad", 2, schema.RoleInspector)
	noSquad.SquadID = nil
	short := newUser("short", 2, schema.RoleInspector)
	short.Password = "short"
	on := true

	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		want   int
	}{
		{"leader2 lists squad 1's users", leader2, "GET", schema.PathUsers + "?squad=1", nil, 403},
		{"leader2 lists squad 1's devices", leader2, "GET", schema.PathDevices + "?squad=1", nil, 403},
		{"leader2 creates in squad 1", leader2, "POST", schema.PathUsers, newUser("sneak", 1, schema.RoleInspector), 403},
		{"leader2 creates an admin", leader2, "POST", schema.PathUsers, newUser("boss", 2, schema.RoleAdmin), 403},
		{"leader2 disables a squad 1 user", leader2, "PATCH", schema.PathUsers + "/" + in1.ID, map[string]bool{"disabled": true}, 404},
		{"leader2 disables the admin", leader2, "PATCH", schema.PathUsers + "/" + admin.ID, map[string]bool{"disabled": true}, 404},
		{"leader2 disables a guessed id", leader2, "PATCH", schema.PathUsers + "/" + newID(t), map[string]bool{"disabled": true}, 404},
		{"leader2 resets a squad 1 password", leader2, "POST", schema.PathUsers + "/" + in1.ID + "/password", map[string]string{"password": "long-enough-pw"}, 404},
		{"leader2 picks in a squad 1 conflict", leader2, "POST", schema.PathConflicts + "/" + newID(t) + "/resolve", map[string]string{"pick": "server"}, 404},
		{"inspector lists users", inspector, "GET", schema.PathUsers, nil, 403},
		{"inspector lists devices", inspector, "GET", schema.PathDevices, nil, 403},
		{"inspector creates", inspector, "POST", schema.PathUsers, newUser("x1", 1, schema.RoleInspector), 403},
		{"inspector disables", inspector, "PATCH", schema.PathUsers + "/" + in1.ID, map[string]bool{"disabled": true}, 403},
		{"inspector resets", inspector, "POST", schema.PathUsers + "/" + in1.ID + "/password", map[string]string{"password": "long-enough-pw"}, 403},
		{"inspector resolves", inspector, "POST", schema.PathConflicts + "/" + newID(t) + "/resolve", nil, 403},
		{"device lists users", d1.client, "GET", schema.PathUsers, nil, 403},
		{"hostile display name", leader2, "POST", schema.PathUsers, hostile, 400},
		{"hostile badge", leader2, "POST", schema.PathUsers, badge, 400},
		{"short password", leader2, "POST", schema.PathUsers, short, 400},
		{"bad username", leader2, "POST", schema.PathUsers, newUser("Bad Name!", 2, schema.RoleInspector), 400},
		{"bad role", leader2, "POST", schema.PathUsers, newUser("role", 2, "chief"), 400},
		{"admin: no squad for an inspector", e.login("admin"), "POST", schema.PathUsers, noSquad, 400},
		{"admin: squad 99", e.login("admin"), "POST", schema.PathUsers, newUser("lost", 99, schema.RoleInspector), 400},
		{"taken username", leader2, "POST", schema.PathUsers, newUser("inspector3", 2, schema.RoleInspector), 409},
		{"disabled missing", leader2, "PATCH", schema.PathUsers + "/" + in3.ID, map[string]string{}, 400},
		{"disabled not a bool", leader2, "PATCH", schema.PathUsers + "/" + in3.ID, map[string]string{"disabled": "yes"}, 400},
		{"id not a uuid", leader2, "PATCH", schema.PathUsers + "/x", map[string]bool{"disabled": true}, 400},
		{"self disable", leader2, "PATCH", schema.PathUsers + "/" + users["leader2"].ID, map[string]*bool{"disabled": &on}, 400},
		{"short reset", leader2, "POST", schema.PathUsers + "/" + in3.ID + "/password", map[string]string{"password": "x"}, 400},
		{"own password by reset", leader2, "POST", schema.PathUsers + "/" + users["leader2"].ID + "/password", map[string]string{"password": "long-enough-pw"}, 400},
		{"bad pick", leader1, "POST", schema.PathConflicts + "/" + newID(t) + "/resolve", map[string]string{"pick": "both"}, 400},
		{"no body to me/password", leader1, "POST", schema.PathMePassword, nil, 400},
		{"short new password", leader1, "POST", schema.PathMePassword, map[string]string{"current": demo.Password, "new": "x"}, 400},
		{"wrong current password", leader1, "POST", schema.PathMePassword, map[string]string{"current": "not-the-password", "new": "long-enough-pw"}, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.call(tc.method, tc.path, tc.body, nil); r.status != tc.want {
				t.Fatalf("%s %s: %d (%s); want %d", tc.method, tc.path, r.status, r.err.Message, tc.want)
			}
		})
	}
	if r := leader2.raw("POST", schema.PathUsers, bigBody(), nil); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", r.status)
	}

	// What leader2 may do, in squad 2, with audit entries by leader2.
	var made server.User
	mine := newUser("newbie", 2, schema.RoleInspector)
	mine.SquadID = nil // a leader's own squad
	leader2.must(201, "POST", schema.PathUsers, mine, &made)
	if made.SquadID == nil || *made.SquadID != 2 || made.Role != schema.RoleInspector || made.ID == "" {
		t.Fatalf("created %+v", made)
	}
	var got server.User
	leader2.must(200, "PATCH", schema.PathUsers+"/"+made.ID, map[string]bool{"disabled": true}, &got)
	if !got.Disabled {
		t.Fatalf("disabled: %+v", got)
	}
	leader2.must(200, "PATCH", schema.PathUsers+"/"+made.ID, map[string]bool{"disabled": false}, nil)
	leader2.must(204, "POST", schema.PathUsers+"/"+made.ID+"/password", map[string]string{"password": "another-long-pw"}, nil)
	var lr schema.LoginResponse
	e.anon().must(200, "POST", schema.PathLogin, schema.LoginRequest{Username: "newbie", Password: "another-long-pw"}, &lr)
	var entries []schema.AuditEntry
	leader2.must(200, "GET", schema.PathAudit+"?entity=user&id="+made.ID, nil, &entries)
	var actions []string
	for _, a := range entries {
		if a.Actor != "leader2" && a.Action != "login" {
			t.Errorf("entry %+v not by leader2", a)
		}
		actions = append(actions, a.Action)
	}
	if want := []string{"login", "password", "enable", "disable", "create"}; len(actions) != len(want) {
		t.Fatalf("audit of the new user: %v; want %v", actions, want)
	}
	var list []server.User
	leader2.must(200, "GET", schema.PathUsers, nil, &list)
	for _, u := range list {
		if u.SquadID == nil || *u.SquadID != 2 {
			t.Fatalf("leader2 listed %+v", u)
		}
	}
	var all, devs []server.Device
	leader1.must(200, "GET", schema.PathDevices, nil, &all)
	for _, d := range all {
		if d.Name != demo.PhoneName { // the phone the demo's complaint investigation came from
			devs = append(devs, d)
		}
	}
	if len(devs) != 1 || devs[0].ID != d1.id || devs[0].Username != "inspector1" || devs[0].RevokedAt != nil {
		t.Fatalf("leader1's devices: %+v", devs)
	}
	leader2.must(200, "GET", schema.PathDevices, nil, &devs)
	if len(devs) != 0 {
		t.Fatalf("leader2 sees squad 1's device: %+v", devs)
	}
}

func bigBody() io.Reader {
	return bytes.NewReader(append([]byte(`{"display_name":"`), bytes.Repeat([]byte("x"), schema.MaxSmallBodyBytes)...))
}

// TestPassword_ChangeOwnRevokesEverySession: after POST /me/password the
// token that made the call and a workbench cookie of the same user are
// both refused, and only the new password logs in.
func TestPassword_ChangeOwnRevokesEverySession(t *testing.T) {
	e := newEnv(t)
	api := e.login("leader1")
	var lr schema.LoginResponse
	e.anon().must(200, "POST", schema.PathLogin, schema.LoginRequest{Username: "leader1", Password: demo.Password}, &lr)
	cookie := map[string]string{"Cookie": "patrol_session=" + lr.Token}
	browser := &client{e: e, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if r := browser.raw("GET", "/", nil, cookie); r.status != 200 {
		t.Fatalf("workbench with the cookie before: %d", r.status)
	}
	api.must(204, "POST", schema.PathMePassword, map[string]string{"current": demo.Password, "new": "my-new-password"}, nil)
	if r := api.call("GET", schema.PathDevices, nil, nil); r.status != 401 {
		t.Fatalf("the calling token after the change: %d; want 401", r.status)
	}
	if r := e.anon().raw("GET", schema.PathDevices, nil, cookie); r.status != 401 {
		t.Fatalf("the cookie on the API after the change: %d; want 401", r.status)
	}
	if r := browser.raw("GET", "/", nil, cookie); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("workbench with the cookie after: %d; want a redirect to the login", r.status)
	}
	if r := e.anon().call("POST", schema.PathLogin, schema.LoginRequest{Username: "leader1", Password: demo.Password}, nil); r.status != 401 {
		t.Fatalf("old password: %d", r.status)
	}
	e.anon().must(200, "POST", schema.PathLogin, schema.LoginRequest{Username: "leader1", Password: "my-new-password"}, nil)
}

// TestConflict_ResolveWithPick: pick decides through the venue merge, as the
// workbench does; without it the conflict is only marked handled.
func TestConflict_ResolveWithPick(t *testing.T) {
	e := newEnv(t)
	d1 := e.enroll("inspector1")
	vs := e.venues(1)
	admin := e.login("admin")
	conflict := func(v schema.Venue) schema.MutationResult {
		t.Helper()
		base := v.Clocks[schema.FieldName]
		admin.must(200, "PATCH", schema.PathVenues+"/"+v.ID, map[string]any{"fields": map[string]string{"name": "Server name"}}, nil)
		r := d1.push(d1.edit(v.ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Device name", Base: base}}))[0]
		if r.Outcome != schema.OutcomeConflict || r.ConflictID == "" {
			t.Fatalf("stale edit: %+v", r)
		}
		return r
	}
	r := conflict(vs[0])
	path := schema.PathConflicts + "/" + r.ConflictID + "/resolve"
	leader1, leader2 := e.login("leader1"), e.login("leader2")
	if got := leader2.call("POST", path, map[string]string{"pick": "device"}, nil); got.status != 404 {
		t.Fatalf("leader2 on squad 1's conflict: %d", got.status)
	}
	var cf schema.Conflict
	other := map[string]string{schema.WinnerServer: schema.WinnerDevice, schema.WinnerDevice: schema.WinnerServer}
	var open []schema.Conflict
	leader1.must(200, "GET", schema.PathConflicts+"?open=true", nil, &open)
	for _, c := range open {
		if c.ID == r.ConflictID {
			cf = c
		}
	}
	pick := other[cf.Winner]
	var decided schema.Conflict
	leader1.must(200, "POST", path, map[string]string{"pick": pick}, &decided)
	if decided.ResolvedAt == nil || decided.Winner != pick {
		t.Fatalf("decided %+v; want resolved with winner %s", decided, pick)
	}
	var v schema.Venue
	leader1.must(200, "GET", schema.PathVenues+"/"+vs[0].ID, nil, &v)
	if want := decided.ValueOf(pick); v.Name != want {
		t.Fatalf("venue name %q after picking %s; want %q", v.Name, pick, want)
	}
	var entries []schema.AuditEntry
	leader1.must(200, "GET", schema.PathAudit+"?entity=conflict&id="+r.ConflictID+"&actor=leader1", nil, &entries)
	if len(entries) == 0 {
		t.Fatal("the decision left no audit entry by leader1")
	}

	// Without a body: today's behaviour, marked handled, the value stands.
	r2 := conflict(vs[1])
	var plain schema.Conflict
	leader1.must(200, "POST", schema.PathConflicts+"/"+r2.ConflictID+"/resolve", nil, &plain)
	if plain.ResolvedAt == nil {
		t.Fatalf("resolve without a body: %+v", plain)
	}
}
