package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
)

// Change is one state change of the lifecycle or the ledger, as the audit
// log will record it: an adapter records each inside the transaction that
// makes it. Actor names who acted only when the request names no one
// (WithAuditor).
type Change struct {
	Actor, EntityKind, EntityID string
	SquadID                     *int64
	Action, From, To, Reason    string
}

// LedgerWriter is what an adapter's write transaction offers the ledger's
// decisions (ActOnFinding, ReviewInspection): reads that lock what they
// return where the database can, and the writes of a decision.
// Implementations hold no ledger logic, only their SQL.
type LedgerWriter interface {
	// CaseWriter lets an escalation open the finding's case in the same
	// transaction.
	CaseWriter
	// LoadFinding reads a finding; not found: schema.CodeNotFound.
	LoadFinding(ctx context.Context, id string) (schema.Finding, error)
	// WriteFinding inserts a finding or overwrites it, with a new seq.
	WriteFinding(ctx context.Context, f *schema.Finding) error
	// RecordChange appends the audit entry of a change.
	RecordChange(ctx context.Context, c Change) error
	// Checklists reads every stored checklist version.
	Checklists(ctx context.Context) (schema.ChecklistLookup, error)
	// ChecklistVersion reads the checklist version of an inspection.
	ChecklistVersion(ctx context.Context, inspectionID string) (string, error)
	// NextOrderNumber takes the next rectification order number of a year.
	NextOrderNumber(ctx context.Context, year int) (int, error)
	// UnresolvedFindings reads a venue's open and ordered findings, by
	// opened_at and id.
	UnresolvedFindings(ctx context.Context, venueID string) ([]schema.Finding, error)
	// ReviewTarget reads an inspection without its answers; found is
	// false when there is none.
	ReviewTarget(ctx context.Context, id string) (in schema.Inspection, found bool, err error)
	// WriteReview sets an inspection's status and review (JSON) with a new
	// seq, and the review of its accepted version.
	WriteReview(ctx context.Context, id, status string, review []byte, version int) error
	// FillItems reads the answers of an inspection into in.Items.
	FillItems(ctx context.Context, in *schema.Inspection) error
}

// ActOnFinding orders, closes or escalates a finding by
// schema.DecideFinding inside the caller's write transaction
// (Ledger.ActOnFinding); the action is checked before anything is read.
func ActOnFinding(ctx context.Context, w LedgerWriter, id string, a schema.FindingAction, scope schema.Scope, now time.Time) (schema.Finding, error) {
	r, err := w.LoadFinding(ctx, id)
	if err != nil {
		return schema.Finding{}, err
	}
	if !scope.Covers(r.SquadID) {
		return schema.Finding{}, schema.Errorf(schema.CodeNotFound, "%s %s not found", "finding", id)
	}
	a.Number, a.LegalBasis = "", ""
	if a.Action == schema.FindingActOrder {
		// Check first, so that a refused order uses no number.
		if _, err := schema.DecideFinding(r, a, now); err != nil {
			return schema.Finding{}, err
		}
		if a.LegalBasis, err = legalBasis(ctx, w, r.InspectionID, r.ItemID); err != nil {
			return schema.Finding{}, err
		}
		year := OrderYear(now)
		n, err := w.NextOrderNumber(ctx, year)
		if err != nil {
			return schema.Finding{}, fmt.Errorf("order number: %w", err)
		}
		a.Number = schema.OrderNumber(year, n)
	}
	f, err := schema.DecideFinding(r, a, now)
	if err != nil {
		return schema.Finding{}, err
	}
	if a.Action == schema.FindingActEscalate {
		// An escalated finding goes to a case: it is opened (or the one
		// its finding holds is found) in this transaction.
		if err := caseOfEscalation(ctx, w, &f, a.Text, a.By, now); err != nil {
			return schema.Finding{}, err
		}
	}
	if err := w.WriteFinding(ctx, &f); err != nil {
		return schema.Finding{}, err
	}
	reason := a.Text
	if f.Order != nil && a.Action == schema.FindingActOrder {
		reason = f.Order.Number + ": " + a.Text
	}
	if err := w.RecordChange(ctx, Change{Actor: a.By, EntityKind: "finding", EntityID: id, SquadID: &f.SquadID,
		Action: findingChangeAction(a.Action), From: r.Status, To: f.Status, Reason: reason}); err != nil {
		return schema.Finding{}, err
	}
	return f, nil
}

// CheckFindingAction refuses an action a leader cannot take on a finding.
func CheckFindingAction(a schema.FindingAction) error {
	switch a.Action {
	case schema.FindingActOrder, schema.FindingActClose, schema.FindingActEscalate:
		return nil
	}
	return schema.Errorf(schema.CodeInvalid, "action %q is not order, close or escalate", a.Action)
}

