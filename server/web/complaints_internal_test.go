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

// TestTimelineOf_Chinese: the store's own English facts of a complaint's
// steps read in Chinese; what people wrote is kept as written.
func TestTimelineOf_Chinese(t *testing.T) {
	sq := int64(2)
	c := schema.Complaint{Channel: schema.Channel12345, Category: schema.CategoryCafe}
	for _, tc := range []struct {
		e           schema.AuditEntry
		text, actor string
	}{
		{schema.AuditEntry{Action: "complaint_received", Actor: "clerk", SquadID: &sq, Reason: "投诉〔2026〕1号 by 12345, cafe; squad 2 by the venue"},
			"12345 热线 · 网吧，分派第2中队", "clerk"},
		{schema.AuditEntry{Action: "complaint_assigned", Actor: "admin", Reason: "squad 1 → 2: <b>不归我们</b>"}, "第1中队 → 第2中队：<b>不归我们</b>", "admin"},
		{schema.AuditEntry{Action: "complaint_extended", Actor: "leader2", Reason: "10 days to 2026-05-01: 需要联合执法"}, "延长 10 天：需要联合执法", "leader2"},
		{schema.AuditEntry{Action: "complaint_answered", Actor: "leader2", Reason: "by sms"}, "答复方式：短信", "leader2"},
		{schema.AuditEntry{Action: "complaint_investigating", Actor: "device:01a235bc-28ba-72a8", Reason: "inspection 0190aaaa-bbbb from device 01a235bc-28ba-72a8"},
			"检查 0190aaaa 已上传", "设备 01a235bc"},
		{schema.AuditEntry{Action: "complaint_handled", Actor: "leader2", Reason: "squad 9 → 9: 其实是办理结果"}, "squad 9 → 9: 其实是办理结果", "leader2"},
	} {
		got := timelineOf(tc.e, c)
		if got.Text != tc.text || got.Actor != tc.actor {
			t.Errorf("%s: %q by %q; want %q by %q", tc.e.Action, got.Text, got.Actor, tc.text, tc.actor)
		}
	}
}
