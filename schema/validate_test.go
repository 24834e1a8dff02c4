package schema_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/patrolhq/patrol/schema"
)

func validInspection(t *testing.T) *schema.Mutation {
	t.Helper()
	cl, err := schema.ChecklistByVersion(schema.DefaultChecklistVersion)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	fin := start.Add(40 * time.Minute)
	in := &schema.Inspection{
		ID: uuid.Must(uuid.NewV7()).String(), VenueID: uuid.Must(uuid.NewV7()).String(), Status: schema.StatusSubmitted,
		ChecklistVersion: cl.Version, StartedAt: start, FinishedAt: &fin,
		Inspectors: []schema.Inspector{{Username: "inspector1"}, {Username: "inspector2"}},
	}
	for _, it := range cl.Items {
		in.Items = append(in.Items, schema.ItemResult{ItemID: it.ID, Result: schema.ResultPass})
	}
	return &schema.Mutation{ID: uuid.Must(uuid.NewV7()).String(), Kind: schema.MutInspectionUpsert,
		HLC: schema.HLC{WallMS: fin.UnixMilli(), Node: "d1"}.String(), Inspection: in}
}

func TestValidateMutation_Table(t *testing.T) {
	lat, lng := 35.1, 118.3
	sha := strings.Repeat("ab", 32)
	cases := []struct {
		name   string
		mutate func(m *schema.Mutation)
		want   string // substring of the error; "" = valid
	}{
		{"valid", func(m *schema.Mutation) {}, ""},
		{"not uuid7", func(m *schema.Mutation) { m.ID = uuid.NewString() }, "UUIDv7"},
		{"no hlc", func(m *schema.Mutation) { m.HLC = "" }, "no hlc"},
		{"unknown kind", func(m *schema.Mutation) { m.Kind = "venue.explode" }, "unknown mutation kind"},
		{"two payloads", func(m *schema.Mutation) { m.Venue = &schema.Venue{} }, "exactly one"},
		{"unknown item", func(m *schema.Mutation) { m.Inspection.Items[3].ItemID = "NC99" }, "unknown checklist item"},
		{"item twice", func(m *schema.Mutation) { m.Inspection.Items[3].ItemID = "NC01" }, "answered twice"},
		{"missing items", func(m *schema.Mutation) { m.Inspection.Items = m.Inspection.Items[:15] }, "answers 15 of 16"},
		{"bad result", func(m *schema.Mutation) { m.Inspection.Items[0].Result = "maybe" }, "not pass, fail or na"},
		{"draft", func(m *schema.Mutation) { m.Inspection.Status = schema.StatusDraft }, "only submitted"},
		{"unknown checklist", func(m *schema.Mutation) { m.Inspection.ChecklistVersion = "nc99" }, "unknown checklist version"},
		{"no inspectors", func(m *schema.Mutation) { m.Inspection.Inspectors = nil }, "inspectors"},
		{"same inspector twice", func(m *schema.Mutation) { m.Inspection.Inspectors[1].Username = "inspector1" }, "distinct"},
		{"finished before start", func(m *schema.Mutation) {
			f := m.Inspection.StartedAt.Add(-time.Minute)
			m.Inspection.FinishedAt = &f
		}, "finished_at"},
		{"long note", func(m *schema.Mutation) { m.Inspection.Items[0].Note = strings.Repeat("x", schema.MaxNoteLen+1) }, "at most"},
		{"bad photo hash", func(m *schema.Mutation) {
			m.Inspection.Items[0].Photos = []schema.PhotoRef{{SHA256: "XYZ", Size: 1, MediaType: "image/jpeg"}}
		}, "64 lowercase hex"},
		{"photo type", func(m *schema.Mutation) {
			m.Inspection.Items[0].Photos = []schema.PhotoRef{{SHA256: sha, Size: 1, MediaType: "application/pdf"}}
		}, "media type"},
		{"photo half position", func(m *schema.Mutation) {
			m.Inspection.Items[0].Photos = []schema.PhotoRef{{SHA256: sha, Size: 1, MediaType: "image/jpeg", Lat: &lat}}
		}, "only one of lat"},
		{"valid photo", func(m *schema.Mutation) {
			m.Inspection.Items[0].Photos = []schema.PhotoRef{{SHA256: sha, Size: 1, MediaType: "image/jpeg", Lat: &lat, Lng: &lng}}
		}, ""},
		{"recheck_of not a UUID", func(m *schema.Mutation) { m.Inspection.RecheckOf = "finding-7" }, "recheck_of"},
		{"recheck_of a finding id", func(m *schema.Mutation) { m.Inspection.RecheckOf = uuid.NewString() }, ""},
		{"venue create ok", func(m *schema.Mutation) {
			m.Kind, m.Inspection = schema.MutVenueCreate, nil
			m.Venue = &schema.Venue{ID: uuid.NewString(), Kind: schema.KindNetCafe, Name: "无名网吧", Lat: 35.1, Lng: 118.3}
		}, ""},
		{"venue at 0,0", func(m *schema.Mutation) {
			m.Kind, m.Inspection = schema.MutVenueCreate, nil
			m.Venue = &schema.Venue{ID: uuid.NewString(), Kind: schema.KindNetCafe, Name: "x"}
		}, "no position"},
		{"venue bad kind", func(m *schema.Mutation) {
			m.Kind, m.Inspection = schema.MutVenueCreate, nil
			m.Venue = &schema.Venue{ID: uuid.NewString(), Kind: "casino", Name: "x", Lat: 35, Lng: 118}
		}, "venue kind"},
		{"venue update bad field", func(m *schema.Mutation) {
			m.Kind, m.Inspection = schema.MutVenueUpdate, nil
			m.VenueUpdate = &schema.VenueUpdate{VenueID: uuid.NewString(), Fields: map[string]schema.FieldEdit{"squad_id": {Value: "2"}}}
		}, "cannot be edited"},
		{"venue update licensed", func(m *schema.Mutation) {
			m.Kind, m.Inspection = schema.MutVenueUpdate, nil
			m.VenueUpdate = &schema.VenueUpdate{VenueID: uuid.NewString(), Fields: map[string]schema.FieldEdit{"licensed": {Value: "yes"}}}
		}, "\"true\" or \"false\""},
		{"venue update ok", func(m *schema.Mutation) {
			m.Kind, m.Inspection = schema.MutVenueUpdate, nil
			m.VenueUpdate = &schema.VenueUpdate{VenueID: uuid.NewString(), Fields: map[string]schema.FieldEdit{"phone": {Value: "0539-1"}, "open_state": {Value: "closed"}}}
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := validInspection(t)
			tc.mutate(m)
			err := schema.ValidateMutation(m, schema.EmbeddedChecklists)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid mutation refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted; want error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not say %q", err, tc.want)
			case err != nil && schema.ErrorCode(err) != schema.CodeInvalid:
				t.Fatalf("code %s", schema.ErrorCode(err))
			}
		})
	}
}

