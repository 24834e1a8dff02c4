package sqlite

import (
	"encoding/json"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func checkColumnsJSON(t *testing.T, items []schema.ItemResult, inspectors []schema.Inspector) {
	t.Helper()
	wantItems, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	gotItems, err := itemsJSON(items)
	if err != nil {
		t.Fatal(err)
	}
	if gotItems != string(wantItems) {
		t.Fatalf("items:\n got %s\nwant %s", gotItems, wantItems)
	}
	wantInsp, err := json.Marshal(inspectors)
	if err != nil {
		t.Fatal(err)
	}
	if got := inspectorsJSON(inspectors); got != string(wantInsp) {
		t.Fatalf("inspectors:\n got %s\nwant %s", got, wantInsp)
	}
}

func TestColumnsJSON_MatchesMarshal(t *testing.T) {
	lat := 35.1
	checkColumnsJSON(t, nil, nil)
	checkColumnsJSON(t, []schema.ItemResult{}, []schema.Inspector{})
	checkColumnsJSON(t, []schema.ItemResult{
		{ItemID: "NC01", Result: "pass"},
		{ItemID: "NC02", Result: "fail", Note: "未成年人 \"3\" 人\n<登记> & \t\b\f\r\x01\x7f \u2028\u2029 \xff 😀"},
	}, []schema.Inspector{{Username: "inspector1"}, {Username: "张三", Name: "<b>", BadgeNo: "3713\x00"}})
	checkColumnsJSON(t, []schema.ItemResult{{ItemID: "NC01", Result: "fail", Photos: []schema.PhotoRef{{SHA256: "ab", Size: 3, Lat: &lat}}}}, nil)
	checkColumnsJSON(t, []schema.ItemResult{{ItemID: "NC01", Photos: []schema.PhotoRef{}}}, nil)
}

func FuzzColumnsJSON(f *testing.F) {
	f.Add("NC01", "pass", "", "inspector1", "", "")
	f.Add("NC02", "fail", "现场 \"x\" <y> & \u2028 \xff\xfe \x00", "张三", "Zhang\tSan", "37130001")
	f.Fuzz(func(t *testing.T, id, result, note, user, name, badge string) {
		checkColumnsJSON(t, []schema.ItemResult{{ItemID: id, Result: result, Note: note}, {ItemID: note, Result: id, Note: result}},
			[]schema.Inspector{{Username: user, Name: name, BadgeNo: badge}, {Username: badge}})
	})
}
