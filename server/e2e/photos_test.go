package e2e_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/mobile-sync/loadtest"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/storage"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"
)

// writePhoto writes a valid JPEG of size bytes (unique per seed) into dir
// and returns its path and SHA-256.
func writePhoto(t *testing.T, dir string, size int, seed uint64) (string, string) {
	t.Helper()
	b := loadtest.JPEG(size, seed)
	p := filepath.Join(dir, fmt.Sprintf("IMG_%d.jpg", seed))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

// recordWithPhotos records a complete inspection of venue, by the
// device's inspector and the other inspector of the squad, whose items
// NC03 and NC12 carry the given photo files.
func recordWithPhotos(t *testing.T, d *mobilesync.Device, venue string, nc03, nc12 []string) string {
	t.Helper()
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	me, err := d.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	co := map[string]string{"inspector1": "inspector2", "inspector2": "inspector1", "inspector3": "inspector4", "inspector4": "inspector3"}[me.Username]
	in := mobilesync.InspectionInput{VenueID: venue, CoInspectors: []string{co}}
	for _, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		switch it.ID {
		case "NC03":
			item.Result, item.Note, item.Photos = schema.ResultFail, "minor at PC 12", nc03
		case "NC12":
			item.Result, item.Note, item.Photos = schema.ResultFail, "rear exit locked", nc12
		}
		in.Items = append(in.Items, item)
	}
	id, err := d.RecordInspection(context.Background(), in)
	if err != nil {
		t.Fatalf("record inspection with photos: %v", err)
	}
	return id
}

// devicePhotos lists the hashes the device recorded on an inspection.
func devicePhotos(t *testing.T, d *mobilesync.Device, id string) map[string]schema.PhotoRef {
	t.Helper()
	in, err := d.Inspection(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]schema.PhotoRef{}
	for _, it := range in.Items {
		for _, p := range it.Photos {
			out[p.SHA256] = p
		}
	}
	return out
}

