package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// The on-site record: a push carries it sealed; the store keeps it as it
// was signed, refuses a version that changes the original, takes
// amendments, audits signings and amendments once, and keeps signature
// images as evidence like photos.
var recordCases = []contractCase{
	withEnv("SealedOriginalIsRefusedAmendmentTaken", testRecordSealed),
	withEnv("RefusalCarriesReasonAndWitness", testRecordRefused),
	withEnv("NumberNamesOneInspection", testRecordNumberTaken),
}

// sealedRecord gives in (an inspection of d's) an on-site record with
// number n, signed with the signature image sig (refused when sig is "").
func (d *device) sealedRecord(in *schema.Inspection, n int, sig string) {
	for i := range in.Inspectors {
		u := d.e.users[in.Inspectors[i].Username]
		in.Inspectors[i].Name, in.Inspectors[i].BadgeNo = u.DisplayName, u.BadgeNo
	}
	in.Record = &schema.OnSiteRecord{Number: schema.RecordNumber(in.StartedAt, d.user.BadgeNo, n), VenueName: "星空网吧", Address: "人民路1号",
		LicenceNo: "L-1", Party: schema.Party{Name: "王五", Role: "店长", IDType: schema.IDTypeResident, IDLast: "123X"}, IDsShown: true}
	s := schema.Signing{At: in.FinishedAt.Add(time.Minute)}
	if sig != "" {
		s.Signature = &schema.PhotoRef{SHA256: sig, Size: 321, MediaType: "image/png", CapturedAt: s.At, DeviceID: d.id}
	} else {
		s.Refused = &schema.SignRefusal{Reason: "拒绝签字", Witness: schema.Witness{Name: "社区网格员", Relation: "网格员"}}
	}
	schema.SealRecord(in, s)
}

// recordAudit counts the record entries of inspection id by action.
func (e *env) recordAudit(id string) map[string]int {
	e.t.Helper()
	n := map[string]int{}
	for _, a := range e.auditEntries(store.AuditFilter{EntityKind: schema.AuditInspection, EntityID: id}) {
		if strings.HasPrefix(a.Action, "record_") {
			n[a.Action]++
		}
	}
	return n
}

func (e *env) inspectionOf(id string) schema.Inspection {
	e.t.Helper()
	got, err := e.s.Inspection(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Inspection %s: %v", id, err)
	}
	return got
}

