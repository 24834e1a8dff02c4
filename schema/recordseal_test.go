package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// sealedInspection is a valid inspection with a signed on-site record.
func sealedInspection(t *testing.T) *schema.Inspection {
	t.Helper()
	in := validInspection(t).Inspection
	in.Inspectors = []schema.Inspector{{Username: "inspector1", Name: "张三", BadgeNo: "B001"}, {Username: "inspector2", Name: "李四", BadgeNo: "B002"}}
	in.Items[3].Result, in.Items[3].Note = schema.ResultFail, "未成年人在场"
	in.Record = &schema.OnSiteRecord{Number: schema.RecordNumber(in.StartedAt, "B001", 7), VenueName: "星空网吧", Address: "人民路1号",
		LicenceNo: "L-1", Party: schema.Party{Name: "王五", Role: "店长", IDType: schema.IDTypeResident, IDLast: "123X"}, IDsShown: true}
	schema.SealRecord(in, schema.Signing{At: in.FinishedAt.Add(time.Minute), Signature: &schema.PhotoRef{SHA256: strings.Repeat("5a", 32), Size: 900,
		MediaType: "image/png", CapturedAt: in.FinishedAt.Add(time.Minute), DeviceID: "d1"}})
	return in
}

// amend changes item i of in by an amendment signed with a refusal.
func amend(in *schema.Inspection, i int, note string) *schema.Amendment {
	a := schema.OpenAmendment(in, in.FinishedAt.Add(time.Hour))
	before := in.Items[i]
	in.Items[i].Note = note
	a.ChangeItem(before, in.Items[i])
	a.Reason = "笔误更正"
	schema.SealAmendment(a, schema.Signing{At: a.At, Refused: &schema.SignRefusal{Reason: "不在场", Witness: schema.Witness{Name: "赵六"}}})
	return a
}