func readBlob(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open blob %s: %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read blob %s: %v", key, err)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// stagingFiles lists what the server keeps of unfinished uploads.
func stagingFiles(t *testing.T, e *env) []string {
	t.Helper()
	e.srv.Photos().WaitThumbnails() // thumbnails are made from staged bytes after the answer
	ents, err := os.ReadDir(filepath.Join(e.Data, "staging"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	return out
}

// rawGet fetches path with c's token and extra headers.
func (c *client) rawGet(method, path string, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestPhoto_S3EvidenceMatchesDevice: a device records an inspection with
// photos while offline, syncs, and the S3 bucket (a real versitygw on
// loopback) holds objects whose SHA-256 is what the device computed; the
// leader's API lists them as received.
func TestPhoto_S3EvidenceMatchesDevice(t *testing.T) {
	gw := storagetest.StartVersityGW(t)
	ctx := context.Background()
	s3, err := s3store.New(ctx, s3store.Config{Endpoint: gw.Endpoint, Bucket: gw.Bucket, AccessKey: gw.AccessKey, SecretKey: gw.SecretKey, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *server.Config) { c.Blobs = s3 })
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	mustSync(t, a)

	net.down.Store(true)
	dir := t.TempDir()
	p1, sha1 := writePhoto(t, dir, 700_000, 1)
	p2, sha2 := writePhoto(t, dir, 90_000, 2)
	id := recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p1}, []string{p2, p1})
	os.Remove(p1) // the inspector clears the gallery; the device kept its copy
	os.Remove(p2)
	refs := devicePhotos(t, a, id)
	if len(refs) != 2 || refs[sha1].Size != 700_000 || refs[sha2].MediaType != "image/jpeg" {
		t.Fatalf("device recorded photos %+v; want the two files by their hashes", refs)
	}
	if _, err := a.Sync(ctx); !errors.Is(err, mobilesync.ErrUnreachable) {
		t.Fatalf("offline sync: %v", err)
	}
	net.down.Store(false)
	rep := mustSync(t, a)
	if rep.PhotosUploaded != 2 || rep.PhotoBytes != 790_000 {
		t.Fatalf("sync uploaded %d photos, %d bytes; want 2 and 790000", rep.PhotosUploaded, rep.PhotoBytes)
	}
	for sha, ref := range refs {
		b := readBlob(t, s3, sha)
		if got := sha256Hex(b); got != sha || int64(len(b)) != ref.Size {
			t.Fatalf("S3 object %s holds %d bytes hashing to %s", sha, len(b), got)
		}
		info, err := s3.Client().StatObject(ctx, s3.Bucket(), s3.ObjectName(sha), minio.StatObjectOptions{})
		if err != nil || info.Size != ref.Size {
			t.Fatalf("S3 stat %s: size %d, %v", sha, info.Size, err)
		}
	}
	// Nothing else is in the bucket: the originals and their thumbnails,
	// each named by the hash of its own bytes, no partial objects.
	e.srv.Photos().WaitThumbnails()
	objects := 0
	for obj := range s3.Client().ListObjects(ctx, s3.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		objects++
		key := strings.TrimPrefix(obj.Key, s3.ObjectName(""))
		if b := readBlob(t, s3, key); sha256Hex(b) != key {
			t.Fatalf("S3 object %s does not hash to its name", obj.Key)
		}
	}
	if objects != 4 {
		t.Fatalf("bucket holds %d objects; want 2 photos and 2 thumbnails", objects)
	}
	in := getInspection(t, e.login("leader1"), id)
	if in.PhotosComplete == nil || !*in.PhotosComplete || len(in.MissingPhotos) != 0 {
		t.Fatalf("inspection with all photos arrived: complete %v missing %v", in.PhotosComplete, in.MissingPhotos)
	}
	if st := pendingOf(t, a); st.PendingPhotos != 0 || st.PendingPhotoBytes != 0 {
		t.Fatalf("device still counts %d photos (%d bytes) pending", st.PendingPhotos, st.PendingPhotoBytes)
	}
}

// TestPhoto_SameBytesTwoDevicesStoredOnce: two devices attach the same
// photo; it is stored once and the second device sends none of its bytes.
func TestPhoto_SameBytesTwoDevicesStoredOnce(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	netA, netB := newFaultNet(t), newFaultNet(t)
	a := e.newDevice(admin, "inspector1", netA.opts())
	b := e.newDevice(admin, "inspector2", netB.opts())
	mustSync(t, a)
	mustSync(t, b)
	p, sha := writePhoto(t, t.TempDir(), 300_000, 7)
	v := nthVenue(t, a, schema.KindNetCafe, 0)
	ia := recordWithPhotos(t, a, v.ID, []string{p}, nil)
	ib := recordWithPhotos(t, b, v.ID, nil, []string{p})
	mustSync(t, a)
	rep := mustSync(t, b)
	if got := netB.sentBytes.Load(); got != 0 || rep.PhotoBytes != 0 {
		t.Fatalf("the second device sent %d photo bytes (report %d); the server already had them", got, rep.PhotoBytes)
	}
	if got := netA.sentBytes.Load(); got != 300_000 {
		t.Fatalf("the first device sent %d bytes; want 300000", got)
	}
	if n := e.countRows(`SELECT count(*) FROM photos WHERE sha256 = ?`, sha); n != 1 {
		t.Fatalf("photo recorded %d times", n)
	}
	if b := readBlob(t, e.Blobs, sha); sha256Hex(b) != sha {
		t.Fatal("stored blob does not hash to its name")
	}
	leader := e.login("leader1")
	for _, id := range []string{ia, ib} {
		in := getInspection(t, leader, id)
		if in.PhotosComplete == nil || !*in.PhotosComplete {
			t.Fatalf("inspection %s lacks the shared photo", id)
		}
	}
	if st := pendingOf(t, b); st.PendingPhotos != 0 {
		t.Fatalf("second device still has %d photos pending", st.PendingPhotos)
	}
}

// TestPhoto_UploadResumesAfterCut: the link drops after half a photo went
// up; the upload resumes where the server stopped and the bytes sent over
// both attempts add up to about the photo's size.
func TestPhoto_UploadResumesAfterCut(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	a := e.newDevice(admin, "inspector1")
	net := newFaultNet(t)
	net.attach(a)
	mustSync(t, a)
	const size = 2_000_000
	p, sha := writePhoto(t, t.TempDir(), size, 11)
	recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p}, nil)
	net.cutAt.Store(size / 2)
	rep := mustSync(t, a)
	if rep.PhotosUploaded != 1 {
		t.Fatalf("sync after a cut upload: %+v", rep)
	}
	offs := net.patchOffsets()
	if len(offs) < 2 || offs[0] != 0 || offs[len(offs)-1] < size/2-256<<10 {
		t.Fatalf("PATCH offsets %v; want a first at 0 and a resume near %d", offs, size/2)
	}
	sent := net.sentBytes.Load()
	if sent < size || sent > size+256<<10 {
		t.Fatalf("sent %d bytes over both attempts for a photo of %d; the resume must not start over", sent, size)
	}
	if b := readBlob(t, e.Blobs, sha); len(b) != size || sha256Hex(b) != sha {
		t.Fatalf("resumed photo stored as %d bytes", len(b))
	}
	if left := stagingFiles(t, e); len(left) != 0 {
		t.Fatalf("staging keeps %v after the photo was stored", left)
	}
}

