package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func validPushBody(tb testing.TB) []byte {
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
	req := schema.PushRequest{ClientTime: start, HLC: "000001772355600000.00000.dev", Mutations: []schema.Mutation{
		{ID: "0190a6b2-7c1d-7abc-8def-0123456789a0", Kind: schema.MutInspectionUpsert, HLC: "000001772355600000.00001.dev", Inspection: in},
		{ID: "0190a6b2-7c1d-7abc-8def-0123456789a1", Kind: schema.MutVenueCreate, HLC: "000001772355600000.00002.dev",
			Venue: &schema.Venue{ID: "0190a6b2-7c1d-7abc-8def-0123456789a2", Kind: schema.KindNetCafe, Name: "网吧", Lat: 35.1, Lng: 118.3}},
		{ID: "0190a6b2-7c1d-7abc-8def-0123456789a3", Kind: schema.MutVenueUpdate, HLC: "000001772355600000.00003.dev",
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

func FuzzValidateMutation(f *testing.F) {
	var req schema.PushRequest
	if err := json.Unmarshal(validPushBody(f), &req); err != nil {
		f.Fatal(err)
	}
	for _, m := range req.Mutations {
		b, _ := json.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"0190a6b2-7c1d-7abc-8def-0123456789a0","kind":"inspection.upsert","hlc":"000001772355600000.00001.dev","inspection":{}}`))
	f.Add([]byte(`{"id":"0190a6b2-7c1d-7abc-8def-0123456789a0","kind":"venue.update","hlc":"1.2.3","venue_update":{"fields":{"":{}}}}`))
	f.Add([]byte(`{"id":"0190a6b2-7c1d-7abc-8def-0123456789a0","kind":"venue.create","hlc":"000001772355600000.00001.dev","venue":{"lat":"NaN"}}`))
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
