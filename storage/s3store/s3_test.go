package s3store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/patrolhq/patrol/storage"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"
)

func s3Config(ep storagetest.S3Endpoint) s3store.Config {
	return s3store.Config{Endpoint: ep.Endpoint, Bucket: ep.Bucket, AccessKey: ep.AccessKey, SecretKey: ep.SecretKey, Region: ep.Region}
}

func TestS3_Contract(t *testing.T) {
	ep := storagetest.StartVersityGW(t)
	n := 0
	storagetest.Run(t, func(t *testing.T) storage.Store {
		// One gateway, a fresh bucket (or prefix) per subtest.
		n++
		cfg := s3Config(ep)
		cfg.Bucket = ep.Bucket + "-" + string(rune('a'+n%26)) + string(rune('a'+n/26))
		if n%2 == 0 {
			cfg.Prefix = "photos"
		}
		s, err := s3store.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("NewS3: %v", err)
		}
		return s
	})
}

func TestS3_CreatesBucket(t *testing.T) {
	ep := storagetest.StartVersityGW(t)
	ctx := context.Background()
	s, err := s3store.New(ctx, s3Config(ep))
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	ok, err := s.Client().BucketExists(ctx, ep.Bucket)
	if err != nil || !ok {
		t.Fatalf("BucketExists(%s) = %v, %v; want the bucket created", ep.Bucket, ok, err)
	}
	// Opening again finds the bucket and keeps its objects.
	b, key := storagetest.Blob(1, 5000)
	if err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	s2, err := s3store.New(ctx, s3Config(ep))
	if err != nil {
		t.Fatalf("second NewS3: %v", err)
	}
	if info, err := s2.Stat(ctx, key); err != nil || info.Size != int64(len(b)) {
		t.Fatalf("Stat via second store = %+v, %v", info, err)
	}
	// The object is stored under its key, with its exact bytes.
	obj, err := s.Client().GetObject(ctx, ep.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(obj); err != nil || storage.KeyOf(got.Bytes()) != key {
		t.Fatalf("object %s: %v; bytes hash to %s", key, err, storage.KeyOf(got.Bytes()))
	}
}

func TestS3_ErrorsMapByCode(t *testing.T) {
	ep := storagetest.StartVersityGW(t)
	ctx := context.Background()

	wrong := s3Config(ep)
	wrong.SecretKey = "not-the-secret"
	if _, err := s3store.New(ctx, wrong); !errors.Is(err, s3store.ErrAccessDenied) {
		t.Fatalf("NewS3 with a wrong secret = %v; want ErrAccessDenied", err)
	}

	s, err := s3store.New(ctx, s3Config(ep))
	if err != nil {
		t.Fatal(err)
	}
	_, key := storagetest.Blob(2, 10)
	if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat of a missing key = %v; want ErrNotFound", err)
	}

	// A store whose bucket was removed behind its back says so.
	if err := s.Client().RemoveBucket(ctx, ep.Bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, s3store.ErrNoBucket) {
		t.Fatalf("Ping without bucket = %v; want ErrNoBucket", err)
	}
	b, key := storagetest.Blob(3, 100)
	if err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), ""); err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}

	if _, err := s3store.New(ctx, s3store.Config{Endpoint: "http://" + ep.Endpoint, Bucket: "x"}); err == nil {
		t.Fatal("NewS3 accepted an endpoint with a scheme")
	}
}

// TestS3_ServerVerifiesChecksumHeader checks the second line of defence
// the S3 store relies on: the server itself refuses a body whose SHA-256
// differs from x-amz-checksum-sha256, which Put always sends.
func TestS3_ServerVerifiesChecksumHeader(t *testing.T) {
	ep := storagetest.StartVersityGW(t)
	ctx := context.Background()
	s, err := s3store.New(ctx, s3Config(ep))
	if err != nil {
		t.Fatal(err)
	}
	b, key := storagetest.Blob(4, 70_000)
	_, other := storagetest.Blob(5, 10)
	sum, _ := hex.DecodeString(other)
	_, err = s.Client().PutObject(ctx, ep.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
		DisableMultipart: true,
		UserMetadata:     map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum)},
	})
	if code := minio.ToErrorResponse(err).Code; code != "BadDigest" {
		t.Fatalf("PutObject with a wrong x-amz-checksum-sha256 = %v (code %q); want BadDigest", err, code)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat after refused PutObject = %v; want ErrNotFound", err)
	}
}
