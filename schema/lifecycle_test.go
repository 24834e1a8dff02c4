package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

func TestDecideReview_EveryTransition(t *testing.T) {
	cases := []struct {
		name        string
		status      string
		version     int
		action      string
		comment     string
		wantVersion int
		to          string
		code        schema.Code
		reason      string
	}{
		{"approve a submitted one", schema.StatusSubmitted, 1, schema.ReviewApprove, "", 0, schema.StatusApproved, "", ""},
		{"approve the version seen", schema.StatusSubmitted, 3, schema.ReviewApprove, "好", 3, schema.StatusApproved, "", ""},
		{"return with a comment", schema.StatusSubmitted, 1, schema.ReviewReturn, "NC04 缺照片", 0, schema.StatusReturned, "", ""},
		{"return without a comment", schema.StatusSubmitted, 1, schema.ReviewReturn, "  ", 0, "", schema.CodeInvalid, "needs a comment"},
		{"approve a version not seen", schema.StatusSubmitted, 2, schema.ReviewApprove, "", 1, "", schema.CodeConflict, "changed to version 2"},
		{"approve an approved one", schema.StatusApproved, 1, schema.ReviewApprove, "", 0, "", schema.CodeConflict, "approved already"},
		{"return an approved one", schema.StatusApproved, 1, schema.ReviewReturn, "x", 0, "", schema.CodeConflict, "approved already"},
		{"approve a returned one", schema.StatusReturned, 1, schema.ReviewApprove, "", 0, "", schema.CodeConflict, "waits for the inspector"},
		{"return a returned one", schema.StatusReturned, 1, schema.ReviewReturn, "x", 0, "", schema.CodeConflict, "waits for the inspector"},
		{"review a draft", schema.StatusDraft, 1, schema.ReviewApprove, "", 0, "", schema.CodeConflict, "cannot be reviewed"},
		{"an unknown action", schema.StatusSubmitted, 1, "accept", "", 0, "", schema.CodeInvalid, "not approve or return"},
		{"a control character", schema.StatusSubmitted, 1, schema.ReviewReturn, "a\x1bb", 0, "", schema.CodeInvalid, "control character"},
		{"a comment too long", schema.StatusSubmitted, 1, schema.ReviewReturn, strings.Repeat("x", schema.MaxCommentLen+1), 0, "", schema.CodeInvalid, "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			to, err := schema.DecideReview(c.status, c.version, c.action, c.comment, c.wantVersion)
			if c.code == "" {
				if err != nil || to != c.to {
					t.Fatalf("DecideReview = %q, %v; want %q", to, err, c.to)
				}
				return
			}
			if schema.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("DecideReview = %q, %v; want %s mentioning %q", to, err, c.code, c.reason)
			}
		})
	}
}

func TestDiffVersions_NamesEveryChange(t *testing.T) {
	fin := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	a := schema.Inspection{ChecklistVersion: "nc16-2018.1", Inspectors: []schema.Inspector{{Username: "a"}, {Username: "b"}},
		Items: []schema.ItemResult{{ItemID: "NC01", Result: "fail", Note: "无证"}, {ItemID: "NC02", Result: "pass"}}}
	b := a
	b.Items = []schema.ItemResult{{ItemID: "NC01", Result: "pass", Note: "已补证", Photos: []schema.PhotoRef{{SHA256: "ab"}}}, {ItemID: "NC02", Result: "pass"}, {ItemID: "NC03", Result: "na"}}
	b.FinishedAt = &fin
	got := schema.DiffVersions(a, b)
	want := []schema.VersionChange{
		{Field: "result", ItemID: "NC01", From: "fail", To: "pass"},
		{Field: "note", ItemID: "NC01", From: "无证", To: "已补证"},
		{Field: "photos", ItemID: "NC01", From: "", To: "ab"},
		{Field: "result", ItemID: "NC03", From: "", To: "na"},
		{Field: "finished_at", From: "", To: schema.FormatTime(fin)},
	}
	if len(got) != len(want) {
		t.Fatalf("DiffVersions = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	if d := schema.DiffVersions(a, a); len(d) != 0 {
		t.Errorf("a version against itself differs: %+v", d)
	}
}
