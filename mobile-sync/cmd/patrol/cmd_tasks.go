package main

import (
	"flag"
	"fmt"
	"strings"
	"unicode"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

func cmdTasks(c *cli, args []string) error {
	return readCommand(c, "tasks", args, (*mobilesync.Device).Tasks, func(tasks []mobilesync.Task) {
		if len(tasks) == 0 {
			fmt.Fprintln(c.stdout, "nothing to amend or re-check (无待办)")
			return
		}
		for _, t := range tasks {
			venue := t.VenueID
			if t.VenueName != "" {
				venue = clean(t.VenueName) + " (" + t.VenueID + ")"
			}
			switch t.Kind {
			case mobilesync.TaskAmend:
				state := "returned"
				if t.Amending {
					state = "amending, submit when done"
				}
				fmt.Fprintf(c.stdout, "amend 退回补正  %s  %s\n", t.InspectionID, state)
				fmt.Fprintf(c.stdout, "    venue    %s\n", venue)
				if t.Comment != "" {
					fmt.Fprintf(c.stdout, "    comment  %s\n", clean(t.Comment))
				}
				if t.ReturnedAt != nil {
					fmt.Fprintf(c.stdout, "    returned %s by %s\n", t.ReturnedAt.Local().Format("2006-01-02 15:04"), clean(t.ReturnedBy))
				}
				if !t.Amending {
					fmt.Fprintf(c.stdout, "    next     patrol inspect amend %s\n", t.InspectionID)
				}
			case mobilesync.TaskVisit:
				state := ""
				if t.Overdue {
					state = "  OVERDUE 已逾期"
				}
				fmt.Fprintf(c.stdout, "visit 计划检查  %s%s\n", t.Day, state)
				fmt.Fprintf(c.stdout, "    venue    %s\n", venue)
				fmt.Fprintf(c.stdout, "    with     %s\n", clean(strings.Join(t.Inspectors, " + ")))
				fmt.Fprintf(c.stdout, "    next     patrol inspect start --venue %s\n", t.VenueID)
			case mobilesync.TaskRecheck:
				due := "no deadline"
				if t.Due != nil {
					due = "due " + t.Due.Local().Format("2006-01-02")
				}
				if t.Overdue {
					due += "  OVERDUE 已逾期"
				}
				fmt.Fprintf(c.stdout, "recheck 复查  %s  %s\n", t.FindingID, due)
				fmt.Fprintf(c.stdout, "    venue    %s\n", venue)
				fmt.Fprintf(c.stdout, "    item     %s %s\n", t.ItemID, clean(t.TitleZH))
				if t.OrderNumber != "" || t.OrderAction != "" {
					fmt.Fprintf(c.stdout, "    order    %s %s\n", clean(t.OrderNumber), clean(t.OrderAction))
				}
				if t.DraftID != "" {
					fmt.Fprintf(c.stdout, "    draft    %s (answer its items, then submit)\n", t.DraftID)
				} else {
					fmt.Fprintf(c.stdout, "    next     patrol inspect start --venue %s --recheck %s\n", t.VenueID, t.FindingID)
				}
			}
		}
	})
}

func cmdInspectAmend(c *cli, args []string) error {
	fs := flag.NewFlagSet("inspect amend", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: inspect amend INSPECTION_ID")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	if err := d.AmendInspection(c.ctx, pos[0]); err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "reopened %s for amendment; change answers with `patrol inspect item`, then `patrol inspect submit %s`\n", in.ID, in.ID)
	if in.Review != nil && in.Review.Decision == schema.StatusReturned && in.Review.Note != "" {
		fmt.Fprintf(c.stdout, "comment: %s\n", clean(in.Review.Note))
	}
	return nil
}

// clean makes text that came from elsewhere safe to print on a terminal:
// control characters (escape sequences among them) become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
}
