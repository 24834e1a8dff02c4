package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/postgres"
)

func openAudited(t *testing.T, n int) (*postgres.Store, context.Context) {
	t.Helper()
	ctx := context.Background()
	s := open(t, func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) })
	t.Cleanup(func() { s.Close() })
	for i := range n {
		if _, err := s.AppendAudit(store.WithAuditor(ctx, "admin", "10.0.0.1"), schema.AuditEntry{EntityKind: schema.AuditVenue,
			EntityID: "v" + string(rune('a'+i)), Action: "delete", From: "active", To: "deleted"}); err != nil {
			t.Fatal(err)
		}
	}
	return s, ctx
}

func TestAudit_TriggersRefuseChanges(t *testing.T) {
	s, ctx := openAudited(t, 3)
	for _, q := range []string{`UPDATE audit_log SET reason = 'edited' WHERE seq = 2`, `DELETE FROM audit_log WHERE seq = 3`, `TRUNCATE audit_log`} {
		if _, err := s.Pool().Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted; want the trigger to refuse it", q)
		}
	}
	if n, brk, err := store.VerifyAudit(ctx, s); err != nil || brk != nil || n != 3 {
		t.Fatalf("VerifyAudit = %d, %v, %v; want 3 intact", n, brk, err)
	}
}

func TestAudit_TamperingNamesTheEntry(t *testing.T) {
	for _, c := range []struct {
		name    string
		sql     []string
		wantSeq int64
		wantWhy string
	}{
		{"row altered", []string{`DROP TRIGGER audit_log_no_update ON audit_log`, `UPDATE audit_log SET actor = 'leader1' WHERE seq = 3`}, 3, schema.AuditHashMismatch},
		{"row removed", []string{`DROP TRIGGER audit_log_no_update ON audit_log`, `DELETE FROM audit_log WHERE seq = 4`}, 5, schema.AuditSeqGap},
		{"chain relinked", []string{`DROP TRIGGER audit_log_no_update ON audit_log`,
			`UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE seq = 3`}, 3, schema.AuditPrevMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ctx := openAudited(t, 6)
			for _, q := range c.sql {
				if _, err := s.Pool().Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			_, brk, err := store.VerifyAudit(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if brk == nil || brk.Seq != c.wantSeq || brk.Why != c.wantWhy {
				t.Fatalf("break %v; want %s at seq %d", brk, c.wantWhy, c.wantSeq)
			}
		})
	}
}
