package photos_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/photos"
)

const devC = "dev:device-c" // of squad 2

// TestUpload_PendingClaimLearnsNothingAndProvesByItsOwnBytes: a device
// whose claim to a stored photo is pending is answered as for a photo the
// server does not have (HEAD of the upload and of the photo); bytes that
// do not hash to the name prove nothing; the photo itself, sent whole,
// proves the claim without a second copy.
func TestUpload_PendingClaimLearnsNothingAndProvesByItsOwnBytes(t *testing.T) {
	e := newEnv(t)
	data := jpegBytes(t, 300, 200, 31)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	if _, err := e.uploader(devA).Upload(context.Background(), sha, size, opener(data), nil); err != nil {
		t.Fatal(err)
	}
	e.claim(devC, 2, sha, size, schema.ClaimPending)
	resp := e.do(http.MethodHead, schema.PathUploads+"/"+sha, devC, nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(schema.HeaderUploadOffset) != "0" || resp.Header.Get(schema.HeaderUploadLength) != "" ||
		resp.Header.Get(photos.HeaderStored) != "" {
		t.Fatalf("HEAD upload by a pending claimant: %s %v; want 200, offset 0 and nothing else, as for a new photo", resp.Status, resp.Header)
	}
	for _, m := range []string{http.MethodHead, http.MethodGet} {
		if resp := e.do(m, schema.PathPhotos+"/"+sha, devC, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s photo by a pending claimant: %s; want 404", m, resp.Status)
		}
	}
	bogus := bytes.Clone(data)
	bogus[len(bogus)-1] ^= 1
	if resp := e.patch(devC, sha, 0, size, bogus); resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get(photos.HeaderStored) != "" {
		t.Fatalf("PATCH of other bytes: %s %v; want 422", resp.Status, resp.Header)
	}
	if ok, err := e.st.DeviceReferencesPhoto(context.Background(), "device-c", "", sha); err != nil || ok {
		t.Fatalf("claim after bytes that do not match: proven %v, %v", ok, err)
	}
	// The photo itself, in two parts as a slow link sends it.
	half := size / 2
	if resp := e.patch(devC, sha, 0, size, data[:half]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first half: %s", resp.Status)
	}
	if got := e.headOffset(devC, sha); got != half {
		t.Fatalf("HEAD after the first half: offset %d; want %d", got, half)
	}
	if resp := e.patch(devC, sha, half, size, data[half:]); resp.StatusCode != http.StatusCreated || resp.Header.Get(photos.HeaderStored) != "true" {
		t.Fatalf("second half: %s %v; want 201 stored", resp.Status, resp.Header)
	}
	if ok, err := e.st.DeviceReferencesPhoto(context.Background(), "device-c", "", sha); err != nil || !ok {
		t.Fatalf("claim after the device sent the photo: proven %v, %v; want proven", ok, err)
	}
	if resp := e.do(http.MethodGet, schema.PathPhotos+"/"+sha, "leader:2", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("leader of squad 2 after its device proved the claim: %s", resp.Status)
	}
	var photosRows, receipts int
	e.db.R.QueryRow(`SELECT count(*) FROM photos WHERE sha256 = ?`, sha).Scan(&photosRows)
	e.db.R.QueryRow(`SELECT count(*) FROM photo_receipts WHERE sha256 = ?`, sha).Scan(&receipts)
	if photosRows != 1 || receipts != 2 || !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatalf("%d photo rows and %d receipts; want the one photo, received from both devices", photosRows, receipts)
	}
	e.assertStagingEmpty()
}

// TestUpload_StagedPerDevice: what one device has sent of a photo is its
// own. Another device that names the photo neither sees how far it got
// nor continues it (which would let it finish someone else's upload and
// so prove a claim to bytes it never had).
func TestUpload_StagedPerDevice(t *testing.T) {
	e := newEnv(t)
	data := pngBytes(t, 400, 300, 32)
	sha, size := shaOf(data), int64(len(data))
	e.reference(devA, squad1, sha)
	e.claim(devC, 2, sha, size, schema.ClaimPending)
	third := size / 3
	if resp := e.patch(devA, sha, 0, size, data[:size-third]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("device a's first part: %s", resp.Status)
	}
	resp := e.do(http.MethodHead, schema.PathUploads+"/"+sha, devC, nil, nil)
	if resp.Header.Get(schema.HeaderUploadOffset) != "0" || resp.Header.Get(schema.HeaderUploadLength) != "" {
		t.Fatalf("HEAD by another device: %v; want offset 0, as for a new upload", resp.Header)
	}
	resp = e.patch(devC, sha, size-third, size, data[size-third:])
	if resp.StatusCode != http.StatusConflict || resp.Header.Get(schema.HeaderUploadOffset) != "0" {
		t.Fatalf("another device continuing a's upload: %s offset %q; want 409 at its own offset 0", resp.Status, resp.Header.Get(schema.HeaderUploadOffset))
	}
	if got := e.headOffset(devA, sha); got != size-third {
		t.Fatalf("device a's offset after the other device's attempt: %d; want %d", got, size-third)
	}
	if resp := e.patch(devA, sha, size-third, size, data[size-third:]); resp.StatusCode != http.StatusCreated {
		t.Fatalf("device a's last part: %s", resp.Status)
	}
	if ok, err := e.st.DeviceReferencesPhoto(context.Background(), "device-c", "", sha); err != nil || ok {
		t.Fatalf("the other device's claim after a's upload: proven %v, %v; want pending", ok, err)
	}
	if !bytes.Equal(e.storedBytes(sha), data) {
		t.Fatal("stored bytes differ")
	}
	e.assertStagingEmpty()
}