// TestPhoto_CorruptedUploadRefused: one byte flipped in transit; the
// server refuses the upload and stores nothing, and the device sends the
// photo again on its next sync.
func TestPhoto_CorruptedUploadRefused(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	mustSync(t, a)
	p, sha := writePhoto(t, t.TempDir(), 200_000, 21)
	id := recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p}, nil)
	net.corrupt.Store(true)
	rep := mustSync(t, a)
	if rep.PhotosUploaded != 0 {
		t.Fatalf("a corrupted upload counted as uploaded: %+v", rep)
	}
	if _, err := e.Blobs.Stat(context.Background(), sha); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("blob store after a corrupted upload: %v; want not found", err)
	}
	if n := e.countRows(`SELECT count(*) FROM photos`); n != 0 {
		t.Fatalf("%d photos recorded after a corrupted upload", n)
	}
	if left := stagingFiles(t, e); len(left) != 0 {
		t.Fatalf("staging keeps %v of refused bytes", left)
	}
	if in := getInspection(t, e.login("leader1"), id); len(in.MissingPhotos) != 1 || in.MissingPhotos[0] != sha {
		t.Fatalf("inspection missing photos %v; want the refused one", in.MissingPhotos)
	}
	if st := pendingOf(t, a); st.PendingPhotos != 1 {
		t.Fatalf("the device gave up the refused photo: %d pending", st.PendingPhotos)
	}
	rep = mustSync(t, a)
	if rep.PhotosUploaded != 1 {
		t.Fatalf("the next sync did not send the photo again: %+v", rep)
	}
	if b := readBlob(t, e.Blobs, sha); sha256Hex(b) != sha {
		t.Fatal("stored blob does not hash to its name")
	}
}

// bombPNG is a valid 1×1-pixel PNG stream whose header claims
// 200,000×200,000 pixels (120 GB decoded).
func bombPNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 200_000)
	binary.BigEndian.PutUint32(ihdr[4:], 200_000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte{0, 255, 0, 0}) // one row: filter byte and one red pixel
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// TestPhoto_PixelBombRefused: a PNG claiming 200,000×200,000 pixels is
// refused by the device at import with the server's reason (the device
// runs the server's content checks), so nothing reaches the server and
// nothing waits on the device.
func TestPhoto_PixelBombRefused(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	a := e.newDevice(admin, "inspector1")
	mustSync(t, a)
	p := filepath.Join(t.TempDir(), "bomb.png")
	bomb := bombPNG()
	if err := os.WriteFile(p, bomb, 0o644); err != nil {
		t.Fatal(err)
	}
	sha := sha256Hex(bomb)
	_, err := a.ImportPhoto(context.Background(), p, time.Now())
	if schema.ErrorCode(err) != schema.CodeTooLarge || !strings.Contains(err.Error(), "200000") {
		t.Fatalf("import of a pixel bomb: %v; want too_large naming its size", err)
	}
	if _, err := e.Blobs.Stat(context.Background(), sha); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("blob store holds the pixel bomb: %v", err)
	}
	if st, err := a.Status(context.Background()); err != nil || st.PendingPhotos != 0 {
		t.Fatalf("status %+v, %v: nothing pending", st, err)
	}
}

