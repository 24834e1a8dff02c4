package storage

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestValidateKey_Cases(t *testing.T) {
	good := KeyOf([]byte("evidence"))
	if err := ValidateKey(good); err != nil {
		t.Fatalf("ValidateKey(%s) = %v", good, err)
	}
	for _, k := range []string{"", good[:63], good + "a", strings.ToUpper(good), good[:60] + "/../"} {
		if err := ValidateKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v; want ErrInvalidKey", k, err)
		}
	}
}

// TestVerifier_WithholdsLastBytes checks the property the S3 store relies
// on: a consumer of a mismatching stream never receives all of its bytes,
// so an HTTP body built from it is always cut short.
func TestVerifier_WithholdsLastBytes(t *testing.T) {
	b := bytes.Repeat([]byte("photo"), 10_000)
	good := KeyOf(b)
	bad := bytes.Clone(b)
	bad[len(bad)-1] = 'X'
	cases := []struct {
		name string
		src  []byte
		key  string
		size int64
		ok   bool
	}{
		{"match", b, good, int64(len(b)), true},
		{"last byte differs", bad, good, int64(len(bad)), false},
		{"one byte more", b, KeyOf(b[:len(b)-1]), int64(len(b) - 1), false},
		{"one byte less", b[:len(b)-1], good, int64(len(b)), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := io.ReadAll(NewVerifier(onlyReader{bytes.NewReader(c.src)}, c.key, c.size))
			if c.ok {
				if err != nil || !bytes.Equal(got, b) {
					t.Fatalf("ReadAll = %d bytes, %v; want all %d", len(got), err, len(b))
				}
				return
			}
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("ReadAll error = %v; want ErrChecksum", err)
			}
			if int64(len(got)) >= c.size {
				t.Fatalf("consumer received %d of %d declared bytes; the last must be withheld", len(got), c.size)
			}
		})
	}
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
