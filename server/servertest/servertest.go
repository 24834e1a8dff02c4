// Package servertest starts the real Patrol sync server in process, on a
// loopback port, with a temporary data directory and a local photo store,
// for tests outside package server. It exists so that the device library's
// tests run against the real merge, not a copy of it: a second
// implementation of pull and push drifts from the server and lets device
// tests pass against semantics no server has. The end-to-end tests start
// their server here too.
//
// Start seeds the small district of SmallDistrict (or, with Options.Demo,
// the demo district) and returns a Server whose Clients act as leaders and
// admins through the real HTTP API.
package servertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/storage"
)

// Password is the password of every user of the small district.
const Password = "patrol-test"

// Admin is the username of the district's admin, in the small district and
// the demo district alike.
const Admin = "admin"

// Options configures Start. The zero value starts a server on the real
// clock with the small district.
type Options struct {
	// Now is the server's clock; tests that need a reviewed inspection to
	// age, or edits ordered by wall time, pass a clock they move.
	Now func() time.Time
	// Config adjusts the server's configuration after the harness filled
	// in the data directory, a quiet logger, the local photo store and Now.
	Config func(*server.Config)
	// Demo, when set, seeds the demo district (six squads, hundreds of
	// venues, schools and past inspections) instead of the small one.
	Demo *demo.Options
	// Schools are added to the small district (which has none), for
	// tests of the school zones.
	Schools []schema.School
	// District, when set, is seeded instead of SmallDistrict (without
	// Demo): ThreeSquadDistrict, or a test's own.
	District *District
}

// Server is a running server with its seeded district. It is closed when
// the test ends.
type Server struct {
	// URL is the server's base address (http://127.0.0.1:port).
	URL string
	// DataDir holds the database and the staged uploads.
	DataDir string
	// Blobs is the photo store the server was given.
	Blobs storage.Store
	// District is what was seeded: SmallDistrict, or empty with Demo.
	District District
	// Demo is what the demo seed wrote, with Options.Demo; its history is
	// rolled up as `serve --demo` rolls it up.
	Demo demo.Summary

	t        testing.TB
	srv      *server.Server
	password string
}

// Start opens a server on a fresh data directory, seeds it and serves it
// on a loopback port until the test ends. Call it from the test goroutine.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	blobs, err := storage.NewLocal(filepath.Join(data, "blobs"))
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	now := opts.Now
	var demoClock *demo.Clock
	if opts.Demo != nil && opts.Demo.Clock == nil {
		// The demo seed sets the server's clock to the time of each step of
		// its complaints.
		demoClock = demo.NewClock(opts.Now)
		now = demoClock.Now
	}
	cfg := server.Config{DataDir: data, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Blobs: blobs, Now: now}
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	s := &Server{URL: hs.URL, DataDir: data, Blobs: cfg.Blobs, t: t, srv: srv, password: Password}
	if opts.Demo != nil {
		d := *opts.Demo
		if d.HashPassword == nil {
			d.HashPassword = func(pw string) (string, error) { return auth.HashPasswordParams(pw, testParams) }
		}
		if d.Now == nil {
			d.Now = opts.Now
		}
		if d.Clock == nil {
			d.Clock = demoClock
		}
		sum, err := demo.Seed(ctx, srv.Store(), d)
		if err != nil {
			t.Fatalf("servertest: %v", err)
		}
		if _, _, err := srv.RollupSince(ctx, sum.Since); err != nil {
			t.Fatalf("servertest: demo rollups: %v", err)
		}
		s.Demo = sum
		s.password = demo.Password
		return s
	}
	s.District = SmallDistrict()
	if opts.District != nil {
		s.District = *opts.District
	}
	if err := s.seed(ctx, s.District, opts.Schools); err != nil {
		t.Fatalf("servertest: seed: %v", err)
	}
	return s
}

// Server is the running server, for what only its Go API offers (the
// photo service, the effective configuration, the store).
func (s *Server) Server() *server.Server { return s.srv }

// Password is the password every seeded user logs in with: Password for
// the small district, demo.Password for the demo district.
func (s *Server) Password() string { return s.password }

// Login opens a session for username through the login route and fails
// the test if that does not work. Call it from the test goroutine.
func (s *Server) Login(username string) *Client {
	s.t.Helper()
	return Login(s.t, s.URL, username, s.password)
}

// Login opens a session on any server at base, one this package did not
// start included (a patrold process), and fails the test if it cannot.
func Login(t testing.TB, base, username, password string) *Client {
	t.Helper()
	c := &Client{t: t, URL: base, Username: username}
	var out schema.LoginResponse
	if err := c.Do("POST", schema.PathLogin, schema.LoginRequest{Username: username, Password: password}, &out); err != nil {
		t.Fatalf("servertest: log in %s: %v", username, err)
	}
	c.token = out.Token
	return c
}

// Admin logs in as the district's admin.
func (s *Server) Admin() *Client {
	s.t.Helper()
	return s.Login(Admin)
}

// Leader logs in as the leader of squad.
func (s *Server) Leader(squad int64) *Client {
	s.t.Helper()
	return s.Login(fmt.Sprintf("leader%d", squad))
}

// testParams keep password hashing cheap under the race detector: the
// harness's passwords guard nothing, and login verifies with the
// parameters written into each hash.
var testParams = auth.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// seed writes the small district: squads and users through the store's
// Import (no route creates them) and venues through the admin API.
func (s *Server) seed(ctx context.Context, d District, schools []schema.School) error {
	hash, err := auth.HashPasswordParams(Password, testParams)
	if err != nil {
		return err
	}
	var data store.Dataset
	data.Users = []store.User{{ID: uuid.NewString(), Username: Admin, DisplayName: "District admin", BadgeNo: "AD-0001", Role: schema.RoleAdmin, PasswordHash: hash}}
	for _, sq := range d.Squads {
		data.Squads = append(data.Squads, store.Squad{ID: sq.ID, Name: sq.Name, Bounds: [4]float64{sq.MinLat, sq.MinLng, sq.MaxLat, sq.MaxLng}})
		data.Users = append(data.Users, store.User{ID: uuid.NewString(), Username: sq.Leader.Username, DisplayName: sq.Leader.Name,
			BadgeNo: sq.Leader.BadgeNo, Role: schema.RoleLeader, SquadID: &sq.ID, PasswordHash: hash})
		for _, m := range sq.Inspectors {
			data.Users = append(data.Users, store.User{ID: uuid.NewString(), Username: m.Username, DisplayName: m.Name, BadgeNo: m.BadgeNo,
				Role: schema.RoleInspector, SquadID: &sq.ID, PasswordHash: hash})
		}
	}
	data.Schools = schools
	if err := s.srv.Store().Import(ctx, data); err != nil {
		return err
	}
	admin := s.Admin()
	for _, sq := range d.Squads {
		for _, v := range sq.Venues {
			if _, err := admin.CreateVenue(v); err != nil {
				return err
			}
		}
	}
	return nil
}
