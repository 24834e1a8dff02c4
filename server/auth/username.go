package auth

import "strings"

// CanonicalUsername is the one form of a username that is stored, looked up
// and counted against: trimmed and lower-cased, so that "Admin" and
// " admin " are the same account for logins, enrollment codes and the
// failure limits alike.
func CanonicalUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
