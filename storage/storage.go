// Package storage keeps photo evidence and derived files in a blob store
// addressed by the SHA-256 of their bytes. The local-disk store is the
// embedded default; the S3 store puts the same blobs into any
// S3-compatible object storage. Both pass one contract suite
// (storagetest.Run), so the server cannot tell them apart.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) when no blob has that key.
var ErrNotFound = errors.New("storage: not found")

// ErrChecksum is returned (wrapped) by Put when the bytes read do not hash
// to the key or do not have the declared size; nothing is stored then.
var ErrChecksum = errors.New("storage: checksum mismatch")

// ErrInvalidKey is returned for a key that is not 64 lowercase hex digits.
var ErrInvalidKey = errors.New("storage: invalid key")

// Info describes a stored blob.
type Info struct {
	Key         string // lowercase hex SHA-256 of the bytes
	Size        int64
	ContentType string
	ModTime     time.Time
	ETag        string // strong validator for HTTP: the quoted key
}

// Object is an open blob: seekable so that HTTP range requests can be
// served from it without reading it whole.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Store is a content-addressed blob store. Keys are the lowercase hex
// SHA-256 of the bytes; a blob is visible only once all of it is stored and
// verified, never half-written.
type Store interface {
	// Put stores size bytes read from r under key, verifying while it
	// streams that they hash to key. Storing a key that exists is a no-op
	// that still drains and verifies r.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Stat returns the blob's Info or an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Open opens the blob for reading or returns an error wrapping ErrNotFound.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes the blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is usable (for readiness probes).
	Ping(ctx context.Context) error
}
