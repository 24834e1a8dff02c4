package schema

// CheckConflictWinner refuses a choice of a conflict's value that is
// neither side.
func CheckConflictWinner(winner string) error {
	if winner != WinnerServer && winner != WinnerDevice {
		return Errorf(CodeInvalid, "winner %q is not %s or %s", truncate(winner, 20), WinnerServer, WinnerDevice)
	}
	return nil
}

// ValueOf is the value the side winner holds in c.
func (c Conflict) ValueOf(winner string) string {
	if winner == WinnerDevice {
		return c.DeviceValue
	}
	return c.ServerValue
}

// CanOverturn reports whether a leader may make the other side's value
// stand: only a concurrent edit of a venue field can, by editing the field
// again. An edit of a deleted venue or of a reviewed inspection stays as
// the server kept it; the conflict records what the device sent.
func CanOverturn(c Conflict) error {
	if c.Kind != ConflictConcurrentEdit || c.EntityKind != "venue" || c.Field == "" {
		return Errorf(CodeInvalid, "a %s conflict keeps the %s's value; only a concurrent edit of a venue field can take the other side", c.Kind, c.Winner)
	}
	return nil
}

// StillKept refuses to overturn c when the venue field no longer holds the
// value the merge kept: a later edit changed it, and the leader chose
// between values that are both out of date.
func StillKept(c Conflict, v *Venue) error {
	if now := v.FieldValue(c.Field); now != c.ValueOf(c.Winner) {
		return Errorf(CodeConflict, "field %s of venue %s was changed again since this conflict (now %q); open the venue and edit it there",
			c.Field, c.EntityID, truncate(now, 80))
	}
	return nil
}
