package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseServe_Database(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "none: SQLite in the data directory", want: ""},
		{name: "flag", args: []string{"--database", "postgres://patrol@db.internal/patrol"}, want: "postgres://patrol@db.internal/patrol"},
		{name: "variable", env: map[string]string{"PATROL_DATABASE": "postgresql://patrol:pw@10.0.0.5:5433/patrol?sslmode=require"},
			want: "postgresql://patrol:pw@10.0.0.5:5433/patrol?sslmode=require"},
		{name: "flag over variable", args: []string{"--database", "postgres://a@h/one"}, env: map[string]string{"PATROL_DATABASE": "postgres://b@h/two"},
			want: "postgres://a@h/one"},
		{name: "not a URL", args: []string{"--database", "host=db user=patrol"}, wantErr: "must be a PostgreSQL URL"},
		{name: "another scheme", args: []string{"--database", "mysql://patrol@db/patrol"}, wantErr: "must be a PostgreSQL URL"},
		{name: "no database name", args: []string{"--database", "postgres://patrol@db.internal"}, wantErr: "must be a PostgreSQL URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			o, err := parseServe(tc.args, getenv, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseServe(%q) error %v; want one saying %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil || o.Database != tc.want {
				t.Fatalf("parseServe(%q) = %q, %v; want %q", tc.args, o.Database, err, tc.want)
			}
		})
	}
}

func TestRedact_HidesThePassword(t *testing.T) {
	got := redact("postgres://patrol:s3cret@db.internal/patrol")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "db.internal/patrol") {
		t.Fatalf("redact = %q", got)
	}
}

func TestParseMigrateStore_NeedsBoth(t *testing.T) {
	if _, err := parseMigrateStore([]string{"--from", "/srv/patrol"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("migrate-store without --to parsed")
	}
	o, err := parseMigrateStore([]string{"--from", "/srv/patrol"}, func(k string) string {
		return map[string]string{"PATROL_DATABASE": "postgres://patrol@db/patrol"}[k]
	}, io.Discard)
	if err != nil || o.To != "postgres://patrol@db/patrol" {
		t.Fatalf("migrate-store with PATROL_DATABASE: %+v, %v", o, err)
	}
}

func TestParseServe_ComplaintLimits(t *testing.T) {
	none := func(string) string { return "" }
	o, err := parseServe(nil, none, io.Discard)
	if err != nil || o.Complaints.AcceptDays != 15 || o.Complaints.FinishDays != 60 || o.Complaints.MaxExtensionDays != 30 {
		t.Fatalf("defaults = %+v, %v; want 15/60/30", o.Complaints, err)
	}
	env := map[string]string{"PATROL_COMPLAINT_ACCEPT_DAYS": "10", "PATROL_COMPLAINT_FINISH_DAYS": "45"}
	o, err = parseServe([]string{"--complaint-finish-days", "50", "--complaint-max-extension-days", "20"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || o.Complaints.AcceptDays != 10 || o.Complaints.FinishDays != 50 || o.Complaints.MaxExtensionDays != 20 {
		t.Fatalf("env and flags = %+v, %v; want 10/50/20 (the flag over the variable)", o.Complaints, err)
	}
	if _, err := parseServe([]string{"--complaint-accept-days", "0"}, none, io.Discard); err == nil || !strings.Contains(err.Error(), "complaint") {
		t.Fatalf("zero accept days: %v", err)
	}
}

func TestParseServe_PDFFont(t *testing.T) {
	none := func(string) string { return "" }
	o, err := parseServe(nil, none, io.Discard)
	if err != nil || o.PDFFont != "" {
		t.Fatalf("no font named: %q, %v; want the default search", o.PDFFont, err)
	}
	missing := filepath.Join(t.TempDir(), "none.ttf")
	if _, err := parseServe([]string{"--pdf-font", missing}, none, io.Discard); err == nil || !strings.Contains(err.Error(), "--pdf-font") {
		t.Fatalf("a named font that is missing: %v", err)
	}
	font := filepath.Join(t.TempDir(), "cjk.ttf")
	if err := os.WriteFile(font, []byte("not checked until the first document"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err = parseServe(nil, func(k string) string { return map[string]string{"PATROL_PDF_FONT": font}[k] }, io.Discard)
	if err != nil || o.PDFFont != font {
		t.Fatalf("PATROL_PDF_FONT: %q, %v", o.PDFFont, err)
	}
}
