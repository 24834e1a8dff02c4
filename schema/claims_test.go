package schema_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestClaimPhotos_Table(t *testing.T) {
	ours, theirs, absent, other := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32), strings.Repeat("d4", 32)
	held := map[string]schema.PhotoHolding{
		ours:   {Stored: true, Size: 500, Squad: true},
		theirs: {Stored: true, Size: 700}, // stored, from another squad only
		other:  {Stored: true, Size: 900, Squad: true},
	}
	ref := func(sha string, size int64) schema.PhotoRef {
		return schema.PhotoRef{SHA256: sha, Size: size, MediaType: "image/jpeg"}
	}
	cases := []struct {
		name   string
		item3  []schema.PhotoRef
		item9  []schema.PhotoRef
		claims map[string]string
		refuse string // substring of the refusal; "" = none
	}{
		{"no photos", nil, nil, nil, ""},
		{"the squad's photo, its size: proven", []schema.PhotoRef{ref(ours, 500)}, nil, map[string]string{ours: schema.ClaimProven}, ""},
		{"not yet received: pending", []schema.PhotoRef{ref(absent, 123)}, nil, map[string]string{absent: schema.ClaimPending}, ""},
		{"another squad's photo: pending", []schema.PhotoRef{ref(theirs, 700)}, nil, map[string]string{theirs: schema.ClaimPending}, ""},
		{"another squad's photo with a wrong size: pending, telling nothing", []schema.PhotoRef{ref(theirs, 1)}, nil,
			map[string]string{theirs: schema.ClaimPending}, ""},
		{"the squad's photo with a wrong size: refused", []schema.PhotoRef{ref(ours, 501)}, nil, nil, "your squad sent it with 500 bytes"},
		{"one photo, two sizes: refused", []schema.PhotoRef{ref(absent, 10)}, []schema.PhotoRef{ref(absent, 11)}, nil, "with 10 and with 11 bytes"},
		{"a mix, one photo named twice", []schema.PhotoRef{ref(ours, 500), ref(absent, 9), ref(theirs, 700)}, []schema.PhotoRef{ref(ours, 500), ref(other, 900)},
			map[string]string{ours: schema.ClaimProven, absent: schema.ClaimPending, theirs: schema.ClaimPending, other: schema.ClaimProven}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validInspection(t).Inspection
			in.Items[3].Photos, in.Items[9].Photos = c.item3, c.item9
			claims, err := schema.ClaimPhotos(in, func(sha string) schema.PhotoHolding { return held[sha] })
			if c.refuse != "" {
				if err == nil || err.Code != schema.CodeInvalid || !strings.Contains(err.Message, c.refuse) || claims != nil {
					t.Fatalf("claims %v, refusal %v; want a refusal saying %q", claims, err, c.refuse)
				}
				return
			}
			if err != nil || !maps.Equal(claims, c.claims) {
				t.Fatalf("claims %v, refusal %v; want %v", claims, err, c.claims)
			}
		})
	}
}
