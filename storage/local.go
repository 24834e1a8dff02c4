package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultContentType is what a blob stored without a content type reports,
// so that Info.ContentType is never empty.
const DefaultContentType = "application/octet-stream"

// SweepAge is how old a leftover temporary file must be before NewLocal
// removes it: old enough that no Put still writes to it.
const SweepAge = time.Hour

// typeSuffix names the sidecar file that keeps a blob's content type.
const typeSuffix = ".type"

// Local is the local-disk Store, the embedded default. Blobs live at
// dir/ab/cd/<key> (fanned out by the first two bytes so that no directory
// grows huge), each with a small <key>.type sidecar for its content type.
// A Put writes into dir/tmp, verifies, fsyncs and renames into place, so a
// blob is never visible half-written, even after a crash.
type Local struct {
	dir string
	tmp string
	// Now tells Sweep the time; it is time.Now unless a test injects a clock.
	Now func() time.Time
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) a local store under dir and removes
// temporary files older than SweepAge that a crash left behind.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("storage: open local: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open local %s: %w", dir, err)
	}
	l := &Local{dir: abs, tmp: filepath.Join(abs, "tmp"), Now: time.Now}
	if err := os.MkdirAll(l.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("storage: open local %s: %w", dir, err)
	}
	if _, err := l.Sweep(SweepAge); err != nil {
		return nil, fmt.Errorf("storage: open local %s: %w", dir, err)
	}
	return l, nil
}

// Dir returns the store's root directory.
func (l *Local) Dir() string { return l.dir }

// Sweep removes temporary files in dir/tmp last modified more than
// olderThan ago: the remains of Puts interrupted by a crash. It returns
// how many it removed.
func (l *Local) Sweep(olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return 0, fmt.Errorf("storage: sweep: %w", err)
	}
	cutoff := l.Now().Add(-olderThan)
	removed := 0
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("storage: sweep: %w", err)
		}
		if !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.tmp, e.Name())); err != nil {
			return removed, fmt.Errorf("storage: sweep: %w", err)
		}
		removed++
	}
	return removed, nil
}

// path returns the directory and file name of key; key must be valid.
func (l *Local) path(key string) (dir, file string) {
	dir = filepath.Join(l.dir, key[0:2], key[2:4])
	return dir, filepath.Join(dir, key)
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("storage: put: %w", err)
	}
	if size < 0 {
		return fmt.Errorf("storage: put %s: negative size %d: %w", key, size, ErrChecksum)
	}
	if contentType == "" {
		contentType = DefaultContentType
	}
	dir, file := l.path(key)
	if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() {
		if err := Drain(ContextReader{Ctx: ctx, R: r}, key, size); err != nil {
			return fmt.Errorf("storage: put %s: %w", key, err)
		}
		return nil
	}
	if err := l.mkdirs(dir); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	tmp, err := l.writeTemp(key, ContextReader{Ctx: ctx, R: NewVerifier(r, key, size)})
	if err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	defer os.Remove(tmp) // no-op once renamed
	typeTmp, err := l.writeTemp(key+typeSuffix, strings.NewReader(contentType))
	if err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	defer os.Remove(typeTmp)
	// The sidecar goes first so that a visible blob always has its type.
	if err := os.Rename(typeTmp, file+typeSuffix); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	return nil
}

// writeTemp copies r into a new file in dir/tmp, fsyncs and closes it,
// and returns its name; on any error the file is removed.
func (l *Local) writeTemp(prefix string, r io.Reader) (name string, err error) {
	f, err := os.CreateTemp(l.tmp, prefix+"-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = io.Copy(f, r); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// mkdirs creates the fan-out directories of a blob and fsyncs the parent
// of each one it creates, so that the new entries survive a power loss.
func (l *Local) mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	mid := filepath.Dir(dir)
	for _, d := range []string{mid, dir} {
		err := os.Mkdir(d, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, fmt.Errorf("storage: stat: %w", err)
	}
	_, file := l.path(key)
	fi, err := os.Stat(file)
	if err != nil {
		return Info{}, fmt.Errorf("storage: stat %s: %w", key, notFound(err))
	}
	return l.info(key, file, fi), nil
}

// info builds the Info of a stored blob from its file and sidecar.
func (l *Local) info(key, file string, fi fs.FileInfo) Info {
	ct := DefaultContentType
	if b, err := os.ReadFile(file + typeSuffix); err == nil && len(b) > 0 {
		ct = string(b)
	}
	return Info{Key: key, Size: fi.Size(), ContentType: ct, ModTime: fi.ModTime(), ETag: ETag(key)}
}

// Open implements Store.
func (l *Local) Open(ctx context.Context, key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("storage: open: %w", err)
	}
	_, file := l.path(key)
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: open %s: %w", key, err)
	}
	return &localObject{File: f, info: l.info(key, file, fi)}, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("storage: delete: %w", err)
	}
	dir, file := l.path(key)
	for _, name := range []string{file, file + typeSuffix} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: delete %s: %w", key, err)
		}
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}

// Ping implements Store: it checks that a file can be created in dir/tmp.
func (l *Local) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(l.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// localObject is an open blob file.
type localObject struct {
	*os.File
	info Info
}

// Info implements Object.
func (o *localObject) Info() Info { return o.info }

// notFound wraps ErrNotFound around a missing-file error.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// syncDir fsyncs a directory so that entries renamed into it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ContextReader stops a copy when its context ends.
type ContextReader struct {
	Ctx context.Context
	R   io.Reader
}

// Read implements io.Reader.
func (c ContextReader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}
