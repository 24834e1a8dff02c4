package photos

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// stagingState is the durable point of a partial upload: the first Offset
// bytes of the part file are fsynced and Hash is the SHA-256 state after
// exactly those bytes.
type stagingState struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Hash   []byte `json:"hash"` // sha256 state, encoding.BinaryMarshaler form
}

// maxStateFile bounds what is read of a state file.
const maxStateFile = 4 << 10

// stageKey names one device's upload of one photo: the hash, a dot and
// the device (stageKeyOf). Uploads are staged per device, so that no
// device sees, continues or commits bytes that another device sent:
// sending all of a photo's bytes is how a device proves that it has the
// photo (see Upload).
type stageKey string

// stageKeyOf is the key of device's upload of sha. A device id made of
// letters, digits and dashes (the server's UUIDs) names the files as it
// is; any other id is replaced by its SHA-256, so that no id can reach
// outside the staging directory.
func stageKeyOf(sha, device string) stageKey {
	safe := len(device) > 0 && len(device) <= 64
	for i := 0; safe && i < len(device); i++ {
		c := device[i]
		safe = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-'
	}
	if !safe {
		sum := sha256.Sum256([]byte(device))
		device = "h" + hex.EncodeToString(sum[:16])
	}
	return stageKey(sha + "." + device)
}

// sha is the hash of the photo uploaded.
func (k stageKey) sha() string { return string(k)[:64] }

// parseStageKey reads the key of a staged file's name without its
// suffix; names from before uploads were staged per device (the hash
// alone) are keys too, so that CleanStaging removes them.
func parseStageKey(name string) (stageKey, bool) {
	if len(name) < 64 || !validSHA(name[:64]) || len(name) > 64 && name[64] != '.' {
		return "", false
	}
	return stageKey(name), true
}

func (s *Service) partPath(k stageKey) string { return filepath.Join(s.StagingDir, string(k)+".part") }
func (s *Service) statePath(k stageKey) string {
	return filepath.Join(s.StagingDir, string(k)+".state")
}

// loadState reads the durable state of upload k; ok is false when there
// is none or it is unusable (then the upload starts from zero).
func (s *Service) loadState(k stageKey) (st stagingState, h hash.Hash, ok bool) {
	sha := k.sha()
	f, err := os.Open(s.statePath(k))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.logger().Warn("photos: staging state unreadable; upload restarts", "sha256", sha, "err", err)
		}
		return stagingState{}, nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	h = sha256.New()
	if err == nil {
		err = h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash)
	}
	if err == nil && (st.Offset < 0 || st.Length <= 0 || st.Offset > st.Length) {
		err = fmt.Errorf("offset %d of length %d", st.Offset, st.Length)
	}
	if err != nil {
		s.logger().Warn("photos: staging state corrupt; upload restarts", "sha256", sha, "err", err)
		return stagingState{}, nil, false
	}
	return st, h, true
}

// saveState makes the part file durable up to st.Offset and then replaces
// the state file atomically (write, fsync, rename, fsync the directory), so
// that the state never vouches for bytes that are not on disk.
func (s *Service) saveState(k stageKey, part *os.File, st stagingState, h hash.Hash) error {
	sha := k.sha()
	if err := part.Sync(); err != nil {
		return fmt.Errorf("photos: sync %s.part: %w", short(sha), err)
	}
	hs, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("photos: hash state %s: %w", short(sha), err)
	}
	st.Hash = hs
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("photos: state %s: %w", short(sha), err)
	}
	tmp := s.statePath(k) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("photos: state %s: %w", short(sha), err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.statePath(k))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("photos: state %s: %w", short(sha), err)
	}
	return syncDir(s.StagingDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("photos: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("photos: sync dir: %w", err)
	}
	return nil
}

// removeStaging deletes every staged file of upload k.
func (s *Service) removeStaging(k stageKey) {
	for _, p := range []string{s.statePath(k), s.partPath(k), s.statePath(k) + ".tmp"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.logger().Warn("photos: remove staging", "path", p, "err", err)
		}
	}
}

