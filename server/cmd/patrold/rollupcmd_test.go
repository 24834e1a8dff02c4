package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store/sqlite"
	"github.com/patrolhq/patrol/server/store/storetest"
)

func TestParseServe_Timezone(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "default: the workbench's zone", want: "Asia/Shanghai"},
		{name: "follows --zone", env: map[string]string{"PATROL_ZONE": "Asia/Urumqi"}, want: "Asia/Urumqi"},
		{name: "variable", env: map[string]string{"PATROL_TIMEZONE": "Asia/Hong_Kong", "PATROL_ZONE": "Asia/Urumqi"}, want: "Asia/Hong_Kong"},
		{name: "flag", args: []string{"--timezone", "UTC"}, env: map[string]string{"PATROL_TIMEZONE": "Asia/Hong_Kong"}, want: "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseServe(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil || o.Timezone != tc.want {
				t.Fatalf("parseServe(%q) timezone %q, %v; want %q", tc.args, o.Timezone, err, tc.want)
			}
		})
	}
	if _, err := parseServe([]string{"--timezone", "Mars/Olympus"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--timezone") {
		t.Fatalf("an unknown zone: %v", err)
	}
}

func TestParseRollup_BadDate(t *testing.T) {
	if _, err := parseRollup([]string{"--date", "15/03/2026"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Fatalf("a bad date: %v", err)
	}
}

// TestRollupCommand_KnownDay: `patrold rollup --date` on a data directory
// holding the hand-built month prints each squad's known figures.
func TestRollupCommand_KnownDay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, server.DBFileName), func() time.Time { return storetest.RollupImportAt })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Import(ctx, storetest.NewRollupFixture().Dataset); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var out bytes.Buffer
	if err := run(ctx, []string{"rollup", "--data", dir, "--date", "2026-03-15", "--timezone", "Asia/Shanghai"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rolled up 2026-03-15 (Asia/Shanghai): 3 squads",
		"squad 1: rank 3, coverage 50.00% (2/4 cafés, 2 at risk, 16 days left), findings open 2 overdue 1 repeated 1, median close-out 13.50 days",
		"squad 2: rank 1, coverage 100.00%", "squad 3: rank 2, coverage 100.00%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
