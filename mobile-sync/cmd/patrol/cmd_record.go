package main

import (
	"flag"
	"fmt"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

// recordUsage lists the record subcommands.
const recordUsage = "record needs a subcommand: show, set, sign, refuse or amend"

func cmdRecord(c *cli, args []string) error {
	if len(args) == 0 {
		return usagef(recordUsage)
	}
	switch args[0] {
	case "show":
		return cmdRecordShow(c, args[1:])
	case "set":
		return cmdRecordSet(c, args[1:])
	case "sign":
		return cmdRecordSign(c, args[1:])
	case "refuse":
		return cmdRecordRefuse(c, args[1:])
	case "amend":
		return cmdRecordAmend(c, args[1:])
	}
	return usagef("unknown record subcommand %q (show, set, sign, refuse, amend)", args[0])
}

// oneID parses the flags of fs and the one inspection id among args.
func oneID(fs *flag.FlagSet, args []string, usage string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usagef("usage: %s", usage)
	}
	return pos[0], nil
}

func cmdRecordShow(c *cli, args []string) error {
	fs := flag.NewFlagSet("record show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the record as JSON")
	id, err := oneID(fs, args, "record show INSPECTION_ID [--json]")
	if err != nil {
		return err
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, id)
	if err != nil {
		return err
	}
	r := in.Record
	if *asJSON {
		out := struct {
			InspectionID string               `json:"inspection_id"`
			Record       *schema.OnSiteRecord `json:"record"`
			Sealed       bool                 `json:"sealed"`
			Hash         string               `json:"hash,omitempty"`
		}{InspectionID: in.ID, Record: r, Sealed: r != nil && r.Signing != nil}
		if out.Sealed {
			out.Hash = schema.RecordHash(in)
		}
		return c.printJSON(out)
	}
	if r == nil {
		fmt.Fprintf(c.stdout, "inspection %s has no on-site record (make one with `patrol record set %s --party-name ...`)\n", in.ID, in.ID)
		return nil
	}
	fmt.Fprintf(c.stdout, "现场检查笔录 %s\n", clean(r.Number))
	fmt.Fprintf(c.stdout, "venue:   %s, %s (licence %s)\n", clean(r.VenueName), clean(r.Address), clean(r.LicenceNo))
	fmt.Fprintf(c.stdout, "party:   %s, %s, %s …%s\n", clean(r.Party.Name), clean(r.Party.Role), clean(r.Party.IDType), clean(r.Party.IDLast))
	fmt.Fprintf(c.stdout, "IDs shown: %v\n", r.IDsShown)
	for _, p := range in.Inspectors {
		fmt.Fprintf(c.stdout, "inspector: %s (%s) badge %s\n", clean(p.Name), clean(p.Username), clean(p.BadgeNo))
	}
	if r.Remarks != "" {
		fmt.Fprintf(c.stdout, "remarks: %s\n", clean(r.Remarks))
	}
	fmt.Fprintf(c.stdout, "signing: %s\n", signingText(r.Signing))
	for _, a := range r.Amendments {
		fmt.Fprintf(c.stdout, "amendment %d (%s): %s; %d change(s); %s\n", a.N, a.At.Format("2006-01-02 15:04"), clean(a.Reason), len(a.Changes), signingText(a.Signing))
		for _, ch := range a.Changes {
			fmt.Fprintf(c.stdout, "  %s: %s %q -> %s %q\n", ch.ItemID, ch.Before.Result, clean(ch.Before.Note), ch.After.Result, clean(ch.After.Note))
		}
	}
	return nil
}

func signingText(s *schema.Signing) string {
	switch {
	case s == nil:
		return "not signed yet"
	case s.Signature != nil:
		return fmt.Sprintf("signed by the party (signature %s), seal %s", s.Signature.SHA256[:12], s.Hash[:min(12, len(s.Hash))])
	case s.Refused != nil:
		return fmt.Sprintf("the party refused: %s; witness %s %s", clean(s.Refused.Reason), clean(s.Refused.Witness.Name), clean(s.Refused.Witness.Relation))
	}
	return "?"
}

