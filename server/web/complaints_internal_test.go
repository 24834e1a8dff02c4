package web

import (
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
)

// TestLimitNotes_LocalDays: days left and over are the bureau's calendar
// days, a limit that runs out later today reads 今日到期, one passed an
// hour ago is one day over, and a finished complaint has no limit left.
func TestLimitNotes_LocalDays(t *testing.T) {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	w := &Web{cfg: Config{Zone: z}}
	at := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, z) }
	c := schema.Complaint{Status: schema.ComplaintReceived, AcceptBy: at(16, 10), Due: at(30, 10)}
	for _, tc := range []struct {
		now         time.Time
		accept, fin string
		acceptOver  bool
		status      string
		wantNotes   int
	}{
		{at(1, 9), "剩余 15\u00a0天", "剩余 29\u00a0天", false, schema.ComplaintReceived, 2},
		{at(16, 1), "今日到期", "剩余 14\u00a0天", false, schema.ComplaintReceived, 2},
		{at(16, 11), "受理超期 1\u00a0天", "剩余 14\u00a0天", true, schema.ComplaintReceived, 2},
		{at(20, 23), "受理超期 4\u00a0天", "剩余 10\u00a0天", true, schema.ComplaintReceived, 2},
		{at(31, 0), "", "办结超期 1\u00a0天", false, schema.ComplaintAccepted, 1},
		{at(31, 0), "", "", false, schema.ComplaintHandled, 0},
	} {
		c.Status = tc.status
		got := w.limitNotes(c, tc.now)
		if len(got) != tc.wantNotes {
			t.Fatalf("%s at %v: %+v", tc.status, tc.now, got)
		}
		if tc.wantNotes == 2 && (got[0].Text != tc.accept || got[0].Over != tc.acceptOver || got[1].Text != tc.fin) {
			t.Errorf("%s at %v: %+v", tc.status, tc.now, got)
		}
		if tc.wantNotes == 1 && (got[0].Kind != "finish" || got[0].Text != tc.fin || !got[0].Over) {
			t.Errorf("%s at %v: %+v", tc.status, tc.now, got)
		}
	}
}