func TestValidateRecord_Table(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(in *schema.Inspection)
		want   string // substring of the refusal; "" = valid
	}{
		{"signed", func(in *schema.Inspection) {}, ""},
		{"no record", func(in *schema.Inspection) { in.Record = nil }, ""},
		{"refused before a witness", func(in *schema.Inspection) {
			in.Record.Signing = nil
			schema.SealRecord(in, schema.Signing{At: time.Now(), Refused: &schema.SignRefusal{Reason: "拒绝签字", Witness: schema.Witness{Name: "社区网格员"}}})
		}, ""},
		{"amended and signed", func(in *schema.Inspection) { amend(in, 3, "改正"); amend(in, 5, "再改") }, ""},
		{"one inspector", func(in *schema.Inspection) { in.Inspectors = in.Inspectors[:1] }, "at least two"},
		{"no badge", func(in *schema.Inspection) { in.Inspectors[1].BadgeNo = "" }, "no badge number"},
		{"IDs not shown", func(in *schema.Inspection) { in.Record.IDsShown = false }, "ids_shown"},
		{"bad number", func(in *schema.Inspection) { in.Record.Number = "No. 7" }, "not of the form"},
		{"number of another year", func(in *schema.Inspection) { in.Record.Number = "现检〔2020〕B001-7号" }, "names year 2020"},
		{"number of another badge", func(in *schema.Inspection) { in.Record.Number = "现检〔2026〕B999-7号" }, "names badge B999"},
		{"no party name", func(in *schema.Inspection) { in.Record.Party.Name = " " }, "party name is empty"},
		{"no party role", func(in *schema.Inspection) { in.Record.Party.Role = "" }, "party role is empty"},
		{"unknown id type", func(in *schema.Inspection) { in.Record.Party.IDType = "library_card" }, "id_type"},
		{"whole id number", func(in *schema.Inspection) { in.Record.Party.IDLast = "110101199001011234" }, "keep only the last 4"},
		{"id with symbols", func(in *schema.Inspection) { in.Record.Party.IDLast = "1<b>" }, "not the digits or letters"},
		{"address too long", func(in *schema.Inspection) { in.Record.Address = strings.Repeat("路", schema.MaxRecordText+1) }, "at most 200"},
		{"control character", func(in *schema.Inspection) { in.Record.Remarks = "a\x1b[31m" }, "control character"},
		{"not signed", func(in *schema.Inspection) { in.Record.Signing = nil }, "not signed"},
		{"signed and refused", func(in *schema.Inspection) {
			in.Record.Signing.Refused = &schema.SignRefusal{Reason: "x", Witness: schema.Witness{Name: "y"}}
		}, "exactly one"},
		{"refusal without a reason", func(in *schema.Inspection) {
			in.Record.Signing = nil
			schema.SealRecord(in, schema.Signing{At: time.Now(), Refused: &schema.SignRefusal{Witness: schema.Witness{Name: "y"}}})
		}, "refusal reason is empty"},
		{"refusal without a witness", func(in *schema.Inspection) {
			in.Record.Signing = nil
			schema.SealRecord(in, schema.Signing{At: time.Now(), Refused: &schema.SignRefusal{Reason: "拒绝"}})
		}, "witness name is empty"},
		{"signature not an image", func(in *schema.Inspection) { in.Record.Signing.Signature.MediaType = "text/html" }, "media type"},
		{"original edited after signing", func(in *schema.Inspection) { in.Items[3].Note = "改过了" }, "was changed"},
		{"record edited after signing", func(in *schema.Inspection) { in.Record.Party.Name = "别人" }, "was changed"},
		{"amendment that does not lead to the answers", func(in *schema.Inspection) { amend(in, 3, "改正"); in.Items[3].Note = "又改" }, "amendments must lead"},
		{"amendment misnumbered", func(in *schema.Inspection) { a := amend(in, 3, "改正"); a.N = 2; schema.SealAmendment(a, *a.Signing) }, "numbered 2"},
		{"amendment unchained", func(in *schema.Inspection) {
			a := amend(in, 3, "改正")
			a.Prev = strings.Repeat("0", 64)
			schema.SealAmendment(a, *a.Signing)
		}, "is chained to"},
		{"amendment hash wrong", func(in *schema.Inspection) { a := amend(in, 3, "改正"); a.Reason = "另一个理由" }, "hashes to"},
		{"amendment unsigned", func(in *schema.Inspection) { a := amend(in, 3, "改正"); a.Signing = nil }, "not signed"},
		{"amendment signing of something else", func(in *schema.Inspection) { a := amend(in, 3, "改正"); a.Signing.Hash = in.Record.Signing.Hash }, "was changed"},
		{"amendment without reason", func(in *schema.Inspection) {
			a := amend(in, 3, "改正")
			a.Reason = ""
			schema.SealAmendment(a, *a.Signing)
		}, "amendment reason is empty"},
		{"amendment without a time", func(in *schema.Inspection) {
			a := amend(in, 3, "改正")
			a.At = time.Time{}
			schema.SealAmendment(a, *a.Signing)
		}, "has no time"},
		{"amendment changing an item twice", func(in *schema.Inspection) {
			a := amend(in, 3, "改正")
			a.Changes = append(a.Changes, a.Changes[0])
			schema.SealAmendment(a, *a.Signing)
		}, "amendments must lead"},
		{"amendment of mismatched items", func(in *schema.Inspection) {
			a := amend(in, 3, "改正")
			a.Changes[0].Before.ItemID = "NC01"
			schema.SealAmendment(a, *a.Signing)
		}, "before and after"},
		{"signing without a time", func(in *schema.Inspection) { in.Record.Signing.At = time.Time{} }, "has no time"},
		{"witness with a whole ID number", func(in *schema.Inspection) {
			in.Record.Signing = nil
			schema.SealRecord(in, schema.Signing{At: time.Now(), Refused: &schema.SignRefusal{Reason: "拒绝", Witness: schema.Witness{Name: "y", IDLast: "1234567"}}})
		}, "witness id_last"},
		{"remarks too long", func(in *schema.Inspection) { in.Record.Remarks = strings.Repeat("事", schema.MaxRecordRemark+1) }, "at most 4000"},
		{"no venue name", func(in *schema.Inspection) { in.Record.VenueName = "" }, "venue name is empty"},
		{"amendment of no item", func(in *schema.Inspection) {
			a := amend(in, 3, "改正")
			a.Changes = nil
			in.Items[3].Note = "未成年人在场"
			schema.SealAmendment(a, *a.Signing)
		}, "changes nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := sealedInspection(t)
			c.mutate(in)
			err := schema.ValidateRecord(in)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// And as part of the inspection a device pushes.
				if err := schema.ValidateInspection(in, schema.EmbeddedChecklists); err != nil {
					t.Fatalf("inspection refused: %v", err)
				}
				return
			}
			if err == nil || err.Code != schema.CodeInvalid || !strings.Contains(err.Message, c.want) {
				t.Fatalf("got %v; want a refusal saying %q", err, c.want)
			}
		})
	}
}

func TestRecordHash_OriginalSurvivesAmendments(t *testing.T) {
	in := sealedInspection(t)
	seal := in.Record.Signing.Hash
	if len(seal) != 64 || schema.RecordHash(*in) != seal {
		t.Fatalf("seal %q, hash %q", seal, schema.RecordHash(*in))
	}
	orig := in.Items[3]
	amend(in, 3, "改正")
	a2 := amend(in, 3, "再改")
	if in.Items[3].Note != "再改" || schema.RecordHash(*in) != seal {
		t.Fatalf("after amendments: note %q, hash %s, seal %s", in.Items[3].Note, schema.RecordHash(*in), seal)
	}
	items, err := schema.OriginalItems(*in)
	if err != nil || items[3].Note != orig.Note || in.Items[3].Note != "再改" {
		t.Fatalf("original %+v, %v", items[3], err)
	}
	if a2.Prev != in.Record.Amendments[0].Hash || in.Record.Amendments[0].Prev != seal {
		t.Fatal("amendments are not chained")
	}
	// Times in another zone and the server's read flags hash alike.
	cp := *in
	cp.StartedAt = cp.StartedAt.In(time.FixedZone("CST", 8*3600))
	cp.Items = append([]schema.ItemResult(nil), in.Items...)
	if schema.RecordHash(cp) != seal {
		t.Fatal("the zone of a time changed the hash")
	}
}