// TestPhoto_InspectionListsPhotos: the leader's inspection lists each
// item's photos with their metadata, marks those not yet received and
// names them as missing until they arrive.
func TestPhoto_InspectionListsPhotos(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	mustSync(t, a)
	ctx := context.Background()
	dir := t.TempDir()
	p1, sha1 := writePhoto(t, dir, 120_000, 31)
	p2, sha2 := writePhoto(t, dir, 60_000, 32)
	id := recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p1}, nil)
	// The second photo is placed by hand (no GPS in the file).
	in, _ := a.Inspection(ctx, id)
	ref, err := a.ImportPhoto(ctx, p2, in.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 35.0612, 118.3425
	ref.Lat, ref.Lng = &lat, &lng
	if err := a.AttachPhotos(ctx, id, "NC12", ref); err != nil {
		t.Fatal(err)
	}

	net.noUploads.Store(true)
	if _, err := a.Sync(ctx); !errors.Is(err, mobilesync.ErrUnreachable) {
		t.Fatalf("sync with uploads failing: %v", err)
	}
	leader := e.login("leader1")
	var raw struct {
		Items []struct {
			ItemID string                       `json:"item_id"`
			Photos []map[string]json.RawMessage `json:"photos"`
		} `json:"items"`
		MissingPhotos  []string `json:"missing_photos"`
		PhotosComplete *bool    `json:"photos_complete"`
	}
	if st := leader.call("GET", schema.PathInspections+"/"+id, nil, &raw); st != 200 {
		t.Fatalf("GET inspection: HTTP %d", st)
	}
	if raw.PhotosComplete == nil || *raw.PhotosComplete || len(raw.MissingPhotos) != 2 {
		t.Fatalf("before the photos arrive: complete %v, missing %v; want incomplete with both missing", raw.PhotosComplete, raw.MissingPhotos)
	}
	dev := deviceID(t, a)
	seen := map[string]bool{}
	for _, it := range raw.Items {
		for _, ph := range it.Photos {
			for _, k := range []string{"sha256", "size", "media_type", "captured_at", "lat", "lng", "device_id", "received"} {
				if _, ok := ph[k]; !ok {
					t.Fatalf("item %s photo JSON lacks %q: %v", it.ItemID, k, ph)
				}
			}
			var sha, dv, captured string
			var received bool
			json.Unmarshal(ph["sha256"], &sha)
			json.Unmarshal(ph["device_id"], &dv)
			json.Unmarshal(ph["captured_at"], &captured)
			json.Unmarshal(ph["received"], &received)
			if received || dv != dev {
				t.Fatalf("photo %s: received %v device %q before upload", sha, received, dv)
			}
			if _, err := time.Parse(time.RFC3339, captured); err != nil || !(strings.HasSuffix(captured, "Z") || strings.Contains(captured[10:], "+") || strings.Contains(captured[10:], "-")) {
				t.Fatalf("captured_at %q is not RFC 3339 with an offset", captured)
			}
			switch {
			case it.ItemID == "NC03" && sha == sha1:
				if string(ph["lat"]) != "null" || string(ph["lng"]) != "null" {
					t.Fatalf("photo without position: lat %s lng %s; want null", ph["lat"], ph["lng"])
				}
			case it.ItemID == "NC12" && sha == sha2:
				if string(ph["lat"]) != "35.0612" || string(ph["lng"]) != "118.3425" {
					t.Fatalf("photo with position: lat %s lng %s", ph["lat"], ph["lng"])
				}
			default:
				t.Fatalf("unexpected photo %s on item %s", sha, it.ItemID)
			}
			seen[sha] = true
		}
	}
	if len(seen) != 2 {
		t.Fatalf("the inspection lists %d photos; want 2", len(seen))
	}

	net.noUploads.Store(false)
	mustSync(t, a)
	got := getInspection(t, leader, id)
	if got.PhotosComplete == nil || !*got.PhotosComplete || len(got.MissingPhotos) != 0 {
		t.Fatalf("after upload: complete %v missing %v", got.PhotosComplete, got.MissingPhotos)
	}
	for _, it := range got.Items {
		for _, ph := range it.Photos {
			if !ph.Received {
				t.Fatalf("photo %s not received after upload", ph.SHA256)
			}
		}
	}
}

