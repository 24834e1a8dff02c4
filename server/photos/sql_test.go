package photos_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server/photos"
)

func TestSQLHelpers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b, none := shaOf([]byte("a")), shaOf([]byte("b")), shaOf([]byte("none"))
	e.reference(devA, squad1, a)
	e.reference(devB, 2, a)
	e.reference(devB, 2, b)

	for _, c := range []struct {
		dev, sha string
		want     bool
	}{{"device-a", a, true}, {"device-a", b, false}, {"device-b", b, true}, {"device-c", a, false}} {
		got, err := photos.DeviceReferences(ctx, e.db, c.dev, c.sha)
		if err != nil || got != c.want {
			t.Errorf("DeviceReferences(%s, %s) = %v, %v; want %v", c.dev, c.sha[:6], got, err, c.want)
		}
	}
	for sha, want := range map[string][]int64{a: {1, 2}, b: {2}, none: {}} {
		got, err := photos.SquadsReferencing(ctx, e.db, sha)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SquadsReferencing(%s) = %v, %v; want %v", sha[:6], got, err, want)
		}
	}

	data := jpegBytes(t, 40, 40, 30)
	stored := shaOf(data)
	e.reference(devA, squad1, stored)
	if _, err := e.uploader(devA).Upload(ctx, stored, int64(len(data)), opener(data), nil); err != nil {
		t.Fatal(err)
	}
	shas := []string{a, stored}
	for i := 0; i < 1200; i++ { // more than one IN batch
		shas = append(shas, shaOf([]byte{byte(i), byte(i >> 8)}))
	}
	got, err := photos.Received(ctx, e.db, shas)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(shas) || !got[stored] || got[a] {
		t.Errorf("Received: %d keys, stored=%v a=%v", len(got), got[stored], got[a])
	}
	if got, err := photos.Received(ctx, e.db, nil); err != nil || len(got) != 0 {
		t.Errorf("Received(nil) = %v, %v", got, err)
	}
}

func TestCleanStaging_RemovesAbandonedUploads(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 100, 100, 31)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	e.patch(devA, sha, 0, size, data[:size/2])
	if n, err := e.svc.CleanStaging(time.Hour); err != nil || n != 0 {
		t.Fatalf("fresh upload: removed %d, %v", n, err)
	}
	e.svc.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	if n, err := e.svc.CleanStaging(24 * time.Hour); err != nil || n != 1 {
		t.Fatalf("abandoned upload: removed %d, %v; want 1", n, err)
	}
	e.assertStagingEmpty()
	if got := e.headOffset(devA, sha); got != 0 {
		t.Errorf("HEAD after cleaning: offset %d, want 0", got)
	}
}
