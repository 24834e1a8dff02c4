// Package auth holds the credential primitives of the server: password
// hashing, bearer tokens, device enrollment codes and the authenticated
// principal. It knows nothing about HTTP or SQL, so the store and the HTTP
// layer share one definition of each.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/patrolhq/patrol/schema"
)

// Params are the argon2id cost parameters. They are written into every hash,
// so raising them later leaves old hashes verifiable.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int
	KeyLen    uint32
}

// DefaultParams follow the OWASP minimum for argon2id (19 MiB, 2 passes,
// 1 lane): slow enough to make offline guessing expensive, fast enough that
// a login costs tens of milliseconds.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// MaxPasswordLen bounds the input to the hash so that a huge password cannot
// be used to burn CPU (schema.MaxPasswordLen, which the account rules check).
const MaxPasswordLen = schema.MaxPasswordLen

// ErrMalformedHash is returned by VerifyPassword for a stored hash that is not
// in the "$argon2id$v=19$m=..,t=..,p=..$salt$key" form.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// HashPassword hashes pw with argon2id and DefaultParams, returning the
// self-describing encoded form stored in users.password_hash.
func HashPassword(pw string) (string, error) {
	return HashPasswordParams(pw, DefaultParams)
}

// HashPasswordParams hashes pw with explicit parameters (for migrations of
// the cost and for tests).
func HashPasswordParams(pw string, p Params) (string, error) {
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("auth: hash password: longer than %d bytes", MaxPasswordLen)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the encoded hash, comparing in
// constant time. An error means the stored hash itself is unusable.
func VerifyPassword(hash, pw string) (bool, error) {
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, fmt.Errorf("%w: bad parameters %q", ErrMalformedHash, parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("%w: salt: %v", ErrMalformedHash, err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return false, fmt.Errorf("%w: key", ErrMalformedHash)
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}
