package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
	"github.com/patrolhq/patrol/server/store/postgres/pgtest"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/web"
)

// The benchmarks render the workbench's pages for one squad with a few
// years of work: benchInspections inspections of benchVenues venues and
// benchFindings findings, imported into SQLite once per run.
const (
	benchVenues      = 250
	benchInspections = 5000
	benchFindings    = 20000
	benchSubmitted   = 250 // waiting in the queue
)

// benchEnv is the imported squad behind a mounted workbench.
type benchEnv struct {
	e          *echo.Echo
	token      string
	inspection string // an approved inspection with findings
	venue      string
	venueID    string
	item       string
	st         store.Store
}

var (
	benchOnce sync.Once
	bench     *benchEnv
	benchErr  error
	benchDir  string
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchSetup builds the squad once and returns it.
func benchSetup(b testing.TB) *benchEnv {
	b.Helper()
	benchOnce.Do(func() { bench, benchErr = buildBench() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

// benchNow is the benchmark's clock: the data set lies before it.
var benchNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func buildBench() (*benchEnv, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "patrol-web-bench-")
	if err != nil {
		return nil, err
	}
	benchDir = dir
	now := func() time.Time { return benchNow }
	st, err := sqlite.Open(ctx, filepath.Join(dir, "patrol.db"), now)
	if err != nil {
		return nil, err
	}
	return benchOn(st)
}

// benchOn imports the benchmark's squad into the empty store st and
// mounts a workbench on it.
func benchOn(st store.Store) (*benchEnv, error) {
	ctx := context.Background()
	now := func() time.Time { return benchNow }
	d, env := benchDataset()
	if err := st.Import(ctx, d); err != nil {
		return nil, err
	}
	env.token = "bench-session-token"
	if err := st.CreateSession(ctx, d.Users[0].ID, auth.HashToken(env.token), benchNow.Add(24*time.Hour)); err != nil {
		return nil, err
	}
	w, err := web.New(web.Config{
		Store: st,
		CheckLogin: func(echo.Context, string, string) (store.User, error) {
			return store.User{}, schema.Errorf(schema.CodeUnauthorized, "no logins in the benchmark")
		},
		StartSession: func(context.Context, store.User) (string, time.Time, error) { return "", time.Time{}, nil },
		EndSession:   func(context.Context, *auth.Principal) error { return nil },
		Now:          now,
	})
	if err != nil {
		return nil, err
	}
	env.e = echo.New()
	env.st = st
	w.Mount(env.e)
	return env, nil
}

// benchDataset is squad 1 with its leader, inspectors, venues, inspections
// (most approved, some waiting) and the findings of the approved ones in
// every state of the ledger.
func benchDataset() (store.Dataset, *benchEnv) {
	sq := int64(1)
	d := store.Dataset{Squads: []store.Squad{{ID: 1, Name: "Squad 1", Bounds: [4]float64{35, 118.3, 35.1, 118.4}}}}
	users := []store.User{
		{ID: uuid.NewString(), Username: "leader1", DisplayName: "陈军", BadgeNo: "JX-0100", Role: schema.RoleLeader, SquadID: &sq, PasswordHash: "x"},
		{ID: uuid.NewString(), Username: "inspector1", DisplayName: "李伟", BadgeNo: "JX-0001", Role: schema.RoleInspector, SquadID: &sq, PasswordHash: "x"},
		{ID: uuid.NewString(), Username: "inspector2", DisplayName: "王芳", BadgeNo: "JX-0002", Role: schema.RoleInspector, SquadID: &sq, PasswordHash: "x"},
	}
	d.Users = users
	for i := range benchVenues {
		d.Venues = append(d.Venues, schema.Venue{ID: uuid.NewString(), SquadID: 1, Kind: schema.KindNetCafe, Name: fmt.Sprintf("网吧 %03d", i),
			Address: fmt.Sprintf("兰山区 %d 号", i), Licensed: true, LicenceNo: fmt.Sprintf("LIC-%04d", i), OpenState: schema.OpenStateOpen,
			Lat: 35 + float64(i%100)/1000, Lng: 118.3 + float64(i/100)/1000, UpdatedAt: benchNow.AddDate(-3, 0, 0)})
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	start := benchNow.AddDate(-2, 0, 0)
	var approved []int
	for i := range benchInspections {
		at := start.Add(time.Duration(i) * (2 * 365 * 24 * time.Hour / benchInspections))
		fin := at.Add(40 * time.Minute)
		in := schema.Inspection{ID: uuid.NewString(), VenueID: d.Venues[i%benchVenues].ID, SquadID: 1, Status: schema.StatusApproved,
			ChecklistVersion: cl.Version, StartedAt: at, FinishedAt: &fin, Version: 1,
			Inspectors: []schema.Inspector{{Username: "inspector1", Name: "李伟", BadgeNo: "JX-0001"}, {Username: "inspector2", Name: "王芳", BadgeNo: "JX-0002"}}}
		if i >= benchInspections-benchSubmitted {
			in.Status = schema.StatusSubmitted
		} else {
			in.Review = &schema.Review{ReviewedBy: "leader1", ReviewedAt: fin.Add(time.Hour), Decision: schema.StatusApproved, Version: 1}
			approved = append(approved, i)
		}
		for k, it := range cl.Items {
			r := schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass}
			if in.Status == schema.StatusApproved && k < 5 {
				r.Result, r.Note = schema.ResultFail, "现场发现问题，已拍照取证。"
			}
			in.Items = append(in.Items, r)
		}
		d.Inspections = append(d.Inspections, store.ImportedInspection{Inspection: in, AuthorID: users[1].ID, ReceivedAt: fin})
	}
	states := []string{schema.FindingOpen, schema.FindingOrdered, schema.FindingOrdered, schema.FindingRechecked, schema.FindingClosed, schema.FindingEscalated}
	for k := range benchFindings {
		in := d.Inspections[approved[k%len(approved)]].Inspection
		item := cl.Items[k/len(approved)]
		opened := in.Review.ReviewedAt
		f := schema.Finding{ID: uuid.NewString(), InspectionID: in.ID, VenueID: in.VenueID, SquadID: 1, ItemID: item.ID, TitleZH: item.TitleZH,
			Severity: item.Severity, Critical: item.Severity == schema.SeverityCritical, Status: states[k%len(states)],
			Note: "现场发现问题，已拍照取证。", OpenedAt: opened, UpdatedAt: opened, Repeat: k % 3}
		if f.Status != schema.FindingOpen {
			dl := opened.AddDate(0, 0, 15)
			f.Deadline = &dl
			f.Order = &schema.Order{Number: schema.OrderNumber(opened.Year(), k+1), Deadline: dl, Action: "限期整改", OrderedBy: "leader1", OrderedAt: opened}
		}
		switch f.Status {
		case schema.FindingClosed:
			t := opened.AddDate(0, 0, 20)
			f.ClosedAt, f.ClosedBy, f.CloseNote = &t, "leader1", "复查合格"
		case schema.FindingEscalated:
			t := opened.AddDate(0, 0, 1)
			f.EscalatedAt, f.EscalatedBy, f.EscalationReason = &t, "leader1", "情节严重"
		}
		d.Findings = append(d.Findings, f)
	}
	last := d.Inspections[approved[len(approved)-1]].Inspection
	env := &benchEnv{inspection: last.ID, venueID: last.VenueID, item: cl.Items[2].ID}
	return d, env
}

// benchPage renders path b.N times and reports the server's time per page.
func benchPage(b *testing.B, env *benchEnv, path string) {
	b.Helper()
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: env.token})
		rec := httptest.NewRecorder()
		env.e.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(); rec.Code != http.StatusOK {
		b.Fatalf("GET %s: HTTP %d: %.500s", path, rec.Code, rec.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if rec := get(); rec.Code != http.StatusOK {
			b.Fatalf("GET %s: HTTP %d", path, rec.Code)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/float64(b.N), "ms/page")
}

var benchRollupOnce sync.Once

// benchRollups gives the squad a year of rollup history: the eleven
// months before the last frozen as the nightly run freezes them (their
// last day rolled up) and the last month rolled up day by day.
func benchRollups(b *testing.B, env *benchEnv) {
	b.Helper()
	var err error
	benchRollupOnce.Do(func() {
		ctx := context.Background()
		loc, _ := time.LoadLocation(web.DefaultZone)
		last := time.Date(benchNow.In(loc).Year(), benchNow.In(loc).Month()-1, 1, 0, 0, 0, 0, loc)
		for i := 11; i >= 1 && err == nil; i-- {
			err = jobs.FreezeMonth(ctx, env.st, last.AddDate(0, -i, 0), benchNow)
		}
		if err == nil {
			_, err = jobs.RollupRange(ctx, env.st, last, last.AddDate(0, 1, -1), loc, benchNow)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPageDashboard renders the dashboard of the last month rolled
// up: its record, a year's trend and the zone violations.
func BenchmarkPageDashboard(b *testing.B) {
	env := benchSetup(b)
	benchRollups(b, env)
	benchPage(b, env, "/dashboard")
}

func BenchmarkPageQueue(b *testing.B) {
	env := benchSetup(b)
	benchPage(b, env, "/")
}

func BenchmarkPageLedger(b *testing.B) {
	env := benchSetup(b)
	b.Run("unfiltered", func(b *testing.B) { benchPage(b, env, "/findings") })
	b.Run("overdue", func(b *testing.B) { benchPage(b, env, "/findings?status=overdue&sort=deadline") })
	b.Run("item_venue_dates", func(b *testing.B) {
		benchPage(b, env, "/findings?status=ordered&item="+env.item+"&venue="+env.venueID+"&from=2025-01-01&to=2026-11-30")
	})
	b.Run("item_deadline", func(b *testing.B) { benchPage(b, env, "/findings?item="+env.item+"&sort=deadline") })
}

// BenchmarkPageLedgerPostgres is BenchmarkPageLedger on PostgreSQL (a
// throw-away cluster of pgtest, or PATROL_TEST_POSTGRES), analyzed after
// the import as Import does.
func BenchmarkPageLedgerPostgres(b *testing.B) {
	st, err := postgres.Open(context.Background(), pgtest.DSN(b), func() time.Time { return benchNow })
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	env, err := benchOn(st)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("unfiltered", func(b *testing.B) { benchPage(b, env, "/findings") })
	b.Run("overdue", func(b *testing.B) { benchPage(b, env, "/findings?status=overdue&sort=deadline") })
	b.Run("item_venue_dates", func(b *testing.B) {
		benchPage(b, env, "/findings?status=ordered&item="+env.item+"&venue="+env.venueID+"&from=2025-01-01&to=2026-11-30")
	})
	b.Run("item_deadline", func(b *testing.B) { benchPage(b, env, "/findings?item="+env.item+"&sort=deadline") })
	b.Run("queue", func(b *testing.B) { benchPage(b, env, "/") })
	b.Run("inspection", func(b *testing.B) { benchPage(b, env, "/inspections/"+env.inspection) })
	b.Run("venue", func(b *testing.B) { benchPage(b, env, "/venues/"+env.venueID) })
}

func BenchmarkPageInspection(b *testing.B) {
	env := benchSetup(b)
	benchPage(b, env, "/inspections/"+env.inspection)
}

func BenchmarkPageVenue(b *testing.B) {
	env := benchSetup(b)
	benchPage(b, env, "/venues/"+env.venueID)
}

// TestQueue_NextLinkWalksTheQueue: the queue shows a page of the waiting
// inspections with the cards' failed and noted answers, and its next
// links lead through every one of them exactly once.
func TestQueue_NextLinkWalksTheQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the benchmark's squad")
	}
	env := benchSetup(t)
	card := regexp.MustCompile(`id="inspection-([0-9a-f-]{36})"`)
	next := regexp.MustCompile(`<a class="button" href="(/\?[^"]+)">下一页</a>`)
	seen := map[string]bool{}
	path, pages := "/", 0
	for path != "" {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: env.token})
		rec := httptest.NewRecorder()
		env.e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d: %.300s", path, rec.Code, rec.Body.String())
		}
		body := rec.Body.String()
		cards := card.FindAllStringSubmatch(body, -1)
		if len(cards) == 0 || len(cards) > 50 {
			t.Fatalf("GET %s: %d cards; want 1 to 50", path, len(cards))
		}
		for _, m := range cards {
			if seen[m[1]] {
				t.Fatalf("GET %s: inspection %s shown again", path, m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages++; pages > benchSubmitted {
			t.Fatal("the next links never end")
		}
	}
	if len(seen) != benchSubmitted {
		t.Errorf("the queue's pages show %d inspections; %d are waiting", len(seen), benchSubmitted)
	}
	req := httptest.NewRequest(http.MethodGet, "/?after=not-a-cursor", nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: env.token})
	rec := httptest.NewRecorder()
	env.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("GET /?after=not-a-cursor: HTTP %d; want 400", rec.Code)
	}
}
