package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestBadInput_AnswersWithActionable4xx(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	bomb := gzipped(t, bytes.Repeat([]byte(" "), schema.MaxPushBytes+1024))
	okPush, _ := json.Marshal(schema.PushRequest{Mutations: []schema.Mutation{}})
	tooMany, _ := json.Marshal(schema.PushRequest{Mutations: make([]schema.Mutation, schema.MaxMutationsPerPush+1)})
	cases := []struct {
		name     string
		c        *client
		method   string
		path     string
		body     []byte
		hdr      map[string]string
		status   int
		contains string
	}{
		{"oversized push", d.client, "POST", schema.PathPush, bytes.Repeat([]byte(" "), schema.MaxPushBytes+1), nil, 413, "larger than"},
		{"oversized login", e.anon(), "POST", schema.PathLogin, append([]byte(`{"username":"`), bytes.Repeat([]byte("a"), schema.MaxSmallBodyBytes)...), nil, 413, "larger than"},
		{"gzip bomb", d.client, "POST", schema.PathPush, bomb, map[string]string{"Content-Encoding": "gzip"}, 413, "larger than"},
		{"gzip push is accepted", d.client, "POST", schema.PathPush, gzipped(t, okPush), map[string]string{"Content-Encoding": "gzip"}, 200, ""},
		{"not gzip", d.client, "POST", schema.PathPush, okPush, map[string]string{"Content-Encoding": "gzip"}, 400, "not gzip"},
		{"unknown encoding", d.client, "POST", schema.PathPush, okPush, map[string]string{"Content-Encoding": "br"}, 415, "Content-Encoding"},
		{"malformed JSON", d.client, "POST", schema.PathPush, []byte(`{"mutations": [}`), nil, 400, "malformed JSON"},
		{"wrong type", e.anon(), "POST", schema.PathLogin, []byte(`{"username": 5}`), nil, 400, "username"},
		{"empty body", e.anon(), "POST", schema.PathLogin, []byte(``), nil, 400, "empty"},
		{"trailing data", e.anon(), "POST", schema.PathLogin, []byte(`{} {}`), nil, 400, "more than one"},
		{"form instead of JSON", e.anon(), "POST", schema.PathEnroll, []byte(`code=a`), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"too many mutations", d.client, "POST", schema.PathPush, tooMany, nil, 413, "at most"},
		{"unknown route", e.anon(), "GET", "/api/v1/nope", nil, nil, 404, "no route"},
		{"wrong method", e.anon(), "GET", schema.PathLogin, nil, nil, 405, "not allowed"},
		{"bad squad param", e.login("admin"), "GET", schema.PathInspections + "?squad=one", nil, nil, 400, "squad"},
		{"bad since param", e.login("admin"), "GET", schema.PathInspections + "?since=yesterday", nil, nil, 400, "since"},
		{"bad review action", e.login("admin"), "POST", schema.PathInspections + "/" + newID(t) + "/review", []byte(`{"action":"shrug"}`), nil, 404, "not found"},
		{"bad finding deadline", e.login("admin"), "POST", schema.PathFindings + "/" + newID(t) + "/order", []byte(`{"deadline":"soon","action":"fix"}`), nil, 400, "deadline"},
		{"bad findings sort", e.login("admin"), "GET", schema.PathFindings + "?sort=name", nil, nil, 400, "sort"},
		{"plan of a bad month", e.login("leader1"), "GET", schema.PathPlan + "?month=March", nil, nil, 400, "YYYY-MM"},
		{"plan without a squad", e.login("admin"), "GET", schema.PathPlan, nil, nil, 400, "squad"},
		{"plan by an inspector", e.login("inspector1"), "GET", schema.PathPlan, nil, nil, 403, "leaders"},
		{"plan visit of a stranger", e.login("leader1"), "PUT", schema.PathPlan + "?month=2026-03",
			[]byte(`{"visits":[{"venue_id":"nope","day":"2026-03-05","inspectors":["inspector1","inspector2"]}]}`), nil, 400, "no venue of squad 1"},
		{"plan visit with one inspector", e.login("leader1"), "PUT", schema.PathPlan + "?month=2026-03",
			[]byte(`{"visits":[{"venue_id":"x","day":"2026-03-05","inspectors":["inspector1"]}]}`), nil, 400, "two different inspectors"},
		{"bad findings cursor", e.login("admin"), "GET", schema.PathFindings + "?after=xyz", nil, nil, 400, "after"},
		{"bad findings status", e.login("admin"), "GET", schema.PathFindings + "?status=lost", nil, nil, 400, "status"},
		{"bad findings overdue", e.login("admin"), "GET", schema.PathFindings + "?overdue=maybe", nil, nil, 400, "overdue"},
		{"bad findings from", e.login("admin"), "GET", schema.PathFindings + "?from=yesterday", nil, nil, 400, "from"},
		{"bad inspection status", e.login("admin"), "GET", schema.PathInspections + "?status=reviewed", nil, nil, 400, "status"},
		{"bad move squad", e.login("admin"), "POST", schema.PathVenues + "/" + e.venues(1)[0].ID + "/move", []byte(`{"squad_id":99}`), nil, 400, "squad 99"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = bytes.NewReader(tc.body)
			}
			r := tc.c.raw(tc.method, tc.path, body, tc.hdr)
			if r.status != tc.status {
				t.Fatalf("status %d (%s: %s); want %d", r.status, r.err.Code, r.err.Message, tc.status)
			}
			if tc.contains != "" && !strings.Contains(r.err.Message, tc.contains) {
				t.Fatalf("message %q does not mention %q", r.err.Message, tc.contains)
			}
		})
	}
}

