package storetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var cursorCases = []contractCase{
	withEnv("PagesVisitEveryChangeOnce", testCursorPaging),
	withEnv("WriteBetweenPagesIsNotLost", testCursorWriteBetweenPages),
	withEnv("UnusableOrForeignCursorResets", testCursorResets),
	withEnv("NoChangeSkippedUnderConcurrentPushes", testCursorConcurrent),
}

// seqKey names one delivered change: its seq, row and whether it was a removal.
func seqKey(c schema.Change) string {
	return fmt.Sprintf("%d %s/%s removed=%v", c.Seq, c.Kind, c.ID, c.Removed)
}

// busyDistrict writes changes of every kind a pull carries: venues made,
// edited, moved both ways and deleted, inspections, a member.
func busyDistrict(t *testing.T, e *env, d *device) {
	t.Helper()
	var made []schema.Venue
	for i := 0; i < 6; i++ {
		made = append(made, e.newVenue(1, fmt.Sprintf("Busy %d", i)))
		d.mustApply(d.upsert(d.inspection(made[i].ID)))
	}
	for _, v := range made[:3] {
		if _, _, err := e.s.EditVenue(e.ctx, v.ID, map[string]schema.FieldEdit{schema.FieldPhone: {Value: "0539-9"}}, nil, serverActor("admin"), schema.AllSquads()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.MoveVenue(e.ctx, made[3].ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.MoveVenue(e.ctx, e.venues["v2a"].ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteVenue(e.ctx, made[4].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateUser(e.ctx, store.User{Username: "insp1c", DisplayName: "C", Role: schema.RoleInspector, SquadID: ptr(int64(1))}); err != nil {
		t.Fatal(err)
	}
}

func testCursorPaging(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	busyDistrict(t, e, d)
	_, whole := d.freshChanges(store.MaxPullLimit)
	if len(whole) < 20 {
		t.Fatalf("a fresh pull of the busy district has %d changes; the paging below would prove little", len(whole))
	}
	var wholeKeys []string
	for _, c := range whole {
		wholeKeys = append(wholeKeys, seqKey(c))
	}
	for _, limit := range []int{1, 4, len(whole) - 1, len(whole), 0, -1} {
		p := d.twin()
		var keys []string
		pages := 0
		for {
			page, err := p.step(limit)
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, pages+1, err)
			}
			if pages > 0 && page.Reset {
				t.Fatalf("limit %d: page %d resets", limit, pages+1)
			}
			pages++
			for _, c := range page.Changes {
				keys = append(keys, seqKey(c))
			}
			if !page.More {
				break
			}
			if pages > 2*len(whole)+2 {
				t.Fatalf("limit %d: pull does not end", limit)
			}
		}
		if !reflect.DeepEqual(keys, wholeKeys) {
			t.Fatalf("limit %d: %d pages delivered\n  %v\nwant, as one page delivers,\n  %v", limit, pages, keys, wholeKeys)
		}
		if limit > 0 && pages < (len(whole)+limit-1)/limit {
			t.Fatalf("limit %d: %d changes in %d pages", limit, len(whole), pages)
		}
		if limit <= 0 && pages != 1 {
			t.Fatalf("limit %d (the default page, %d): %d changes in %d pages", limit, store.DefaultPullLimit, len(whole), pages)
		}
		// Once through, the cursor says so.
		if again, err := p.step(limit); err != nil || again.Reset || again.More || len(again.Changes) != 0 {
			t.Fatalf("limit %d: pull after the last page: %+v, %v", limit, again, err)
		}
	}
}

func testCursorWriteBetweenPages(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	busyDistrict(t, e, d)
	p := d.twin()
	var later *schema.Inspection
	for pages := 0; ; pages++ {
		page, err := p.step(3)
		if err != nil {
			t.Fatal(err)
		}
		switch pages {
		case 1:
			// New work and a change to a row already delivered, while paging.
			later = d.inspection(e.venues["v1b"].ID)
			d.mustApply(d.upsert(later))
			if _, _, err := e.s.EditVenue(e.ctx, e.venues["v1a"].ID, map[string]schema.FieldEdit{schema.FieldName: {Value: "Renamed mid-pull"}}, nil,
				serverActor("admin"), schema.AllSquads()); err != nil {
				t.Fatal(err)
			}
		case 3:
			if err := e.s.DeleteVenue(e.ctx, e.venues["v1b"].ID); err != nil {
				t.Fatal(err)
			}
		}
		if !page.More {
			break
		}
	}
	if diff := p.held.diff(p.fresh()); diff != "" {
		t.Fatalf("paged through writes, the device holds what a fresh pull does not:\n  %s", diff)
	}
	if !p.held.has(schema.ChangeInspection, later.ID) || p.held.has(schema.ChangeVenue, e.venues["v1b"].ID) {
		t.Fatal("the inspection pushed mid-pull is missing or the venue deleted mid-pull is held")
	}
}

func testCursorResets(t *testing.T, e *env) {
	a, a2, b := e.enroll("insp1a"), e.enroll("insp1b"), e.enroll("insp2")
	a.mustApply(a.upsert(a.inspection(e.venues["v1a"].ID)))
	for _, d := range []*device{a, a2, b} {
		d.sync(0)
	}
	want := a.fresh()
	valid := a.cursor
	cases := []struct{ name, cursor string }{
		{"garbage", "garbage!!"},
		{"base64 of nothing useful", base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"q":-5}`))},
		{"base64 of a later cursor", base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"q":999999999}`))},
		{"longer than any cursor", strings.Repeat("A", 64<<10)},
		{"the cursor cut short", valid[:len(valid)/2]},
		{"another inspector's of the same squad", a2.cursor},
		{"another squad's", b.cursor},
	}
	for _, c := range cases {
		p, err := e.s.Pull(e.ctx, a.pullInput(c.cursor, store.MaxPullLimit))
		if err != nil {
			t.Fatalf("%s cursor: %v; want a reset, not an error", c.name, err)
		}
		if !p.Reset || p.More {
			t.Fatalf("%s cursor: reset %v more %v; want the whole set again", c.name, p.Reset, p.More)
		}
		r := replica{}
		r.apply(p)
		if diff := r.diff(want); diff != "" {
			t.Fatalf("%s cursor delivered:\n  %s", c.name, diff)
		}
		// The cursor a reset hands out is a good one.
		next, err := e.s.Pull(e.ctx, a.pullInput(p.Cursor, store.MaxPullLimit))
		if err != nil || next.Reset || len(next.Changes) != 0 {
			t.Fatalf("pull after the reset by the %s cursor: reset %v, %d changes, %v", c.name, next.Reset, len(next.Changes), err)
		}
	}
	// The inspector moved to squad 2: the old cursor is foreign to the new squad's set.
	moved := *a
	moved.user.SquadID = ptr(int64(2))
	p, err := e.s.Pull(e.ctx, moved.pullInput(valid, store.MaxPullLimit))
	if err != nil || !p.Reset {
		t.Fatalf("a squad 1 cursor pulled for squad 2: reset %v, %v", p.Reset, err)
	}
	r := replica{}
	r.apply(p)
	if !r.has(schema.ChangeVenue, e.venues["v2a"].ID) || r.has(schema.ChangeVenue, e.venues["v1a"].ID) {
		t.Fatalf("after moving to squad 2 the device holds venues %v", r.ids(schema.ChangeVenue))
	}
	// The device's own cursor does not reset and has nothing new.
	if p, err := e.s.Pull(e.ctx, a.pullInput(valid, 0)); err != nil || p.Reset || len(p.Changes) != 0 || p.More {
		t.Fatalf("own cursor: reset %v, %d changes, more %v, %v", p.Reset, len(p.Changes), p.More, err)
	}
}

