package mobilesync_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/servertest"
)

// bombPNG is a PNG header claiming w×h pixels: all the checks read.
func bombPNG(w, h uint32) []byte {
	ihdr := []byte("\x00\x00\x00\x0dIHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	ihdr = binary.BigEndian.AppendUint32(ihdr, crc32.ChecksumIEEE(ihdr[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), ihdr...)
}

// noisyPNG writes a w×w PNG of noise (it does not compress) and returns
// its path and hash.
func noisyPNG(t *testing.T, w int) (string, string) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, w))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "noise.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return p, hex.EncodeToString(sum[:])
}

// recordWith records a full inspection of venue1 whose item NC12 has the
// photo at pic.
func recordWith(ctx context.Context, d *mobilesync.Device, pic string) (string, error) {
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	in := mobilesync.InspectionInput{VenueID: venue1}
	for _, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == "NC12" {
			item.Result, item.Photos = schema.ResultFail, []string{pic}
		}
		in.Items = append(in.Items, item)
	}
	return d.RecordInspection(ctx, in)
}

// TestImportPhoto_RefusesWhatTheServerWouldRefuse: at import the device
// runs the server's content checks, so a photo that could never be
// evidence is refused with its reason and never becomes pending.
func TestImportPhoto_RefusesWhatTheServerWouldRefuse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	cases := []struct {
		name string
		data []byte
		code schema.Code
		says string
	}{
		{"pixel bomb", bombPNG(200_000, 200_000), schema.CodeTooLarge, "megapixels"},
		{"header cut short", bombPNG(30, 20)[:20], schema.CodeUnsupportedMedia, "header cannot be read"},
		{"not an image", []byte("%PDF-1.7\n"), schema.CodeUnsupportedMedia, "PDF"},
		{"over the size limit", append(bombPNG(30, 20), make([]byte, schema.DefaultMaxPhotoSize)...), schema.CodeTooLarge, "MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "photo.png")
			if err := os.WriteFile(p, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := recordWith(ctx, e.dev, p)
			if schema.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "never accept") {
				t.Fatalf("err = %v; want %s naming %q", err, c.code, c.says)
			}
			st, err := e.dev.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.PendingPhotos != 0 || st.PendingMutations != 0 {
				t.Errorf("status %+v: nothing may be pending", st)
			}
		})
	}
}

// TestUploadPhotos_RefusedForGoodLeavesPending: a photo the server
// answers with a permanent refusal (here too_large, from a server whose
// limit is below the device's) leaves the pending count, is listed in the
// answers with the server's reason, and is not sent again; a photo the
// server takes still goes.
func TestUploadPhotos_RefusedForGoodLeavesPending(t *testing.T) {
	clock := &testClock{t: serverNow}
	small, _ := writePNG(t, 5)
	info, err := os.Stat(small)
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Options{Now: clock.Now, Config: func(c *server.Config) { c.MaxPhotoBytes = info.Size() + 10 }})
	e := newEnvOn(t, srv, clock)
	ctx := context.Background()
	mustSync(t, e.dev)
	big, bigSHA := noisyPNG(t, 64)
	cases := []struct {
		name     string
		pic      string
		uploaded int
	}{
		{"within the server's limit", small, 1},
		{"over the server's limit", big, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := recordWith(ctx, e.dev, c.pic); err != nil {
				t.Fatal(err)
			}
			rep := mustSync(t, e.dev)
			if rep.PhotosUploaded != c.uploaded {
				t.Errorf("sync %+v; want %d uploaded", rep, c.uploaded)
			}
			st, err := e.dev.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.PendingPhotos != 0 || st.PendingPhotoBytes != 0 {
				t.Errorf("status %+v: a refused photo must not stay pending", st)
			}
		})
	}
	as, err := e.dev.Answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *mobilesync.Answer
	for i := range as {
		if as[i].EntityID == bigSHA {
			found = &as[i]
		}
	}
	if len(as) != 1 || found == nil || found.Outcome != mobilesync.AnswerPhotoRefused || found.Code != string(schema.CodeTooLarge) || found.Kind != "photo.upload" ||
		!strings.Contains(found.Reason, "MiB") {
		t.Fatalf("answers %+v; want the refused photo with the server's too_large reason", as)
	}
	// Not sent again: the next sync uploads nothing.
	if rep := mustSync(t, e.dev); rep.PhotosUploaded != 0 || rep.PhotoBytes != 0 {
		t.Errorf("sync after the refusal %+v", rep)
	}
	var attempts int
	if err := e.dev.DB().R.QueryRow(`SELECT attempts FROM photo_uploads WHERE sha256 = ?`, bigSHA).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 {
		t.Errorf("the refused photo was tried %d times, want 1", attempts)
	}
	if _, err := os.Stat(filepath.Join(e.dev.PhotoDir(), bigSHA)); err != nil {
		t.Errorf("the refused photo's bytes are gone from the device: %v", err)
	}
}