func TestBadInput_PanicBecomesJSON500(t *testing.T) {
	e := newEnv(t)
	e.srv.Handler().GET("/boom", func(c echo.Context) error { panic("kaboom") })
	r := e.anon().raw("GET", "/boom", nil, nil)
	if r.status != http.StatusInternalServerError || r.err.Code != schema.CodeInternal || strings.Contains(r.err.Message, "kaboom") {
		t.Fatalf("panic answered %d %+v", r.status, r.err)
	}
	if !strings.Contains(r.err.Message, r.header.Get(schema.HeaderRequestID)) {
		t.Fatalf("500 without the request id: %q", r.err.Message)
	}
}

func TestBadInput_InvalidMutationsAreRejectedNotFatal(t *testing.T) {
	e := newEnv(t)
	d := e.enroll("inspector1")
	v := e.venues(1)[0]
	cases := []schema.Mutation{
		{ID: newID(t), Kind: "venue.explode", HLC: d.clock.Tick().String(), Venue: &v},
		{ID: newID(t), Kind: schema.MutVenueCreate, HLC: "yesterday", Venue: &schema.Venue{}},
		{ID: newID(t), Kind: schema.MutVenueUpdate, HLC: d.clock.Tick().String(), VenueUpdate: &schema.VenueUpdate{VenueID: v.ID, Fields: map[string]schema.FieldEdit{"squad_id": {Value: "2"}}}},
		{ID: newID(t), Kind: schema.MutVenueCreate, HLC: d.clock.Tick().String(), Venue: &schema.Venue{ID: newID(t), Kind: schema.KindKTV, Name: "x"}},
		{ID: newID(t), Kind: schema.MutInspectionUpsert, HLC: d.clock.Tick().String()},
	}
	for i, r := range d.push(cases...) {
		if r.Outcome != schema.OutcomeRejected || r.Code != schema.CodeInvalid || r.Reason == "" {
			t.Errorf("mutation %d: %+v", i, r)
		}
	}
}

func TestOpenAPI_DescribesEveryRoute(t *testing.T) {
	e := newEnv(t)
	r := e.anon().raw("GET", schema.PathOpenAPI, nil, nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &doc) != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi: %d %s", r.status, truncate(r.body))
	}
	for _, rt := range e.srv.Handler().Routes() {
		if rt.Path == "/boom" || strings.HasSuffix(rt.Path, "/*") || rt.Path == "" {
			continue
		}
		p := rt.Path
		if !strings.HasPrefix(p, schema.APIPrefix+"/") && p != schema.PathHealthz && p != schema.PathReadyz && p != "/metrics" {
			continue // the workbench's pages (server/web) are HTML for people, not API
		}
		for _, seg := range []string{":id", ":sha", ":username", ":what"} {
			p = strings.ReplaceAll(p, seg, map[string]string{":id": "{id}", ":sha": "{sha256}", ":username": "{username}", ":what": "{what}"}[seg])
		}
		if _, ok := doc.Paths[p][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.Method, p)
		}
	}
}
