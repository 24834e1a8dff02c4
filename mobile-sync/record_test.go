package mobilesync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
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

// TestRecordInspection_ForgedCoInspectorsRefused: the device refuses, at
// record time, the records the server would refuse, with the rule the
// server applies and the members it pulled; nothing is queued.
func TestRecordInspection_ForgedCoInspectorsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	// A café found on patrol: a device may inspect it before any pull.
	v, err := e.dev.AddVenue(ctx, mobilesync.NewVenue{Name: "Back-alley net bar", Kind: schema.KindNetCafe, Lat: 35.05, Lng: 118.33})
	if err != nil {
		t.Fatal(err)
	}
	record := func(co ...string) (string, error) {
		in := mobilesync.InspectionInput{VenueID: v.ID, CoInspectors: co}
		for _, it := range cl.Items {
			in.Items = append(in.Items, mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass})
		}
		return e.dev.RecordInspection(ctx, in)
	}
	// Before the first pull the device knows no members and records nothing
	// it cannot check.
	if _, err := record("inspector2"); schema.ErrorCode(err) != schema.CodeForbidden || !strings.Contains(err.Error(), "sync once") {
		t.Fatalf("record before any pull: %v; want forbidden, sync once", err)
	}
	mustSync(t, e.dev)
	for _, c := range []struct {
		name   string
		co     []string
		code   schema.Code
		reason string
	}{
		{"an inspector of another squad", []string{"inspector3"}, schema.CodeForbidden, "inspector inspector3 is not an active inspector of squad 1; ask your leader (co-inspectors you may name: inspector2)"},
		{"the squad's leader", []string{"leader1"}, schema.CodeForbidden, "inspector leader1 is not an active inspector of squad 1"},
		{"the admin", []string{"admin"}, schema.CodeForbidden, "inspector admin is not an active inspector of squad 1"},
		{"a user that does not exist", []string{"nobody"}, schema.CodeForbidden, "inspector nobody is not an active inspector of squad 1"},
		{"the author again", []string{"inspector1"}, schema.CodeInvalid, "inspector inspector1 is named twice"},
		{"a colleague twice", []string{"inspector2", "Inspector2 "}, schema.CodeInvalid, "inspector inspector2 is named twice"},
	} {
		if _, err := record(c.co...); schema.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v (code %s); want %s saying %q", c.name, err, schema.ErrorCode(err), c.code, c.reason)
		}
	}
	if all, _ := e.dev.Inspections(ctx); len(all) != 0 {
		t.Fatalf("%d inspections kept after refused records", len(all))
	}
	if n := pending(t, e.dev); n != 0 {
		t.Fatalf("%d mutations queued after refused records; want none", n)
	}
	id, err := record(" Inspector2")
	if err != nil {
		t.Fatalf("the author and a colleague of the squad: %v", err)
	}
	got, _ := e.dev.Inspection(ctx, id)
	want := []schema.Inspector{{Username: "inspector1", Name: "Li Wei", BadgeNo: "JX-0001"}, {Username: "inspector2", Name: "Wang Fang", BadgeNo: "JX-0002"}}
	if len(got.Inspectors) != 2 || got.Inspectors[0] != want[0] || got.Inspectors[1] != want[1] {
		t.Fatalf("recorded inspectors %+v; want %+v", got.Inspectors, want)
	}
	if rep := mustSync(t, e.dev); rep.Pushed != 1 || rep.Rejected != 0 {
		t.Fatalf("sync of the legitimate record: %+v", rep)
	}
}
