package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

func cmdInspect(c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("inspect needs a subcommand: start, item, photo, submit, show or amend")
	}
	switch args[0] {
	case "start":
		return cmdInspectStart(c, args[1:])
	case "item":
		return cmdInspectItem(c, args[1:])
	case "submit":
		return cmdInspectSubmit(c, args[1:])
	case "show":
		return cmdInspectShow(c, args[1:])
	case "photo":
		return cmdInspectPhoto(c, args[1:])
	case "amend":
		return cmdInspectAmend(c, args[1:])
	}
	return usagef("unknown inspect subcommand %q (start, item, photo, submit, show, amend)", args[0])
}

func cmdInspectStart(c *cli, args []string) error {
	fs := flag.NewFlagSet("inspect start", flag.ContinueOnError)
	venue := fs.String("venue", "", "venue id (see `patrol venues`)")
	var co stringList
	fs.Var(&co, "co-inspector", "username of a second inspector on site (repeatable)")
	recheck := fs.String("recheck", "", "id of the finding this inspection re-checks (see `patrol tasks`)")
	complaint := fs.String("complaint", "", "id of the complaint this inspection investigates (see `patrol tasks`)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *venue == "" && len(pos) == 1 {
		*venue, pos = pos[0], nil
	}
	if *venue == "" || len(pos) > 0 {
		return usagef("inspect start needs --venue ID")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	id, err := d.StartInspectionWith(c.ctx, *venue, mobilesync.StartOptions{CoInspectors: co, RecheckOf: *recheck, ComplaintID: *complaint})
	if err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, id)
	if err != nil {
		return err
	}
	cl, err := checklist(in.ChecklistVersion)
	if err == nil {
		fmt.Fprintf(c.stdout, "started inspection with checklist %s (%d items)\n", cl.Version, len(cl.Items))
	}
	if in.RecheckOf != "" {
		if f, err := d.Finding(c.ctx, in.RecheckOf); err == nil {
			fmt.Fprintf(c.stdout, "re-checks finding %s: %s %s (answer it with a photo)\n", f.ID, f.ItemID, clean(f.TitleZH))
		}
	}
	if in.ComplaintID != "" {
		if ct, err := d.ComplaintTask(c.ctx, in.ComplaintID); err == nil {
			fmt.Fprintf(c.stdout, "investigates complaint %s: %s\n", line(ct.Number, 40), line(ct.Content, maxContentCols))
		}
	}
	if slices.Contains(schema.InspectionFlags(&in), schema.FlagSingleInspector) {
		fmt.Fprintln(c.stdout, "note: the law wants two inspectors on site; name one with --co-inspector")
	}
	fmt.Fprintln(c.stdout, id)
	return nil
}

func cmdInspectItem(c *cli, args []string) error {
	fs := flag.NewFlagSet("inspect item", flag.ContinueOnError)
	note := fs.String("note", "", "what was found")
	var photos stringList
	fs.Var(&photos, "photo", "photo file proving the answer (repeatable)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return usagef("usage: inspect item INSPECTION_ID ITEM_ID pass|fail|na [--note TEXT] [--photo FILE]...")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	started, err := d.Inspection(c.ctx, pos[0])
	if err != nil {
		return err
	}
	var refs []schema.PhotoRef
	for _, p := range photos {
		ref, err := d.ImportPhoto(c.ctx, p, started.StartedAt)
		if err != nil {
			return err
		}
		refs = append(refs, ref)
	}
	if err := d.SetItemWithPhotos(c.ctx, pos[0], pos[1], pos[2], *note, refs...); err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, pos[0])
	if err != nil {
		return err
	}
	total := "?"
	if cl, err := checklist(in.ChecklistVersion); err == nil {
		total = fmt.Sprint(len(cl.Items))
	}
	fmt.Fprintf(c.stdout, "%s %s (%d of %s answered)\n", strings.ToUpper(pos[1]), strings.ToLower(pos[2]), len(in.Items), total)
	return nil
}

func cmdInspectPhoto(c *cli, args []string) error {
	fs := flag.NewFlagSet("inspect photo", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return usagef("usage: inspect photo INSPECTION_ID ITEM_ID FILE...")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	if err := d.AttachPhotoFiles(c.ctx, pos[0], pos[1], pos[2:]...); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "attached %d photo(s) to %s; they upload with the next sync\n", len(pos)-2, strings.ToUpper(pos[1]))
	return nil
}

