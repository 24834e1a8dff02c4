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
			fmt.Fprintln(c.stdout, "nothing to amend, re-check, visit or investigate (无待办)")
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
			case mobilesync.TaskComplaint:
				printComplaintTask(c, t, venue)
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

// maxContentCols is how much of a complaint's content `patrol tasks`
// shows, in terminal columns (a Chinese character takes two): enough to
// know what to look for; --json has it whole.
const maxContentCols = 100

// categoryNames are the complaint categories in Chinese, as at intake.
var categoryNames = map[string]string{
	schema.CategoryCafe: "网吧", schema.CategoryArcade: "游艺娱乐", schema.CategoryPublications: "出版物",
}

func printComplaintTask(c *cli, t mobilesync.Task, venue string) {
	due := "no due date"
	if t.Due != nil {
		due = "due " + t.Due.Local().Format("2006-01-02")
	}
	if t.Overdue {
		due += "  OVERDUE 已逾期"
	}
	fmt.Fprintf(c.stdout, "complaint 投诉  %s  %s  %s\n", clean(t.ComplaintID), line(t.Number, 40), due)
	if t.VenueID != "" {
		fmt.Fprintf(c.stdout, "    venue    %s\n", venue)
	}
	if t.Place != "" {
		fmt.Fprintf(c.stdout, "    place    %s\n", line(t.Place, maxContentCols))
	}
	fmt.Fprintf(c.stdout, "    category %s %s\n", line(t.Category, 20), categoryNames[t.Category])
	fmt.Fprintf(c.stdout, "    content  %s\n", line(t.Content, maxContentCols))
	if t.Status == schema.ComplaintInvestigating {
		fmt.Fprintln(c.stdout, "    status   investigating 调查中: an inspection of it reached the server")
	}
	switch {
	case t.DraftID != "":
		fmt.Fprintf(c.stdout, "    draft    %s (answer its items, then submit)\n", t.DraftID)
	case t.VenueID != "":
		fmt.Fprintf(c.stdout, "    next     patrol inspect start --venue %s --complaint %s\n", t.VenueID, clean(t.ComplaintID))
	default:
		fmt.Fprintf(c.stdout, "    next     patrol inspect start --venue ID --complaint %s (the venue found at the place)\n", clean(t.ComplaintID))
	}
}

// line makes hostile text one safe line of at most n terminal columns:
// control characters and the invisible ones that reorder or hide what
// follows (bidirectional overrides, zero-width marks) become spaces, runs
// of spaces one, and a longer text ends in "…".
func line(s string, n int) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, clean(s))), " ")
	if colsOf(s) <= n {
		return s
	}
	cols := 0
	for i, r := range s {
		if cols += runeCols(r); cols > n-1 {
			return s[:i] + "…"
		}
	}
	return s
}

// runeCols is how many terminal columns a character takes: two for the
// wide East Asian scripts and full-width forms, one otherwise.
func runeCols(r rune) int {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6, r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
}

func colsOf(s string) int {
	n := 0
	for _, r := range s {
		n += runeCols(r)
	}
	return n
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
