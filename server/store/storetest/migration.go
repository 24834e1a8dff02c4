package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Migration 0013 of each adapter is tested on a database made before it,
// holding the same rows: ReviewedRows written after the migrations before
// 0013, then CheckReviewMigrated on the store opened on it.

// MigratedNow is when the store runs after migration 0013: early 2027.
var MigratedNow = time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC)

// ReviewedRows are the rows, in SQL both dialects run, of a database of the single review state: inspections
// accepted, ordered corrected (one late on New Year's Eve in UTC, which is
// already the next year in China), sent to a case, and one still
// submitted.
func ReviewedRows(checklist string) []string {
	review := func(at, decision string) string {
		return `'{"reviewed_by":"leader1","reviewed_at":"` + at + `","decision":"` + decision + `","note":"see items"}'`
	}
	insp := func(id, status, review string) string {
		return `INSERT INTO inspections (id, venue_id, squad_id, device_id, author_id, checklist_version, status, inspectors, started_at, hlc,
			review, received_at, updated_at, seq) VALUES ('` + id + `', 'v1', 1, 'dev-1', 'u1', 'nc16-2018.1', '` + status + `',
			'[{"username":"a"},{"username":"b"}]', '2026-06-01T08:00:00.000000000Z', 'h-` + id + `', ` + review + `, '2026-06-01T09:00:00.000000000Z',
			'2026-06-01T09:00:00.000000000Z', 3)`
	}
	item := func(id, item string, pos int, result string) string {
		return `INSERT INTO inspection_items (inspection_id, item_id, position, result, note, severity) VALUES ('` + id + `', '` + item + `', ` +
			string(rune('0'+pos)) + `, '` + result + `', 'note ` + item + `', '')`
	}
	return []string{
		`INSERT INTO squads (id, name, min_lat, min_lng, max_lat, max_lng) VALUES (1, 's', 35, 118, 35.2, 118.4)`,
		`INSERT INTO checklists (version, body, seq) VALUES ('nc16-2018.1', '` + strings.ReplaceAll(checklist, "'", "''") + `', 1)`,
		`INSERT INTO venues (id, squad_id, kind, name, lat, lng, created_at, updated_at, seq) VALUES ('v1', 1, 'net_cafe', 'n', 35.1, 118.3, '', '', 2)`,
		`UPDATE counters SET value = 10 WHERE name = 'seq'`,
		insp("i-acc", "reviewed", review("2026-06-02T10:00:00Z", "accepted")),
		insp("i-ord", "reviewed", review("2026-12-31T20:00:00.5Z", "correction_ordered")),
		insp("i-ord2", "reviewed", review("2026-06-03T10:00:00+08:00", "correction_ordered")),
		insp("i-case", "reviewed", review("2026-06-04T10:00:00Z", "case_opened")),
		insp("i-sub", "submitted", "NULL"),
		item("i-acc", "NC16", 0, "fail"),
		item("i-ord", "NC04", 0, "fail"), item("i-ord", "NC01", 1, "pass"), item("i-ord", "NC12", 2, "fail"),
		item("i-ord2", "NC01", 0, "fail"),
		item("i-case", "NC03", 0, "fail"),
		item("i-sub", "NC05", 0, "fail"), item("i-sub", "NC06", 1, "pass"),
		`INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, lat, squad_id, device_id)
			VALUES ('i-sub', 'NC06', 0, '` + strings.Repeat("a1", 32) + `', 10, 'image/jpeg', '2026-06-01T08:10:00.000000000Z', 35.1, 1, 'dev-1')`,
	}
}

