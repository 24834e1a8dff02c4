package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/store"
	"github.com/patrolhq/patrol/server/store/sqlite"
)

// auditOptions are the settings of `patrold audit verify|export`.
type auditOptions struct {
	Command  string // verify or export
	DataDir  string
	Database string
	Format   string // export: csv or json
	Entity   string // export: only entries of this kind…
	ID       string // …and id
}

func parseAudit(args []string, getenv func(string) string, stderr io.Writer) (auditOptions, error) {
	var o auditOptions
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return o, errors.New("audit: say verify or export")
	}
	o.Command = args[0]
	fs := flag.NewFlagSet("audit "+o.Command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	databaseFlag(fs, &o.Database, getenv)
	if o.Command == "export" {
		fs.StringVar(&o.Format, "format", "csv", "csv or json")
		fs.StringVar(&o.Entity, "entity", "", "only entries about this kind of entity (inspection, conflict, user, device, enrollment_code, venue, finding)")
		fs.StringVar(&o.ID, "id", "", "only entries about this entity id (with --entity)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return o, err
	}
	if o.Database == "" {
		o.Database = getenv("PATROL_DATABASE")
	}
	if err := checkDatabase(o.Database); err != nil {
		return o, fmt.Errorf("audit: %w", err)
	}
	switch {
	case o.Format != "" && o.Format != "csv" && o.Format != "json":
		return o, fmt.Errorf("audit export: --format is csv or json, not %q", o.Format)
	case o.ID != "" && o.Entity == "":
		return o, errors.New("audit export: --id needs --entity KIND")
	}
	return o, nil
}

// openAuditStore opens the store the server would run on, without
// creating a SQLite database that is not there.
func openAuditStore(ctx context.Context, o auditOptions) (store.Store, error) {
	st, _, err := openStore(ctx, o.Database, o.DataDir)
	if err != nil || st != nil {
		return st, err
	}
	path := filepath.Join(o.DataDir, server.DBFileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("audit: no database at %s (set --data or --database): %w", path, err)
	}
	return sqlite.Open(ctx, path, nil)
}

// audit runs `patrold audit verify` (prints "ok N entries", or fails
// naming the first entry that breaks the chain) or `patrold audit export`.
func audit(ctx context.Context, o auditOptions, stdout io.Writer) error {
	st, err := openAuditStore(ctx, o)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.Command == "verify" {
		n, brk, err := store.VerifyAudit(ctx, st)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		if brk != nil {
			return fmt.Errorf("audit verify: chain broken at seq %d (%s %s): %s: %s (%d entries before it hold)",
				brk.Seq, brk.EntityKind, brk.EntityID, brk.Why, brk.Detail, n)
		}
		fmt.Fprintf(stdout, "ok %d entries\n", n)
		return nil
	}
	return exportAudit(ctx, st, o, stdout)
}

// exportAudit streams the log (or one entity's entries) to w in seq order.
func exportAudit(ctx context.Context, st store.Audit, o auditOptions, w io.Writer) error {
	match := func(e schema.AuditEntry) bool {
		return (o.Entity == "" || e.EntityKind == o.Entity) && (o.ID == "" || e.EntityID == o.ID)
	}
	if o.Format == "json" {
		enc := json.NewEncoder(w)
		first := true
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		err := st.ScanAudit(ctx, 0, func(e schema.AuditEntry) error {
			if !match(e) {
				return nil
			}
			if !first {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			first = false
			return enc.Encode(e)
		})
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		_, err = io.WriteString(w, "]\n")
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(schema.AuditCSVHeader); err != nil {
		return err
	}
	err := st.ScanAudit(ctx, 0, func(e schema.AuditEntry) error {
		if !match(e) {
			return nil
		}
		return cw.Write(schema.AuditCSVRecord(e))
	})
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	cw.Flush()
	return cw.Error()
}
