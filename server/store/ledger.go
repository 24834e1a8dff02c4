package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// Ledger is the inspection lifecycle and the findings ledger (台账): a
// leader approves or returns what inspectors submitted, approval opens
// and re-checks findings (schema.FindingsOnApproval), and leaders order,
// close and escalate them. Every transition is decided by package schema
// inside the adapter's write transaction and bumps the row's change seq,
// so the devices of the venue's squad receive it.
type Ledger interface {
	// ReviewInspection approves or returns an inspection the scope covers
	// (one it does not cover is not found); an approval applies the
	// findings it opens and re-checks in the same transaction.
	ReviewInspection(ctx context.Context, id string, r ReviewInput, scope schema.Scope) (schema.Inspection, error)
	// InspectionVersions lists every version of an inspection the server
	// accepted, oldest first, each with the review made of it.
	InspectionVersions(ctx context.Context, id string) ([]InspectionVersion, error)
	// Findings lists one page of the ledger.
	Findings(ctx context.Context, f FindingFilter) (FindingPage, error)
	// Finding returns one finding.
	Finding(ctx context.Context, id string) (schema.Finding, error)
	// ActOnFinding orders, closes or escalates a finding the scope covers
	// (one it does not cover is not found). An order gets its number
	// (schema.OrderNumber) from the year's sequence in the same
	// transaction and its legal basis from the checklist item.
	ActOnFinding(ctx context.Context, id string, a schema.FindingAction, scope schema.Scope) (schema.Finding, error)
	// VenueLedger is a venue's inspections and findings over time, with
	// how often each item failed.
	VenueLedger(ctx context.Context, venueID string) (VenueLedger, error)
}

// ReviewInput is a leader's review of an inspection: schema.ReviewApprove
// or schema.ReviewReturn, the comment (required on a return), who, and
// the version the leader looked at (0: whatever is stored).
type ReviewInput struct {
	Action  string
	Comment string
	By      string
	Version int
}

// InspectionVersion is one accepted version of an inspection: the record
// as the server stored it, and the review made of that version, if any.
type InspectionVersion struct {
	InspectionID string            `json:"inspection_id"`
	Version      int               `json:"version"`
	HLC          string            `json:"hlc"`
	DeviceID     string            `json:"device_id"`
	ReceivedAt   time.Time         `json:"received_at"`
	Record       schema.Inspection `json:"record"`
	Review       *schema.Review    `json:"review,omitempty"`
}

// Sorts of the ledger: newest opened first, or soonest deadline first
// (findings without a deadline last).
const (
	SortOpened   = "opened"
	SortDeadline = "deadline"
)

// FindingFilter selects a page of the ledger. After is the Next of the
// previous page.
type FindingFilter struct {
	SquadID *int64 // nil: every squad (admins)
	Status  string // one of schema.FindingStates, or "" for all
	ItemID  string
	VenueID string
	Overdue bool      // only ordered findings past their deadline
	From    time.Time // opened at or after
	To      time.Time // opened before
	Sort    string    // SortOpened (default) or SortDeadline
	After   string
	Limit   int
}

// FindingPage is one page of the ledger; Next is "" on the last page.
type FindingPage struct {
	Findings []schema.Finding `json:"findings"`
	Next     string           `json:"next,omitempty"`
}

// VenueLedger is a venue's record over time: its inspections newest
// first, its findings as they were opened, and per item how many findings
// it had and how many repeats they counted.
type VenueLedger struct {
	Venue       schema.Venue        `json:"venue"`
	Inspections []schema.Inspection `json:"inspections"`
	Findings    []schema.Finding    `json:"findings"`
	Items       []ItemRecord        `json:"items"`
}

// ItemRecord is how often one checklist item failed at a venue.
type ItemRecord struct {
	ItemID   string `json:"item_id"`
	Findings int    `json:"findings"`
	Repeats  int    `json:"repeats"`
	Open     int    `json:"open"` // still unresolved
}

// Ledger page sizes.
const (
	DefaultFindingLimit = 100
	MaxFindingLimit     = 1000
)

// FindingCursor is the keyset position of a ledger page: the sort key of
// the last finding delivered (its opened_at, or its deadline as stored)
// and its id. Every adapter encodes it the same way.
type FindingCursor struct {
	Sort string `json:"s"`
	Key  string `json:"k"`
	ID   string `json:"i"`
}

// Encode is the cursor as a client holds it.
func (c FindingCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeFindingCursor decodes the After of a filter for sort; a cursor of
// another sort or one that is not a cursor is invalid.
func DecodeFindingCursor(s, sort string) (FindingCursor, error) {
	var c FindingCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 512 || json.Unmarshal(b, &c) != nil || c.Sort != sort || c.ID == "" {
		return c, schema.Errorf(schema.CodeInvalid, "after is not a cursor of this listing sorted by %s; start again without it", sort)
	}
	return c, nil
}

// NoDeadlineKey is the deadline sort key of a finding without a deadline:
// after every stored time.
const NoDeadlineKey = "9999-12-31T23:59:59.999999999Z"

// CheckFindingFilter refuses a filter no adapter can run and fills in its
// defaults.
func CheckFindingFilter(f *FindingFilter) error {
	if f.Status != "" && f.Status != schema.FindingOverdueTag {
		ok := false
		for _, s := range schema.FindingStates {
			ok = ok || s == f.Status
		}
		if !ok {
			return schema.Errorf(schema.CodeInvalid, "status %q is not one of open, ordered, rechecked, closed, escalated", truncateText(f.Status, 20))
		}
	}
	if f.Status == schema.FindingOverdueTag {
		f.Status, f.Overdue = "", true
	}
	switch f.Sort {
	case "":
		f.Sort = SortOpened
	case SortOpened, SortDeadline:
	default:
		return schema.Errorf(schema.CodeInvalid, "sort %q is not opened or deadline", truncateText(f.Sort, 20))
	}
	if f.After != "" {
		if _, err := DecodeFindingCursor(f.After, f.Sort); err != nil {
			return err
		}
	}
	if f.Limit <= 0 {
		f.Limit = DefaultFindingLimit
	}
	if f.Limit > MaxFindingLimit {
		f.Limit = MaxFindingLimit
	}
	return nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ItemRecords counts, per item, the findings of a venue and the repeats
// they counted, in item order.
func ItemRecords(fs []schema.Finding) []ItemRecord {
	by := map[string]*ItemRecord{}
	var order []string
	for _, f := range fs {
		r := by[f.ItemID]
		if r == nil {
			r = &ItemRecord{ItemID: f.ItemID}
			by[f.ItemID] = r
			order = append(order, f.ItemID)
		}
		r.Findings++
		r.Repeats += f.Repeat
		if f.Unresolved() {
			r.Open++
		}
	}
	sort.Strings(order)
	out := make([]ItemRecord, 0, len(order))
	for _, id := range order {
		out = append(out, *by[id])
	}
	return out
}

// OrderYear is the year an order made at t is numbered in: the calendar
// year in China (UTC+8, no daylight saving).
func OrderYear(t time.Time) int {
	return t.In(ChinaTime).Year()
}

// ChinaTime is Asia/Shanghai without the time zone database: UTC+8 all
// year, as it has been since 1991.
var ChinaTime = time.FixedZone("CST", 8*3600)
