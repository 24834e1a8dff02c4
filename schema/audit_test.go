package schema_test

import (
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func auditChain(n int) []schema.AuditEntry {
	at := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	squad := int64(1)
	var out []schema.AuditEntry
	prev := ""
	for i := 1; i <= n; i++ {
		e := schema.AuditEntry{Seq: int64(i), At: at.Add(time.Duration(i) * time.Second), Actor: "leader1", Address: "10.0.0.1",
			EntityKind: schema.AuditConflict, EntityID: "c" + string(rune('0'+i)), SquadID: &squad, Action: "resolve", From: "open", To: "resolved"}
		e = schema.SealAudit(prev, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func TestAuditHash_CoversEveryField(t *testing.T) {
	base := auditChain(1)[0]
	two := int64(2)
	for name, mut := range map[string]func(e *schema.AuditEntry){
		"seq":        func(e *schema.AuditEntry) { e.Seq = 9 },
		"at":         func(e *schema.AuditEntry) { e.At = e.At.Add(time.Nanosecond) },
		"actor":      func(e *schema.AuditEntry) { e.Actor = "admin" },
		"address":    func(e *schema.AuditEntry) { e.Address = "10.0.0.2" },
		"kind":       func(e *schema.AuditEntry) { e.EntityKind = schema.AuditVenue },
		"id":         func(e *schema.AuditEntry) { e.EntityID = "x" },
		"squad":      func(e *schema.AuditEntry) { e.SquadID = &two },
		"squad nil":  func(e *schema.AuditEntry) { e.SquadID = nil },
		"action":     func(e *schema.AuditEntry) { e.Action = "reopen" },
		"from":       func(e *schema.AuditEntry) { e.From = "resolved" },
		"to":         func(e *schema.AuditEntry) { e.To = "open" },
		"reason":     func(e *schema.AuditEntry) { e.Reason = "because" },
		"shift":      func(e *schema.AuditEntry) { e.Actor, e.Address = "leader110.0.0.1", "" },
		"shift back": func(e *schema.AuditEntry) { e.From, e.To = "openresolved", "" },
	} {
		e := base
		mut(&e)
		if schema.AuditHash("", e) == base.Hash {
			t.Errorf("%s: changing it leaves the hash alone", name)
		}
	}
	if schema.AuditHash("ab", base) == base.Hash {
		t.Error("prev hash is not covered")
	}
	e := base
	e.Hash = "anything"
	if schema.AuditHash("", e) != base.Hash {
		t.Error("the hash covers its own field")
	}
	e.At = base.At.In(time.FixedZone("CST", 8*3600))
	if schema.AuditHash("", e) != base.Hash {
		t.Error("the same instant in another zone hashes differently")
	}
}

func TestVerifyChain(t *testing.T) {
	for _, c := range []struct {
		name    string
		tamper  func(ch []schema.AuditEntry) []schema.AuditEntry
		wantSeq int64
		wantWhy string
	}{
		{"intact", func(ch []schema.AuditEntry) []schema.AuditEntry { return ch }, 0, ""},
		{"empty", func(ch []schema.AuditEntry) []schema.AuditEntry { return nil }, 0, ""},
		{"field altered", func(ch []schema.AuditEntry) []schema.AuditEntry { ch[2].Reason = "edited"; return ch }, 3, schema.AuditHashMismatch},
		{"field and hash altered", func(ch []schema.AuditEntry) []schema.AuditEntry {
			ch[2].To = "open"
			ch[2].Hash = schema.AuditHash(ch[2].PrevHash, ch[2])
			return ch
		}, 4, schema.AuditPrevMismatch},
		{"entry removed", func(ch []schema.AuditEntry) []schema.AuditEntry { return append(ch[:1], ch[2:]...) }, 3, schema.AuditSeqGap},
		{"first removed", func(ch []schema.AuditEntry) []schema.AuditEntry { return ch[1:] }, 2, schema.AuditSeqGap},
		{"reordered", func(ch []schema.AuditEntry) []schema.AuditEntry { ch[1], ch[2] = ch[2], ch[1]; return ch }, 3, schema.AuditSeqGap},
		{"prev rewritten", func(ch []schema.AuditEntry) []schema.AuditEntry { ch[4].PrevHash = ch[2].Hash; return ch }, 5, schema.AuditPrevMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := schema.VerifyChain(c.tamper(auditChain(5)))
			switch {
			case c.wantWhy == "" && b != nil:
				t.Fatalf("break %v; want the chain to hold", b)
			case c.wantWhy != "" && b == nil:
				t.Fatalf("chain holds; want %s at %d", c.wantWhy, c.wantSeq)
			case c.wantWhy != "" && (b.Seq != c.wantSeq || b.Why != c.wantWhy):
				t.Fatalf("break %v; want %s at %d", b, c.wantWhy, c.wantSeq)
			}
		})
	}
}

func TestAuditCSVRecord_DefusesFormulas(t *testing.T) {
	e := auditChain(1)[0]
	e.Reason, e.Actor = "=HYPERLINK(\"http://x\")", "@admin"
	rec := schema.AuditCSVRecord(e)
	if len(rec) != len(schema.AuditCSVHeader) {
		t.Fatalf("%d cells; header has %d", len(rec), len(schema.AuditCSVHeader))
	}
	if rec[10] != "'=HYPERLINK(\"http://x\")" || rec[2] != "'@admin" || rec[6] != "1" || rec[12] != e.Hash {
		t.Fatalf("record %q", rec)
	}
}
