package loadtest_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/patrolhq/patrol/mobile-sync/loadtest"
)

func TestJPEG_ExactSizeAndDecodable(t *testing.T) {
	for _, size := range []int{1024, 1500, 65537 + 700, 3 << 20, 3<<20 + 1, 3<<20 + 2, 3<<20 + 3} {
		b := loadtest.JPEG(size, uint64(size))
		if len(b) != size {
			t.Fatalf("size %d: got %d bytes", size, len(b))
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != 16 {
			t.Fatalf("size %d: %v %+v", size, err, cfg)
		}
		if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
			t.Fatalf("size %d: decode: %v", size, err)
		}
	}
	if bytes.Equal(loadtest.JPEG(2048, 1), loadtest.JPEG(2048, 2)) {
		t.Fatal("different seeds gave the same bytes")
	}
}
