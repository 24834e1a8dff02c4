package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

func TestAudit_VerifyAndExport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, server.DBFileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"v1", "v2", "v1"} {
		if _, err := s.AppendAudit(store.WithAuditor(ctx, "admin", "10.0.0.1"), schema.AuditEntry{EntityKind: schema.AuditVenue, EntityID: id,
			Action: "delete", Reason: "=cmd()"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"audit", "verify", "--data", dir}, &out, &errOut); err != nil || out.String() != "ok 3 entries\n" {
		t.Fatalf("verify: %q %v; want ok 3 entries", out.String(), err)
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "export", "--data", dir, "--entity", "venue", "--id", "v1"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "1" || recs[2][0] != "3" || recs[2][10] != "'=cmd()" {
		t.Fatalf("CSV export of v1: %q %v; want the header and entries 1 and 3, formulas defused", recs, err)
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "export", "--data", dir, "--format", "json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var list []schema.AuditEntry
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 3 || schema.VerifyChain(list) != nil {
		t.Fatalf("JSON export: %d entries, %v; want the 3 of an intact chain", len(list), err)
	}

	// Go around the trigger and alter entry 2: verify fails naming it.
	s, err = sqlite.Open(ctx, filepath.Join(dir, server.DBFileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().W.Exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'nobody' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out.Reset()
	err = run(ctx, []string{"audit", "verify", "--data", dir}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "seq 2 (venue v2): hash mismatch") {
		t.Fatalf("verify of an altered log: %v; want it to name seq 2", err)
	}
}

func TestAudit_Flags(t *testing.T) {
	for _, c := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{}, "verify or export"},
		{[]string{"check"}, "verify or export"},
		{[]string{"export", "--format", "xml"}, "csv or json"},
		{[]string{"export", "--id", "x"}, "--id needs --entity"},
		{[]string{"verify", "--database", "mysql://x/y"}, "PostgreSQL URL"},
		{[]string{"verify", "--data", "/nonexistent/patrol"}, "no database at"},
	} {
		err := run(context.Background(), append([]string{"audit"}, c.args...), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("audit %v: %v; want %q", c.args, err, c.wantErr)
		}
	}
}
