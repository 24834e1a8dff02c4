package mobilesync_test

import (
	"context"
	"strings"
	"testing"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// partyInput is the person in charge as the officers type them in.
var partyInput = mobilesync.RecordInput{Party: schema.Party{Name: "王五", Role: "店长", IDType: schema.IDTypeResident, IDLast: "123x"},
	IDsShown: true, Remarks: "营业中，吧台有登记簿"}

// recordedInspection answers every item of an inspection of venue1 by
// inspector1 and inspector2 and fills in its on-site record.
func recordedInspection(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	mustSync(t, e.dev)
	id := completeInspection(t, e.dev, venue1, "inspector2")
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "未成年人在场"); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.SetRecord(ctx, id, partyInput); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRecord_SignSubmitServerHoldsIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := recordedInspection(t, e)
	in, _ := e.dev.Inspection(ctx, id)
	r := in.Record
	if r == nil || !strings.HasPrefix(r.Number, "现检〔2026〕JX-0001-1号") || r.VenueName == "" || r.Party.IDLast != "123X" || r.Signing != nil {
		t.Fatalf("record %+v", r)
	}
	// Unsigned: Submit says what to do.
	if err := e.dev.Submit(ctx, id); schema.ErrorCode(err) != schema.CodeInvalid || !strings.Contains(err.Error(), "patrol record sign") {
		t.Fatalf("submit unsigned: %v", err)
	}
	pic, sha := writePNG(t, 9)
	if err := e.dev.SignRecord(ctx, id, pic); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.SetRecord(ctx, id, partyInput); schema.ErrorCode(err) != schema.CodeSealed {
		t.Fatalf("set after signing: %v", err)
	}
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, e.dev)
	if rep.PhotosUploaded != 1 {
		t.Fatalf("sync %+v: the signature uploads with the photo queue", rep)
	}
	srv, err := e.admin.Inspection(id)
	if err != nil {
		t.Fatal(err)
	}
	sr := srv.Record
	if sr == nil || sr.Signing == nil || sr.Signing.Signature == nil || sr.Signing.Signature.SHA256 != sha || !sr.Signing.Signature.Received ||
		sr.Number != r.Number || schema.RecordHash(srv) != sr.Signing.Hash || len(srv.Inspectors) != 2 {
		t.Fatalf("server record %+v", sr)
	}
	// The next record of the device has the next number.
	id2 := completeInspection(t, e.dev, venue2, "inspector2")
	if err := e.dev.SetRecord(ctx, id2, partyInput); err != nil {
		t.Fatal(err)
	}
	in2, _ := e.dev.Inspection(ctx, id2)
	if !strings.HasSuffix(in2.Record.Number, "-2号") {
		t.Fatalf("second number %s", in2.Record.Number)
	}
}

func TestRecord_RefusalCarriesReasonAndWitness(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := recordedInspection(t, e)
	if err := e.dev.RefuseRecord(ctx, id, "拒绝签字", schema.Witness{}); schema.ErrorCode(err) != schema.CodeInvalid || !strings.Contains(err.Error(), "witness") {
		t.Fatalf("refusal without a witness: %v", err)
	}
	if err := e.dev.RefuseRecord(ctx, id, "当事人拒绝签字", schema.Witness{Name: "李娜", Relation: "社区网格员", IDLast: "0042"}); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	srv, err := e.admin.Inspection(id)
	if err != nil {
		t.Fatal(err)
	}
	s := srv.Record.Signing
	if s == nil || s.Signature != nil || s.Refused == nil || s.Refused.Reason != "当事人拒绝签字" || s.Refused.Witness.Name != "李娜" ||
		s.Refused.Witness.Relation != "社区网格员" || s.Hash != schema.RecordHash(srv) {
		t.Fatalf("server signing %+v", s)
	}
}

