package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/patrolhq/patrol/schema"
)

// cmdZones answers, offline, which school zones a position lies in or near.
func cmdZones(c *cli, args []string) error {
	fs := flag.NewFlagSet("zones", flag.ContinueOnError)
	at := fs.String("at", "", "position LAT,LNG (WGS-84, as the phone's GPS gives it)")
	kind := fs.String("kind", schema.KindNetCafe, "venue kind the zone rules are read for (net_cafe, arcade, ktv, bookshop)")
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	lat, lng, err := parseLatLng(*at)
	if err != nil {
		return err
	}
	d, err := c.device()
	if err != nil {
		return err
	}
	hits, err := d.ZonesAt(c.ctx, lat, lng, *kind)
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(hits)
	}
	if len(hits) == 0 {
		fmt.Fprintln(c.stdout, "附近没有学校禁设区 (no school zone here or nearby; run `patrol sync` if the device has never synced)")
		return nil
	}
	for _, h := range hits {
		where := "在禁设区外 (outside the zone)"
		if h.InsideZone {
			where = "在禁设区内 (INSIDE the zone)"
		}
		fmt.Fprintf(c.stdout, "%s  距离 %.0f 米  %s  [%s]\n", oneLine(h.SchoolName), h.DistanceM, where, oneLine(h.RuleID))
	}
	return nil
}

// parseLatLng reads "LAT,LNG".
func parseLatLng(s string) (lat, lng float64, err error) {
	if s == "" {
		return 0, 0, usagef("--at LAT,LNG is required (for example --at 35.0612,118.3401)")
	}
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, usagef("--at %q: give latitude and longitude separated by a comma", s)
	}
	if lat, err = strconv.ParseFloat(strings.TrimSpace(a), 64); err != nil {
		return 0, 0, usagef("--at: latitude %q is not a number", a)
	}
	if lng, err = strconv.ParseFloat(strings.TrimSpace(b), 64); err != nil {
		return 0, 0, usagef("--at: longitude %q is not a number", b)
	}
	return lat, lng, nil
}

// oneLine keeps pulled text (a school's name) from breaking the terminal
// line or moving the cursor.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
