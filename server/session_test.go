package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/demo"
)

// sessionOf returns the patrol_session cookie a response sets, or nil.
func sessionOf(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "patrol_session" {
			return c
		}
	}
	return nil
}

// cookieLogin logs username in from a page of the server and returns the
// session cookie.
func (e *env) cookieLogin(username string) *http.Cookie {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"username": username, "password": demo.Password, "cookie": true})
	r := e.anon().raw("POST", schema.PathLogin, bytes.NewReader(body), map[string]string{"Origin": e.http.URL})
	ck := sessionOf(r.header)
	if r.status != 200 || ck == nil {
		e.t.Fatalf("cookie login: %d %+v, cookie %v", r.status, r.err, ck)
	}
	return ck
}

// TestSession_CookieLoginUseAndLogout: a page logs in asking for a cookie
// (JSON with "cookie": true, or a form post); the cookie is HttpOnly,
// SameSite=Strict, Path=/, not in the answer's body, and authenticates
// requests; logout revokes the session and clears the cookie.
func TestSession_CookieLoginUseAndLogout(t *testing.T) {
	e := newEnv(t)
	origin := map[string]string{"Origin": e.http.URL}
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"json", "application/json", `{"username":" Leader1","password":"` + demo.Password + `","cookie":true}`},
		{"form", "application/x-www-form-urlencoded", url.Values{"username": {"leader1"}, "password": {demo.Password}}.Encode()},
	} {
		hdr := map[string]string{"Origin": e.http.URL, "Content-Type": tc.contentType}
		r := e.anon().raw("POST", schema.PathLogin, strings.NewReader(tc.body), hdr)
		ck := sessionOf(r.header)
		if r.status != 200 || ck == nil {
			t.Fatalf("%s: login %d %+v, cookie %v", tc.name, r.status, r.err, ck)
		}
		var lr schema.LoginResponse
		if err := json.Unmarshal(r.body, &lr); err != nil || lr.Token != "" || lr.Username != "leader1" {
			t.Errorf("%s: body %s; want the session only in the cookie", tc.name, r.body)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure || ck.MaxAge <= 0 || !strings.HasPrefix(ck.Value, "pt_") {
			t.Errorf("%s: cookie %+v; want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP, a user session", tc.name, ck)
		}
		withCookie := map[string]string{"Cookie": ck.String()}
		if r := e.anon().raw("GET", schema.PathInspections, nil, withCookie); r.status != 200 {
			t.Fatalf("%s: GET with the cookie: %d %+v", tc.name, r.status, r.err)
		}
		withCookie["Origin"] = origin["Origin"]
		r = e.anon().raw("POST", schema.PathLogout, nil, withCookie)
		cleared := sessionOf(r.header)
		if r.status != 204 || cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
			t.Fatalf("%s: logout %d, cookie %+v; want 204 clearing the cookie", tc.name, r.status, cleared)
		}
		if r := e.anon().raw("GET", schema.PathInspections, nil, withCookie); r.status != 401 || !strings.Contains(r.err.Message, "revoked") {
			t.Fatalf("%s: the cookie after logout: %d %+v", tc.name, r.status, r.err)
		}
	}
	// A bearer login is unchanged: the token in the body, no cookie.
	var lr schema.LoginResponse
	r := e.anon().must(200, "POST", schema.PathLogin, schema.LoginRequest{Username: "leader1", Password: demo.Password}, &lr)
	if lr.Token == "" || sessionOf(r.header) != nil {
		t.Fatalf("bearer login: token %q, cookie %v", lr.Token, sessionOf(r.header))
	}
}

