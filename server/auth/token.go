package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Token prefixes tell a person (and a secret scanner) what a leaked token
// is: a user session or a device credential.
const (
	PrefixUser   = "pt_"
	PrefixDevice = "pd_"
)

// NewToken returns a fresh random bearer token: prefix plus 32 random bytes
// in base64url. Only its HashToken is ever stored.
func NewToken(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: new token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is the hex SHA-256 of a token, the form kept in the database so
// that a stolen database holds no usable credential. Tokens carry 256 bits
// of entropy, so a plain hash suffices (no salt, no stretching).
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// codeAlphabet leaves out characters that are easily confused when read
// aloud or typed from a screen (0/O, 1/I/L, 5/S, 2/Z, 8/B).
const codeAlphabet = "ACDEFGHJKMNPQRTUVWXY34679"

// codeLen is the number of significant characters of an enrollment code
// (25^10 ≈ 9.5e13 possibilities; codes are single-use and expire).
const codeLen = 10

// NewEnrollmentCode returns a one-time code grouped for reading aloud,
// like "ACDE-FGHJ-KM".
func NewEnrollmentCode() (string, error) {
	b := make([]byte, codeLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: new enrollment code: %w", err)
	}
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		// 256 % 25 = 6: a negligible bias for a single-use, expiring code.
		sb.WriteByte(codeAlphabet[int(x)%len(codeAlphabet)])
	}
	return sb.String(), nil
}

// NormalizeEnrollmentCode maps what a person typed (lower case, spaces,
// missing or extra dashes) to the canonical grouped form, so that the hash
// matches however the code was entered.
func NormalizeEnrollmentCode(s string) string {
	var raw []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c == '-' || c == ' ' || c == '\t' {
			continue
		}
		raw = append(raw, c)
	}
	var sb strings.Builder
	for i, c := range raw {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// WellFormedEnrollmentCode reports whether s, normalised, has the length
// and alphabet of a code NewEnrollmentCode makes. A code that does not is a
// typo, not a guess: it is answered without counting against the guessing
// limits, so that typing mistakes do not lock a shared address out.
func WellFormedEnrollmentCode(s string) bool {
	n := 0
	for _, c := range []byte(NormalizeEnrollmentCode(s)) {
		if c == '-' {
			continue
		}
		if strings.IndexByte(codeAlphabet, c) < 0 {
			return false
		}
		n++
	}
	return n == codeLen
}

// HashEnrollmentCode is the stored form of an enrollment code.
func HashEnrollmentCode(code string) string {
	return HashToken("enroll:" + NormalizeEnrollmentCode(code))
}