func cmdInspectSubmit(c *cli, args []string) error {
	fs := flag.NewFlagSet("inspect submit", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: inspect submit INSPECTION_ID")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	if err := d.Submit(c.ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "submitted %s; it goes up with the next sync\n", pos[0])
	in, err := d.Inspection(c.ctx, pos[0])
	if err != nil {
		return nil
	}
	// The flags the server will show the squad leader, said before the
	// record leaves the device.
	in.TimeSuspect = schema.InspectionTimeSuspect(&in, d.Clock().Physical())
	flags := schema.InspectionFlags(&in)
	if slices.Contains(flags, schema.FlagSingleInspector) {
		fmt.Fprintln(c.stderr, "note: this record names one inspector; the law asks for at least two on an on-site check "+
			"(name the second with `inspect start --co-inspector USERNAME`); your squad leader will see it flagged")
	}
	if slices.Contains(flags, schema.FlagTimeSuspect) {
		fmt.Fprintln(c.stderr, "note: this record's times are implausible (started in the future, over a year ago, or ended before it began); "+
			"check the device's date and time; your squad leader will see it flagged")
	}
	return nil
}

func cmdInspectShow(c *cli, args []string) error {
	fs := flag.NewFlagSet("inspect show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: inspect show INSPECTION_ID [--json]")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(in)
	}
	venue := in.VenueID
	if v, err := d.Venue(c.ctx, in.VenueID); err == nil {
		venue = v.Name + " (" + v.ID + ")"
	}
	fmt.Fprintf(c.stdout, "inspection  %s\nvenue       %s\nstatus      %s\nchecklist   %s\n", in.ID, venue, in.Status, in.ChecklistVersion)
	names := make([]string, len(in.Inspectors))
	for i, p := range in.Inspectors {
		names[i] = p.Username
		if p.BadgeNo != "" {
			names[i] += " [" + p.BadgeNo + "]"
		}
	}
	fmt.Fprintf(c.stdout, "inspectors  %s\nstarted     %s\n", strings.Join(names, ", "), in.StartedAt.Local().Format("2006-01-02 15:04:05"))
	if in.FinishedAt != nil {
		fmt.Fprintf(c.stdout, "finished    %s\n", in.FinishedAt.Local().Format("2006-01-02 15:04:05"))
	}
	if in.Version > 0 {
		fmt.Fprintf(c.stdout, "version     %d\n", in.Version)
	}
	if in.ComplaintID != "" {
		fmt.Fprintf(c.stdout, "complaint   %s\n", clean(in.ComplaintID))
	}
	if in.RecheckOf != "" {
		fmt.Fprintf(c.stdout, "re-checks   finding %s\n", in.RecheckOf)
	}
	if in.Review != nil {
		fmt.Fprintf(c.stdout, "review      %s by %s: %s\n", in.Review.Decision, clean(in.Review.ReviewedBy), clean(in.Review.Note))
	}
	answered := map[string]schema.ItemResult{}
	for _, it := range in.Items {
		answered[it.ItemID] = it
	}
	cl, err := checklist(in.ChecklistVersion)
	if err != nil {
		for _, it := range in.Items {
			fmt.Fprintf(c.stdout, "  %-5s %-4s %s\n", it.ItemID, it.Result, it.Note)
		}
		return nil
	}
	for _, item := range cl.Items {
		r, ok := answered[item.ID]
		res := "—"
		if ok {
			res = r.Result
		}
		line := fmt.Sprintf("  %-5s %-4s %s", item.ID, res, item.Title)
		if r.Note != "" {
			line += " — " + r.Note
		}
		if len(r.Photos) > 0 {
			line += fmt.Sprintf(" [%d photos]", len(r.Photos))
		}
		fmt.Fprintln(c.stdout, line)
	}
	return nil
}

func cmdInspections(c *cli, args []string) error {
	return readCommand(c, "inspections", args, (*mobilesync.Device).Inspections, func(ins []schema.Inspection) {
		if len(ins) == 0 {
			fmt.Fprintln(c.stdout, "no inspections on this device")
			return
		}
		for _, in := range ins {
			total := "?"
			if cl, err := checklist(in.ChecklistVersion); err == nil {
				total = fmt.Sprint(len(cl.Items))
			}
			fmt.Fprintf(c.stdout, "%s  %-9s %2d/%-2s %s  venue %s\n", in.ID, in.Status, len(in.Items), total,
				in.StartedAt.Local().Format("2006-01-02 15:04"), in.VenueID)
		}
	})
}

// checklist finds a checklist version for display (embedded versions; a
// version only the server sent shows without titles).
func checklist(version string) (schema.Checklist, error) {
	return schema.ChecklistByVersion(version)
}
