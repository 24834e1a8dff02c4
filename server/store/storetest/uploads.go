package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

var uploadCases = []contractCase{
	{"SaveAndLoadByVersion", testUploadSaveLoad},
	{"DeleteNeedsTheCurrentVersion", testUploadDelete},
	{"StaleOldestFirst", testUploadStale},
	{"ParallelSavesOfOneVersionOneWins", testUploadParallelSaves},
	{"TwoDevicesOfOnePhotoApart", testUploadTwoDevices},
}

// dev is the device of the upload cases that need only one.
const dev = "device-1"

// uploadStore opens an empty store on a clock of its own.
func uploadStore(t *testing.T, open Open) (store.Store, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: start}
	return openStore(t, open, clock), clock
}

func testUploadSaveLoad(t *testing.T, open Open) {
	s, clock := uploadStore(t, open)
	ctx := context.Background()
	photo := sha("staged photo")
	_, err := s.Upload(ctx, photo, dev)
	wantCode(t, "Upload before any save", err, schema.CodeNotFound)

	first := store.Upload{SHA256: photo, Device: dev, Size: 9 << 20, Offset: 4 << 20, Hash: []byte{1, 2, 3, 0, 255},
		Pieces: []store.UploadPiece{{Key: sha("piece 1"), Size: 4 << 20}}, Pending: sha("piece 2")}
	saved, err := s.SaveUpload(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version != 1 || !saved.UpdatedAt.Equal(start) {
		t.Fatalf("first save: version %d at %v; want 1 at the store's time %v", saved.Version, saved.UpdatedAt, start)
	}
	got, err := s.Upload(ctx, photo, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, saved) {
		t.Fatalf("loaded %+v\nsaved  %+v", got, saved)
	}
	_, err = s.SaveUpload(ctx, first)
	wantCode(t, "a second first save", err, schema.CodeConflict)

	clock.Advance(time.Minute)
	next := got
	next.Offset, next.Pending = 9<<20, ""
	next.Pieces = append(next.Pieces, store.UploadPiece{Key: sha("piece 2"), Size: 5 << 20})
	next.Hash = []byte{9}
	second, err := s.SaveUpload(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if second.Version != 2 || !second.UpdatedAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("second save: version %d at %v", second.Version, second.UpdatedAt)
	}
	_, err = s.SaveUpload(ctx, next) // still names version 1
	wantCode(t, "a save of a version replaced meanwhile", err, schema.CodeConflict)
	if got, err := s.Upload(ctx, photo, dev); err != nil || !reflect.DeepEqual(got, second) {
		t.Fatalf("after the refused save: %+v, %v; want the second save %+v", got, err, second)
	}
	// A state without pieces (a photo restarted from zero) reads back without pieces.
	empty, err := s.SaveUpload(ctx, store.Upload{SHA256: sha("other"), Device: dev, Size: 10, Hash: []byte{0}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Upload(ctx, sha("other"), dev); err != nil || len(got.Pieces) != 0 || got.Version != empty.Version {
		t.Fatalf("upload without pieces: %+v, %v", got, err)
	}
}

func testUploadDelete(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	ctx := context.Background()
	photo := sha("deleted upload")
	wantCode(t, "delete of nothing", s.DeleteUpload(ctx, photo, dev, 1), schema.CodeNotFound)
	v1, err := s.SaveUpload(ctx, store.Upload{SHA256: photo, Device: dev, Size: 100, Offset: 10, Hash: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.SaveUpload(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete of a replaced version", s.DeleteUpload(ctx, photo, dev, v1.Version), schema.CodeConflict)
	if err := s.DeleteUpload(ctx, photo, dev, v2.Version); err != nil {
		t.Fatal(err)
	}
	_, err = s.Upload(ctx, photo, dev)
	wantCode(t, "Upload after the delete", err, schema.CodeNotFound)
	_, err = s.SaveUpload(ctx, v2)
	wantCode(t, "a save of the deleted version", err, schema.CodeConflict)
	if again, err := s.SaveUpload(ctx, store.Upload{SHA256: photo, Device: dev, Size: 100, Hash: []byte{2}}); err != nil || again.Version != 1 {
		t.Fatalf("a new upload after the delete: %+v, %v", again, err)
	}
}

func testUploadStale(t *testing.T, open Open) {
	s, clock := uploadStore(t, open)
	ctx := context.Background()
	names := []string{"oldest", "middle", "newest"}
	for _, n := range names {
		if _, err := s.SaveUpload(ctx, store.Upload{SHA256: sha(n), Device: dev, Size: 5, Hash: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
	}
	for _, c := range []struct {
		before time.Time
		limit  int
		want   []string
	}{
		{start, 10, nil},
		{start.Add(time.Second), 10, names[:1]},
		{start.Add(2*time.Hour + time.Second), 10, names[:3]},
		{start.Add(2*time.Hour + time.Second), 2, names[:2]},
	} {
		got, err := s.StaleUploads(ctx, c.before, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		var gotNames []string
		for _, u := range got {
			for _, n := range names {
				if sha(n) == u.SHA256 {
					gotNames = append(gotNames, n)
				}
			}
		}
		if !reflect.DeepEqual(gotNames, c.want) {
			t.Errorf("StaleUploads(before %v, limit %d) = %v; want %v", c.before.Sub(start), c.limit, gotNames, c.want)
		}
	}
}

// testUploadParallelSaves: replicas receiving the same photo race to save
// the same version; exactly one save wins and the others are conflicts.
func testUploadParallelSaves(t *testing.T, open Open) {
	s, _ := uploadStore(t, open)
	ctx := context.Background()
	photo := sha("raced upload")
	for _, version := range []int64{0, 1} {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.SaveUpload(ctx, store.Upload{SHA256: photo, Device: dev, Size: 100, Offset: int64(i), Hash: []byte{byte(i)}, Version: version})
			}()
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("saves %d and %d of version %d both won", won, i, version)
			case err == nil:
				won = i
			default:
				wantCode(t, "a losing save", err, schema.CodeConflict)
			}
		}
		got, err := s.Upload(ctx, photo, dev)
		if err != nil || won < 0 || got.Offset != int64(won) || got.Version != version+1 {
			t.Fatalf("after the race of version %d: %+v, %v; want the winner %d's state", version, got, err, won)
		}
	}
}

// testUploadTwoDevices: two devices sending the same photo each have an
// upload of their own, with versions, deletes and staleness apart.
func testUploadTwoDevices(t *testing.T, open Open) {
	s, clock := uploadStore(t, open)
	ctx := context.Background()
	photo := sha("photo of two devices")
	a, err := s.SaveUpload(ctx, store.Upload{SHA256: photo, Device: "device-a", Size: 100, Offset: 40, Hash: []byte{1},
		Pieces: []store.UploadPiece{{Key: sha("a1"), Size: 40}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Upload(ctx, photo, "device-b")
	wantCode(t, "the other device's Upload", err, schema.CodeNotFound)
	wantCode(t, "the other device's delete", s.DeleteUpload(ctx, photo, "device-b", a.Version), schema.CodeNotFound)
	clock.Advance(time.Hour)
	b, err := s.SaveUpload(ctx, store.Upload{SHA256: photo, Device: "device-b", Size: 100, Offset: 7, Hash: []byte{2}})
	if err != nil {
		t.Fatalf("a first save by a second device of the same photo: %v", err)
	}
	if b.Version != 1 {
		t.Fatalf("device b's first save has version %d; want 1", b.Version)
	}
	// Version 1 of each is its own: a's save of it moves a on, not b.
	a.Offset = 80
	a2, err := s.SaveUpload(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SaveUpload(ctx, a) // a's version 1 is gone
	wantCode(t, "a stale save of device a", err, schema.CodeConflict)
	if got, err := s.Upload(ctx, photo, "device-b"); err != nil || got.Offset != 7 || got.Version != 1 || got.Device != "device-b" {
		t.Fatalf("device b after device a moved on: %+v, %v; want %+v", got, err, b)
	}
	if got, err := s.Upload(ctx, photo, "device-a"); err != nil || got.Offset != 80 || got.Device != "device-a" || got.Version != 2 {
		t.Fatalf("device a: %+v, %v", got, err)
	}
	// Stale listing names each device's upload apart.
	stale, err := s.StaleUploads(ctx, start.Add(time.Hour+time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	var devices []string
	for _, u := range stale {
		devices = append(devices, u.Device)
	}
	if !reflect.DeepEqual(devices, []string{"device-a", "device-b"}) {
		t.Fatalf("stale uploads of devices %v; want device-a (saved first) then device-b", devices)
	}
	// Deleting one device's upload leaves the other's.
	wantCode(t, "delete of b at a's version", s.DeleteUpload(ctx, photo, "device-b", a2.Version), schema.CodeConflict)
	if err := s.DeleteUpload(ctx, photo, "device-a", a2.Version); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Upload(ctx, photo, "device-b"); err != nil || got.Version != b.Version {
		t.Fatalf("device b after device a's delete: %+v, %v", got, err)
	}
}
