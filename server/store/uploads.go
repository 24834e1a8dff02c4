package store

import (
	"context"
	"time"
)

// Uploads keep the durable point of every partial photo upload in the
// store, where every replica sees it, so that an upload cut on one replica
// resumes on any other: the bytes themselves are staged as pieces in a
// blob store the replicas share (see server/photos), and the store says
// which pieces make up how much of the photo. Uploads are kept per device
// (sha256 and device id name one): two devices sending the same photo
// never share or clobber each other's partial upload.
type Uploads interface {
	// Upload returns the state of device's partial upload of sha;
	// not_found when nothing of it is staged.
	Upload(ctx context.Context, sha, device string) (Upload, error)
	// SaveUpload replaces the state of (u.SHA256, u.Device) at u.Version
	// (0: there is none yet) with u and returns it with its new Version and UpdatedAt. Another
	// save or a delete since the caller read u makes it a conflict, so
	// that of two replicas receiving the same photo at once only one
	// moves its upload on.
	SaveUpload(ctx context.Context, u Upload) (Upload, error)
	// DeleteUpload removes the state at version: conflict when it moved on
	// since, not_found when there is none. The caller deletes the pieces.
	DeleteUpload(ctx context.Context, sha, device string, version int64) error
	// StaleUploads lists, oldest first, at most limit uploads last saved
	// before before: the abandoned ones the clean-up job removes.
	StaleUploads(ctx context.Context, before time.Time, limit int) ([]Upload, error)
}

// Upload is the durable point of a partial photo upload: the first Offset
// bytes of the photo are staged in Pieces, in order, and Hash is the
// SHA-256 state after exactly those bytes.
type Upload struct {
	SHA256 string
	Device string // the device sending the bytes: its upload is its own
	Size   int64  // the whole photo's length, as the upload declared it
	Offset int64
	Hash   []byte // the sha256 state in its encoding.BinaryMarshaler form
	Pieces []UploadPiece
	// Pending names a piece being written that the state does not vouch
	// for yet. Whoever replaces or deletes the state deletes that piece
	// too, so that a replica killed while writing one leaves nothing
	// behind that no state names.
	Pending   string
	Version   int64     // 0 before the first save; each save adds one
	UpdatedAt time.Time // the store's time of the last save
}

// UploadPiece is one staged run of a photo's bytes.
type UploadPiece struct {
	Key  string `json:"key"`  // the staged object's key
	Size int64  `json:"size"` // photo bytes it holds
}
