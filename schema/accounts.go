package schema

import (
	"strconv"
	"unicode/utf8"
)

// MinPasswordLen is the shortest password (in characters) an admin, a
// leader or the user may set.
const MinPasswordLen = 10

// MaxPasswordLen bounds a password (in bytes) so that a huge one cannot be
// used to burn CPU in the hash.
const MaxPasswordLen = 1024

// MaxUsernameLen bounds a username (in bytes).
const MaxUsernameLen = 64

// AccountProblem names the account rule a user's details or password
// break, so that the API (in English) and the workbench (in Chinese) word
// the same rule, checked in one place, each in its own language.
type AccountProblem int

// The account rules, in the order they are checked.
const (
	AccountOK            AccountProblem = iota
	AccountNameMissing                  // no username or display name
	AccountBadUsername                  // not lower-case letters, digits, . _ -, or too long
	AccountBadText                      // display name or badge number too long or with control characters
	AccountBadRole                      // not inspector, leader, office or admin
	AccountNeedsBadge                   // inspectors and leaders carry a badge number
	AccountBadSquad                     // a squad number that is not positive, or one given to office staff
	AccountNeedsSquad                   // inspectors and leaders belong to a squad
	AccountPasswordShort                // shorter than MinPasswordLen characters
	AccountPasswordLong                 // longer than MaxPasswordLen bytes
	AccountSelfDisable                  // nobody disables their own account
)

// NewAccount is what a new user is made of, as an admin or leader typed
// it; Username is in its canonical form already.
type NewAccount struct {
	Username, DisplayName, BadgeNo, Role string
	SquadID                              *int64
}

// CheckAccount checks a new user's details: the problem (AccountOK) and a
// *Error with an English message that says what to fix (nil).
func CheckAccount(a NewAccount) (AccountProblem, error) {
	switch {
	case a.Username == "" || a.DisplayName == "":
		return AccountNameMissing, Errorf(CodeInvalid, "username and display_name are required")
	case !ValidUsername(a.Username):
		return AccountBadUsername, Errorf(CodeInvalid, "username %q may hold only lower-case letters, digits, dot, underscore and hyphen, at most %d of them",
			truncate(a.Username, 80), MaxUsernameLen)
	}
	if err := CheckText("display_name", a.DisplayName, MaxTextLen); err != nil {
		return AccountBadText, err
	}
	if err := CheckText("badge_no", a.BadgeNo, MaxTextLen); err != nil {
		return AccountBadText, err
	}
	switch {
	case a.Role != RoleInspector && a.Role != RoleLeader && a.Role != RoleAdmin && a.Role != RoleOffice:
		return AccountBadRole, Errorf(CodeInvalid, "role %q is not inspector, leader, office or admin", truncate(a.Role, 20))
	case a.Role == RoleOffice && a.SquadID != nil:
		return AccountBadSquad, Errorf(CodeInvalid, "office staff take complaints in for every squad and belong to none: leave squad_id out")
	case a.Role == RoleOffice:
		return AccountOK, nil
	case a.Role != RoleAdmin && a.BadgeNo == "":
		return AccountNeedsBadge, Errorf(CodeInvalid, "an inspector or leader needs a badge_no")
	case a.SquadID != nil && *a.SquadID <= 0:
		return AccountBadSquad, Errorf(CodeInvalid, "squad_id %d is not a squad number", *a.SquadID)
	case a.Role != RoleAdmin && a.SquadID == nil:
		return AccountNeedsSquad, Errorf(CodeInvalid, "an inspector or leader belongs to a squad: set squad_id")
	}
	return AccountOK, nil
}

// ValidUsername reports whether s (canonical) may be a username.
func ValidUsername(s string) bool {
	if s == "" || len(s) > MaxUsernameLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// CheckPassword checks a password someone sets: the problem (AccountOK) and
// a *Error with an English message (nil).
func CheckPassword(pw string) (AccountProblem, error) {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return AccountPasswordShort, Errorf(CodeInvalid, "a password has at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return AccountPasswordLong, Errorf(CodeInvalid, "a password has at most %s bytes", strconv.Itoa(MaxPasswordLen))
	}
	return AccountOK, nil
}

// CheckSetDisabled refuses a user disabling their own account (whoever
// could, would lock out the last admin).
func CheckSetDisabled(actorID, userID string, disabled bool) (AccountProblem, error) {
	if disabled && actorID == userID {
		return AccountSelfDisable, Errorf(CodeInvalid, "you cannot disable your own account")
	}
	return AccountOK, nil
}