// testCursorConcurrent is the test a store with concurrent writers must
// pass: devices and the server write in many small transactions while
// devices of the squad pull in small pages. A store whose cursor can pass
// a change that commits after a later one (a seq taken before a
// transaction commits that a reader does not yet see) loses that change
// for good; this test then finds the pulling devices holding less than a
// fresh pull.
func testCursorConcurrent(t *testing.T, e *env) {
	const (
		writers    = 6  // squad 1 devices pushing
		pushesEach = 12 // small batches, 1-3 mutations
		serverOps  = 24 // creates, edits, moves both ways, deletes, reviews, members
		pullers    = 2
	)
	var (
		mu        sync.Mutex
		pool      = []string{e.venues["v1a"].ID} // venues of squad 1 (or lately of it) to work on
		inspected []string                       // inspections to review
	)
	pick := func(rng *rand.Rand) string {
		mu.Lock()
		defer mu.Unlock()
		return pool[rng.IntN(len(pool))]
	}
	var devices []*device
	for i := 0; i < writers; i++ {
		devices = append(devices, e.enroll([]string{"insp1a", "insp1b", "leader1"}[i%3]))
	}
	other := e.enroll("insp2") // squad 2 writes too; none of it may reach squad 1
	var readers []*device
	for i := 0; i < pullers; i++ {
		readers = append(readers, e.enroll([]string{"insp1a", "insp1b"}[i]))
	}
	// v1b is the pullers' own: nothing moves or deletes it.
	own := e.venues["v1b"].ID

	var (
		applied   atomic.Int64
		writing   sync.WaitGroup
		pulling   sync.WaitGroup
		quiet     atomic.Bool
		start     = make(chan struct{})
		overlaps  atomic.Int64 // non-empty pages pulled while writes were still running
		failed    atomic.Bool
		fail      = func(format string, args ...any) { failed.Store(true); t.Errorf(format, args...) }
		seedCount = uint64(1)
	)
	push := func(d *device, muts ...schema.Mutation) []schema.MutationResult {
		res, err := d.pushErr(muts...)
		if err != nil {
			fail("%v", err)
			return nil
		}
		for i, r := range res {
			if r.Outcome == schema.OutcomeApplied {
				applied.Add(1)
			}
			if r.Outcome == schema.OutcomeRejected && r.Code == schema.CodeInvalid {
				fail("mutation %s rejected as invalid: %s", muts[i].Kind, r.Reason)
			}
		}
		return res
	}
	for i, d := range devices {
		writing.Add(1)
		go func(d *device, seed uint64) {
			defer writing.Done()
			<-start
			rng := rand.New(rand.NewPCG(seed, 11))
			var mine []*schema.Inspection
			for n := 0; n < pushesEach && !failed.Load(); n++ {
				var muts []schema.Mutation
				for k, size := 0, 1+rng.IntN(3); k < size; k++ {
					switch op := rng.IntN(5); {
					case op == 0:
						v := venueOf(1, fmt.Sprintf("Found by %d/%d", seed, n))
						muts = append(muts, d.create(v))
					case op == 1:
						id := pick(rng)
						v, err := e.s.Venue(e.ctx, id)
						if err != nil {
							fail("Venue %s: %v", id, err)
							return
						}
						muts = append(muts, d.edit(id, map[string]schema.FieldEdit{
							schema.FieldPhone: {Value: fmt.Sprintf("0539-%d-%d", seed, n), Base: v.Clocks[schema.FieldPhone]}}))
					case op == 2 && len(mine) > 0:
						in := mine[rng.IntN(len(mine))]
						in.Items[1].Note = fmt.Sprintf("amended %d", n)
						muts = append(muts, d.upsert(in))
					default:
						in := d.inspection(pick(rng))
						mine = append(mine, in)
						muts = append(muts, d.upsert(in))
					}
				}
				res := push(d, muts...)
				mu.Lock()
				for j, r := range res {
					if r.Outcome != schema.OutcomeApplied {
						continue
					}
					switch m := muts[j]; m.Kind {
					case schema.MutVenueCreate:
						pool = append(pool, m.Venue.ID)
					case schema.MutInspectionUpsert:
						inspected = append(inspected, m.Inspection.ID)
					}
				}
				mu.Unlock()
			}
		}(d, seedCount+uint64(i))
	}
	writing.Add(1)
	go func() { // the other squad
		defer writing.Done()
		<-start
		for n := 0; n < pushesEach && !failed.Load(); n++ {
			push(other, other.upsert(other.inspection(e.venues["v2a"].ID)), other.create(venueOf(2, fmt.Sprintf("Squad 2 find %d", n))))
		}
	}()
	writing.Add(1)
	go func() { // leaders and admins on the server
		defer writing.Done()
		<-start
		rng := rand.New(rand.NewPCG(99, 11))
		var movable []schema.Venue
		for n := 0; n < serverOps && !failed.Load(); n++ {
			var err error
			switch n % 6 {
			case 0:
				var v schema.Venue
				v, err = e.s.CreateVenue(e.ctx, venueOf(1, fmt.Sprintf("Registered %d", n)), serverActor("admin"))
				if err == nil {
					movable = append(movable, v)
					mu.Lock()
					pool = append(pool, v.ID)
					mu.Unlock()
				}
			case 1:
				_, _, err = e.s.EditVenue(e.ctx, pick(rng), map[string]schema.FieldEdit{schema.FieldName: {Value: fmt.Sprintf("Renamed %d", n)}}, nil,
					serverActor("admin"), schema.AllSquads())
			case 2, 4:
				if len(movable) > 0 {
					i := rng.IntN(len(movable))
					var moved schema.Venue
					if moved, err = e.s.MoveVenue(e.ctx, movable[i].ID, 3-movable[i].SquadID); err == nil {
						movable[i] = moved
					}
				}
			case 3:
				mu.Lock()
				var id string
				if len(inspected) > 0 {
					id = inspected[rng.IntN(len(inspected))]
				}
				mu.Unlock()
				if id != "" {
					_, err = e.s.ReviewInspection(e.ctx, id, store.ReviewInput{Action: schema.ReviewApprove, By: "leader1"}, schema.AllSquads())
				}
			case 5:
				if n%12 == 5 && len(movable) > 1 {
					err = e.s.DeleteVenue(e.ctx, movable[0].ID)
					movable = movable[1:]
				} else {
					_, err = e.s.CreateUser(e.ctx, store.User{Username: fmt.Sprintf("recruit%d", n), DisplayName: "Recruit", Role: schema.RoleInspector,
						SquadID: ptr(int64(1 + n/12))})
				}
			}
			// A venue deleted or moved under an edit is an answer, not a
			// failure, and so is a second approval of one inspection.
			if err != nil && schema.ErrorCode(err) != schema.CodeGone && schema.ErrorCode(err) != schema.CodeConflict {
				fail("server op %d: %v", n, err)
				return
			}
		}
	}()
	for i, p := range readers {
		pulling.Add(1)
		go func(p *device, seed uint64) {
			defer pulling.Done()
			rng := rand.New(rand.NewPCG(seed, 5))
			for n := 0; n < 100000 && !failed.Load(); n++ {
				done := quiet.Load() // read before the pull: a quiet store stays quiet
				if !done && n%4 == 3 {
					// Its own inspections, which the server's reviews then touch concurrently.
					in := p.inspection(own)
					if res := push(p, p.upsert(in)); len(res) == 1 && res[0].Outcome == schema.OutcomeApplied {
						mu.Lock()
						inspected = append(inspected, in.ID)
						mu.Unlock()
					}
				}
				page, err := p.step(1 + rng.IntN(4))
				if err != nil {
					fail("%v", err)
					return
				}
				if !done && len(page.Changes) > 0 {
					overlaps.Add(1)
				}
				if done && !page.More && len(page.Changes) == 0 {
					return
				}
			}
			fail("puller %s never caught up", p.user.Username)
		}(p, uint64(100+i))
	}
	close(start) // the pullers are under way: let the writers go
	writing.Wait()
	quiet.Store(true)
	pulling.Wait()
	if failed.Load() {
		return
	}
	t.Logf("%d mutations applied; %d pages with changes pulled while writes ran", applied.Load(), overlaps.Load())
	if n := applied.Load(); n < writers*pushesEach/2 {
		t.Fatalf("only %d mutations applied; the run proves little", n)
	}
	if n := overlaps.Load(); n < 3 {
		t.Fatalf("only %d pages with changes were pulled while writes ran; the run did not overlap", n)
	}
	for _, p := range readers {
		want := p.fresh()
		if diff := p.held.diff(want); diff != "" {
			t.Fatalf("%s pulled concurrently with the writes and holds what a fresh pull does not:\n  %s", p.user.Username, diff)
		}
		// And the fresh pull is what the store holds.
		list, err := e.s.ListVenues(e.ctx, store.VenueFilter{SquadID: ptr(int64(1)), Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.held.ids(schema.ChangeVenue), sortedIDs(list, func(v schema.Venue) string { return v.ID }); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s holds %d venues; squad 1 has %d", p.user.Username, len(got), len(want))
		}
		mine, err := e.s.ListInspections(e.ctx, store.InspectionFilter{DeviceID: p.id, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.held.ids(schema.ChangeInspection), sortedIDs(mine, func(in schema.Inspection) string { return in.ID }); !reflect.DeepEqual(got, want) || len(want) == 0 {
			t.Fatalf("%s holds inspections %v; it pushed %v", p.user.Username, got, want)
		}
	}
}