// findingChangeAction names a leader's action on a finding as the audit
// log does.
func findingChangeAction(act string) string {
	switch act {
	case schema.FindingActOrder:
		return "ordered"
	case schema.FindingActClose:
		return "closed"
	case schema.FindingActEscalate:
		return "escalated"
	}
	return act
}

// legalBasis is the legal basis of item in the checklist of inspection.
func legalBasis(ctx context.Context, w LedgerWriter, inspectionID, item string) (string, error) {
	version, err := w.ChecklistVersion(ctx, inspectionID)
	if err != nil {
		return "", fmt.Errorf("checklist of inspection %s: %w", inspectionID, err)
	}
	checklists, err := w.Checklists(ctx)
	if err != nil {
		return "", err
	}
	if cl, ok := checklists(version); ok {
		if it, ok := cl.Item(item); ok {
			return it.Basis(), nil
		}
	}
	return "", nil
}

// ReviewInspection approves or returns a submitted inspection
// (schema.DecideReview) inside the caller's write transaction
// (Ledger.ReviewInspection); an approval applies
// schema.FindingsOnApproval to the venue's standing findings.
func ReviewInspection(ctx context.Context, w LedgerWriter, id string, in ReviewInput, scope schema.Scope, now time.Time) error {
	r, found, err := w.ReviewTarget(ctx, id)
	if err != nil {
		return err
	}
	if !found || !scope.Covers(r.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "%s %s not found", "inspection", id)
	}
	status := r.Status
	if status == schema.StatusReviewed {
		status = schema.StatusApproved
	}
	to, err := schema.DecideReview(status, r.Version, in.Action, in.Comment, in.Version)
	if err != nil {
		return err
	}
	rv := schema.Review{ReviewedBy: in.By, ReviewedAt: now, Decision: to, Note: in.Comment, Version: r.Version}
	body, err := json.Marshal(rv)
	if err != nil {
		return err
	}
	if err := w.WriteReview(ctx, id, to, body, r.Version); err != nil {
		return err
	}
	squad := r.SquadID
	if err := w.RecordChange(ctx, Change{Actor: in.By, EntityKind: "inspection", EntityID: id, SquadID: &squad,
		Action: in.Action, From: r.Status, To: to, Reason: in.Comment}); err != nil {
		return err
	}
	if to != schema.StatusApproved {
		return nil
	}
	if err := w.FillItems(ctx, &r); err != nil {
		return err
	}
	r.Status = to
	return applyApproval(ctx, w, r, now)
}

// applyApproval writes what approving r does to the ledger.
func applyApproval(ctx context.Context, w LedgerWriter, r schema.Inspection, now time.Time) error {
	checklists, err := w.Checklists(ctx)
	if err != nil {
		return err
	}
	var cl schema.Checklist
	if c, ok := checklists(r.ChecklistVersion); ok {
		cl = *c
	}
	unresolved, err := w.UnresolvedFindings(ctx, r.VenueID)
	if err != nil {
		return err
	}
	if r.RecheckOf != "" {
		// The finding the inspector set out to re-check is linked when it
		// is one the inspection can re-check; a stale or foreign one is
		// ignored, never a reason to refuse the approval.
		if f, err := w.LoadFinding(ctx, r.RecheckOf); err == nil && schema.RecheckTarget(r, f) == nil {
			known := false
			for _, u := range unresolved {
				known = known || u.ID == f.ID
			}
			if !known {
				unresolved = append(unresolved, f)
			}
		}
	}
	created, changed := schema.FindingsOnApproval(r, cl, unresolved, now, uuid.NewString)
	for i := range created {
		f := &created[i]
		if err := w.WriteFinding(ctx, f); err != nil {
			return err
		}
		if err := w.RecordChange(ctx, Change{Actor: "system", EntityKind: "finding", EntityID: f.ID, SquadID: &f.SquadID,
			Action: "created", To: f.Status, Reason: "inspection " + r.ID + " failed " + f.ItemID}); err != nil {
			return err
		}
	}
	for i := range changed {
		c := &changed[i]
		if err := w.WriteFinding(ctx, &c.After); err != nil {
			return err
		}
		action := "rechecked"
		if c.Action == schema.FindingActRecheckFail {
			action = "repeat"
		}
		if err := w.RecordChange(ctx, Change{Actor: "system", EntityKind: "finding", EntityID: c.After.ID, SquadID: &c.After.SquadID,
			Action: action, From: c.Before.Status, To: c.After.Status, Reason: "inspection " + r.ID}); err != nil {
			return err
		}
	}
	return nil
}
