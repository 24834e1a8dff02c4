package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

// checkAppendJSONString holds AppendJSONString to json.Marshal, appending
// to a prefix so that a write before dst's end would show.
func checkAppendJSONString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte(`[1,`)
	got := schema.AppendJSONString(prefix[:len(prefix):len(prefix)], s)
	if string(got) != string(prefix)+string(want) {
		t.Fatalf("AppendJSONString(%q) = %s; json.Marshal writes %s", s, got[len(prefix):], want)
	}
}

func TestAppendJSONString_AsMarshal(t *testing.T) {
	for _, s := range []string{
		"",
		"0190a6b2-7c1d-7abc-8def-0123456789a0",
		`"quoted" \back\slash/`,
		"<b>&amp;</b>",
		"\x00\x01\b\t\n\v\f\r\x1f\x7f",
		"未成年人上网 😀",
		"\u2028\u2029\u2027\u202a",
		"\xff\xfe bad \xc3 utf-8 \xed\xa0\x80",
		"\ufffd",
	} {
		checkAppendJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("inspector1")
	f.Add("现场 \"x\" <y> & \u2028 \xff\xfe \x00\x7f")
	f.Add("\xed\xa0\x80\xf4\x90\x80\x80")
	f.Fuzz(checkAppendJSONString)
}