// TestSession_SecureOverTLS: over TLS the cookie is Secure, and the Origin
// must be https.
func TestSession_SecureOverTLS(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewTLSServer(e.srv.Handler())
	defer ts.Close()
	login := func(origin string) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+schema.PathLogin, strings.NewReader(`{"username":"leader1","password":"`+demo.Password+`","cookie":true}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	res := login(ts.URL)
	if ck := sessionOf(res.Header); res.StatusCode != 200 || ck == nil || !ck.Secure {
		t.Fatalf("TLS login: %d, cookie %+v; want a Secure cookie", res.StatusCode, ck)
	}
	if res := login(strings.Replace(ts.URL, "https://", "http://", 1)); res.StatusCode != 403 {
		t.Fatalf("TLS login from an http page: %d; want 403", res.StatusCode)
	}
}

// TestSession_CrossSiteRequestsRefused: a state-changing request that
// authenticates by cookie passes only with an Origin (or Referer) of this
// server; reads need none, bearer requests are unaffected, and a cookie
// login needs the same check (else another site could sign the browser in
// to its own account).
func TestSession_CrossSiteRequestsRefused(t *testing.T) {
	e := newEnv(t)
	ck := e.cookieLogin("leader1").String()
	code := func() io.Reader {
		b, _ := json.Marshal(schema.EnrollmentCodeRequest{Username: "inspector1"})
		return bytes.NewReader(b)
	}
	venue := e.venues(1)[0]
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"same origin", map[string]string{"Origin": e.http.URL}, 201},
		{"same-origin referer", map[string]string{"Referer": e.http.URL + "/leader/devices"}, 201},
		{"fetch metadata same-origin", map[string]string{"Origin": e.http.URL, "Sec-Fetch-Site": "same-origin"}, 201},
		{"no origin or referer", map[string]string{}, 403},
		{"other site", map[string]string{"Origin": "https://evil.example"}, 403},
		{"other port", map[string]string{"Origin": strings.Replace(e.http.URL, "127.0.0.1:", "127.0.0.1:1", 1)}, 403},
		{"null origin", map[string]string{"Origin": "null"}, 403},
		{"other-site referer", map[string]string{"Referer": "https://evil.example/" + e.http.URL}, 403},
		{"fetch metadata cross-site", map[string]string{"Origin": e.http.URL, "Sec-Fetch-Site": "cross-site"}, 403},
	} {
		tc.hdr["Cookie"] = ck
		if r := e.anon().raw("POST", schema.PathEnrollCodes, code(), tc.hdr); r.status != tc.want {
			t.Errorf("%s: POST %d %+v; want %d", tc.name, r.status, r.err, tc.want)
		}
	}
	for _, method := range []string{"PATCH", "DELETE"} {
		body := strings.NewReader(`{"fields":{"phone":{"value":"0539-1","hlc":"1"}}}`)
		if r := e.anon().raw(method, schema.PathVenues+"/"+venue.ID, body, map[string]string{"Cookie": ck, "Origin": "https://evil.example"}); r.status != 403 {
			t.Errorf("cross-site %s with the cookie: %d; want 403", method, r.status)
		}
	}
	if r := e.anon().raw("GET", schema.PathVenues+"/"+venue.ID, nil, map[string]string{"Cookie": ck, "Origin": "https://evil.example"}); r.status != 200 {
		t.Errorf("GET with the cookie from anywhere: %d %+v; reads change nothing", r.status, r.err)
	}
	e.login("leader1").must(201, "POST", schema.PathEnrollCodes, schema.EnrollmentCodeRequest{Username: "inspector1"}, nil)

	login := `{"username":"leader1","password":"` + demo.Password + `","cookie":true}`
	for name, hdr := range map[string]map[string]string{
		"cookie login from another site": {"Origin": "https://evil.example"},
		"cookie login without origin":    {},
		"form login from another site":   {"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
	} {
		body := login
		if hdr["Content-Type"] != "" {
			body = url.Values{"username": {"leader1"}, "password": {demo.Password}}.Encode()
		}
		r := e.anon().raw("POST", schema.PathLogin, strings.NewReader(body), hdr)
		if r.status != 403 || sessionOf(r.header) != nil {
			t.Errorf("%s: %d, cookie %v; want 403 and no cookie", name, r.status, sessionOf(r.header))
		}
	}
}

// TestSession_DeviceTokenNeverACookie: a device token sent as the session
// cookie authenticates nothing, on sync routes or elsewhere.
func TestSession_DeviceTokenNeverACookie(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	ck := (&http.Cookie{Name: "patrol_session", Value: d.token}).String()
	for _, tc := range []struct{ method, path string }{
		{"POST", schema.PathPull},
		{"GET", schema.PathInspections},
	} {
		var body io.Reader
		if tc.method == "POST" {
			body = strings.NewReader(`{}`)
		}
		if r := e.anon().raw(tc.method, tc.path, body, map[string]string{"Cookie": ck, "Origin": e.http.URL}); r.status != 401 || !strings.Contains(r.err.Message, "cookie") {
			t.Errorf("%s %s with a device token in the cookie: %d %+v; want 401", tc.method, tc.path, r.status, r.err)
		}
	}
	d.must(200, "POST", schema.PathPull, schema.PullRequest{}, nil) // as a bearer token it still works
}
