package main

import (
	"flag"
	"fmt"
	"strconv"

	mobilesync "github.com/patrolhq/patrol/mobile-sync"
	"github.com/patrolhq/patrol/schema"
)

func cmdVenues(c *cli, args []string) error {
	fs := flag.NewFlagSet("venues", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	kind := fs.String("kind", "", "only venues of this kind (net_cafe, arcade, ktv, bookshop)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	all, err := d.Venues(c.ctx)
	if err != nil {
		return err
	}
	vs := all[:0:0]
	for _, v := range all {
		if *kind == "" || v.Kind == *kind {
			vs = append(vs, v)
		}
	}
	if *asJSON {
		return c.printJSON(vs)
	}
	if len(vs) == 0 {
		fmt.Fprintln(c.stdout, "no venues on this device (run `patrol sync`, or `patrol venue add` for one found on patrol)")
		return nil
	}
	for _, v := range vs {
		lic := "licensed"
		if !v.Licensed {
			lic = "UNLICENSED"
		}
		fmt.Fprintf(c.stdout, "%s  %-8s %-10s %-9s %s\n", v.ID, v.Kind, lic, v.OpenState, v.Name)
	}
	return nil
}

func cmdVenue(c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("venue needs a subcommand: add or edit")
	}
	switch args[0] {
	case "add":
		return cmdVenueAdd(c, args[1:])
	case "edit":
		return cmdVenueEdit(c, args[1:])
	}
	return usagef("unknown venue subcommand %q (add, edit)", args[0])
}

func cmdVenueAdd(c *cli, args []string) error {
	fs := flag.NewFlagSet("venue add", flag.ContinueOnError)
	var nv mobilesync.NewVenue
	fs.StringVar(&nv.Name, "name", "", "venue name as on its sign")
	fs.StringVar(&nv.Kind, "kind", schema.KindNetCafe, "net_cafe, arcade, ktv or bookshop")
	fs.StringVar(&nv.Address, "address", "", "street address")
	fs.StringVar(&nv.LicenceNo, "licence", "", "licence number, if one is shown")
	fs.StringVar(&nv.Phone, "phone", "", "phone number")
	lat := fs.String("lat", "", "latitude (WGS-84)")
	lng := fs.String("lng", "", "longitude (WGS-84)")
	unlicensed := fs.Bool("unlicensed", false, "no licence: a black café")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if nv.Name == "" || *lat == "" || *lng == "" {
		return usagef("--name, --lat and --lng are required")
	}
	if nv.Lat, err = strconv.ParseFloat(*lat, 64); err != nil {
		return usagef("--lat %q is not a number", *lat)
	}
	if nv.Lng, err = strconv.ParseFloat(*lng, 64); err != nil {
		return usagef("--lng %q is not a number", *lng)
	}
	nv.Licensed = !*unlicensed
	d, err := c.device()
	if err != nil {
		return err
	}
	v, err := d.AddVenue(c.ctx, nv)
	if err != nil {
		return err
	}
	if z := v.FoundInZone; z != nil {
		warnZone(c, d, z)
	}
	fmt.Fprintln(c.stdout, v.ID)
	return nil
}

// warnZone tells the inspector at once, on stderr so that scripts reading
// the new id still can, that the venue he just recorded stands in a school
// zone; the record carries the same finding up to the bureau.
func warnZone(c *cli, d *mobilesync.Device, z *schema.ZoneHit) {
	rule := "禁设区"
	ruleEn := "school zone"
	if r, err := d.ZoneRule(c.ctx, z.RuleID); err == nil {
		rule = fmt.Sprintf("%.0f 米禁设区", r.DistanceM)
		ruleEn = fmt.Sprintf("%.0f m school zone", r.DistanceM)
	}
	name := oneLine(z.SchoolName)
	fmt.Fprintf(c.stderr, "警告：该位置位于 %s 学校 %s内 (%.0f m)\n", name, rule, z.DistanceM)
	fmt.Fprintf(c.stderr, "WARNING: this position lies inside the %s of %s (%.0f m from the campus); the record notes it\n", ruleEn, name, z.DistanceM)
}

func cmdVenueEdit(c *cli, args []string) error {
	fs := flag.NewFlagSet("venue edit", flag.ContinueOnError)
	flags := map[string]string{ // flag name → venue field
		"name": schema.FieldName, "phone": schema.FieldPhone, "address": schema.FieldAddress,
		"licence": schema.FieldLicenceNo, "licensed": schema.FieldLicensed, "open-state": schema.FieldOpenState,
	}
	for f := range flags {
		fs.String(f, "", "new "+flags[f])
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("venue edit needs exactly one venue id")
	}
	fields := map[string]string{}
	fs.Visit(func(f *flag.Flag) { fields[flags[f.Name]] = f.Value.String() })
	if len(fields) == 0 {
		return usagef("nothing to change: give --name, --phone, --address, --licence, --licensed or --open-state")
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	if err := d.EditVenue(c.ctx, pos[0], fields); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "edited %s; the change goes up with the next sync\n", pos[0])
	return nil
}
