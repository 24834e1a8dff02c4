package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store/postgres"
)

// migrateStoreOptions are the settings of `patrold migrate-store`.
type migrateStoreOptions struct {
	From string // the data directory of a SQLite deployment
	To   string // the PostgreSQL database it moves to
}

func parseMigrateStore(args []string, getenv func(string) string, stderr io.Writer) (migrateStoreOptions, error) {
	var o migrateStoreOptions
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.From, "from", envOr(getenv, "PATROL_DATA", ""), "data directory of the SQLite deployment to copy (PATROL_DATA); stop its patrold first")
	fs.StringVar(&o.To, "to", "", "empty PostgreSQL database to copy it into, postgres://USER@HOST/DB (PATROL_DATABASE)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.To == "" {
		o.To = getenv("PATROL_DATABASE")
	}
	if o.From == "" || o.To == "" {
		return o, errors.New("migrate-store: --from DIR and --to postgres://USER@HOST/DB are both required")
	}
	if err := checkDatabase(o.To); err != nil {
		return o, fmt.Errorf("migrate-store: --to: %w", err)
	}
	return o, nil
}

// migrateStore copies the SQLite database of a data directory into an
// empty PostgreSQL database and prints what it copied and verified.
func migrateStore(ctx context.Context, o migrateStoreOptions, stdout io.Writer) error {
	path := filepath.Join(o.From, server.DBFileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate-store: %s holds no Patrol database (%s): %w", o.From, server.DBFileName, err)
	}
	// The source is brought to the newest migration first, as patrold
	// serve would on start; both stores then have the same tables.
	src, err := schema.OpenMigrated(ctx, path, schema.MigrationsServer)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	defer src.Close()
	copied, err := postgres.CopyFromSQLite(ctx, src, o.To)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\tchecksum\t")
	var total int64
	for _, c := range copied {
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", c.Table, c.Rows, c.Checksum)
		total += c.Rows
	}
	tw.Flush()
	fmt.Fprintf(stdout, "copied %d rows of %d tables from %s to %s; counts and checksums verified.\n"+
		"Start every replica with --database; devices keep their tokens and cursors.\n", total, len(copied), path, redact(o.To))
	return nil
}
