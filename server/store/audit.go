package store

import (
	"context"
	"errors"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Audit is the log of state changes (schema.AuditEntry). Adapters append
// to it inside the transaction of every change they audit, naming the
// actor and address that WithAuditor put in the call's context; these
// methods read it, and append entries for events that write nothing else.
type Audit interface {
	// AppendAudit appends e (its Seq, PrevHash and Hash are assigned; a
	// zero At is the store's now; an empty Actor and Address come from the
	// context) in a transaction of its own and returns it as stored.
	AppendAudit(ctx context.Context, e schema.AuditEntry) (schema.AuditEntry, error)
	// AuditEntries lists entries that match f, newest first.
	AuditEntries(ctx context.Context, f AuditFilter) ([]schema.AuditEntry, error)
	// ScanAudit calls fn with every entry after afterSeq, ascending, read
	// in batches so that memory stays bounded however long the log; an
	// error from fn stops the scan and is returned.
	ScanAudit(ctx context.Context, afterSeq int64, fn func(schema.AuditEntry) error) error
	// CountAudit counts the entries.
	CountAudit(ctx context.Context) (int64, error)
}

// AuditFilter selects audit entries. Empty fields select everything;
// EntityID needs EntityKind.
type AuditFilter struct {
	EntityKind string
	EntityID   string
	Actor      string
	SquadID    *int64
	BeforeSeq  int64 // keyset paging: only entries below it; 0 = from the newest
	Limit      int   // 0: DefaultAuditLimit; at most MaxAuditLimit
}

// Page sizes of AuditEntries.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditBatch is how many entries ScanAudit reads at once.
const AuditBatch = 1000

type auditorKey struct{}

type auditor struct{ actor, address string }

// WithAuditor names who makes the changes of the store calls made with the
// returned context, and from which address: a username, "device:<id>" or
// schema.AuditSystem. The server sets it once per authenticated request,
// so that store methods need no extra parameters to write their audit
// entries.
func WithAuditor(ctx context.Context, actor, address string) context.Context {
	return context.WithValue(ctx, auditorKey{}, auditor{actor, address})
}

// Auditor returns the actor and address of WithAuditor; without them the
// actor is schema.AuditSystem and the address empty.
func Auditor(ctx context.Context) (actor, address string) {
	a, _ := ctx.Value(auditorKey{}).(auditor)
	if a.actor == "" {
		a.actor = schema.AuditSystem
	}
	return a.actor, a.address
}

// AuditLimit is f.Limit clamped to the page sizes.
func (f AuditFilter) AuditLimit() int {
	switch {
	case f.Limit <= 0:
		return DefaultAuditLimit
	case f.Limit > MaxAuditLimit:
		return MaxAuditLimit
	}
	return f.Limit
}

// EnrollmentCodeID names an enrollment code in the audit log: the first
// 16 hex digits of its hash, enough to tell codes apart, too few to stand
// for the hash a code is checked against.
func EnrollmentCodeID(codeHash string) string {
	if len(codeHash) > 16 {
		return codeHash[:16]
	}
	return codeHash
}

// errChainBroken stops a scan at the first break.
var errChainBroken = errors.New("audit chain broken")

// VerifyAudit streams the whole log through a schema.ChainVerifier and
// returns how many entries held and the first break (nil when the chain
// holds); err is a failure to read.
func VerifyAudit(ctx context.Context, a Audit) (int64, *schema.ChainBreak, error) {
	var v schema.ChainVerifier
	var brk *schema.ChainBreak
	err := a.ScanAudit(ctx, 0, func(e schema.AuditEntry) error {
		if brk = v.Check(e); brk != nil {
			return errChainBroken
		}
		return nil
	})
	if brk != nil {
		return v.Count(), brk, nil
	}
	return v.Count(), nil, err
}

// ScanAuditBatches calls fn with every entry after afterSeq in seq order,
// reading AuditBatch entries at a time with read (entries after a seq, at
// most limit, in seq order): the paging of every adapter's ScanAudit.
func ScanAuditBatches(ctx context.Context, afterSeq int64, read func(ctx context.Context, afterSeq int64, limit int) ([]schema.AuditEntry, error),
	fn func(schema.AuditEntry) error) error {
	for {
		batch, err := read(ctx, afterSeq, AuditBatch)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < AuditBatch {
			return nil
		}
		afterSeq = batch[len(batch)-1].Seq
	}
}

// AuditConditions are the conditions f sets on the audit log, in a fixed
// order, each a column and comparison ("seq <") that takes the argument
// of the same index: an adapter joins them with its own placeholders.
func AuditConditions(f AuditFilter) (conds []string, args []any) {
	add := func(cond string, v any) {
		conds, args = append(conds, cond), append(args, v)
	}
	if f.EntityKind != "" {
		add("entity_kind =", f.EntityKind)
		if f.EntityID != "" {
			add("entity_id =", f.EntityID)
		}
	}
	if f.Actor != "" {
		add("actor =", f.Actor)
	}
	if f.SquadID != nil {
		add("squad_id =", *f.SquadID)
	}
	if f.BeforeSeq > 0 {
		add("seq <", f.BeforeSeq)
	}
	return conds, args
}

// AuditOf is the entry of a change made now by the request's actor and
// address (WithAuditor).
func AuditOf(ctx context.Context, now time.Time, kind, id string, squad *int64, action, from, to, reason string) schema.AuditEntry {
	actor, addr := Auditor(ctx)
	return schema.AuditEntry{At: now, Actor: actor, Address: addr, EntityKind: kind, EntityID: id, SquadID: squad,
		Action: action, From: from, To: to, Reason: reason}
}

// ChainAudit numbers entries after the log's last seq and seals each to
// the one before it (prev is the hash of the last), their times in UTC:
// the chain every adapter appends.
func ChainAudit(last int64, prev string, list []schema.AuditEntry) []schema.AuditEntry {
	out := make([]schema.AuditEntry, len(list))
	for i, e := range list {
		last++
		e.Seq, e.At = last, e.At.UTC()
		e = schema.SealAudit(prev, e)
		prev = e.Hash
		out[i] = e
	}
	return out
}
