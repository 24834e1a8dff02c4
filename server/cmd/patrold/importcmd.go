package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/patrolhq/patrol/schema/geo"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/importer"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// importOptions are the settings of `patrold import schools|venues|squads FILE`.
type importOptions struct {
	What     string // schools, venues or squads
	File     string
	Datum    geo.Datum
	DataDir  string
	Database string
	DryRun   bool
}

func parseImport(args []string, getenv func(string) string, stderr io.Writer) (importOptions, error) {
	var o importOptions
	if len(args) == 0 || (args[0] != "schools" && args[0] != "venues" && args[0] != "squads") {
		return o, errors.New("import: say schools FILE.geojson, venues FILE.csv or squads FILE.geojson")
	}
	o.What = args[0]
	fs := flag.NewFlagSet("import "+o.What, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	databaseFlag(fs, &o.Database, getenv)
	datum := fs.String("datum", "wgs84", "the datum the file was drawn in: wgs84 (GPS, OpenStreetMap, Tianditu), gcj02 (AMap, Tencent) or bd09 (Baidu)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "check the file and report what the import would do, changing nothing")
	// The file may come before or after the flags.
	rest := args[1:]
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		o.File, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return o, err
	}
	switch {
	case o.File == "" && fs.NArg() == 1:
		o.File = fs.Arg(0)
	case o.File == "" || fs.NArg() > 0:
		return o, fmt.Errorf("import %s: give exactly one FILE", o.What)
	}
	d, err := importer.ParseDatum(*datum)
	if err != nil {
		return o, fmt.Errorf("import: --datum: %w", err)
	}
	o.Datum = d
	if o.Database == "" {
		o.Database = getenv("PATROL_DATABASE")
	}
	if err := checkDatabase(o.Database); err != nil {
		return o, fmt.Errorf("import: %w", err)
	}
	return o, nil
}

// runImport reads, checks and imports one file, and prints the report; a
// file with any bad record imports nothing and fails listing them all.
func runImport(ctx context.Context, o importOptions, stdout io.Writer) error {
	f, err := os.Open(o.File)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	// Check the file before the store is even opened.
	var run func(st store.Imports) (store.ImportReport, error)
	opts := store.ImportOptions{DryRun: o.DryRun}
	switch o.What {
	case "schools":
		recs, err := importer.Schools(f, o.Datum, importer.DefaultLimits)
		if err != nil {
			return fmt.Errorf("import schools %s: %w", o.File, err)
		}
		run = func(st store.Imports) (store.ImportReport, error) { return st.ImportSchools(ctx, recs, opts) }
	case "venues":
		recs, err := importer.Venues(f, o.Datum, importer.DefaultLimits)
		if err != nil {
			return fmt.Errorf("import venues %s: %w", o.File, err)
		}
		run = func(st store.Imports) (store.ImportReport, error) { return st.ImportVenues(ctx, recs, opts) }
	default:
		recs, err := importer.SquadAreas(f, o.Datum, importer.DefaultLimits)
		if err != nil {
			return fmt.Errorf("import squads %s: %w", o.File, err)
		}
		run = func(st store.Imports) (store.ImportReport, error) { return st.ImportSquadAreas(ctx, recs, opts) }
	}
	st, _, err := openStore(ctx, o.Database, o.DataDir)
	if err != nil {
		return err
	}
	if st == nil {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if st, err = sqlite.Open(ctx, filepath.Join(o.DataDir, server.DBFileName), nil); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	defer st.Close()
	rep, err := run(st)
	if err != nil {
		return fmt.Errorf("import %s %s: %w", o.What, o.File, err)
	}
	printReport(stdout, o.What, rep)
	return nil
}

// printReport writes an import's report for a person.
func printReport(w io.Writer, what string, r store.ImportReport) {
	if r.DryRun {
		fmt.Fprintln(w, "dry run: nothing was changed; the import would do this:")
	}
	fmt.Fprintf(w, "%s: %d created, %d updated, %d unchanged\n", what, r.Created, r.Updated, r.Unchanged)
	for _, m := range r.Reassigned {
		fmt.Fprintf(w, "reassigned %s %q (%s): squad %d → squad %d\n", m.VenueID, m.Name, m.ExternalID, m.From, m.To)
	}
	for _, v := range r.Outside {
		fmt.Fprintf(w, "outside every squad area, kept in squad %d: %s %q (%s)\n", v.SquadID, v.VenueID, v.Name, v.ExternalID)
	}
}
