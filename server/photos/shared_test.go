package photos_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/storage"
)

// newSharedEnv is an env whose partial uploads are staged as several
// replicas stage them: pieces in a blob store, state in the database.
func newSharedEnv(t *testing.T, checkpoint int64) *env {
	t.Helper()
	e := newEnv(t)
	pieces, err := storage.NewLocal(filepath.Join(t.TempDir(), "pieces"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.pieces, e.checkpoint = pieces, checkpoint
	e.serve()
	return e
}

// stagedPieces counts the blobs in the shared staging store.
func (e *env) stagedPieces() int {
	e.t.Helper()
	dir := e.pieces.(*storage.Local).Dir()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == "" {
			n++
		}
		return nil
	})
	return n
}

// TestSharedStaging_CutOnOneServiceResumesOnAnother: half a photo goes to
// one photo service, the connection is cut, and a second service (another
// replica: its own staging folder, the same database and blob stores)
// continues where the first stopped and stores the photo intact.
func TestSharedStaging_CutOnOneServiceResumesOnAnother(t *testing.T) {
	e := newSharedEnv(t, 256<<10)
	data := pngBytes(t, 1000, 1000, 2) // ~3 MB of noise
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	cut := func() (io.ReadSeekCloser, error) {
		return &cutReader{ReadSeeker: bytes.NewReader(data), left: size / 2}, nil
	}
	if _, err := e.uploader(devA).Upload(context.Background(), sha, size, cut, nil); err == nil {
		t.Fatal("the cut upload reported success")
	}
	// Pieces are saved while the body arrives: wait for the one saved
	// when it broke off.
	var held int64
	for i, last := 0, int64(-1); i < 100 && (held <= size/4 || held != last); i++ {
		time.Sleep(50 * time.Millisecond)
		last, held = held, e.headOffset(devA, sha)
	}
	if held < size/4 || held > size/2 {
		t.Fatalf("server holds %d bytes after a cut at %d", held, size/2)
	}
	if e.stagedPieces() < 2 {
		t.Fatalf("%d staged pieces for %d bytes in pieces of 256 KiB", e.stagedPieces(), held)
	}
	// Another replica: a new service, a new staging folder.
	e.srv.Close()
	e.svc.WaitThumbnails()
	e.staging = filepath.Join(t.TempDir(), "other-replica")
	e.serve()
	if got := e.headOffset(devA, sha); got != held {
		t.Fatalf("the other replica holds %d bytes; want the %d the first kept", got, held)
	}
	// Device B's upload of the same photo is its own: it holds nothing.
	e.reference(devB, 2, sha)
	if got := e.headOffset(devB, sha); got != 0 {
		t.Fatalf("device b sees %d bytes of device a's upload", got)
	}
	second, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Sent != size-held {
		t.Errorf("the resume sent %d bytes, want only the missing %d", second.Sent, size-held)
	}
	if !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatal("stored bytes differ")
	}
	if _, err := e.st.Upload(context.Background(), sha, "device-a"); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Errorf("upload state after the commit: %v; want not_found", err)
	}
	if n := e.stagedPieces(); n != 0 {
		t.Errorf("%d staged pieces left after the commit", n)
	}
	e.assertStagingEmpty()
}

// TestSharedStaging_CorruptedIsRefusedAndNothingStaged: a flipped byte is
// refused at the end and its pieces and state go.
func TestSharedStaging_CorruptedIsRefusedAndNothingStaged(t *testing.T) {
	e := newSharedEnv(t, 64<<10)
	data := jpegBytes(t, 600, 400, 3)
	sha := shaOf(data)
	e.reference(devA, squad1, sha)
	bad := append([]byte{}, data...)
	bad[len(bad)/2] ^= 0x01
	_, err := e.uploader(devA).Upload(context.Background(), sha, int64(len(bad)), opener(bad), nil)
	if schema.ErrorCode(err) != schema.CodeChecksumMismatch {
		t.Fatalf("err = %v; want checksum_mismatch", err)
	}
	e.assertNothingStored(sha)
	if n := e.stagedPieces(); n != 0 {
		t.Errorf("%d staged pieces left after the refusal", n)
	}
}

// TestSharedStaging_CleanRemovesStaleUpload: an upload abandoned half way
// is removed, state and pieces, once it is older than the age given.
func TestSharedStaging_CleanRemovesStaleUpload(t *testing.T) {
	e := newSharedEnv(t, 128<<10)
	data := pngBytes(t, 500, 500, 4)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	if res := e.patch(devA, sha, 0, size, data[:size/2]); res.StatusCode != 204 {
		t.Fatalf("PATCH of half: %s", res.Status)
	}
	if e.stagedPieces() == 0 {
		t.Fatal("nothing staged")
	}
	ctx := context.Background()
	if n, err := e.svc.CleanStaging(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("clean of a fresh upload removed %d, %v", n, err)
	}
	later := time.Now().Add(49 * time.Hour) // the store stamps saves with its own clock
	e.svc.Now = func() time.Time { return later }
	n, err := e.svc.CleanStaging(ctx, 48*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("clean removed %d uploads, %v; want the one abandoned", n, err)
	}
	if _, err := e.st.Upload(ctx, sha, "device-a"); schema.ErrorCode(err) != schema.CodeNotFound {
		t.Errorf("upload state after the clean-up: %v; want not_found", err)
	}
	if n := e.stagedPieces(); n != 0 {
		t.Errorf("%d staged pieces left after the clean-up", n)
	}
	if got := e.headOffset(devA, sha); got != 0 {
		t.Errorf("HEAD after the clean-up: offset %d; want 0", got)
	}
}
