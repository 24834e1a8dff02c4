package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/mobile-sync/loadtest"
	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/storage/s3store"
	"github.com/patrolhq/patrol/storage/storagetest"
)

// benchPhotoSize is a typical phone photo.
const benchPhotoSize = 3 << 20

// photoBenchEnv is a server whose photos go to a real versitygw on
// loopback, and an enrolled device of the real device library.
type photoBenchEnv struct {
	s3  *s3store.Store
	dev *mobilesync.Device
	dir string
}

func newPhotoBenchEnv(b *testing.B) *photoBenchEnv {
	b.Helper()
	ctx := context.Background()
	ep := storagetest.StartVersityGW(b)
	s3, err := s3store.New(ctx, s3store.Config{Endpoint: ep.Endpoint, Bucket: ep.Bucket, AccessKey: ep.AccessKey, SecretKey: ep.SecretKey, Region: ep.Region})
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{DataDir: b.TempDir(), Logger: quiet, Blobs: s3})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	if _, err := demo.Seed(ctx, srv.Store(), demo.Options{HashPassword: auth.HashPassword, Venues: 30, Schools: 5, MonthsHistory: 1}); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	code, err := srv.EnrollmentCode(ctx, "inspector1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	dev, err := mobilesync.Open(ctx, mobilesync.Options{Path: filepath.Join(b.TempDir(), "device.db"), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dev.Close() })
	if err := dev.Enroll(ctx, hs.URL, code, "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := dev.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	return &photoBenchEnv{s3: s3, dev: dev, dir: b.TempDir()}
}

// BenchmarkPhotoUpload measures photos of 3 MB going device → server →
// versitygw: the device library's resumable upload (Device.UploadPhotos:
// HEAD, PATCH, marking the photo sent), the server's staging, hashing and
// content checks, the verified S3 put, the thumbnail and the photos row.
// Compare MB/s with BenchmarkDirectS3Put, the same bytes put straight into
// the same gateway. sync-MB/s adds what a whole Sync spends around the
// upload (push, pull, bookkeeping), measured as a Sync with nothing left to
// upload.
func BenchmarkPhotoUpload(b *testing.B) {
	e := newPhotoBenchEnv(b)
	ctx := context.Background()
	vs, err := e.dev.Venues(ctx)
	if err != nil || len(vs) == 0 {
		b.Fatalf("venues: %v", err)
	}
	cl, _ := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	var elapsed, syncRest time.Duration
	var bytesSent int64
	seed := uint64(time.Now().UnixNano())
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		// One inspection carrying one 3 MB photo on its first item; its
		// record is pushed before the clock starts.
		in := mobilesync.InspectionInput{VenueID: vs[i%len(vs)].ID}
		for k, it := range cl.Items {
			item := mobilesync.ItemInput{ItemID: it.ID, Result: schema.ResultPass}
			if k == 0 {
				p := filepath.Join(e.dir, fmt.Sprintf("p%d.jpg", i))
				if err := os.WriteFile(p, loadtest.JPEG(benchPhotoSize, seed+uint64(i)), 0o644); err != nil {
					b.Fatal(err)
				}
				item.Photos = []string{p}
			}
			in.Items = append(in.Items, item)
		}
		if _, err := e.dev.RecordInspection(ctx, in); err != nil {
			b.Fatal(err)
		}
		// Push the record first (photos held back), so the clock sees only
		// the upload.
		e.dev.SetPhotoUploader(holdPhotos{})
		if _, err := e.dev.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		e.dev.SetPhotoUploader(nil)
		b.StartTimer()
		start := time.Now()
		rep, err := e.dev.UploadPhotos(ctx)
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		if rep.PhotosUploaded != 1 {
			b.Fatalf("uploaded %d photos, want 1 (%+v)", rep.PhotosUploaded, rep)
		}
		bytesSent += rep.PhotoBytes
		// What a whole sync adds around the upload (push, pull, and
		// bookkeeping), measured apart: nothing is left to upload.
		start = time.Now()
		if rep, err := e.dev.Sync(ctx); err != nil || rep.PhotosUploaded != 0 {
			b.Fatalf("sync after the upload: %v (%+v)", err, rep)
		}
		syncRest += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(bytesSent)/1e6/elapsed.Seconds(), "MB/s")
	b.ReportMetric(float64(bytesSent)/1e6/(elapsed+syncRest).Seconds(), "sync-MB/s")
}

// holdPhotos is a photo uploader that uploads nothing.
type holdPhotos struct{}

func (holdPhotos) UploadPending(context.Context, *mobilesync.Device) (int, int64, error) {
	return 0, 0, nil
}

// BenchmarkDirectS3Put is the limit BenchmarkPhotoUpload is measured
// against: minio-go PutObject of the same 3 MB photos straight into the
// same kind of versitygw, with no server in between.
func BenchmarkDirectS3Put(b *testing.B) {
	e := newPhotoBenchEnv(b)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		photo := loadtest.JPEG(benchPhotoSize, seed+uint64(i))
		b.StartTimer()
		start := time.Now()
		_, err := e.s3.Client().PutObject(ctx, e.s3.Bucket(), fmt.Sprintf("direct/%d.jpg", i), bytes.NewReader(photo), int64(len(photo)),
			minio.PutObjectOptions{ContentType: "image/jpeg"})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N)*benchPhotoSize/1e6/elapsed.Seconds(), "MB/s")
}
