package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// streamAll decodes every mutation of body with a PushStream.
func streamAll(t *testing.T, body []byte) (*schema.PushStream, []schema.Mutation, error) {
	t.Helper()
	st, err := schema.NewPushStream(string(body))
	if err != nil {
		return nil, nil, err
	}
	var out []schema.Mutation
	for {
		var m schema.Mutation
		ok, err := st.Next(&m)
		if err != nil {
			return st, out, err
		}
		if !ok {
			return st, out, nil
		}
		out = append(out, m)
	}
}

func TestPushStream_TakesDeviceBodies(t *testing.T) {
	for _, rich := range []bool{false, true} {
		body := pushBody(t, rich)
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		indented, _ := json.MarshalIndent(v, "", "  ")
		for _, b := range [][]byte{body, indented} {
			st, got, err := streamAll(t, b)
			if err != nil {
				t.Fatalf("rich=%v: the stream refused a device body: %v", rich, err)
			}
			want, err := schema.DecodePushRequest(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || !reflect.DeepEqual(got, want.Mutations) || !st.ClientTime.Equal(want.ClientTime) || st.HLC != want.HLC {
				t.Fatalf("rich=%v: stream decoded %+v; decoder %+v", rich, got, want.Mutations)
			}
		}
	}
}

func TestPushStream_LeavesRareFormsToTheDecoder(t *testing.T) {
	id := "0190a6b2-7c1d-7abc-8def-0123456789a0"
	cases := map[string]string{
		"hlc after mutations":   `{"mutations":[],"hlc":"001772355600000.00000.dev"}`,
		"duplicate id":          `{"mutations":[{"id":"` + id + `"},{"id":"` + id + `"}]}`,
		"key by case":           `{"mutations":[{"ID":"` + id + `"}]}`,
		"key twice":             `{"mutations":[{"id":"a","id":"b"}]}`,
		"bad hlc":               `{"hlc":"yesterday","mutations":[]}`,
		"trailing data":         `{"mutations":[]} {}`,
		"cut short":             `{"mutations":[{"id":"a"}`,
		"no mutations":          `{"hlc":""}`,
		"number for a string":   `{"mutations":[{"id":7}]}`,
		"fraction for an int":   `{"mutations":[{"inspection":{"squad_id":1.5}}]}`,
		"invalid utf-8":         "{\"mutations\":[{\"id\":\"\xff\"}]}",
		"control character":     "{\"mutations\":[{\"id\":\"a\x01\"}]}",
		"bad time":              `{"client_time":"today","mutations":[]}`,
		"leading zero":          `{"mutations":[{"inspection":{"squad_id":01}}]}`,
		"not an object":         `[]`,
		"empty":                 ``,
		"hlc after null":        `{"mutations":null,"hlc":"001772355600000.00000.dev"}`,
		"unknown key by case":   `{"Mutations":[]}`,
		"deep unknown value":    `{"x":` + string(bytes.Repeat([]byte("["), 300)) + string(bytes.Repeat([]byte("]"), 300)) + `,"mutations":[]}`,
		"bad venue in delegate": `{"mutations":[{"venue":{"lat":"north"}}]}`,
	}
	for name, body := range cases {
		_, _, err := streamAll(t, []byte(body))
		if !errors.Is(err, schema.ErrPushStreamUnsupported) {
			t.Errorf("%s: stream gave %v; want ErrPushStreamUnsupported", name, err)
		}
	}
	many := []byte(`{"mutations":[`)
	for i := 0; i <= schema.MaxMutationsPerPush; i++ {
		if i > 0 {
			many = append(many, ',')
		}
		many = append(many, `{}`...)
	}
	many = append(many, `]}`...)
	if _, _, err := streamAll(t, many); !errors.Is(err, schema.ErrPushStreamUnsupported) {
		t.Errorf("%d mutations: stream gave %v; want ErrPushStreamUnsupported", schema.MaxMutationsPerPush+1, err)
	}
}