// uploadAs sends HEAD and PATCH of an upload with d's token.
func uploadAs(t *testing.T, d *mobilesync.Device, sha string, body []byte) (head, patch int) {
	t.Helper()
	ctx := context.Background()
	req, err := d.NewRequest(ctx, http.MethodHead, schema.PathUploads+"/"+sha, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	head = resp.StatusCode
	req, err = d.NewRequest(ctx, http.MethodPatch, schema.PathUploads+"/"+sha, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", schema.ContentTypeUpload)
	req.Header.Set(schema.HeaderUploadOffset, "0")
	req.Header.Set(schema.HeaderUploadLength, strconv.Itoa(len(body)))
	resp, err = d.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return head, resp.StatusCode
}

// TestPhoto_AccessControl: only a device whose inspection names a hash
// may upload it; a leader of another squad, or a device that never named
// it, gets 404 for the photo; the owning squad's leader reads it with an
// ETag and byte ranges.
func TestPhoto_AccessControl(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	net := newFaultNet(t)
	a := e.newDevice(admin, "inspector1", net.opts())
	b := e.newDevice(admin, "inspector2")
	c := e.newDevice(admin, "inspector3")
	for _, d := range []*mobilesync.Device{a, b, c} {
		mustSync(t, d)
	}
	dir := t.TempDir()
	p, sha := writePhoto(t, dir, 150_000, 41)
	photo, _ := os.ReadFile(p)
	_, stray := writePhoto(t, dir, 10_000, 42)
	recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p}, nil)
	net.noUploads.Store(true)
	a.Sync(context.Background()) // the record goes up, the photo does not

	for name, d := range map[string]*mobilesync.Device{"same squad, not named": b, "other squad": c} {
		if head, patch := uploadAs(t, d, sha, photo); (head != 404 && head != 403) || (patch != 404 && patch != 403) {
			t.Fatalf("%s device uploads another's photo: HEAD %d PATCH %d; want 403/404", name, head, patch)
		}
	}
	if n := e.countRows(`SELECT count(*) FROM photos`); n != 0 {
		t.Fatalf("%d photos stored by devices that may not upload them", n)
	}
	net.noUploads.Store(false)
	if rep := mustSync(t, a); rep.PhotosUploaded != 1 {
		t.Fatalf("owner's upload: %+v", rep)
	}
	if head, patch := uploadAs(t, a, stray, loadtest.JPEG(10_000, 42)); (head != 404 && head != 403) || (patch != 404 && patch != 403) {
		t.Fatalf("device uploads a photo no inspection names: HEAD %d PATCH %d", head, patch)
	}
	if n := e.countRows(`SELECT count(*) FROM photos`); n != 1 {
		t.Fatalf("%d photos stored; want only the named one", n)
	}

	leader1, leader2 := e.login("leader1"), e.login("leader2")
	for _, path := range []string{schema.PathPhotos + "/" + sha, schema.PathPhotos + "/" + sha + "/thumb"} {
		if resp, _ := leader2.rawGet("GET", path, nil); resp.StatusCode != 404 {
			t.Fatalf("leader of another squad: GET %s: HTTP %d; want 404", path, resp.StatusCode)
		}
		if st, _ := deviceCall(t, c, "GET", path, nil); st != 404 && st != 403 {
			t.Fatalf("device of another squad: GET %s: HTTP %d", path, st)
		}
	}
	if resp, _ := leader2.rawGet("HEAD", schema.PathPhotos+"/"+sha, nil); resp.StatusCode != 404 {
		t.Fatalf("leader of another squad: HEAD photo: HTTP %d; want 404", resp.StatusCode)
	}

	resp, body := leader1.rawGet("GET", schema.PathPhotos+"/"+sha, nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !bytes.Equal(body, photo) || etag == "" || !strings.Contains(etag, sha) {
		t.Fatalf("leader GET photo: HTTP %d, %d bytes, ETag %q", resp.StatusCode, len(body), etag)
	}
	if resp, _ := leader1.rawGet("GET", schema.PathPhotos+"/"+sha, map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
		t.Fatalf("GET with If-None-Match: HTTP %d; want 304", resp.StatusCode)
	}
	resp, body = leader1.rawGet("GET", schema.PathPhotos+"/"+sha, map[string]string{"Range": "bytes=1000-1999"})
	if resp.StatusCode != 206 || !bytes.Equal(body, photo[1000:2000]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(photo)) {
		t.Fatalf("range GET: HTTP %d, %d bytes, Content-Range %q", resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
	}
	// A range outside the photo answers 416 with the API's JSON error, like
	// every other error, and says how long the photo is.
	resp, body = leader1.rawGet("GET", schema.PathPhotos+"/"+sha, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(photo)+10)})
	var eb schema.ErrorBody
	if resp.StatusCode != 416 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &eb) != nil ||
		eb.Error.Code != schema.CodeInvalid || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(photo)) || resp.Header.Get("ETag") != "" {
		t.Fatalf("range outside the photo: HTTP %d, %s, Content-Range %q, ETag %q, body %q; want 416 with a JSON error",
			resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Range"), resp.Header.Get("ETag"), body)
	}
	resp, body = leader1.rawGet("GET", schema.PathPhotos+"/"+sha+"/thumb", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || len(body) == 0 || bytes.Equal(body, photo) {
		t.Fatalf("thumbnail: HTTP %d, %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp, _ := admin.rawGet("GET", schema.PathPhotos+"/"+sha, nil); resp.StatusCode != 200 {
		t.Fatalf("admin GET photo: HTTP %d", resp.StatusCode)
	}
}

// TestPhoto_CLIStatusCountsPending: `patrol status --json` counts the
// photos and bytes waiting for upload before a sync, and none after.
func TestPhoto_CLIStatusCountsPending(t *testing.T) {
	_, patrol := binaries(t)
	e := newEnv(t)
	admin := e.login("admin")
	db := filepath.Join(t.TempDir(), "field.db")
	a := e.newDevice(admin, "inspector1", func(o *mobilesync.Options) { o.Path = db })
	mustSync(t, a)
	dir := t.TempDir()
	p1, _ := writePhoto(t, dir, 80_000, 51)
	p2, _ := writePhoto(t, dir, 40_000, 52)
	recordWithPhotos(t, a, nthVenue(t, a, schema.KindNetCafe, 0).ID, []string{p1}, []string{p2, p1})

	status := func() map[string]any {
		t.Helper()
		out, err := exec.Command(patrol, "--db", db, "status", "--json").Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("patrol status --json: %v\n%s", err, ee.Stderr)
			}
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("status --json printed %q: %v", out, err)
		}
		return m
	}
	st := status()
	for _, k := range []string{"pending_mutations", "pending_photos", "last_sync", "clock_offset_ms"} {
		if _, ok := st[k]; !ok {
			t.Fatalf("status --json lacks %q: %v", k, st)
		}
	}
	if st["pending_photos"] != float64(2) || st["pending_photo_bytes"] != float64(120_000) || st["pending_mutations"] != float64(1) {
		t.Fatalf("status before sync: %v; want 2 photos, 120000 bytes, 1 mutation", st)
	}
	mustSync(t, a)
	if st := status(); st["pending_photos"] != float64(0) || st["pending_photo_bytes"] != float64(0) || st["pending_mutations"] != float64(0) {
		t.Fatalf("status after sync: %v; want nothing pending", st)
	}
}

