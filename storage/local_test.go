package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patrolhq/patrol/storage"
	"github.com/patrolhq/patrol/storage/storagetest"
)

func newLocal(t *testing.T) *storage.Local {
	t.Helper()
	l, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	return l
}

func TestLocal_Contract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newLocal(t) })
}

func TestLocal_Layout(t *testing.T) {
	l := newLocal(t)
	b, key := storagetest.Blob(1, 1234)
	if err := l.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(l.Dir(), key[:2], key[2:4], key))
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("blob not at dir/%s/%s/<key>: %v", key[:2], key[2:4], err)
	}
	// Nothing is left in the temporary directory after a Put, good or bad.
	bad := bytes.Clone(b)
	bad[5] ^= 1
	_, other := storagetest.Blob(2, 10)
	if err := l.Put(context.Background(), other, bytes.NewReader(bad), int64(len(bad)), ""); !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("Put of wrong bytes = %v; want ErrChecksum", err)
	}
	left, err := os.ReadDir(filepath.Join(l.Dir(), "tmp"))
	if err != nil || len(left) != 0 {
		t.Fatalf("tmp holds %d entries (%v); want none", len(left), err)
	}
}

func TestLocal_SweepRemovesOldTempFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := storage.NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	old := filepath.Join(tmp, "crashed-put")
	fresh := filepath.Join(tmp, "running-put")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("half a photo"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Ages are relative to the files' own times, not the wall clock.
	fi, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(old, fi.ModTime().Add(-2*storage.SweepAge), fi.ModTime().Add(-2*storage.SweepAge)); err != nil {
		t.Fatal(err)
	}
	l, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old temp file survived NewLocal: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("recent temp file was removed: %v", err)
	}
	l.Now = func() time.Time { return fi.ModTime().Add(time.Minute) }
	if n, err := l.Sweep(30 * time.Second); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 removed", n, err)
	}
}

func TestLocal_MissingSidecarDefaultsType(t *testing.T) {
	l := newLocal(t)
	b, key := storagetest.Blob(3, 100)
	if err := l.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), "image/png"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(l.Dir(), key[:2], key[2:4], key+".type")); err != nil {
		t.Fatal(err)
	}
	info, err := l.Stat(context.Background(), key)
	if err != nil || info.ContentType != storage.DefaultContentType {
		t.Fatalf("Stat = %+v, %v; want %s", info, err, storage.DefaultContentType)
	}
}