// staged is an upload opened for appending at its durable point.
type staged struct {
	key stageKey
	by  Upload // who sends the bytes
	f   *os.File
	h   hash.Hash
	st  stagingState
	// deferSync leaves the end of a complete body not durable: the caller
	// commits at once and makes the staged bytes durable only if that fails.
	deferSync bool
}

// openStaging opens upload k at its durable point for a request that
// starts at reqOffset of a photo of length bytes. It answers
// offset_mismatch (with the offset the request must use) when they differ,
// and restarts from zero when the staged files cannot be trusted.
func (s *Service) openStaging(k stageKey, length, reqOffset int64) (*staged, error) {
	sha := k.sha()
	st, h, ok := s.loadState(k)
	if ok && st.Length != length {
		if reqOffset != 0 {
			return nil, mismatch(0, "the upload of photo %s was started with Upload-Length %d, this request says %d; start again at offset 0",
				short(sha), st.Length, length)
		}
		s.logger().Info("photos: upload restarted with another length", "sha256", sha, "was", st.Length, "now", length)
		ok = false
	}
	if !ok {
		st, h = stagingState{Length: length}, sha256.New()
		if err := os.Remove(s.statePath(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("photos: reset %s: %w", short(sha), err)
		}
	}
	if !ok && reqOffset != 0 { // nothing staged: refused before any file is made
		return nil, mismatch(0, "the server holds no bytes of photo %s from this device; start at offset 0", short(sha))
	}
	f, err := os.OpenFile(s.partPath(k), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("photos: open %s.part: %w", short(sha), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("photos: stat %s.part: %w", short(sha), err)
	}
	if fi.Size() < st.Offset { // the state vouches for bytes the part file lost
		s.logger().Warn("photos: part file shorter than its state; upload restarts", "sha256", sha, "part", fi.Size(), "state", st.Offset)
		st, h = stagingState{Length: length}, sha256.New()
		os.Remove(s.statePath(k))
	}
	if reqOffset != st.Offset {
		f.Close()
		return nil, mismatch(st.Offset, "the server holds %d bytes of photo %s; this request starts at %d; resume at offset %d",
			st.Offset, short(sha), reqOffset, st.Offset)
	}
	if fi.Size() != st.Offset { // bytes written after the last durable point
		if err := f.Truncate(st.Offset); err != nil {
			f.Close()
			return nil, fmt.Errorf("photos: truncate %s.part: %w", short(sha), err)
		}
	}
	if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("photos: seek %s.part: %w", short(sha), err)
	}
	return &staged{key: k, f: f, h: h, st: st}, nil
}

// offsetMismatch is an offset_mismatch refusal that carries the offset the
// client must resume at (sent in the Upload-Offset header).
type offsetMismatch struct {
	err    *schema.Error
	offset int64
}

func (m *offsetMismatch) Error() string { return m.err.Error() }
func (m *offsetMismatch) Unwrap() error { return m.err }

func mismatch(offset int64, format string, args ...any) error {
	return &offsetMismatch{err: schema.Errorf(schema.CodeOffsetMismatch, format, args...), offset: offset}
}

// CleanStaging removes partial uploads untouched for longer than age, so
// that abandoned uploads do not fill the disk or the staging blob store;
// it returns how many uploads it removed. Run it from a periodic job, on
// one replica at a time (the server's job lock): the shared uploads are
// every replica's.
func (s *Service) CleanStaging(ctx context.Context, age time.Duration) (int, error) {
	entries, err := os.ReadDir(s.StagingDir)
	if err != nil {
		return 0, fmt.Errorf("photos: clean staging: %w", err)
	}
	cutoff := s.now().Add(-age)
	s.cleanThumbSources(cutoff)
	removed := 0
	if s.sharedStaging() {
		n, err := s.cleanShared(ctx, cutoff)
		if removed += n; err != nil {
			return removed, err
		}
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".part")
		if !ok {
			continue
		}
		k, ok := parseStageKey(name)
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			continue
		}
		unlock, ok := s.locks.lock(context.Background(), string(k), 0)
		if !ok {
			continue // being uploaded right now
		}
		s.removeStaging(k)
		unlock()
		removed++
	}
	return removed, nil
}
