package photos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/patrolhq/patrol/server/store"
)

// thumbQueueLen bounds the photos waiting for a thumbnail; past it the
// thumbnail is made on first request instead.
const thumbQueueLen = 256

// thumbJob is a stored photo whose thumbnail is still to be made from its
// staged copy at path, or from the blob store when path is empty.
type thumbJob struct {
	sha, mediaType, path string
	size                 int64
}

// thumbQueue makes thumbnails after the upload has been answered, so a
// device never waits for a decode and a second store request.
type thumbQueue struct {
	once    sync.Once
	jobs    chan thumbJob
	pending sync.WaitGroup
}

// thumbSrcPath is where a stored photo's staged bytes (of upload k) wait
// for their thumbnail.
func (s *Service) thumbSrcPath(k stageKey) string {
	return filepath.Join(s.StagingDir, string(k)+".thumbsrc")
}

// queueThumbnail hands a just-stored photo's staged bytes (of upload k)
// to the thumbnail workers, or drops them when there is no decoder or no
// room (the thumb route then derives the thumbnail from the store when
// first asked).
func (s *Service) queueThumbnail(k stageKey, mediaType string, size int64) {
	sha := k.sha()
	if !decodable(mediaType) {
		s.removeStaging(k)
		return
	}
	src := s.thumbSrcPath(k)
	if err := os.Rename(s.partPath(k), src); err != nil {
		s.logger().Warn("photos: keep staged bytes for the thumbnail", "sha256", sha, "err", err)
		s.removeStaging(k)
		return
	}
	s.removeStaging(k)
	s.startThumbWorkers()
	s.thumbs.pending.Add(1)
	select {
	case s.thumbs.jobs <- thumbJob{sha: sha, mediaType: mediaType, path: src, size: size}:
	default:
		s.counts.queueFull.Add(1)
		s.thumbs.pending.Done()
		os.Remove(src)
	}
}

// queueStoredThumbnail hands a just-stored photo to the thumbnail
// workers, which read it from the blob store (its staged pieces are gone).
func (s *Service) queueStoredThumbnail(sha, mediaType string, size int64) {
	if !decodable(mediaType) {
		return
	}
	s.startThumbWorkers()
	s.thumbs.pending.Add(1)
	select {
	case s.thumbs.jobs <- thumbJob{sha: sha, mediaType: mediaType, size: size}:
	default:
		s.counts.queueFull.Add(1)
		s.thumbs.pending.Done()
	}
}

func (s *Service) startThumbWorkers() {
	s.thumbs.once.Do(func() {
		s.thumbs.jobs = make(chan thumbJob, thumbQueueLen)
		for range s.pool().slots {
			go s.thumbWorker()
		}
	})
}

// queued is how many photos wait for a background thumbnail.
func (q *thumbQueue) queued() int { return len(q.jobs) }

// thumbWorker makes queued thumbnails one after another; there are as many
// workers as the decode pool has slots, and the pool's budget decides how
// many of them decode at once.
func (s *Service) thumbWorker() {
	for j := range s.thumbs.jobs {
		s.makeQueuedThumbnail(j)
		s.thumbs.pending.Done()
	}
}

func (s *Service) makeQueuedThumbnail(j thumbJob) {
	var f io.ReaderAt
	if j.path == "" { // from the blob store
		o, err := s.Blobs.Open(context.Background(), j.sha)
		if err != nil {
			s.logger().Warn("photos: no thumbnail", "sha256", j.sha, "err", err)
			return
		}
		defer o.Close()
		ra, ok := o.(io.ReaderAt)
		if !ok {
			s.logger().Warn("photos: no thumbnail: the store's object cannot be read at offsets", "sha256", j.sha)
			return
		}
		f = ra
	} else {
		defer os.Remove(j.path)
		file, err := os.Open(j.path)
		if err != nil {
			s.logger().Warn("photos: no thumbnail", "sha256", j.sha, "err", err)
			return
		}
		defer file.Close()
		f = file
	}
	// A background thumbnail waits for the decode budget as long as it
	// takes: waiting holds nothing but the job.
	ctx := context.Background()
	key, err := s.thumbnail(ctx, ctx, f, j.size, j.mediaType)
	var v *thumbVerdict
	if err := s.recordThumbnail(ctx, j.sha, j.mediaType, key, err); err != nil && !errors.As(err, &v) {
		s.logger().Warn("photos: no thumbnail", "sha256", j.sha, "media_type", j.mediaType, "err", err)
	}
}

// recordThumbnail keeps the outcome of thumbnail: the key of the thumbnail
// made, or a verdict, which is returned again once recorded.
func (s *Service) recordThumbnail(ctx context.Context, sha, mediaType, key string, err error) error {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	var v *thumbVerdict
	switch {
	case err == nil && key != "":
		return s.Records.SetThumbnail(ctx, sha, key)
	case errors.As(err, &v):
		s.logger().Warn("photos: no thumbnail, for good; the original is kept", "sha256", sha, "media_type", mediaType,
			"thumb_state", v.state, "reason", v.reason)
		if rerr := s.Records.SetThumbnailFailed(ctx, sha, v.state, v.reason); rerr != nil {
			return rerr
		}
	}
	return err
}

// WaitThumbnails blocks until every queued thumbnail is made (for tests
// and an orderly shutdown).
func (s *Service) WaitThumbnails() { s.thumbs.pending.Wait() }

// defaultThumbWait bounds how long a thumbnail request waits for the
// decode budget before it is answered 503 with Retry-After.
const defaultThumbWait = 10 * time.Second

func (s *Service) thumbWait() time.Duration {
	if s.thumbWaitFor > 0 {
		return s.thumbWaitFor
	}
	return defaultThumbWait
}

// thumbnailFromStore derives a missing thumbnail from the stored original
// (its job was dropped, or the server stopped before making it), waiting
// at most thumbWait for the decode budget, and records the outcome.
func (s *Service) thumbnailFromStore(ctx context.Context, p store.Photo) (string, error) {
	o, err := s.Blobs.Open(ctx, p.SHA256)
	if err != nil {
		return "", fmt.Errorf("photos: thumbnail of %s: %w", short(p.SHA256), err)
	}
	defer o.Close()
	ra, ok := o.(io.ReaderAt)
	if !ok {
		return "", errors.New("photos: thumbnail: the store's object cannot be read at offsets")
	}
	admit, cancel := context.WithTimeout(ctx, s.thumbWait())
	defer cancel()
	key, err := s.thumbnail(ctx, admit, ra, p.Size, p.MediaType)
	if err := s.recordThumbnail(ctx, p.SHA256, p.MediaType, key, err); err != nil {
		return "", err
	}
	return key, nil
}

// cleanThumbSources removes staged bytes of thumbnails that were never
// made (the server stopped first); their thumbnails come from the store.
func (s *Service) cleanThumbSources(cutoff time.Time) {
	entries, err := os.ReadDir(s.StagingDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		// .piece: a shared upload's piece spooled by a server that stopped.
		if !strings.HasSuffix(e.Name(), ".thumbsrc") && !strings.HasSuffix(e.Name(), ".piece") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			if err := os.Remove(filepath.Join(s.StagingDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.logger().Warn("photos: remove thumbnail source", "name", e.Name(), "err", err)
			}
		}
	}
}