// CheckReviewMigrated checks, in a store opened at now (MigratedNow) on it, what migration 0013 made of ReviewedRows, then
// that the store goes on from there: approving the submitted one opens a
// finding whose order takes the next number of 2027.
func CheckReviewMigrated(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for id, want := range map[string]string{"i-acc": schema.StatusApproved, "i-ord": schema.StatusApproved, "i-ord2": schema.StatusApproved,
		"i-case": schema.StatusApproved, "i-sub": schema.StatusSubmitted} {
		in, err := st.Inspection(ctx, id)
		if err != nil || in.Status != want || in.Version != 1 {
			t.Fatalf("%s: %s v%d, %v; want %s v1", id, in.Status, in.Version, err, want)
		}
		if want == schema.StatusApproved && (in.Review == nil || in.Review.Decision != schema.StatusApproved || in.Review.Version != 1 || in.Review.Note != "see items") {
			t.Fatalf("%s review %+v", id, in.Review)
		}
		vs, err := st.InspectionVersions(ctx, id)
		if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].HLC != "h-"+id || vs[0].Record.ID != id || len(vs[0].Record.Items) != len(in.Items) ||
			vs[0].Record.Items[0].ItemID != in.Items[0].ItemID || vs[0].DeviceID != "dev-1" || (want == schema.StatusApproved) != (vs[0].Review != nil) {
			t.Fatalf("%s versions %+v, %v", id, vs, err)
		}
		if id == "i-sub" && (len(vs[0].Record.Items[1].Photos) != 1 || vs[0].Record.Items[1].Photos[0].Lat == nil || len(vs[0].Record.Inspectors) != 2) {
			t.Fatalf("version record of i-sub %+v", vs[0].Record)
		}
	}
	page, err := st.Findings(ctx, store.FindingFilter{Sort: store.SortDeadline})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]schema.Finding{}
	for _, f := range page.Findings {
		got[f.InspectionID+"/"+f.ItemID] = f
		if schema.ValidUUID(f.ID) != nil || f.SquadID != 1 || f.VenueID != "v1" || f.Note != "note "+f.ItemID {
			t.Errorf("finding %+v", f)
		}
	}
	if len(got) != 4 {
		t.Fatalf("findings %v; want i-ord's two, i-ord2's and i-case's", got)
	}
	ordered := []struct {
		key, number string
		reviewed    time.Time
	}{
		{"i-ord/NC04", "责改〔2027〕1号", time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC)},
		{"i-ord/NC12", "责改〔2027〕2号", time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC)},
		{"i-ord2/NC01", "责改〔2026〕1号", time.Date(2026, 6, 3, 2, 0, 0, 0, time.UTC)},
	}
	for _, o := range ordered {
		f := got[o.key]
		if f.Status != schema.FindingOrdered || f.Order == nil || f.Order.Number != o.number || f.Deadline == nil ||
			!f.Deadline.Equal(o.reviewed.Add(15*24*time.Hour)) || !f.OpenedAt.Equal(o.reviewed) || f.Order.OrderedBy != "leader1" ||
			f.Order.Action != "see items" || f.Order.LegalBasis == "" || f.TitleZH == "" {
			t.Errorf("%s: %+v order %+v; want ordered %s due %v", o.key, f, f.Order, o.number, o.reviewed.Add(15*24*time.Hour))
		}
	}
	if f := got["i-case/NC03"]; f.Status != schema.FindingEscalated || f.EscalatedBy != "leader1" || f.EscalatedAt == nil || f.Order != nil || !f.Critical {
		t.Errorf("case finding %+v", f)
	}
	if _, err := st.ReviewInspection(ctx, "i-sub", store.ReviewInput{Action: schema.ReviewApprove, By: "leader1"}, schema.AllSquads()); err != nil {
		t.Fatal(err)
	}
	open, err := st.Findings(ctx, store.FindingFilter{Status: schema.FindingOpen})
	if err != nil || len(open.Findings) != 1 || open.Findings[0].ItemID != "NC05" {
		t.Fatalf("open findings %+v, %v", open.Findings, err)
	}
	f, err := st.ActOnFinding(ctx, open.Findings[0].ID, schema.FindingAction{Action: schema.FindingActOrder, By: "leader1",
		Deadline: now.Add(24 * time.Hour), Text: "keep the logs"}, schema.AllSquads())
	if err != nil || f.Order.Number != "责改〔2027〕3号" {
		t.Fatalf("first order after the migration: %+v, %v", f.Order, err)
	}
}

// migratedNow is when the store runs after migration 0013: early 2027.
var migratedNow = time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC)
