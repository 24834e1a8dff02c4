package mobilesync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// writePNG writes a small PNG and returns its path and SHA-256.
func writePNG(t *testing.T, w int) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "evidence.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewGray(image.Rect(0, 0, w, 3))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(p)
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func TestRecordInspection_WithPhotosOneTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	pic, sha := writePNG(t, 5)
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	in := mobilesync.InspectionInput{VenueID: venue1, CoInspectors: []string{"inspector2"}}
	for _, it := range cl.Items {
		item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
		if it.ID == "NC12" {
			item.Result, item.Note, item.Photos = schema.ResultFail, "rear exit chained", []string{pic}
		}
		in.Items = append(in.Items, item)
	}
	id, err := e.dev.RecordInspection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(pic) // the gallery copy may go; the device keeps its own
	got, err := e.dev.Inspection(ctx, id)
	if err != nil || got.Status != schema.StatusSubmitted {
		t.Fatalf("inspection %+v, %v", got, err)
	}
	ph := got.Items[11].Photos
	if len(ph) != 1 || ph[0].SHA256 != sha || ph[0].MediaType != "image/png" || ph[0].Size <= 0 {
		t.Fatalf("photos of NC12: %+v", ph)
	}
	if b, err := os.ReadFile(filepath.Join(e.dev.PhotoDir(), sha)); err != nil || len(b) != int(ph[0].Size) {
		t.Fatalf("stored copy: %d bytes, %v", len(b), err)
	}
	st, _ := e.dev.Status(ctx)
	if st.PendingMutations != 1 || st.PendingPhotos != 1 || st.PendingPhotoBytes != ph[0].Size {
		t.Fatalf("status %+v", st)
	}

	// A second recording that fails half-way leaves nothing behind.
	in.Items[3].Result = "maybe"
	in.Items[11].Photos = nil
	if _, err := e.dev.RecordInspection(ctx, in); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("bad record: %v", err)
	}
	all, _ := e.dev.Inspections(ctx)
	if len(all) != 1 {
		t.Fatalf("%d inspections after a failed record", len(all))
	}
	if acked, _ := e.dev.Acknowledged(ctx); len(acked) != 0 {
		t.Fatalf("acknowledged before sync: %d", len(acked))
	}
}

func TestAttachPhotoFiles_NeedsAnswer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	pic, _ := writePNG(t, 7)
	id, err := e.dev.StartInspection(ctx, venue1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.AttachPhotoFiles(ctx, id, "NC03", pic); schema.ErrorCode(err) != schema.CodeInvalid {
		t.Fatalf("attach to unanswered item: %v", err)
	}
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "minor at PC 7"); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.AttachPhotoFiles(ctx, id, "NC03", pic, pic); err != nil {
		t.Fatal(err)
	}
	got, _ := e.dev.Inspection(ctx, id)
	if len(got.Items) != 1 || len(got.Items[0].Photos) != 1 || got.Items[0].Note != "minor at PC 7" {
		t.Fatalf("items %+v: one photo per hash, note kept", got.Items)
	}
}
