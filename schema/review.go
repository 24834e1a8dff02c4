package schema

// ReviewDecisions are the decisions a squad leader may take on an
// inspection.
var ReviewDecisions = []string{"accepted", "correction_ordered", "case_opened"}

// ValidateReview checks a leader's review before any store records it:
// one of ReviewDecisions, and a note of at most MaxNoteLen bytes.
func ValidateReview(rv *Review) error {
	if !contains(ReviewDecisions, rv.Decision) {
		return Errorf(CodeInvalid, "decision %q is not one of accepted, correction_ordered, case_opened", rv.Decision)
	}
	if len(rv.Note) > MaxNoteLen {
		return Errorf(CodeInvalid, "note is %d bytes; at most %d", len(rv.Note), MaxNoteLen)
	}
	return nil
}