func cmdRecordSet(c *cli, args []string) error {
	fs := flag.NewFlagSet("record set", flag.ContinueOnError)
	name := fs.String("party-name", "", "the person in charge present")
	role := fs.String("party-role", "", "their role (店长, 网管, 法定代表人)")
	idType := fs.String("id-type", schema.IDTypeResident, "their ID type: resident_id, passport, hkmo_permit, tw_permit or other")
	idLast := fs.String("id-last", "", "the last 4 characters of their ID number")
	ids := fs.Bool("ids-shown", false, "the inspectors showed their law-enforcement IDs")
	remarks := fs.String("remarks", "", "further facts beyond the item notes")
	id, err := oneID(fs, args, "record set INSPECTION_ID --party-name N --party-role R [--id-type T] [--id-last XXXX] --ids-shown [--remarks TEXT]")
	if err != nil {
		return err
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	in := mobilesync.RecordInput{Party: schema.Party{Name: *name, Role: *role, IDType: *idType, IDLast: *idLast}, IDsShown: *ids, Remarks: *remarks}
	if err := d.SetRecord(c.ctx, id, in); err != nil {
		return err
	}
	got, err := d.Inspection(c.ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "on-site record %s filled in; the party signs with `patrol record sign %s --signature FILE` or refuses with `patrol record refuse %s --reason ... --witness ...`\n",
		clean(got.Record.Number), id, id)
	return nil
}

func cmdRecordSign(c *cli, args []string) error {
	fs := flag.NewFlagSet("record sign", flag.ContinueOnError)
	sig := fs.String("signature", "", "image file of the party's signature, captured on the screen")
	id, err := oneID(fs, args, "record sign INSPECTION_ID --signature FILE")
	if err != nil {
		return err
	}
	if *sig == "" {
		return usagef("record sign needs --signature FILE")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, id)
	if err != nil {
		return err
	}
	if amendmentOpen(in.Record) {
		if err := d.SignAmendment(c.ctx, id, *sig); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "amendment %d signed by the party\n", len(in.Record.Amendments))
		return nil
	}
	if err := d.SignRecord(c.ctx, id, *sig); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "on-site record signed and sealed; later changes become amendments\n")
	return nil
}

func cmdRecordRefuse(c *cli, args []string) error {
	fs := flag.NewFlagSet("record refuse", flag.ContinueOnError)
	reason := fs.String("reason", "", "why the party refused to sign, as they said it")
	var w schema.Witness
	fs.StringVar(&w.Name, "witness", "", "name of the witness who saw the refusal")
	fs.StringVar(&w.Relation, "witness-relation", "", "who the witness is (社区网格员, 其他顾客)")
	fs.StringVar(&w.IDLast, "witness-id-last", "", "last 4 characters of the witness's ID number")
	id, err := oneID(fs, args, "record refuse INSPECTION_ID --reason TEXT --witness NAME [--witness-relation R] [--witness-id-last XXXX]")
	if err != nil {
		return err
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	in, err := d.Inspection(c.ctx, id)
	if err != nil {
		return err
	}
	if amendmentOpen(in.Record) {
		if err := d.RefuseAmendment(c.ctx, id, *reason, w); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "the party refused to sign amendment %d; reason and witness recorded\n", len(in.Record.Amendments))
		return nil
	}
	if err := d.RefuseRecord(c.ctx, id, *reason, w); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "the party refused to sign; the record is sealed with the reason and the witness\n")
	return nil
}

func cmdRecordAmend(c *cli, args []string) error {
	fs := flag.NewFlagSet("record amend", flag.ContinueOnError)
	reason := fs.String("reason", "", "why the open amendment changes the signed record")
	id, err := oneID(fs, args, "record amend INSPECTION_ID --reason TEXT")
	if err != nil {
		return err
	}
	if *reason == "" {
		return usagef("record amend needs --reason TEXT")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	if err := d.AmendmentReason(c.ctx, id, *reason); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "amendment reason set; the party signs it with `patrol record sign %s --signature FILE` or refuses with `patrol record refuse %s ...`\n", id, id)
	return nil
}

// amendmentOpen reports whether a sealed record has an amendment waiting
// for its signing: sign and refuse then answer the amendment.
func amendmentOpen(r *schema.OnSiteRecord) bool {
	if r == nil || r.Signing == nil || len(r.Amendments) == 0 {
		return false
	}
	return r.Amendments[len(r.Amendments)-1].Signing == nil
}
