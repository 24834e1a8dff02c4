package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/demo"
)

func TestLogin_TokenExpiresAndLogoutRevokes(t *testing.T) {
	e := newEnv(t)
	var lr schema.LoginResponse
	e.anon().must(200, "POST", schema.PathLogin, schema.LoginRequest{Username: "leader1", Password: demo.Password}, &lr)
	if lr.Role != schema.RoleLeader || lr.SquadID == nil || *lr.SquadID != 1 || !strings.HasPrefix(lr.Token, "pt_") {
		t.Fatalf("login answer %+v", lr)
	}
	leader := &client{e: e, token: lr.Token}
	leader.must(200, "GET", schema.PathInspections, nil, nil)

	e.clock.Advance(12*time.Hour + time.Second)
	r := leader.call("GET", schema.PathInspections, nil, nil)
	if r.status != 401 || !strings.Contains(r.err.Message, "expired") {
		t.Fatalf("expired token: %d %+v", r.status, r.err)
	}

	fresh := e.login("leader1")
	fresh.must(204, "POST", schema.PathLogout, nil, nil)
	r = fresh.call("GET", schema.PathInspections, nil, nil)
	if r.status != 401 || !strings.Contains(r.err.Message, "revoked") {
		t.Fatalf("logged-out token: %d %+v", r.status, r.err)
	}
	r = (&client{e: e, token: "pt_nonsense"}).call("GET", schema.PathInspections, nil, nil)
	if r.status != 401 || !strings.Contains(r.err.Message, "unknown") {
		t.Fatalf("unknown token: %d %+v", r.status, r.err)
	}
	if r := e.anon().call("GET", schema.PathInspections, nil, nil); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
}

func TestEnroll_CodeIsSingleUseAndExpires(t *testing.T) {
	e := newEnv(t)
	leader := e.login("leader1")
	var code schema.EnrollmentCodeResponse
	leader.must(201, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: "inspector1"}, &code)
	var er schema.EnrollResponse
	typed := strings.ToLower(strings.ReplaceAll(code.Code, "-", ""))
	e.anon().must(201, "POST", schema.PathEnroll, schema.EnrollRequest{Code: typed, DeviceName: "phone"}, &er)
	if er.SquadID != 1 || er.Username != "inspector1" || !strings.HasPrefix(er.Token, "pd_") {
		t.Fatalf("enroll answer %+v", er)
	}
	if r := e.anon().call("POST", schema.PathEnroll, schema.EnrollRequest{Code: code.Code, DeviceName: "second"}, nil); r.status != 401 || !strings.Contains(r.err.Message, "already used") {
		t.Fatalf("reused code: %d %+v", r.status, r.err)
	}
	leader.must(201, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: "inspector2"}, &code)
	e.clock.Advance(25 * time.Hour)
	if r := e.anon().call("POST", schema.PathEnroll, schema.EnrollRequest{Code: code.Code, DeviceName: "late"}, nil); r.status != 401 || !strings.Contains(r.err.Message, "expired") {
		t.Fatalf("expired code: %d %+v", r.status, r.err)
	}
	code1, err := e.srv.EnrollmentCode(t.Context(), "inspector2", "operator")
	if err != nil {
		t.Fatal(err)
	}
	e.anon().must(201, "POST", schema.PathEnroll, schema.EnrollRequest{Code: code1, DeviceName: "cli"}, nil)
}

func TestDevice_RevokedTokenStopsSync(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	d.pullAll(0)
	e.login("leader2").must(404, "POST", "/api/v1/devices/"+d.id+"/revoke", nil, nil)
	e.login("leader1").must(204, "POST", "/api/v1/devices/"+d.id+"/revoke", nil, nil)
	r := d.call("POST", schema.PathPull, schema.PullRequest{}, nil)
	if r.status != 401 || !strings.Contains(r.err.Message, "revoked") {
		t.Fatalf("revoked device: %d %+v", r.status, r.err)
	}
}

func TestTokens_KindsAreNotInterchangeable(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	leader := e.login("leader1")
	if r := leader.call("POST", schema.PathPull, schema.PullRequest{}, nil); r.status != 403 {
		t.Fatalf("user token on pull: %d", r.status)
	}
	if r := leader.call("POST", schema.PathPush, schema.PushRequest{}, nil); r.status != 403 {
		t.Fatalf("user token on push: %d", r.status)
	}
	if r := d.call("GET", schema.PathInspections, nil, nil); r.status != 403 {
		t.Fatalf("device token on leader route: %d", r.status)
	}
}

func TestLogs_RequestLineNamesUserAndDevice(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	d.pullAll(0)
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "route="+schema.PathPull) {
			if !strings.Contains(line, "user=inspector1") || !strings.Contains(line, "device="+d.id) || !strings.Contains(line, "request_id=") {
				t.Fatalf("pull log line lacks user, device or request id: %s", line)
			}
			return
		}
	}
	t.Fatalf("no log line for the pull in:\n%s", e.logs.String())
}
