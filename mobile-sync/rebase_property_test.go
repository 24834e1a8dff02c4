package mobilesync_test

import (
	"context"
	"flag"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/patrolhq/patrol/schema"
)

// raceChecks is how many cases the rebase property runs under the race
// detector, where each case costs several times more than without it;
// rapid's default (100) applies otherwise, and -rapid.checks or
// RAPID_CHECKS decide whenever they are given.
const raceChecks = 20

func TestMain(m *testing.M) {
	flag.Parse()
	if raceDetector() && os.Getenv("RAPID_CHECKS") == "" && !flagGiven("rapid.checks") {
		if err := flag.Set("rapid.checks", strconv.Itoa(raceChecks)); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// raceDetector reports whether the test binary was built with -race.
func raceDetector() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// flagGiven reports whether the command line set the flag.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// TestRebase_UnsentLocalValuesWin drives random interleavings of local
// edits, server edits and syncs (with local and server edits landing
// between a sync's push and its pull) and checks after every sync that a
// field edited here and not yet pushed shows the local value, every other
// field shows the server's, and that one quiet sync converges everything.
// It runs against the real server: one per test, and per case a new venue
// and a newly enrolled device, so cases do not see each other's edits.
func TestRebase_UnsentLocalValuesWin(t *testing.T) {
	fields := []string{schema.FieldName, schema.FieldPhone, schema.FieldAddress}
	srv, clock := startServer(t)
	rapid.Check(t, func(rt *rapid.T) {
		e := newEnvOn(t, srv, clock)
		defer e.dev.Close()
		ctx := context.Background()
		nv := district.Squads[0].Venues[0]
		nv.ID, nv.Name = "", "Property café"
		created, err := e.admin.CreateVenue(nv)
		if err != nil {
			rt.Fatal(err)
		}
		venue := created.ID
		mustSync(t, e.dev)
		value := rapid.StringMatching(`[a-z]{1,6}`)
		field := rapid.SampledFrom(fields)
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for s := 0; s < steps; s++ {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				f, v := field.Draw(rt, "field"), value.Draw(rt, "value")
				if err := e.dev.EditVenue(ctx, venue, map[string]string{f: v}); err != nil {
					rt.Fatal(err)
				}
			case 1:
				e.adminEdit(rt, venue, field.Draw(rt, "field"), value.Draw(rt, "value"))
			case 2:
				unsent := map[string]string{}
				local := rapid.IntRange(0, 3).Draw(rt, "local edits during sync")
				remote := rapid.IntRange(0, 3).Draw(rt, "server edits during sync")
				type edit struct{ f, v string }
				var locals, remotes []edit
				for range local {
					locals = append(locals, edit{field.Draw(rt, "field"), value.Draw(rt, "value")})
				}
				for range remote {
					remotes = append(remotes, edit{field.Draw(rt, "field"), value.Draw(rt, "value")})
				}
				e.hooks.set(func(r *http.Request) {
					if r.URL.Path != schema.PathPull {
						return
					}
					e.hooks.set(nil, nil)
					for i := 0; i < max(len(locals), len(remotes)); i++ {
						if i < len(locals) {
							if err := e.dev.EditVenue(ctx, venue, map[string]string{locals[i].f: locals[i].v}); err != nil {
								rt.Error(err)
							}
							unsent[locals[i].f] = locals[i].v
						}
						if i < len(remotes) {
							e.adminEdit(rt, venue, remotes[i].f, remotes[i].v)
						}
					}
				}, nil)
				if _, err := e.dev.Sync(ctx); err != nil {
					rt.Fatal(err)
				}
				e.hooks.set(nil, nil)
				lv, _ := venueByID(t, e.dev, venue)
				sv := e.serverVenue(t, venue)
				for _, f := range fields {
					want := get(sv, f)
					if v, ok := unsent[f]; ok {
						want = v
					}
					if got := get(lv, f); got != want {
						rt.Fatalf("after sync field %s = %q, want %q (unsent %v, server %q)", f, got, want, unsent, get(sv, f))
					}
				}
			}
		}
		rep, err := e.dev.Sync(ctx)
		if err != nil {
			rt.Fatal(err)
		}
		if rep.PendingMutations != 0 {
			rt.Fatalf("pending %d after a quiet sync", rep.PendingMutations)
		}
		if _, err := e.dev.Sync(ctx); err != nil { // pulls what the last push changed
			rt.Fatal(err)
		}
		lv, _ := venueByID(t, e.dev, venue)
		sv := e.serverVenue(t, venue)
		for _, f := range fields {
			if get(lv, f) != get(sv, f) {
				rt.Fatalf("not converged: %s device %q server %q", f, get(lv, f), get(sv, f))
			}
		}
		var edits int
		e.dev.DB().R.QueryRow(`SELECT count(*) FROM venue_edits`).Scan(&edits)
		if edits != 0 {
			rt.Fatalf("%d venue edits left after convergence", edits)
		}
	})
}

func get(v schema.Venue, f string) string {
	switch f {
	case schema.FieldName:
		return v.Name
	case schema.FieldPhone:
		return v.Phone
	case schema.FieldAddress:
		return v.Address
	}
	return ""
}
