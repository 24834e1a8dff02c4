package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/store/storetest"
)

// rollupServer serves the hand-built month of storetest at now.
func rollupServer(t *testing.T, now time.Time) (*server.Server, *storetest.RollupFixture) {
	t.Helper()
	ctx := context.Background()
	clock := func() time.Time { return now }
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), func() time.Time { return storetest.RollupImportAt })
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewRollupFixture()
	if err := st.Import(ctx, f.Dataset); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: t.TempDir(), Now: clock, Location: storetest.RollupZone,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, f
}

// call sends a request as username and decodes the answer into out.
func call(t *testing.T, srv *server.Server, f *storetest.RollupFixture, username, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if username != "" {
		tok, _, err := srv.StartSession(context.Background(), f.Users[username])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
	return rec.Code
}

// TestRollupAPI_RunAndRead: an admin rolls up 15 March; the daily figures
// are the known ones, a leader sees only the squad, inspectors nothing;
// the month so far is not frozen; bad dates are 400s.
func TestRollupAPI_RunAndRead(t *testing.T) {
	srv, f := rollupServer(t, storetest.CST(3, 16, 9, 0))
	if code := call(t, srv, f, "lead1", "POST", "/api/v1/rollups/run", server.RollupRunRequest{Date: "2026-03-15"}, nil); code != http.StatusForbidden {
		t.Fatalf("a leader's run: %d", code)
	}
	if code := call(t, srv, f, "admin", "GET", "/api/v1/rollups/daily?date=2026-03-15", nil, nil); code != http.StatusNotFound {
		t.Fatalf("a day not rolled up: %d", code)
	}
	var ran server.RollupDayResponse
	if code := call(t, srv, f, "admin", "POST", "/api/v1/rollups/run", server.RollupRunRequest{Date: "2026-03-15"}, &ran); code != http.StatusOK || len(ran.Squads) != 3 {
		t.Fatalf("run: %d %+v", code, ran)
	}
	var all server.RollupDayResponse
	if code := call(t, srv, f, "admin", "GET", "/api/v1/rollups/daily?date=2026-03-15", nil, &all); code != http.StatusOK || len(all.Squads) != 3 ||
		all.Timezone != "Asia/Shanghai" {
		t.Fatalf("admin's day: %d %+v", code, all)
	}
	var raw struct {
		Squads []map[string]any `json:"squads"`
	}
	call(t, srv, f, "lead1", "GET", "/api/v1/rollups/daily?date=2026-03-15", nil, &raw)
	if len(raw.Squads) != 1 {
		t.Fatalf("leader's day: %+v", raw)
	}
	one := raw.Squads[0]
	for k, want := range map[string]any{"squad_id": 1.0, "cafes": 4.0, "cafes_inspected": 2.0, "coverage": 50.0, "findings_open": 2.0,
		"findings_overdue": 1.0, "rank": 3.0, "score": 50.0} {
		if one[k] != want {
			t.Errorf("%s = %v, want %v", k, one[k], want)
		}
	}
	if risk, _ := one["at_risk"].([]any); len(risk) != 2 {
		t.Errorf("at_risk = %v", one["at_risk"])
	}
	if code := call(t, srv, f, "ins1a", "GET", "/api/v1/rollups/daily?date=2026-03-15", nil, nil); code != http.StatusForbidden {
		t.Fatalf("an inspector's read: %d", code)
	}
	var m server.RollupMonthResponse
	if code := call(t, srv, f, "lead2", "GET", "/api/v1/rollups/monthly?month=2026-03", nil, &m); code != http.StatusOK || m.Frozen ||
		len(m.Squads) != 1 || m.Squads[0].SquadID != 2 || m.Squads[0].Rank != 1 {
		t.Fatalf("leader 2's month: %d %+v", code, m)
	}
	for _, bad := range []string{"/api/v1/rollups/daily?date=15.03.2026", "/api/v1/rollups/daily", "/api/v1/rollups/monthly?month=2026-13"} {
		if code := call(t, srv, f, "admin", "GET", bad, nil, nil); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", bad, code)
		}
	}
	for _, bad := range []server.RollupRunRequest{{Date: "2026-03-17"}, {Date: "tomorrow"}, {}} {
		if code := call(t, srv, f, "admin", "POST", "/api/v1/rollups/run", bad, nil); code != http.StatusBadRequest {
			t.Errorf("run %+v: %d, want 400", bad, code)
		}
	}
}

// TestRollupAPI_Cases: the daily and monthly figures carry the cases the
// fixture opens (storetest.RollupCases): on 9 June squad 1 holds one open
// case, overdue and named.
func TestRollupAPI_Cases(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	at := storetest.RollupImportAt
	storeNow := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patrol.db"), storeNow)
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewRollupFixture()
	if err := st.Import(ctx, f.Dataset); err != nil {
		t.Fatal(err)
	}
	a, _, err := f.RollupCases(ctx, st, func(t time.Time) { mu.Lock(); at = t; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: t.TempDir(), Now: func() time.Time { return storetest.CST(6, 10, 9, 0) },
		Location: storetest.RollupZone, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if code := call(t, srv, f, "admin", "POST", "/api/v1/rollups/run", server.RollupRunRequest{Date: "2026-06-09"}, nil); code != http.StatusOK {
		t.Fatalf("run: %d", code)
	}
	var raw struct {
		Squads []map[string]any `json:"squads"`
	}
	call(t, srv, f, "lead1", "GET", "/api/v1/rollups/daily?date=2026-06-09", nil, &raw)
	if len(raw.Squads) != 1 || raw.Squads[0]["cases_open"] != 1.0 || raw.Squads[0]["cases_overdue"] != 1.0 {
		t.Fatalf("leader 1's day: %+v", raw.Squads)
	}
	if list, _ := raw.Squads[0]["overdue_cases"].([]any); len(list) != 1 || list[0].(map[string]any)["number"] != a.Number {
		t.Fatalf("overdue cases: %v", raw.Squads[0]["overdue_cases"])
	}
	var m struct {
		Squads []map[string]any `json:"squads"`
	}
	call(t, srv, f, "lead1", "GET", "/api/v1/rollups/monthly?month=2026-06", nil, &m)
	if len(m.Squads) != 1 || m.Squads[0]["cases_overdue"] != 1.0 || m.Squads[0]["cases_open"] != 1.0 {
		t.Fatalf("leader 1's month: %+v", m.Squads)
	}
}