func TestDecodePushRequest_Errors(t *testing.T) {
	cases := []struct{ body, want string }{
		{``, "empty"},
		{`{"mutations": [`, "ends in the middle"},
		{`{"mutations": 5}`, "field mutations"},
		{`{"mutations": []} {}`, "more than one"},
		{`{"mutations":[{"id":"a"},{"id":"a"}]}`, "appears twice"},
		{`{"hlc":"bogus"}`, "hlc"},
		{`[1,2]`, "expected"},
	}
	for _, tc := range cases {
		_, err := schema.DecodePushRequest(strings.NewReader(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want error containing %q", tc.body, err, tc.want)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"mutations":[`)
	for i := 0; i <= schema.MaxMutationsPerPush; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{}`)
	}
	b.WriteString(`]}`)
	if _, err := schema.DecodePushRequest(&b); schema.ErrorCode(err) != schema.CodeTooLarge {
		t.Errorf("too many mutations: %v", err)
	}
}

func TestDecodeJSON_MaxBytesIsTooLarge(t *testing.T) {
	rec := httptest.NewRecorder()
	body := http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(`{"username":"`+strings.Repeat("a", 100)+`"}`)), 10)
	var v schema.LoginRequest
	err := schema.DecodeJSON(body, &v)
	if schema.ErrorCode(err) != schema.CodeTooLarge {
		t.Fatalf("got %v", err)
	}
}

func TestValidUUID_OnlyLowerCase(t *testing.T) {
	id := uuid.Must(uuid.NewV7()).String()
	cases := []struct {
		name, id, want string // want: substring of the error; "" = valid
	}{
		{"lower case", id, ""},
		{"upper case", strings.ToUpper(id), "lower-case"},
		{"one upper-case letter", id[:35] + "A", "lower-case"},
		{"braces", "{" + id[:34] + "}", "not a UUID"},
		{"short", id[:35], "36 characters"},
		{"non-hex", id[:35] + "g", "non-hex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := schema.ValidUUID(c.id)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("ValidUUID(%q) = %v; want %q", c.id, err, c.want)
			}
		})
	}
	if err := schema.ValidUUID7(strings.ToUpper(id)); err == nil || !strings.Contains(err.Error(), strings.ToLower(id)) {
		t.Fatalf("ValidUUID7 of an upper-case id: %v; want a refusal that shows the lower-case form", err)
	}
}

func TestCheckText_ControlCharacters(t *testing.T) {
	cases := []struct {
		name, text, want string // want: substring of the error; "" = valid
	}{
		{"plain", "星空网吧, Road 1", ""},
		{"tab and newline", "exit locked\n\tsee photo", ""},
		{"non-breaking space and emoji", "a\u00a0b 🙂", ""},
		{"NUL", "ok\x00", "U+0000 at byte 2"},
		{"bell", "\a", "U+0007"},
		{"escape", "x\x1b[2J", "U+001B"},
		{"carriage return", "line\r\n", "U+000D"},
		{"DEL", "\x7f", "U+007F"},
		{"C1 control", "next\u0085line", "U+0085"},
		{"last C1 control", "\u009f", "U+009F"},
		{"invalid UTF-8", "\xc2", "not valid UTF-8"},
		{"too long", strings.Repeat("a", 41), "at most 40"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := schema.CheckText("note", c.text, 40)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || schema.ErrorCode(err) != schema.CodeInvalid) {
				t.Fatalf("CheckText(%q) = %v; want %q", c.text, err, c.want)
			}
		})
	}
}
