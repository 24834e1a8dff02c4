package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// KeyLen is the length of a key: the hex form of a SHA-256 sum.
const KeyLen = 64

// ValidateKey returns an error wrapping ErrInvalidKey unless key is 64
// lowercase hex digits, so that a key can never name a path or object
// outside the store.
func ValidateKey(key string) error {
	if len(key) != KeyLen {
		return fmt.Errorf("%w: %q is %d characters, want %d lowercase hex digits", ErrInvalidKey, clip(key), len(key), KeyLen)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("%w: %q has %q at %d, want lowercase hex digits", ErrInvalidKey, clip(key), c, i)
		}
	}
	return nil
}

// ETag is the strong HTTP validator of the blob under key: since the key is
// the hash of the bytes, the quoted key never changes while the blob exists.
func ETag(key string) string { return `"` + key + `"` }

// KeyOf returns the key of b, for callers that hold a whole blob in memory
// (tests, small derived files).
func KeyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// errShort and errLong explain a size mismatch; both wrap ErrChecksum.
var (
	errShort = errors.New("fewer bytes than declared")
	errLong  = errors.New("more bytes than declared")
)

// Verifier reads exactly size bytes from src while hashing them, and
// withholds the final bytes, returning an error instead, when the total does
// not hash to key or the size is wrong. A consumer that commits only on a
// clean EOF (an HTTP request body, a temp file renamed after io.Copy) can
// therefore never commit unverified bytes.
type Verifier struct {
	src  io.Reader
	key  string
	size int64
	n    int64
	h    hash.Hash
	done bool  // all bytes delivered and verified; next Read is EOF
	err  error // sticky verification or source error
}

// NewVerifier wraps src so that it yields exactly size bytes hashing to key,
// or an error wrapping ErrChecksum before the last byte.
func NewVerifier(src io.Reader, key string, size int64) *Verifier {
	return &Verifier{src: src, key: key, size: size, h: sha256.New()}
}

// Read implements io.Reader.
func (v *Verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.done {
		return 0, io.EOF
	}
	if v.n == v.size {
		// Only reached for size 0: nothing to withhold, verify now.
		if err := v.finish(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if rem := v.size - v.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	m, err := v.src.Read(p)
	v.n += int64(m)
	v.h.Write(p[:m])
	if v.n == v.size {
		if ferr := v.finish(); ferr != nil {
			return 0, ferr // withhold the last bytes
		}
		return m, nil
	}
	switch {
	case err == io.EOF:
		v.err = fmt.Errorf("%w: got %d of %d bytes: %w", ErrChecksum, v.n, v.size, errShort)
		return 0, v.err
	case err != nil:
		v.err = fmt.Errorf("read after %d of %d bytes: %w", v.n, v.size, err)
		return 0, v.err
	}
	return m, nil
}

// finish checks that src has nothing more and that the hash matches.
func (v *Verifier) finish() error {
	var one [1]byte
	for tries := 0; ; tries++ {
		if tries == 100 {
			v.err = fmt.Errorf("read after %d of %d bytes: %w", v.n, v.size, io.ErrNoProgress)
			return v.err
		}
		m, err := v.src.Read(one[:])
		if m > 0 {
			v.err = fmt.Errorf("%w: %w (%d)", ErrChecksum, errLong, v.size)
			return v.err
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			v.err = fmt.Errorf("read after %d of %d bytes: %w", v.n, v.size, err)
			return v.err
		}
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.key {
		v.err = fmt.Errorf("%w: bytes hash to %s", ErrChecksum, got)
		return v.err
	}
	v.done = true
	return nil
}

// Err returns the verification or source error, if any.
func (v *Verifier) Err() error { return v.err }

// Verified reports whether every byte was delivered and matched the key.
func (v *Verifier) Verified() bool { return v.done }

// N returns how many bytes the Verifier has read from its source.
func (v *Verifier) N() int64 { return v.n }

// Drain reads r to the end through a Verifier: how Put answers for a key
// that is already stored.
func Drain(r io.Reader, key string, size int64) error {
	_, err := io.Copy(io.Discard, NewVerifier(r, key, size))
	return err
}
