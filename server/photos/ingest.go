package photos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/patrolhq/patrol/server/store"
)

// Ingest stores photo bytes that arrive without a device, after the same
// checks as an upload (type, dimensions, size), and records them with no
// uploader: the photos of imported records, such as the demo district's,
// whose claims the import proved. Its thumbnail is made when first asked
// for. It answers the record; bytes stored already are recorded again as
// they were.
func (s *Service) Ingest(ctx context.Context, data []byte) (store.Photo, error) {
	if int64(len(data)) > s.maxSize() {
		return store.Photo{}, fmt.Errorf("photos: ingest: %d bytes exceed the %d-byte limit", len(data), s.maxSize())
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	r := bytes.NewReader(data)
	mediaType, w, h, err := s.probe(r, int64(len(data)))
	if err != nil {
		return store.Photo{}, fmt.Errorf("photos: ingest %s: %w", short(sha), err)
	}
	if err := s.Blobs.Put(ctx, sha, bytes.NewReader(data), int64(len(data)), mediaType); err != nil {
		return store.Photo{}, fmt.Errorf("photos: ingest %s: %w", short(sha), err)
	}
	p := store.Photo{SHA256: sha, Size: int64(len(data)), MediaType: mediaType, Width: w, Height: h, ReceivedAt: s.now()}
	if err := s.Records.RecordPhoto(ctx, p, store.Uploader{}); err != nil {
		return store.Photo{}, fmt.Errorf("photos: ingest %s: %w", short(sha), err)
	}
	return p, nil
}
