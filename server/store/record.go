package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/patrolhq/patrol/schema"
)

// The on-site record as both adapters keep it: the JSON of
// schema.OnSiteRecord in inspections.record (NULL without one), its number
// in inspections.record_number, and one record_signatures row per
// signature image, so that a signature is claimed, proven and read like a
// photo.

// RecordArg is the value of inspections.record for rec: its JSON, or nil
// (NULL) for an inspection without a record.
func RecordArg(rec *schema.OnSiteRecord) any {
	if rec == nil {
		return nil
	}
	b, _ := json.Marshal(rec) // plain data: never fails
	return string(b)
}

// RecordCountOf is the highest running count among the record numbers
// (schema.RecordNumber) that are of badge, 0 when none is: where a device
// enrolled for the badge's officer continues counting.
func RecordCountOf(numbers []string, badge string) int {
	n := 0
	for _, s := range numbers {
		if _, b, k, ok := schema.ParseRecordNumber(s); ok && b == badge && k > n {
			n = k
		}
	}
	return n
}

// RecordNumberLike is a LIKE pattern (escaped with \) that matches the
// record numbers of badge and a few others at most.
func RecordNumberLike(badge string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "现检〔%〕" + r.Replace(badge) + "-%"
}

// RecordNumber is the value of inspections.record_number: "" without a
// record.
func RecordNumber(rec *schema.OnSiteRecord) string {
	if rec == nil {
		return ""
	}
	return rec.Number
}

// DecodeRecord sets in.Record from the stored JSON body.
func DecodeRecord(body string, in *schema.Inspection) error {
	in.Record = new(schema.OnSiteRecord)
	if err := json.Unmarshal([]byte(body), in.Record); err != nil {
		return fmt.Errorf("on-site record: %w", err)
	}
	return nil
}

// Signature is one signature image of a record: of its signing
// (Amendment 0) or of amendment N's.
type Signature struct {
	Amendment int
	Ref       schema.PhotoRef
}

// Signatures lists the signature images of rec, one row each.
func Signatures(rec *schema.OnSiteRecord) []Signature {
	if rec == nil {
		return nil
	}
	var out []Signature
	if s := rec.Signing; s != nil && s.Signature != nil {
		out = append(out, Signature{0, *s.Signature})
	}
	for _, a := range rec.Amendments {
		if a.Signing != nil && a.Signing.Signature != nil {
			out = append(out, Signature{a.N, *a.Signing.Signature})
		}
	}
	return out
}

// MarkSignatures sets Received on the signature images of rec (copies
// of its signings, never the ones rec shares): received
// says whether the server holds bytes, claims the inspection's claim to
// each. It appends the hashes still missing to missing (once each, seen
// marks those listed) and reports whether every signature is received.
func MarkSignatures(rec *schema.OnSiteRecord, received map[string]bool, claims map[string]string, missing []string, seen map[string]bool) ([]string, bool) {
	complete := true
	mark := func(ps **schema.Signing) {
		if *ps == nil || (*ps).Signature == nil {
			return
		}
		s := **ps
		p := *s.Signature
		p.Received = received[p.SHA256] && claims[p.SHA256] == schema.ClaimProven
		s.Signature = &p
		*ps = &s
		if !p.Received {
			complete = false
			if !seen[p.SHA256] {
				seen[p.SHA256] = true
				missing = append(missing, p.SHA256)
			}
		}
	}
	if rec == nil {
		return missing, true
	}
	mark(&rec.Signing)
	for i := range rec.Amendments {
		mark(&rec.Amendments[i].Signing)
	}
	return missing, complete
}
