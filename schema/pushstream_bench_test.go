package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// benchPushBody is a push of n mutations in the proportions a field device
// sends them: mostly inspections (a third with photos), some venue edits
// and discoveries.
func benchPushBody(tb testing.TB, n int) []byte {
	tb.Helper()
	var base, rich schema.PushRequest
	if err := json.Unmarshal(pushBody(tb, false), &base); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(pushBody(tb, true), &rich); err != nil {
		tb.Fatal(err)
	}
	req := schema.PushRequest{ClientTime: base.ClientTime, HLC: base.HLC}
	for i := range n {
		var m schema.Mutation
		switch {
		case i%10 == 8:
			m = base.Mutations[1]
		case i%10 == 9:
			m = base.Mutations[2]
		case i%3 == 0:
			m = rich.Mutations[0]
		default:
			m = base.Mutations[0]
		}
		m.ID = fmt.Sprintf("0190a6b2-7c1d-7abc-8def-%012x", i)
		req.Mutations = append(req.Mutations, m)
	}
	b, err := json.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecodePush compares the streaming decoder the push handler uses
// with the encoding/json decoder it falls back to, in mutations per second.
func BenchmarkDecodePush(b *testing.B) {
	const n = 500
	body := benchPushBody(b, n)
	raw := string(body)
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			st, err := schema.NewPushStream(raw)
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for {
				var m schema.Mutation
				ok, err := st.Next(&m)
				if err != nil {
					b.Fatal(err)
				}
				if !ok {
					break
				}
				got++
			}
			if got != n {
				b.Fatalf("decoded %d mutations; want %d", got, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mutations/s")
	})
	b.Run("decoder", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req, err := schema.DecodePushRequest(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			if len(req.Mutations) != n {
				b.Fatalf("decoded %d mutations; want %d", len(req.Mutations), n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mutations/s")
	})
}
