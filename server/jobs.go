package server

import (
	"context"
	"fmt"
	"time"

	"github.com/patrolhq/patrol/server/jobs"
)

// JobHourlyCleanup names the hourly clean-up in the store's job locks.
const JobHourlyCleanup = "hourly-cleanup"

// StagingMaxAge is how long a partial photo upload may stay untouched
// before the hourly clean-up removes it: long enough for a device that
// was offline over a weekend to resume.
const StagingMaxAge = 48 * time.Hour

// RunJob runs fn under the store's lock of the job name, so that a job
// every replica's cron starts at the same hour runs on one of them; ran is
// false, and fn not called, when another replica is running it. Jobs are
// written so that a second run after the first has finished (a replica
// whose clock is late) finds nothing left to do.
func (s *Server) RunJob(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error) {
	release, ok, err := s.store.TryJobLock(ctx, name)
	if err != nil {
		return false, fmt.Errorf("server: job %s: %w", name, err)
	}
	if !ok {
		return false, nil
	}
	defer release()
	return true, fn(ctx)
}

// Cleanup is what one run of the hourly clean-up removed.
type Cleanup struct {
	Uploads  int   // partial photo uploads untouched for StagingMaxAge
	Attempts int64 // failed-attempt and known-login rows that no longer count
}

// HourlyCleanup removes abandoned photo uploads and, where the store keeps
// them, failed attempts that aged out of every window; it runs on one
// replica at a time (ran is false when another is running it).
func (s *Server) HourlyCleanup(ctx context.Context) (c Cleanup, ran bool, err error) {
	ran, err = s.RunJob(ctx, JobHourlyCleanup, func(ctx context.Context) error {
		if s.photos != nil {
			n, err := s.photos.CleanStaging(ctx, StagingMaxAge)
			c.Uploads = n
			if err != nil {
				return err
			}
		}
		if _, ok := s.failures.(*storeLimiter); ok {
			now := s.cfg.Now()
			window := max(s.cfg.LoginWindow, s.limits.enrollAll.window)
			n, err := s.store.PruneAttempts(ctx, now.Add(-window), now.Add(-knownAddressTTL))
			c.Attempts = n
			if err != nil {
				return err
			}
		}
		// The planner's statistics follow the tables as they grow.
		return s.store.Optimize(ctx)
	})
	return c, ran, err
}

// Location is the bureau's zone the rollups count local days in.
func (s *Server) Location() *time.Location { return s.cfg.Location }

// NightlyRollup rolls up every day from the one after the last rolled up
// to yesterday in the bureau's zone (jobs.CatchUp), on one replica at a
// time: cron runs it at 02:00 and the server runs it once at start, so
// nights missed while it was down are filled. ran is false when another
// replica is running it.
func (s *Server) NightlyRollup(ctx context.Context) (days []string, ran bool, err error) {
	ran, err = s.RunJob(ctx, jobs.JobNightlyRollup, func(ctx context.Context) error {
		days, err = jobs.CatchUp(ctx, s.store, s.cfg.Location, s.cfg.Now())
		return err
	})
	return days, ran, err
}

// RollupSince rolls up every local day from since to yesterday under the
// nightly lock: data that arrived with a past (the demo district) gets its
// history at once instead of only the nights the catch-up reaches.
func (s *Server) RollupSince(ctx context.Context, since time.Time) (days []string, ran bool, err error) {
	ran, err = s.RunJob(ctx, jobs.JobNightlyRollup, func(ctx context.Context) error {
		now := s.cfg.Now()
		days, err = jobs.RollupRange(ctx, s.store, since, now.In(s.cfg.Location).AddDate(0, 0, -1), s.cfg.Location, now)
		return err
	})
	return days, ran, err
}

// RollupDay rolls up one local day on demand (an admin, the command line),
// under the same lock as the nightly run.
func (s *Server) RollupDay(ctx context.Context, day time.Time) (figures []jobs.SquadDay, ran bool, err error) {
	ran, err = s.RunJob(ctx, jobs.JobNightlyRollup, func(ctx context.Context) error {
		figures, err = jobs.RollupDay(ctx, s.store, day.In(s.cfg.Location), s.cfg.Now())
		return err
	})
	return figures, ran, err
}
