package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// The demo's on-site records: the inspections of the last fortnight carry
// one, most signed by the party with a signature image stored like the
// demo's photos, some refused before a witness, and an inspection amended
// after a return carries its amendment. Choices come from a hash of the
// inspection id, not from the demo's random stream, so that the rest of
// the district stays as it was.

// recordDays is how far back the demo's inspections carry a record.
const recordDays = 14

var (
	partyNames = []string{"王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆"}
	partyRoles = []string{"店长", "网管", "法定代表人", "值班经理"}
	witnesses  = []schema.Witness{{Name: "赵敏", Relation: "社区网格员"}, {Name: "孙磊", Relation: "其他顾客"}, {Name: "周婷", Relation: "隔壁商户"}}
	refusals   = []string{"当事人称需请示老板，拒绝签字", "当事人对检查结果有异议，拒绝签字", "当事人拒绝签字，未说明理由"}
)

// pick is a choice among n made from the inspection id and a salt.
func pick(id, salt string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id + salt))
	return int(h.Sum32() % uint32(n))
}

// addRecord gives in, an inspection by author of venue v finished at
// finish, its on-site record, when it is recent enough.
func (g *gen) addRecord(in *schema.Inspection, author user, v *schema.Venue, finish time.Time) {
	if g.now.Sub(finish) > recordDays*24*time.Hour || v == nil {
		return
	}
	if g.recordN == nil {
		g.recordN = map[string]int{}
	}
	g.recordN[author.badge]++
	in.Record = &schema.OnSiteRecord{Number: schema.RecordNumber(in.StartedAt, author.badge, g.recordN[author.badge]),
		VenueName: v.Name, Address: v.Address, LicenceNo: v.LicenceNo, IDsShown: true,
		Party: schema.Party{Name: partyNames[pick(in.ID, "name", len(partyNames))], Role: partyRoles[pick(in.ID, "role", len(partyRoles))],
			IDType: schema.IDTypeResident, IDLast: fmt.Sprintf("%04d", pick(in.ID, "id", 10000))}}
	schema.SealRecord(in, g.signing(in.ID, "record", finish.Add(2*time.Minute)))
}

// signing is the party's answer made at: a refusal for one record in
// four (or every one when the demo names no images), else a signature.
func (g *gen) signing(id, salt string, at time.Time) schema.Signing {
	if !g.photos || pick(id, salt+"refuse", 4) == 0 {
		return schema.Signing{At: at, Refused: &schema.SignRefusal{Reason: refusals[pick(id, salt+"why", len(refusals))],
			Witness: witnesses[pick(id, salt+"who", len(witnesses))]}}
	}
	sig := demoSignatures()[pick(id, salt+"sig", len(demoSignatures()))]
	return schema.Signing{At: at, Signature: &schema.PhotoRef{SHA256: sig.sha, Size: int64(len(sig.data)), MediaType: "image/png",
		CapturedAt: at, DeviceID: "demo-device"}}
}

// amendRecord records, on v2 (the amended version of v1), the changes of
// its answers as an amendment of v1's sealed record made at, signed anew.
func (g *gen) amendRecord(v1 schema.Inspection, v2 *schema.Inspection, at time.Time) {
	if v1.Record == nil {
		return
	}
	rec := *v1.Record
	rec.Amendments = nil
	v2.Record = &rec
	a := schema.OpenAmendment(v2, at)
	for i := range v2.Items {
		if !schema.SameAnswer(v1.Items[i], v2.Items[i]) {
			a.ChangeItem(v1.Items[i], v2.Items[i])
		}
	}
	if len(a.Changes) == 0 {
		rec.Amendments = nil
		return
	}
	a.Reason = "按中队审核意见补充说明 (amended after the leader's return)"
	schema.SealAmendment(a, g.signing(v2.ID, "amendment", at))
}

var signatureSet struct {
	once sync.Once
	list []demoPhoto
}

// demoSignatures are a few small PNGs of a pen stroke, the same every
// time: stand-ins for signatures captured on a device's screen.
func demoSignatures() []demoPhoto {
	signatureSet.once.Do(func() {
		for i := 0; i < 4; i++ {
			img := image.NewGray(image.Rect(0, 0, 240, 80))
			for p := range img.Pix {
				img.Pix[p] = 255
			}
			for x := 10; x < 230; x++ {
				y := 40 + int(18*math.Sin(float64(x)/(9+float64(i)*3))+8*math.Cos(float64(x*(i+2))/23))
				for d := -1; d <= 1; d++ {
					img.SetGray(x, y+d, color.Gray{Y: 20})
				}
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				panic(err) // encoding into memory does not fail
			}
			sum := sha256.Sum256(buf.Bytes())
			signatureSet.list = append(signatureSet.list, demoPhoto{sha: hex.EncodeToString(sum[:]), data: buf.Bytes()})
		}
	})
	return signatureSet.list
}
