package s3store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/patrolhq/patrol/storage"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"
)

const benchPhoto = 3 << 20 // a typical phone photo

// BenchmarkS3Put measures verified Put of 3 MiB photos into versitygw.
func BenchmarkS3Put(b *testing.B) {
	ep := storagetest.StartVersityGW(b)
	s, err := s3store.New(context.Background(), s3Config(ep))
	if err != nil {
		b.Fatal(err)
	}
	photo, _ := storagetest.Blob(1, benchPhoto)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		binary.LittleEndian.PutUint64(photo, uint64(i)) // a new photo each time
		key := storage.KeyOf(photo)
		b.StartTimer()
		if err := s.Put(context.Background(), key, bytes.NewReader(photo), benchPhoto, "image/jpeg"); err != nil {
			b.Fatal(err)
		}
	}
	reportMBs(b)
}

// BenchmarkS3DirectPutObject is the limit for BenchmarkS3Put: plain
// minio-go PutObject of the same bytes to the same server.
func BenchmarkS3DirectPutObject(b *testing.B) {
	ep := storagetest.StartVersityGW(b)
	s, err := s3store.New(context.Background(), s3Config(ep))
	if err != nil {
		b.Fatal(err)
	}
	photo, _ := storagetest.Blob(1, benchPhoto)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		binary.LittleEndian.PutUint64(photo, uint64(i))
		key := storage.KeyOf(photo)
		b.StartTimer()
		_, err := s.Client().PutObject(context.Background(), ep.Bucket, key, bytes.NewReader(photo), benchPhoto,
			minio.PutObjectOptions{ContentType: "image/jpeg"})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportMBs(b)
}

// BenchmarkLocalPut measures verified, fsynced Put of 3 MiB photos to disk.
func BenchmarkLocalPut(b *testing.B) {
	l, err := storage.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	photo, _ := storagetest.Blob(1, benchPhoto)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		binary.LittleEndian.PutUint64(photo, uint64(i))
		key := storage.KeyOf(photo)
		b.StartTimer()
		if err := l.Put(context.Background(), key, bytes.NewReader(photo), benchPhoto, "image/jpeg"); err != nil {
			b.Fatal(err)
		}
	}
	reportMBs(b)
}

func reportMBs(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)*benchPhoto/1e6/s, "MB/s")
	}
}
