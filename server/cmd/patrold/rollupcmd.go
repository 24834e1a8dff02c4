package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/patrolhq/patrol/server"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/web"
)

// RollupSchedule is when the nightly rollup runs, in the bureau's zone:
// after the day's late syncs have mostly arrived, before anyone reads the
// morning's figures.
const RollupSchedule = "0 2 * * *"

// scheduleRollups registers the nightly rollup at 02:00 in the server's
// zone, recovering from a panic and skipping a night whose run is still
// going, and catches up the days missed while the server was down at
// once. Every replica does this; the store's job lock lets one of them
// run each time. stop waits for a run in progress.
func scheduleRollups(ctx context.Context, srv *server.Server, logger *slog.Logger) (stop func(), err error) {
	l := cron.PrintfLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	c := cron.New(cron.WithLocation(srv.Location()), cron.WithLogger(l),
		cron.WithChain(cron.Recover(l), cron.SkipIfStillRunning(l)))
	run := func(why string) {
		days, ran, err := srv.NightlyRollup(ctx)
		switch {
		case err != nil:
			logger.Error("nightly rollup", "when", why, "err", err, "days_done", days)
		case !ran:
			logger.Debug("nightly rollup runs on another replica", "when", why)
		case len(days) > 0:
			logger.Info("nightly rollup", "when", why, "days", days)
		}
	}
	if _, err := c.AddFunc(RollupSchedule, func() { run("02:00") }); err != nil {
		return nil, err
	}
	c.Start()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		run("start")
	}()
	return func() {
		<-c.Stop().Done()
		wg.Wait()
	}, nil
}

// rollupOptions are the settings of `patrold rollup`.
type rollupOptions struct {
	DataDir  string
	Database string
	Date     string
	Timezone string
}

func parseRollup(args []string, getenv func(string) string, stderr io.Writer) (rollupOptions, error) {
	var o rollupOptions
	fs := flag.NewFlagSet("rollup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data", envOr(getenv, "PATROL_DATA", server.DefaultDataDir), "data directory (PATROL_DATA)")
	databaseFlag(fs, &o.Database, getenv)
	fs.StringVar(&o.Date, "date", "", "the day to roll up, YYYY-MM-DD in --timezone; default yesterday")
	fs.StringVar(&o.Timezone, "timezone", envOr(getenv, "PATROL_TIMEZONE", envOr(getenv, "PATROL_ZONE", web.DefaultZone)),
		"the bureau's time zone (PATROL_TIMEZONE, else PATROL_ZONE)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("rollup: unexpected argument %q", fs.Arg(0))
	}
	if o.Database == "" {
		o.Database = getenv("PATROL_DATABASE")
	}
	if err := checkDatabase(o.Database); err != nil {
		return o, fmt.Errorf("rollup: %w", err)
	}
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		return o, fmt.Errorf("rollup: --timezone %q: %w (an IANA name such as Asia/Shanghai)", o.Timezone, err)
	}
	if o.Date != "" {
		if _, err := jobs.ParseDay(o.Date, loc); err != nil {
			return o, fmt.Errorf("rollup: --date: %w", err)
		}
	}
	return o, nil
}

// rollup rolls up one day on demand, under the lock the nightly run takes.
func rollup(ctx context.Context, o rollupOptions, stdout io.Writer) error {
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		return err
	}
	var day time.Time
	if o.Date == "" {
		now := time.Now().In(loc)
		day = time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, loc)
	} else if day, err = jobs.ParseDay(o.Date, loc); err != nil {
		return err
	}
	st, _, err := openStore(ctx, o.Database, o.DataDir)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{Store: st, DataDir: o.DataDir, Location: loc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		if st != nil {
			st.Close()
		}
		return err
	}
	defer srv.Close()
	list, ran, err := srv.RollupDay(ctx, day)
	if err != nil {
		return err
	}
	if !ran {
		return errors.New("rollup: another run holds the rollup lock; try again when it has finished")
	}
	fmt.Fprintf(stdout, "rolled up %s (%s): %d squads\n", day.Format(jobs.DayLayout), loc, len(list))
	for _, d := range list {
		median := "-"
		if d.MedianCloseOutDays != nil {
			median = fmt.Sprintf("%.2f", *d.MedianCloseOutDays)
		}
		fmt.Fprintf(stdout, "squad %d: rank %d, coverage %.2f%% (%d/%d cafés, %d at risk, %d days left), findings open %d overdue %d repeated %d, median close-out %s days\n",
			d.SquadID, d.Rank, d.Coverage, d.CafesInspected, d.Cafes, len(d.AtRisk), d.DaysLeft, d.FindingsOpen, d.FindingsOverdue, d.FindingsRepeated, median)
	}
	return nil
}