func testRecordSealed(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	sig := sha("signature of 王五")
	in := d.inspection(e.venues["v1a"].ID)
	in.Items[3].Result, in.Items[3].Note = schema.ResultFail, "未成年人在场"
	d.sealedRecord(in, 1, sig)
	seal := in.Record.Signing.Hash
	d.mustApply(d.upsert(in))

	got := e.inspectionOf(in.ID)
	if got.Record == nil || got.Record.Number != in.Record.Number || got.Record.Signing == nil || got.Record.Signing.Hash != seal ||
		schema.RecordHash(got) != seal || got.Record.Signing.Signature == nil || got.Record.Signing.Signature.Received {
		t.Fatalf("stored record %+v", got.Record)
	}
	if !slices.Contains(got.MissingPhotos, sig) || *got.PhotosComplete {
		t.Fatalf("the signature is evidence awaited: missing %v", got.MissingPhotos)
	}
	// The signature arrives like a photo: proven, readable by the squad.
	if err := e.s.RecordPhoto(e.ctx, store.Photo{SHA256: sig, Size: 321, MediaType: "image/png", ReceivedAt: e.clock.Now()}, d.uploader()); err != nil {
		t.Fatal(err)
	}
	got = e.inspectionOf(in.ID)
	if !got.Record.Signing.Signature.Received || slices.Contains(got.MissingPhotos, sig) {
		t.Fatalf("after upload: signature %+v, missing %v", got.Record.Signing.Signature, got.MissingPhotos)
	}
	if squads, err := e.s.SquadsReferencingPhoto(e.ctx, sig); err != nil || !slices.Equal(squads, []int64{1}) {
		t.Fatalf("squads of the signature %v, %v", squads, err)
	}
	if claim, err := e.s.DevicePhotoClaim(e.ctx, d.id, d.user.ID, sig); err != nil || claim != schema.ClaimProven {
		t.Fatalf("the device's claim %q, %v", claim, err)
	}

	// A raw push that alters the sealed original, even resealed: refused.
	forged := clone(in)
	forged.Items[3].Note = "无异常"
	forged.Items[3].Result = schema.ResultPass
	schema.SealRecord(forged, *in.Record.Signing)
	res := d.push(d.upsert(forged))
	if res[0].Outcome != schema.OutcomeRejected || res[0].Code != schema.CodeSealed || !strings.Contains(res[0].Reason, "must be an amendment") {
		t.Fatalf("changed original: %+v", res[0])
	}
	kept := e.inspectionOf(in.ID)
	if kept.Items[3].Note != "未成年人在场" || kept.Record.Signing.Hash != seal || kept.Version != 1 {
		t.Fatalf("the stored record changed: %+v", kept.Items[3])
	}

	// An amendment is accepted; the original still hashes to the seal.
	a := schema.OpenAmendment(in, in.FinishedAt.Add(time.Hour))
	before := in.Items[3]
	in.Items[3].Note = "未成年人在场（两名）"
	a.ChangeItem(before, in.Items[3])
	a.Reason = "补记人数"
	schema.SealAmendment(a, schema.Signing{At: a.At, Refused: &schema.SignRefusal{Reason: "已离开", Witness: schema.Witness{Name: "赵六"}}})
	m := d.upsert(in)
	d.mustApply(m)
	got = e.inspectionOf(in.ID)
	if len(got.Record.Amendments) != 1 || got.Items[3].Note != "未成年人在场（两名）" || schema.RecordHash(got) != seal {
		t.Fatalf("amended: items %+v, amendments %+v", got.Items[3], got.Record.Amendments)
	}
	orig, err := schema.OriginalItems(got)
	if err != nil || orig[3].Note != "未成年人在场" {
		t.Fatalf("original %+v, %v", orig[3], err)
	}
	// Dropping the amendment again is a change of the record.
	if res := d.push(d.upsert(forgedWithout(in))); res[0].Code != schema.CodeSealed {
		t.Fatalf("an amendment dropped: %+v", res[0])
	}
	// A replay changes nothing and audits nothing twice.
	if res := d.push(m); res[0].Outcome != schema.OutcomeDuplicate {
		t.Fatalf("replay: %+v", res[0])
	}
	if n := e.recordAudit(in.ID); n[schema.AuditRecordSigned] != 1 || n[schema.AuditRecordAmended] != 1 || n[schema.AuditRecordRefused] != 0 {
		t.Fatalf("record audit %v", n)
	}
	// The versions keep the record as each was pushed.
	vs, err := e.s.InspectionVersions(e.ctx, in.ID)
	if err != nil || len(vs) != 2 || vs[0].Record.Record == nil || vs[0].Record.Record.Signing.Hash != seal || len(vs[1].Record.Record.Amendments) != 1 {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	e.verifyAudit()
}

// forgedWithout is in as signed, without its amendments: valid on its
// own, but not what the server holds.
func forgedWithout(in *schema.Inspection) *schema.Inspection {
	f := clone(in)
	f.Items, _ = schema.OriginalItems(*in)
	f.Record.Amendments = nil
	return f
}

func testRecordRefused(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	in := d.inspection(e.venues["v1a"].ID)
	d.sealedRecord(in, 2, "")
	d.mustApply(d.upsert(in))
	got := e.inspectionOf(in.ID)
	r := got.Record
	if r == nil || r.Signing == nil || r.Signing.Signature != nil || r.Signing.Refused == nil || r.Signing.Refused.Reason != "拒绝签字" ||
		r.Signing.Refused.Witness.Name != "社区网格员" || r.Party.Name != "王五" || !r.IDsShown {
		t.Fatalf("refused record %+v", r)
	}
	if n := e.recordAudit(in.ID); n[schema.AuditRecordRefused] != 1 || n[schema.AuditRecordSigned] != 0 {
		t.Fatalf("record audit %v", n)
	}
	// Without a witness the refusal is no refusal: rejected as invalid.
	bad := d.inspection(e.venues["v1a"].ID)
	d.sealedRecord(bad, 3, "")
	bad.Record.Signing.Refused.Witness.Name = ""
	if res := d.push(d.upsert(bad)); res[0].Outcome != schema.OutcomeRejected || res[0].Code != schema.CodeInvalid || !strings.Contains(res[0].Reason, "witness") {
		t.Fatalf("refusal without a witness: %+v", res[0])
	}
	// A record is evidence of who was there: a badge the server does not
	// know for the officer is refused.
	forged := d.inspection(e.venues["v1a"].ID)
	d.sealedRecord(forged, 4, "")
	forged.Inspectors[1].BadgeNo = "B-somebody"
	schema.SealRecord(forged, *forged.Record.Signing)
	if res := d.push(d.upsert(forged)); res[0].Outcome != schema.OutcomeRejected || res[0].Code != schema.CodeInvalid ||
		!strings.Contains(res[0].Reason, "the server knows badge") {
		t.Fatalf("forged badge: %+v", res[0])
	}
}

func testRecordNumberTaken(t *testing.T, e *env) {
	d := e.enroll("insp1a")
	first, second, third := d.inspection(e.venues["v1a"].ID), d.inspection(e.venues["v1b"].ID), d.inspection(e.venues["v1b"].ID)
	d.sealedRecord(first, 5, "")
	d.sealedRecord(second, 5, "")
	d.sealedRecord(third, 6, "")
	// In one push and across pushes: the number names one inspection.
	res := d.push(d.upsert(first), d.upsert(second))
	if res[0].Outcome != schema.OutcomeApplied || res[1].Outcome != schema.OutcomeRejected || res[1].Code != schema.CodeInvalid ||
		!strings.Contains(res[1].Reason, "taken") {
		t.Fatalf("answers %+v", res)
	}
	if res := d.push(d.upsert(second)); res[0].Outcome != schema.OutcomeRejected || !strings.Contains(res[0].Reason, "taken") {
		t.Fatalf("later: %+v", res[0])
	}
	d.mustApply(d.upsert(third))
	// The same inspection again keeps its number.
	d.mustApply(d.upsert(first))

	// A new device of the officer learns the badge's count at enrolment,
	// so that it numbers past what the store holds; another officer's
	// count is their own.
	if got := e.enroll("insp1a"); got.recordCount != 6 {
		t.Fatalf("a second device of insp1a enrols with record count %d; want 6", got.recordCount)
	}
	if got := e.enroll("insp1b"); got.recordCount != 0 {
		t.Fatalf("insp1b's first device enrols with record count %d; want 0", got.recordCount)
	}
}