func TestAmendment_ChangeBackIsNoChange(t *testing.T) {
	in := sealedInspection(t)
	a := schema.OpenAmendment(in, time.Now())
	before := in.Items[2]
	after := before
	after.Result = schema.ResultFail
	a.ChangeItem(before, after)
	a.ChangeItem(after, before)
	if len(a.Changes) != 0 {
		t.Fatalf("changes %+v", a.Changes)
	}
}

func TestCheckRecordChange_Table(t *testing.T) {
	cases := []struct {
		name   string
		stored func(in *schema.Inspection)
		next   func(in *schema.Inspection)
		want   string // substring of the CodeSealed refusal; "" = accepted
	}{
		{"the same again", nil, func(in *schema.Inspection) {}, ""},
		{"a new amendment", nil, func(in *schema.Inspection) { amend(in, 3, "改正") }, ""},
		{"a second amendment after the first", func(in *schema.Inspection) { amend(in, 3, "改正") },
			func(in *schema.Inspection) { amend(in, 3, "改正"); amend(in, 4, "又一处") }, ""},
		{"nothing stored sealed", func(in *schema.Inspection) { in.Record = nil }, func(in *schema.Inspection) { in.Items[0].Note = "x" }, ""},
		{"the original edited", nil, func(in *schema.Inspection) { in.Items[3].Note = "改过了" }, "changes what the party signed"},
		{"the original edited and resealed", nil, func(in *schema.Inspection) {
			in.Items[3].Note = "改过了"
			schema.SealRecord(in, *in.Record.Signing)
		}, "changes what the party signed"},
		{"the record dropped", nil, func(in *schema.Inspection) { in.Record = nil }, "drops the record"},
		{"the signature swapped", nil, func(in *schema.Inspection) { in.Record.Signing.Signature.SHA256 = strings.Repeat("6b", 32) }, "changes the signing"},
		{"an amendment dropped", func(in *schema.Inspection) { amend(in, 3, "改正") }, func(in *schema.Inspection) {}, "drops amendments"},
		{"an amendment rewritten", func(in *schema.Inspection) { amend(in, 3, "改正") }, func(in *schema.Inspection) { amend(in, 3, "另一种改法") },
			"changes amendment 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stored, next := sealedInspection(t), sealedInspection(t)
			next.ID, next.VenueID, next.StartedAt, next.FinishedAt = stored.ID, stored.VenueID, stored.StartedAt, stored.FinishedAt
			next.Record.Signing, stored.Record.Signing = nil, nil
			sig := func() schema.Signing {
				return schema.Signing{At: stored.FinishedAt.Add(time.Minute), Signature: &schema.PhotoRef{SHA256: strings.Repeat("5a", 32), Size: 900,
					MediaType: "image/png", CapturedAt: stored.FinishedAt.Add(time.Minute), DeviceID: "d1"}}
			}
			schema.SealRecord(stored, sig())
			schema.SealRecord(next, sig())
			if c.stored != nil {
				c.stored(stored)
			}
			c.next(next)
			err := schema.CheckRecordChange(stored, next)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Code != schema.CodeSealed || !strings.Contains(err.Message, c.want) || !strings.Contains(err.Message, "must be an amendment") {
				t.Fatalf("got %v; want a sealed refusal saying %q", err, c.want)
			}
		})
	}
}

func TestClaimPhotos_CoversSignatures(t *testing.T) {
	in := sealedInspection(t)
	amend(in, 3, "改正")
	in.Record.Amendments[0].Signing = &schema.Signing{Signature: &schema.PhotoRef{SHA256: strings.Repeat("7c", 32), Size: 10, MediaType: "image/png"}}
	claims, err := schema.ClaimPhotos(in, func(sha string) schema.PhotoHolding {
		if sha == strings.Repeat("5a", 32) {
			return schema.PhotoHolding{Stored: true, Size: 900, Squad: true}
		}
		return schema.PhotoHolding{}
	})
	if err != nil || claims[strings.Repeat("5a", 32)] != schema.ClaimProven || claims[strings.Repeat("7c", 32)] != schema.ClaimPending {
		t.Fatalf("claims %v, %v", claims, err)
	}
	if got := schema.RecordSignatures(in); len(got) != 2 {
		t.Fatalf("signatures %+v", got)
	}
}

func TestRecordNumber_RoundTrip(t *testing.T) {
	// 23:30 UTC on 31 December is already the next year in Beijing.
	n := schema.RecordNumber(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "JX-0001", 12)
	y, badge, k, ok := schema.ParseRecordNumber(n)
	if n != "现检〔2027〕JX-0001-12号" || !ok || y != 2027 || badge != "JX-0001" || k != 12 {
		t.Fatalf("%s → %d %s %d %v", n, y, badge, k, ok)
	}
	if _, _, _, ok := schema.ParseRecordNumber("现检〔2027〕-12号"); ok {
		t.Fatal("a number without a badge parsed")
	}
}
