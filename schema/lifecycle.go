package schema

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Review actions a squad leader takes on a submitted inspection.
const (
	ReviewApprove = "approve"
	ReviewReturn  = "return"
)

// MaxCommentLen bounds a leader's comment, order text or close-out note.
const MaxCommentLen = 2000

// Statuses lists every status an inspection may have on the server.
var Statuses = []string{StatusSubmitted, StatusApproved, StatusReturned}

// DecideReview is the one rule of a leader's review: only a submitted
// inspection is approved or returned, a return says why, and a review made
// on a version the leader did not see is refused. wantVersion 0 accepts
// whatever version is stored. It answers the status the inspection moves to.
func DecideReview(status string, version int, action, comment string, wantVersion int) (string, error) {
	if err := CheckText("comment", comment, MaxCommentLen); err != nil {
		return "", err
	}
	var to string
	switch action {
	case ReviewApprove:
		to = StatusApproved
	case ReviewReturn:
		if strings.TrimSpace(comment) == "" {
			return "", Errorf(CodeInvalid, "returning an inspection needs a comment telling the inspector what to amend")
		}
		to = StatusReturned
	default:
		return "", Errorf(CodeInvalid, "action %q is not approve or return", truncate(action, 20))
	}
	if wantVersion != 0 && wantVersion != version {
		return "", Errorf(CodeConflict, "the inspection changed to version %d since you opened version %d; look at it again", version, wantVersion)
	}
	switch status {
	case StatusSubmitted:
		return to, nil
	case StatusApproved:
		return "", Errorf(CodeConflict, "the inspection is approved already; a decision stands once made")
	case StatusReturned:
		return "", Errorf(CodeConflict, "the inspection was returned and waits for the inspector's amendment")
	default:
		return "", Errorf(CodeConflict, "an inspection that is %q cannot be reviewed", status)
	}
}

// VersionChange is one difference between two versions of an inspection,
// as the review pages show it.
type VersionChange struct {
	Field  string `json:"field"` // result, note, photos, inspectors, finished_at, checklist_version
	ItemID string `json:"item_id,omitempty"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// DiffVersions lists what changed from version a to version b of one
// inspection: per checklist item its result, note and photos (by SHA-256),
// then the inspectors, finish time and checklist version.
func DiffVersions(a, b Inspection) []VersionChange {
	var out []VersionChange
	items := func(in Inspection) map[string]ItemResult {
		m := make(map[string]ItemResult, len(in.Items))
		for _, it := range in.Items {
			m[it.ItemID] = it
		}
		return m
	}
	ai, bi := items(a), items(b)
	var ids []string
	for id := range ai {
		ids = append(ids, id)
	}
	for id := range bi {
		if _, ok := ai[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		x, y := ai[id], bi[id]
		if x.Result != y.Result {
			out = append(out, VersionChange{Field: "result", ItemID: id, From: x.Result, To: y.Result})
		}
		if x.Note != y.Note {
			out = append(out, VersionChange{Field: "note", ItemID: id, From: x.Note, To: y.Note})
		}
		if px, py := photoList(x.Photos), photoList(y.Photos); px != py {
			out = append(out, VersionChange{Field: "photos", ItemID: id, From: px, To: py})
		}
	}
	if ix, iy := inspectorList(a.Inspectors), inspectorList(b.Inspectors); ix != iy {
		out = append(out, VersionChange{Field: "inspectors", From: ix, To: iy})
	}
	if fx, fy := timeText(a.FinishedAt), timeText(b.FinishedAt); fx != fy {
		out = append(out, VersionChange{Field: "finished_at", From: fx, To: fy})
	}
	if a.ChecklistVersion != b.ChecklistVersion {
		out = append(out, VersionChange{Field: "checklist_version", From: a.ChecklistVersion, To: b.ChecklistVersion})
	}
	return out
}

func photoList(ps []PhotoRef) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.SHA256
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func inspectorList(is []Inspector) string {
	s := make([]string, len(is))
	for i, x := range is {
		s[i] = x.Username
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return FormatTime(*t)
}

// ReturnedAmendable reports whether an inspection the device holds may be
// reopened for amendment: only a returned one, and only by its author's
// device (the server refuses anyone else's version anyway).
func ReturnedAmendable(in Inspection) error {
	if in.Status != StatusReturned {
		return Errorf(CodeConflict, "inspection %s is %s; only a returned inspection can be amended", in.ID, in.Status)
	}
	return nil
}

// ReviewSummary is how a review reads in one line (logs, audit reasons).
func ReviewSummary(rv Review) string {
	if rv.Note == "" {
		return fmt.Sprintf("%s by %s (version %d)", rv.Decision, rv.ReviewedBy, rv.Version)
	}
	return fmt.Sprintf("%s by %s (version %d): %s", rv.Decision, rv.ReviewedBy, rv.Version, rv.Note)
}
