package demo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/demo"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// TestSeed_Records: the demo's recent inspections carry on-site records,
// signed (with a signature image the demo stores like its photos) or
// refused before a witness, and amended ones carry their amendment; every
// record is valid and sealed.
func TestSeed_Records(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	stored := map[string]bool{}
	put := func(_ context.Context, data []byte) error {
		sum := sha256.Sum256(data)
		stored[hex.EncodeToString(sum[:])] = true
		return nil
	}
	if _, err := demo.Seed(ctx, st, demo.Options{Now: func() time.Time { return now }, HashPassword: func(string) (string, error) { return "x", nil },
		PutPhoto: put}); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListInspections(ctx, store.InspectionFilter{Since: now.AddDate(0, 0, -20), Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	signed, refused, amended := 0, 0, 0
	for _, in := range list {
		r := in.Record
		if r == nil {
			continue
		}
		if err := schema.ValidateRecord(&in); err != nil {
			t.Fatalf("record of %s: %v", in.ID, err)
		}
		switch {
		case r.Signing.Signature != nil:
			signed++
			if !stored[r.Signing.Signature.SHA256] {
				t.Errorf("signature %s was never stored", r.Signing.Signature.SHA256[:12])
			}
		case r.Signing.Refused != nil:
			refused++
		}
		if len(r.Amendments) > 0 {
			amended++
		}
	}
	t.Logf("records: %d signed, %d refused, %d amended", signed, refused, amended)
	if signed == 0 || refused == 0 {
		t.Fatalf("records: %d signed, %d refused; want both", signed, refused)
	}
}
