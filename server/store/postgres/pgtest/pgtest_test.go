package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestDSN_FreshDatabaseDroppedAtCleanup: each call gives an empty
// database of its own, and the database is gone once its test ends.
func TestDSN_FreshDatabaseDroppedAtCleanup(t *testing.T) {
	ctx := context.Background()
	var names []string
	for i := 0; i < 2; i++ {
		t.Run("db", func(t *testing.T) {
			conn, err := pgx.Connect(ctx, DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var name string
			var tables int
			if err := conn.QueryRow(ctx, `SELECT current_database(),
				(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("database %s has %d tables; want an empty one", name, tables)
			}
			if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v; want two different ones", names)
	}
	admin, err := adminDSN()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of %v still exist after their tests ended", left, names)
	}
}

func TestWithDatabase_Forms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u:p@127.0.0.1:5432/x?sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/x"},
		{"host=127.0.0.1 user=u dbname=postgres", "host=127.0.0.1 user=u dbname=postgres dbname=x"},
	} {
		got, err := withDatabase(tc.in, "x")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestBinDir_MissingSaysHowToInstall: without PostgreSQL binaries the
// error carries the command that installs them.
func TestBinDir_MissingSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianBinGlob
	debianBinGlob = t.TempDir() + "/*/bin"
	defer func() { debianBinGlob = old }()
	_, err := BinDir()
	if err == nil || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("BinDir() error %v; want one that says %q", err, InstallHint)
	}
}

// TestServer_CrashKeepsCommitsAndRestarts: a test's own server loses its
// connections when it crashes, and after the restart answers on the same
// DSN with every commit that returned before the crash.
func TestServer_CrashKeepsCommitsAndRestarts(t *testing.T) {
	ctx := context.Background()
	srv := Start(t)
	dsn := srv.DSN(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)`); err != nil {
		t.Fatal(err)
	}
	srv.Crash(t)
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a connection to the crashed server still answers")
	}
	srv.Restart(t)
	again, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect after the restart: %v", err)
	}
	defer again.Close(ctx)
	var n int
	if err := again.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1000 {
		t.Fatalf("after the crash the table holds %d rows (%v); want the 1000 committed", n, err)
	}
}