func TestPhoto_SyncReportsUploadProgress(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin")
	var mu sync.Mutex
	var events []mobilesync.PhotoProgress
	d := e.newDevice(admin, "inspector1", func(o *mobilesync.Options) {
		o.Progress = func(p mobilesync.PhotoProgress) {
			mu.Lock()
			events = append(events, p)
			mu.Unlock()
		}
	})
	mustSync(t, d)
	dir := t.TempDir()
	var size int64
	for n := int64(1); n <= 2; n++ {
		if _, err := recordOne(context.Background(), d, firstVenue(t, d, schema.KindNetCafe).ID, dir, 100+n); err != nil {
			t.Fatal(err)
		}
		size += int64(300_000 + int((100+n)%7)*1000)
	}
	if rep := mustSync(t, d); rep.PhotosUploaded != 2 {
		t.Fatalf("uploaded %d photos", rep.PhotosUploaded)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) < 2 {
		t.Fatalf("%d progress events", len(events))
	}
	last := events[len(events)-1]
	if last.File != 2 || last.Files != 2 || last.Bytes != size || last.TotalBytes != size {
		t.Fatalf("last progress %+v; want file 2 of 2, %d of %d bytes", last, size, size)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Bytes < events[i-1].Bytes {
			t.Fatalf("progress went backwards: %+v then %+v", events[i-1], events[i])
		}
	}
}
