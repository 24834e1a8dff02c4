package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
)

func cmdEnroll(c *cli, args []string) error {
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	server := fs.String("server", "", "server URL, e.g. https://patrol.example.org")
	code := fs.String("code", "", "one-time enrolment code from your squad leader")
	name := fs.String("name", "", "a name for this device (default: the host name)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *server == "" || *code == "" {
		return usagef("--server and --code are required")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	if err := d.Enroll(c.ctx, *server, *code, *name); err != nil {
		return err
	}
	id, err := d.Identity(c.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "enrolled as %s (squad %d) at %s\ndevice %s\n", id.Username, id.SquadID, id.ServerURL, id.DeviceID)
	return nil
}

func cmdSync(c *cli, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if !*asJSON && isTerminal(c.stderr) {
		bar := newPhotoBar(c.stderr)
		defer bar.finish()
		c.progress = bar.update
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	rep, err := d.Sync(c.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(rep)
	}
	fmt.Fprintf(c.stdout, "pulled %d, pushed %d (conflicts %d, rejected %d), pending %d\n",
		rep.Pulled, rep.Pushed, rep.Conflicts, rep.Rejected, rep.PendingMutations)
	if rep.PhotosUploaded > 0 {
		fmt.Fprintf(c.stdout, "photos uploaded %d (%d bytes)\n", rep.PhotosUploaded, rep.PhotoBytes)
	}
	if rep.Reset {
		fmt.Fprintln(c.stdout, "the server refreshed what this device may see")
	}
	if rep.Conflicts+rep.Rejected > 0 {
		fmt.Fprintln(c.stdout, "some work was not simply applied: see `patrol answers`")
	}
	return nil
}

func cmdStatus(c *cli, args []string) error {
	return readCommand(c, "status", args, (*mobilesync.Device).Status, func(st mobilesync.Status) {
		if st.Enrolled {
			fmt.Fprintf(c.stdout, "device      %s (%s, squad %d) at %s\n", st.DeviceID, st.Username, st.SquadID, st.ServerURL)
		} else {
			fmt.Fprintln(c.stdout, "device      not enrolled (run `patrol enroll --server URL --code CODE`)")
		}
		fmt.Fprintf(c.stdout, "pending     %d mutations, %d photos (%d bytes)\n", st.PendingMutations, st.PendingPhotos, st.PendingPhotoBytes)
		last := "never"
		if st.LastSync != nil {
			last = st.LastSync.Local().Format(time.RFC3339)
		}
		fmt.Fprintf(c.stdout, "last sync   %s\n", last)
		fmt.Fprintf(c.stdout, "clock       %s\n", offsetText(st.ClockOffsetMS))
		if st.Answers > 0 {
			fmt.Fprintf(c.stdout, "answers     %d conflicts or rejections (see `patrol answers`)\n", st.Answers)
		}
	})
}

func offsetText(ms int64) string {
	switch {
	case ms == 0:
		return "in step with the server"
	case ms > 0:
		return fmt.Sprintf("%v ahead of the server (corrected)", time.Duration(ms)*time.Millisecond)
	default:
		return fmt.Sprintf("%v behind the server (corrected)", time.Duration(-ms)*time.Millisecond)
	}
}

func cmdAnswers(c *cli, args []string) error {
	return readCommand(c, "answers", args, (*mobilesync.Device).Answers, func(as []mobilesync.Answer) {
		if len(as) == 0 {
			fmt.Fprintln(c.stdout, "no conflicts or rejections")
			return
		}
		for _, a := range as {
			code := ""
			if a.Code != "" {
				code = " [" + a.Code + "]"
			}
			fmt.Fprintf(c.stdout, "%s  %-9s %-18s %s%s: %s\n", a.AnsweredAt.Local().Format("2006-01-02 15:04"), a.Outcome, a.Kind, a.EntityID, code, a.Reason)
		}
	})
}

// readCommand runs a command that only reads the device: it takes --json,
// opens the device, fetches, and prints JSON or the text for a person.
func readCommand[T any](c *cli, name string, args []string, fetch func(*mobilesync.Device, context.Context) (T, error), text func(T)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	v, err := fetch(d, c.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(v)
	}
	text(v)
	return nil
}
