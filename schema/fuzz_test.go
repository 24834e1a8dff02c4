package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func validPushBody(tb testing.TB) []byte {
	tb.Helper()
	return pushBody(tb, false)
}

// pushBody is a push of an inspection, a venue.create and a venue.update;
// rich adds photos with and without a position, notes that need escapes,
// Chinese text and a finished_at of null.
func pushBody(tb testing.TB, rich bool) []byte {
	tb.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	end := start.Add(20 * time.Minute)
	in := &schema.Inspection{ID: "0190a6b2-7c1d-7abc-8def-0123456789ab", VenueID: "0190a6b2-7c1d-4abc-8def-0123456789ab",
		Status: schema.StatusSubmitted, ChecklistVersion: cl.Version, Inspectors: []schema.Inspector{{Username: "inspector1"}, {Username: "inspector2"}},
		StartedAt: start, FinishedAt: &end}
	for _, it := range cl.Items {
		in.Items = append(in.Items, schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass})
	}
	if rich {
		lat, lng := 35.0612345678, 118.3412345678
		in.Items[0].Result, in.Items[0].Note = schema.ResultFail, "未成年人上网 \"3\" 人\n<登记簿> & 'tab'\t\u2028 \x01 😀"
		in.Items[0].Photos = []schema.PhotoRef{
			{SHA256: "ab" + string(bytes.Repeat([]byte("cd"), 31)), Size: 123456, MediaType: "image/jpeg", CapturedAt: start.Add(time.Minute), Lat: &lat, Lng: &lng, DeviceID: "d1"},
			{SHA256: string(bytes.Repeat([]byte("ef"), 32)), Size: 1, MediaType: "image/png", CapturedAt: start.Add(2 * time.Minute), TimeSuspect: true},
		}
		in.Inspectors[0].Name, in.Inspectors[0].BadgeNo = "张三", "37130001"
		in.FinishedAt = nil
		in.SquadID = -7
	}
	req := schema.PushRequest{ClientTime: start, HLC: "001772355600000.00000.dev", Mutations: []schema.Mutation{
		{ID: "0190a6b2-7c1d-7abc-8def-0123456789a0", Kind: schema.MutInspectionUpsert, HLC: "001772355600000.00001.dev", Inspection: in},
		{ID: "0190a6b2-7c1d-7abc-8def-0123456789a1", Kind: schema.MutVenueCreate, HLC: "001772355600000.00002.dev",
			Venue: &schema.Venue{ID: "0190a6b2-7c1d-7abc-8def-0123456789a2", Kind: schema.KindNetCafe, Name: "网吧", Lat: 35.1, Lng: 118.3}},
		{ID: "0190a6b2-7c1d-7abc-8def-0123456789a3", Kind: schema.MutVenueUpdate, HLC: "001772355600000.00003.dev",
			VenueUpdate: &schema.VenueUpdate{VenueID: "0190a6b2-7c1d-7abc-8def-0123456789a2", Fields: map[string]schema.FieldEdit{"licensed": {Value: "false"}}}},
	}}
	b, err := json.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func FuzzDecodePushRequest(f *testing.F) {
	valid := validPushBody(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"mutations":[{"id":"x"},{"id":"x"}]}`))
	f.Add([]byte(`{"mutations":null,"hlc":"bad"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Add([]byte(`{"client_time":"yesterday"}`))
	f.Add([]byte(`{"mutations":[{"inspection":{"items":[{"photos":[{"lat":1}]}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := schema.DecodePushRequest(bytes.NewReader(body))
		if err != nil {
			var se *schema.Error
			if !errors.As(err, &se) || se.Message == "" || schema.HTTPStatus(se.Code) >= 500 {
				t.Fatalf("decode error %v is not a 4xx *schema.Error with a message", err)
			}
			return
		}
		if len(req.Mutations) > schema.MaxMutationsPerPush {
			t.Fatalf("accepted %d mutations", len(req.Mutations))
		}
		for i := range req.Mutations {
			// Validation must never panic on whatever decoded.
			_ = schema.ValidateMutation(&req.Mutations[i], schema.EmbeddedChecklists)
		}
	})
}

// FuzzPushStream checks the streaming decoder against the one it stands in
// for: whatever PushStream decodes, DecodePushRequest must accept and
// decode to the same values.
func FuzzPushStream(f *testing.F) {
	for _, rich := range []bool{false, true} {
		b := pushBody(f, rich)
		f.Add(b)
		f.Add(b[:len(b)-3])
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			f.Fatal(err)
		}
		indented, _ := json.MarshalIndent(v, " ", "\t") // keys sorted: hlc before mutations, client_time first
		f.Add(indented)
	}
	f.Add([]byte(`{"mutations":[]}`))
	f.Add([]byte(`{"mutations":[null,{"id":"a"},{"id":"a"}]}`))
	f.Add([]byte(`{"mutations":[{"ID":"x","id":"y"}],"extra":{"a":[1,2.5e3,true,null,"\u00e9"]}}`))
	f.Add([]byte(`{"mutations":[{"inspection":{"items":[],"inspectors":null,"squad_id":1e2,"started_at":null}}]}`))
	f.Add([]byte(`{"mutations":[{"inspection":{"items":[{"photos":[{"lat":1,"lng":-0.5e-3,"size":-0}]},null]}}]}`))
	f.Add([]byte(`{"mutations":[{"id":"\ud83d\ude00\ud800x\udc00"}]}`))
	f.Add([]byte(`{"mutations":[],"hlc":"001772355600000.00000.dev"}`))
	f.Add([]byte(`{"hlc":"bad","mutations":[]}`))
	f.Add([]byte(`{"mutations":[{"venue":{"id":"v","lat":"x"}}]}`))
	f.Add([]byte(`{"mutations":[{"inspection":{"flags":["a"],"review":{"note":"n"},"missing_photos":[],"photos_complete":true,"Flags":null}}]}`))
	f.Add([]byte(`{"mutations":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := schema.NewPushStream(string(body))
		if err != nil {
			if !errors.Is(err, schema.ErrPushStreamUnsupported) {
				t.Fatalf("NewPushStream: %v", err)
			}
			return
		}
		var got []schema.Mutation
		for {
			var m schema.Mutation
			ok, err := st.Next(&m)
			if err != nil {
				if !errors.Is(err, schema.ErrPushStreamUnsupported) {
					t.Fatalf("Next: %v", err)
				}
				return
			}
			if !ok {
				break
			}
			got = append(got, m)
		}
		want, err := schema.DecodePushRequest(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("the stream took a body the decoder refuses (%v):\n%s", err, body)
		}
		if len(want.Mutations) == 0 && len(got) == 0 {
			got = want.Mutations
		}
		if !reflect.DeepEqual(got, want.Mutations) || !reflect.DeepEqual(st.ClientTime, want.ClientTime) || st.HLC != want.HLC {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want.Mutations)
			t.Fatalf("stream and decoder differ on\n%s\nstream:  %v %q %s\ndecoder: %v %q %s", body, st.ClientTime, st.HLC, gj, want.ClientTime, want.HLC, wj)
		}
	})
}

func FuzzValidateMutation(f *testing.F) {
	var req schema.PushRequest
	if err := json.Unmarshal(validPushBody(f), &req); err != nil {
		f.Fatal(err)
	}
	for _, m := range req.Mutations {
		b, _ := json.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"0190a6b2-7c1d-7abc-8def-0123456789a0","kind":"inspection.upsert","hlc":"001772355600000.00001.dev","inspection":{}}`))
	f.Add([]byte(`{"id":"0190a6b2-7c1d-7abc-8def-0123456789a0","kind":"venue.update","hlc":"1.2.3","venue_update":{"fields":{"":{}}}}`))
	f.Add([]byte(`{"id":"0190a6b2-7c1d-7abc-8def-0123456789a0","kind":"venue.create","hlc":"001772355600000.00001.dev","venue":{"lat":"NaN"}}`))
	f.Add([]byte(`{"kind":"inspection.upsert","inspection":{"items":[{"item_id":"NC01","photos":[{"sha256":"","size":-1}]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var m schema.Mutation
		if json.Unmarshal(body, &m) != nil {
			return
		}
		err := schema.ValidateMutation(&m, schema.EmbeddedChecklists)
		if err == nil {
			return
		}
		var se *schema.Error
		if !errors.As(err, &se) || se.Code != schema.CodeInvalid || se.Message == "" {
			t.Fatalf("validation error %v is not an invalid *schema.Error with a message", err)
		}
	})
}
