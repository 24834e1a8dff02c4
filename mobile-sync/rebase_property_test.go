package mobilesync_test

import (
	"context"
	"net/http"
	"testing"

	"pgregory.net/rapid"

	"github.com/patrolhq/patrol/schema"
)

// TestRebase_UnsentLocalValuesWin drives random interleavings of local
// edits, server edits and syncs (with local and server edits landing
// between a sync's push and its pull) and checks after every sync that a
// field edited here and not yet pushed shows the local value, every other
// field shows the server's, and that one quiet sync converges everything.
func TestRebase_UnsentLocalValuesWin(t *testing.T) {
	fields := []string{schema.FieldName, schema.FieldPhone, schema.FieldAddress}
	rapid.Check(t, func(rt *rapid.T) {
		e := newEnv(t)
		ctx := context.Background()
		mustSync(t, e.dev)
		value := rapid.StringMatching(`[a-z]{1,6}`)
		field := rapid.SampledFrom(fields)
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for s := 0; s < steps; s++ {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				f, v := field.Draw(rt, "field"), value.Draw(rt, "value")
				if err := e.dev.EditVenue(ctx, venue1, map[string]string{f: v}); err != nil {
					rt.Fatal(err)
				}
			case 1:
				e.srv.EditVenue(venue1, field.Draw(rt, "field"), value.Draw(rt, "value"))
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
							if err := e.dev.EditVenue(ctx, venue1, map[string]string{locals[i].f: locals[i].v}); err != nil {
								rt.Error(err)
							}
							unsent[locals[i].f] = locals[i].v
						}
						if i < len(remotes) {
							e.srv.EditVenue(venue1, remotes[i].f, remotes[i].v)
						}
					}
				}, nil)
				if _, err := e.dev.Sync(ctx); err != nil {
					rt.Fatal(err)
				}
				e.hooks.set(nil, nil)
				lv, _ := venueByID(t, e.dev, venue1)
				sv, _ := e.srv.Venue(venue1)
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
		lv, _ := venueByID(t, e.dev, venue1)
		sv, _ := e.srv.Venue(venue1)
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
