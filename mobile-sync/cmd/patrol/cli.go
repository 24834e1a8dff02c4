package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed; the message says why
	exitUsage = 2 // the command line was wrong
)

// DefaultDB is the device database used without --db or PATROL_DB.
const DefaultDB = "./patrol-device.db"

const usageText = `usage: patrol [--db FILE] <command> [args]

Device database: --db FILE, else $PATROL_DB, else ` + DefaultDB + `.

Commands:
  enroll --server URL --code CODE [--name DEVICE_NAME]
  sync [--json]                       push queued work, pull changes
  status [--json]                     pending work, last sync, clock offset
  venues [--json] [--kind KIND]
  venue add --name NAME --kind KIND --lat LAT --lng LNG [--address A] [--licence NO] [--phone P] [--unlicensed]
  venue edit ID [--name N] [--phone P] [--address A] [--licence NO] [--licensed true|false] [--open-state S]
  zones --at LAT,LNG [--kind KIND] [--json]
                                      school zones this position lies in or near (offline)
  inspect start --venue ID [--co-inspector USERNAME]... [--recheck FINDING_ID] [--complaint COMPLAINT_ID]
  inspect item INSPECTION_ID ITEM_ID pass|fail|na [--note TEXT] [--photo FILE]...
  inspect photo INSPECTION_ID ITEM_ID FILE...
  inspect submit INSPECTION_ID
  inspect show INSPECTION_ID [--json]
  inspect amend INSPECTION_ID         reopen a returned inspection to correct and submit again
  record show INSPECTION_ID [--json]  the on-site record (现场检查笔录): number, party, signing, amendments
  record set INSPECTION_ID --party-name N --party-role R [--id-type T] [--id-last XXXX] --ids-shown [--remarks TEXT]
  record sign INSPECTION_ID --signature FILE
                                      the party signs (the record, or its open amendment); sealed after
  record refuse INSPECTION_ID --reason TEXT --witness NAME [--witness-relation R] [--witness-id-last XXXX]
  record amend INSPECTION_ID --reason TEXT
                                      why the open amendment (changes made after signing) changes the record
  tasks [--json]                      returned inspections to amend, then re-checks, planned visits
                                      and complaints to investigate, soonest due first
  inspections [--json]
  answers [--json]                    conflicts and rejections with their reason
  loadtest --server URL --devices N --inspections M [--photos K --photo-size BYTES] [--duration D] [--json]
                                      simulate N devices syncing at once; verify nothing lost or doubled

Every command works offline except enroll and sync.
`

// cli is one invocation: where to write and which device to open.
type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	dbPath         string
	dev            *mobilesync.Device
	progress       func(mobilesync.PhotoProgress) // set by commands that show photo progress
}

// usageError marks a wrong command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// commands maps a command name to its handler.
var commands = map[string]func(c *cli, args []string) error{
	"enroll":      cmdEnroll,
	"sync":        cmdSync,
	"status":      cmdStatus,
	"venues":      cmdVenues,
	"venue":       cmdVenue,
	"zones":       cmdZones,
	"inspect":     cmdInspect,
	"record":      cmdRecord,
	"inspections": cmdInspections,
	"tasks":       cmdTasks,
	"answers":     cmdAnswers,
	"loadtest":    cmdLoadtest,
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("patrol", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dbDefault := os.Getenv("PATROL_DB")
	if dbDefault == "" {
		dbDefault = DefaultDB
	}
	db := fs.String("db", dbDefault, "device database file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			return exitOK
		}
		fmt.Fprintf(stderr, "patrol: %v\n\n%s", err, usageText)
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if rest[0] == "help" {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "patrol: unknown command %q\n\n%s", rest[0], usageText)
		return exitUsage
	}
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, dbPath: *db}
	defer c.close()
	err := cmd(c, rest[1:])
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "patrol %s: %v\n", rest[0], err)
		return exitUsage
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "patrol %s: %s\n", rest[0], message(err))
		return exitError
	}
}

// message strips the library's operation prefixes that mean nothing to a
// person in the field, keeping the reason.
func message(err error) string {
	s := err.Error()
	for _, p := range []string{"mobilesync: ", "sync: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

// tuneOptions lets in-process tests adjust the device options (a sleeper
// that does not wait); nil in the real command.
var tuneOptions func(*mobilesync.Options)

// device opens the device database on first use.
func (c *cli) device() (*mobilesync.Device, error) {
	if c.dev != nil {
		return c.dev, nil
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := mobilesync.Options{Path: c.dbPath, Logger: log, Progress: c.progress}
	if tuneOptions != nil {
		tuneOptions(&opts)
	}
	d, err := mobilesync.Open(c.ctx, opts)
	if err != nil {
		return nil, err
	}
	c.dev = d
	return d, nil
}

func (c *cli) close() {
	if c.dev != nil {
		c.dev.Close()
	}
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseArgs parses flags wherever they appear among the positional
// arguments (`inspect item ID NC01 fail --note x`) and returns the
// positional ones; everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
