package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// auditBenchStore is a store whose audit log holds n chained entries of
// the kinds the server writes, inserted in bulk (the chain computed here,
// 500 rows a statement, one transaction) rather than through AppendAudit.
func auditBenchStore(b *testing.B, n int) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "patrol.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	const group = 500
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", 13), ", ") + ")"
	stmt := "INSERT INTO audit_log (seq, at, actor, address, entity_kind, entity_id, squad_id, action, from_state, to_state, reason, prev_hash, hash) VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", group), ", ")
	at := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	err = st.DB().WriteTx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer ins.Close()
		prev := ""
		args := make([]any, 0, group*13)
		for i := 1; i <= n; i++ {
			squad := int64(i%12 + 1)
			e := schema.AuditEntry{Seq: int64(i), At: at.Add(time.Duration(i) * 1500 * time.Millisecond), Actor: fmt.Sprintf("leader%d", squad),
				Address: "10.20.30.40", EntityKind: schema.AuditInspection, EntityID: uuid.NewString(), SquadID: &squad,
				Action: "review", From: schema.StatusSubmitted, To: schema.StatusReviewed, Reason: "accepted: 整改到位，复查合格"}
			e = schema.SealAudit(prev, e)
			prev = e.Hash
			args = append(args, e.Seq, schema.FormatTime(e.At), e.Actor, e.Address, e.EntityKind, e.EntityID, *e.SquadID, e.Action,
				e.From, e.To, e.Reason, e.PrevHash, e.Hash)
			if len(args) == cap(args) {
				if _, err := ins.ExecContext(ctx, args...); err != nil {
					return err
				}
				args = args[:0]
			}
		}
		for off := 0; off < len(args); off += 13 { // the rest, one by one
			if _, err := tx.ExecContext(ctx, "INSERT INTO audit_log (seq, at, actor, address, entity_kind, entity_id, squad_id, action, from_state, to_state, reason, prev_hash, hash) VALUES "+row,
				args[off:off+13]...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkAuditVerify streams the whole chain through the verifier, as
// `patrold audit verify` does: 1,000,000 entries (10,000 with -short).
// Run it with -benchtime=1x; setting up the long form takes a while.
func BenchmarkAuditVerify(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	st := auditBenchStore(b, n)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		got, brk, err := store.VerifyAudit(ctx, st)
		if err != nil || brk != nil || got != int64(n) {
			b.Fatalf("VerifyAudit = %d, %v, %v; want %d intact", got, brk, err, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
