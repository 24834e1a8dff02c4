package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var jobCases = []contractCase{
	{"LockIsExclusiveUntilReleased", testJobLock},
	withEnv("OptimizeChangesNoAnswer", testOptimize),
}

// testOptimize: refreshing the planner's statistics, once or again, on a
// store with work in it changes what no read answers.
func testOptimize(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	for range 3 {
		e.clock.Advance(time.Hour)
		d.mustApply(d.upsert(d.inspection(e.venues["v1a"].ID)))
	}
	read := func() ([]schema.Inspection, store.FindingPage) {
		t.Helper()
		ins, err := e.s.ListInspections(e.ctx, store.InspectionFilter{SquadID: ptr(int64(1))})
		if err != nil {
			t.Fatal(err)
		}
		page, err := e.s.Findings(e.ctx, store.FindingFilter{SquadID: ptr(int64(1)), Status: schema.FindingOverdueTag, Sort: store.SortDeadline})
		if err != nil {
			t.Fatal(err)
		}
		return ins, page
	}
	ins, page := read()
	for i := range 2 {
		if err := e.s.Optimize(e.ctx); err != nil {
			t.Fatalf("Optimize #%d: %v", i+1, err)
		}
		if gi, gp := read(); !reflect.DeepEqual(gi, ins) || !reflect.DeepEqual(gp, page) {
			t.Fatalf("reads after Optimize #%d differ:\n%+v\n%+v", i+1, gi, gp)
		}
	}
}

func testJobLock(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	ctx := context.Background()
	try := func(name string) (func(), bool) {
		t.Helper()
		release, ok, err := s.TryJobLock(ctx, name)
		if err != nil {
			t.Fatalf("TryJobLock %s: %v", name, err)
		}
		if ok == (release == nil) {
			t.Fatalf("TryJobLock %s: ok %v with release %v", name, ok, release != nil)
		}
		return release, ok
	}
	release, ok := try("hourly")
	if !ok {
		t.Fatal("the first lock of a job was refused")
	}
	if _, ok := try("hourly"); ok {
		t.Fatal("a job's lock was taken twice")
	}
	other, ok := try("nightly")
	if !ok {
		t.Fatal("another job's lock was refused")
	}
	release()
	release() // a second release changes nothing
	again, ok := try("hourly")
	if !ok {
		t.Fatal("the lock of a released job was refused")
	}
	if _, ok := try("nightly"); ok {
		t.Fatal("releasing one job released another")
	}
	again()
	other()
}
