package storetest

import (
	"context"
	"testing"
)

var jobCases = []contractCase{
	{"LockIsExclusiveUntilReleased", testJobLock},
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