// TestRecord_EditAfterSigningIsAnAmendment: editing a signed record on
// the device, offline, yields an amendment and never a changed original;
// the server takes it and the original still hashes to the seal.
func TestRecord_EditAfterSigningIsAnAmendment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := recordedInspection(t, e)
	pic, _ := writePNG(t, 9)
	if err := e.dev.SignRecord(ctx, id, pic); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	signed, _ := e.dev.Inspection(ctx, id)
	seal := signed.Record.Signing.Hash

	// Offline: an answer and a photo change after signing.
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "未成年人在场（两名）"); err != nil {
		t.Fatal(err)
	}
	evidence, _ := writePNG(t, 11)
	if err := e.dev.AttachPhotoFiles(ctx, id, "NC03", evidence); err != nil {
		t.Fatal(err)
	}
	got, _ := e.dev.Inspection(ctx, id)
	ams := got.Record.Amendments
	if len(ams) != 1 || len(ams[0].Changes) != 1 || ams[0].Changes[0].Before.Note != "未成年人在场" || len(ams[0].Changes[0].After.Photos) != 1 ||
		ams[0].Signing != nil || ams[0].Prev != seal {
		t.Fatalf("amendment %+v", ams)
	}
	orig, err := schema.OriginalItems(got)
	if err != nil || schema.RecordHash(got) != seal || got.Record.Signing.Hash != seal {
		t.Fatalf("original %v, hash %s, seal %s", err, schema.RecordHash(got), seal)
	}
	for _, it := range orig {
		if it.ItemID == "NC03" && (it.Note != "未成年人在场" || len(it.Photos) != 0) {
			t.Fatalf("original NC03 changed: %+v", it)
		}
	}
	// Held until signed: nothing goes to the server yet, Submit says why.
	if n := pending(t, e.dev); n != 0 {
		t.Fatalf("%d mutations queued for an unsigned amendment", n)
	}
	if err := e.dev.Submit(ctx, id); schema.ErrorCode(err) != schema.CodeInvalid || !strings.Contains(err.Error(), "amendment 1") {
		t.Fatalf("submit with an unsigned amendment: %v", err)
	}
	if err := e.dev.RefuseAmendment(ctx, id, "已离开", schema.Witness{Name: "赵六"}); schema.ErrorCode(err) != schema.CodeInvalid || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("signing without a reason: %v", err)
	}
	if err := e.dev.AmendmentReason(ctx, id, "补记在场人数"); err != nil {
		t.Fatal(err)
	}
	sig2, _ := writePNG(t, 13)
	if err := e.dev.SignAmendment(ctx, id, sig2); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, e.dev); n != 1 {
		t.Fatalf("%d mutations queued after the amendment was signed", n)
	}
	mustSync(t, e.dev)
	srv, err := e.admin.Inspection(id)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Version != 2 || len(srv.Record.Amendments) != 1 || srv.Record.Amendments[0].Signing == nil || schema.RecordHash(srv) != seal ||
		srv.Record.Amendments[0].Signing.Signature == nil || !srv.Record.Amendments[0].Signing.Signature.Received {
		t.Fatalf("server: version %d, record %+v", srv.Version, srv.Record)
	}
	for _, it := range srv.Items {
		if it.ItemID == "NC03" && it.Note != "未成年人在场（两名）" {
			t.Fatalf("server NC03 %+v", it)
		}
	}
}

// TestRecord_WithoutRecordWorksAsBefore: an inspection without a record
// submits as it always did.
func TestRecord_WithoutRecordWorksAsBefore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustSync(t, e.dev)
	id := completeInspection(t, e.dev, venue1)
	if err := e.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.SetItem(ctx, id, "NC03", schema.ResultFail, "amended"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e.dev)
	srv, err := e.admin.Inspection(id)
	if err != nil || srv.Record != nil {
		t.Fatalf("server %+v, %v", srv.Record, err)
	}
}

// A second device of the same inspector numbers its records past those
// the first one sent: the server tells it the badge's count at enrolment,
// so a sealed number is never taken twice.
func TestRecord_SecondDeviceContinuesTheBadgesCount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for range 2 {
		id := recordedInspection(t, e)
		pic, _ := writePNG(t, 11)
		if err := e.dev.SignRecord(ctx, id, pic); err != nil {
			t.Fatal(err)
		}
		if err := e.dev.Submit(ctx, id); err != nil {
			t.Fatal(err)
		}
		mustSync(t, e.dev)
	}
	other := newEnvOn(t, e.srv, e.clock)
	id := recordedInspection(t, other)
	in, _ := other.dev.Inspection(ctx, id)
	if !strings.HasSuffix(in.Record.Number, "JX-0001-3号") {
		t.Fatalf("the second device numbers its first record %s; want the badge's third", in.Record.Number)
	}
	pic, _ := writePNG(t, 12)
	if err := other.dev.SignRecord(ctx, id, pic); err != nil {
		t.Fatal(err)
	}
	if err := other.dev.Submit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, other.dev); rep.Rejected != 0 {
		t.Fatalf("the second device's record was refused: %+v", rep)
	}
}
