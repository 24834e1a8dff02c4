package observe

import (
	"context"
	"errors"
	"io"

	"github.com/patrolhq/patrol/storage"
)

// InstrumentStore wraps a blob store so that its failures are counted by
// operation (an unreachable S3 endpoint shows as a climbing
// patrol_blob_errors_total). Not-found answers are normal and not counted.
func InstrumentStore(s storage.Store, m *Metrics) storage.Store {
	return &instrumented{Store: s, m: m}
}

type instrumented struct {
	storage.Store
	m *Metrics
}

func (i *instrumented) count(op string, err error) error {
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, context.Canceled) {
		i.m.BlobErrors.WithLabelValues(op).Inc()
	}
	return err
}

func (i *instrumented) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	return i.count("put", i.Store.Put(ctx, key, r, size, contentType))
}

func (i *instrumented) Stat(ctx context.Context, key string) (storage.Info, error) {
	info, err := i.Store.Stat(ctx, key)
	return info, i.count("stat", err)
}

func (i *instrumented) Open(ctx context.Context, key string) (storage.Object, error) {
	o, err := i.Store.Open(ctx, key)
	return o, i.count("open", err)
}

func (i *instrumented) Delete(ctx context.Context, key string) error {
	return i.count("delete", i.Store.Delete(ctx, key))
}

func (i *instrumented) Ping(ctx context.Context) error {
	return i.count("ping", i.Store.Ping(ctx))
}
