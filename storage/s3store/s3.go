// Package s3store keeps blobs in S3-compatible object storage (MinIO in
// production) through minio-go. It lives apart from package storage so that
// the device library, which uses the local store, never links minio-go.
package s3store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/patrolhq/patrol/storage"
)

// ErrAccessDenied is returned (wrapped) when the Store server refuses the
// credentials, so that an operator sees a wrong key rather than a missing
// photo.
var ErrAccessDenied = errors.New("s3store: s3 access denied (check the access key and secret key)")

// ErrNoBucket is returned (wrapped) when the configured bucket does not
// exist (any more) on the Store server.
var ErrNoBucket = errors.New("s3store: s3 bucket does not exist")

// Config says where the Store store keeps its blobs.
type Config struct {
	Endpoint  string // host:port, without scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // empty means the server's default
	TLS       bool   // https instead of http
	Prefix    string // optional object-name prefix, e.g. "photos/"
}

// Store is the Store on S3-compatible object storage (MinIO in production).
// Each blob is one object named Prefix+key, written by a single PUT whose
// body is verified while it streams: the final bytes are withheld until
// the SHA-256 and size match, so a mismatch aborts the request and the
// server never commits the object. The expected SHA-256 also travels in
// x-amz-checksum-sha256, so the server checks the bytes it received too.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ storage.Store = (*Store)(nil)

// New connects to the S3 server of cfg and creates the bucket if it is
// missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3store: open s3: endpoint and bucket are required")
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("s3store: open s3: endpoint %q must be host:port without a scheme (use the TLS setting for https)", cfg.Endpoint)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:          cfg.TLS,
		Region:          cfg.Region,
		TrailingHeaders: true, // required by minio-go to send x-amz-checksum-sha256
		// A dead endpoint should fail a photo upload within seconds (the
		// device keeps the photo and retries with backoff), not hang on
		// minio-go's default of ten retries.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: open s3 %s: %w", cfg.Endpoint, err)
	}
	prefix := cfg.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	s := &Store{client: client, bucket: cfg.Bucket, prefix: prefix}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3store: open s3 %s bucket %s: %w", cfg.Endpoint, cfg.Bucket, s3Err(err))
	}
	if !ok {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		switch minio.ToErrorResponse(err).Code {
		case "", "BucketAlreadyOwnedByYou":
			// Created, by this call or by a concurrent one.
		default:
			return nil, fmt.Errorf("s3store: open s3 %s: create bucket %s: %w", cfg.Endpoint, cfg.Bucket, s3Err(err))
		}
	}
	return s, nil
}

// Client returns the underlying minio client, for benchmarks that compare
// against plain PutObject.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// ObjectName returns the object name under which key is stored.
func (s *Store) ObjectName(key string) string { return s.prefix + key }

// Put implements Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("s3store: put: %w", err)
	}
	if size < 0 {
		return fmt.Errorf("s3store: put %s: negative size %d: %w", key, size, storage.ErrChecksum)
	}
	if contentType == "" {
		contentType = storage.DefaultContentType
	}
	name := s.ObjectName(key)
	// No existence check first: the bytes are content-addressed, so putting
	// a stored key again writes the same verified bytes (and a failed put
	// leaves the stored object as it was), and the round trip is saved.
	v := storage.NewVerifier(r, key, size)
	body := io.Reader(storage.ContextReader{Ctx: ctx, R: v}) // stop sending the moment ctx ends
	if size == 0 {
		// Nothing to withhold in an empty body: verify before sending.
		if err := storage.Drain(r, key, 0); err != nil {
			return fmt.Errorf("s3store: put %s: %w", key, err)
		}
		body = strings.NewReader("")
	}
	sum, _ := hex.DecodeString(key)
	_, err := s.client.PutObject(ctx, s.bucket, name, body, size, minio.PutObjectOptions{
		ContentType:      contentType,
		DisableMultipart: true, // one PUT: the object appears whole or not at all
		// The S3 server checks the bytes against x-amz-checksum-sha256 and
		// the last bytes are withheld until they hash to the key, so the
		// payload is not signed a third time (UNSIGNED-PAYLOAD with a
		// trailing CRC): on a two-core server that is a third of the CPU
		// an upload costs.
		DisableContentSha256: true,
		UserMetadata:         map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum)},
	})
	if verr := v.Err(); verr != nil {
		return fmt.Errorf("s3store: put %s: %w", key, verr)
	}
	if err != nil {
		return fmt.Errorf("s3store: put %s: %w", key, s3Err(err))
	}
	if size > 0 && !v.Verified() {
		// The server took fewer bytes than declared; since it checked them
		// against the key's SHA-256, what it keeps (if anything) is exactly
		// the blob named key. The caller's size was wrong: say so.
		return fmt.Errorf("s3store: put %s: upload ended after %d of %d bytes: %w", key, v.N(), size, storage.ErrChecksum)
	}
	return nil
}

// Stat implements Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Info{}, fmt.Errorf("s3store: stat: %w", err)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.ObjectName(key), minio.StatObjectOptions{})
	if err != nil {
		return storage.Info{}, fmt.Errorf("s3store: stat %s: %w", key, s3Err(err))
	}
	return s3Info(key, oi), nil
}

// s3Info converts object metadata to storage.Info.
func s3Info(key string, oi minio.ObjectInfo) storage.Info {
	ct := oi.ContentType
	if ct == "" {
		ct = storage.DefaultContentType
	}
	return storage.Info{Key: key, Size: oi.Size, ContentType: ct, ModTime: oi.LastModified, ETag: storage.ETag(key)}
}

// Open implements Store.
func (s *Store) Open(ctx context.Context, key string) (storage.Object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("s3store: open: %w", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.ObjectName(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3store: open %s: %w", key, s3Err(err))
	}
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("s3store: open %s: %w", key, s3Err(err))
	}
	return &s3Object{Object: obj, info: s3Info(key, oi)}, nil
}

// Delete implements Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("s3store: delete: %w", err)
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.ObjectName(key), minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		return fmt.Errorf("s3store: delete %s: %w", key, s3Err(err))
	}
	return nil
}

// Ping implements Store: the bucket must exist and the credentials work.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3store: ping: %w", s3Err(err))
	}
	if !ok {
		return fmt.Errorf("s3store: ping: %w: %s", ErrNoBucket, s.bucket)
	}
	return nil
}

// s3Object is an open Store object; *minio.Object seeks by issuing ranged GETs.
type s3Object struct {
	*minio.Object
	info storage.Info
}

// Info implements storage.Object.
func (o *s3Object) Info() storage.Info { return o.info }

// s3Err translates an Store error by its code into the package's errors,
// keeping the original for the message.
func s3Err(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NoSuchVersion":
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case "NoSuchBucket":
		return fmt.Errorf("%w: %w", ErrNoBucket, err)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	case "BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch":
		return fmt.Errorf("%w: %w", storage.ErrChecksum, err)
	}
	return err
}
