package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/jobs"
	"github.com/patrolhq/patrol/server/store"
)

// RollupDayResponse is the body of GET /api/v1/rollups/daily: each squad's
// figures of the local day that the caller supervises.
type RollupDayResponse struct {
	Date     string          `json:"date"`
	Timezone string          `json:"timezone"`
	Squads   []jobs.SquadDay `json:"squads"`
}

// RollupMonthResponse is the body of GET /api/v1/rollups/monthly: each
// squad's record of the month (Frozen once the month's record is written,
// else its figures so far) and the inspections that arrived after it froze.
type RollupMonthResponse struct {
	Month        string              `json:"month"`
	Timezone     string              `json:"timezone"`
	Frozen       bool                `json:"frozen"`
	Squads       []jobs.SquadMonth   `json:"squads"`
	LateArrivals []store.LateArrival `json:"late_arrivals"`
}

// RollupRunRequest is the body of POST /api/v1/rollups/run.
type RollupRunRequest struct {
	Date string `json:"date"` // YYYY-MM-DD in the bureau's zone
}

// rollupDaily answers GET /api/v1/rollups/daily?date=YYYY-MM-DD.
func (s *Server) rollupDaily(c echo.Context) error {
	sq, err := scope(c, principal(c))
	if err != nil {
		return err
	}
	q := c.QueryParam("date")
	if q == "" {
		return schema.Errorf(schema.CodeInvalid, "name the day: ?date=YYYY-MM-DD")
	}
	day, err := jobs.ParseDay(truncate(q, 20), s.cfg.Location)
	if err != nil {
		return err
	}
	key := day.Format(jobs.DayLayout)
	list, err := jobs.StoredDay(c.Request().Context(), s.store, key)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return schema.Errorf(schema.CodeNotFound, "%s has not been rolled up yet (the nightly run rolls up yesterday at 02:00)", key)
	}
	out := RollupDayResponse{Date: key, Timezone: s.cfg.Location.String(), Squads: []jobs.SquadDay{}}
	for _, d := range list {
		if sq == nil || d.SquadID == *sq {
			out.Squads = append(out.Squads, d)
		}
	}
	return writeJSON(c, http.StatusOK, out)
}

// rollupMonthly answers GET /api/v1/rollups/monthly?month=YYYY-MM.
func (s *Server) rollupMonthly(c echo.Context) error {
	sq, err := scope(c, principal(c))
	if err != nil {
		return err
	}
	q := c.QueryParam("month")
	if q == "" {
		return schema.Errorf(schema.CodeInvalid, "name the month: ?month=YYYY-MM")
	}
	m, err := jobs.ParseMonth(truncate(q, 20), s.cfg.Location)
	if err != nil {
		return err
	}
	key := m.Format(jobs.MonthLayout)
	ctx := c.Request().Context()
	list, err := jobs.StoredMonth(ctx, s.store, key)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return schema.Errorf(schema.CodeNotFound, "no day of %s has been rolled up", key)
	}
	late, err := s.store.LateArrivals(ctx, key)
	if err != nil {
		return err
	}
	out := RollupMonthResponse{Month: key, Timezone: s.cfg.Location.String(), Frozen: list[0].Frozen,
		Squads: []jobs.SquadMonth{}, LateArrivals: []store.LateArrival{}}
	for _, d := range list {
		if sq == nil || d.SquadID == *sq {
			out.Squads = append(out.Squads, d)
		}
	}
	for _, a := range late {
		if sq == nil || a.SquadID == *sq {
			out.LateArrivals = append(out.LateArrivals, a)
		}
	}
	return writeJSON(c, http.StatusOK, out)
}

// rollupRun answers POST /api/v1/rollups/run {date}: an admin rolls up a
// day now (again), as the nightly run would; 409 while a run is going on.
func (s *Server) rollupRun(c echo.Context) error {
	if err := requireAdmin(principal(c)); err != nil {
		return err
	}
	var req RollupRunRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	if req.Date == "" {
		return schema.Errorf(schema.CodeInvalid, `name the day: {"date": "YYYY-MM-DD"}`)
	}
	day, err := jobs.ParseDay(truncate(req.Date, 20), s.cfg.Location)
	if err != nil {
		return err
	}
	now := s.cfg.Now().In(s.cfg.Location)
	if today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.Location); day.After(today) {
		return schema.Errorf(schema.CodeInvalid, "%s is in the future; a day can be rolled up from the day itself on", req.Date)
	}
	list, ran, err := s.RollupDay(c.Request().Context(), day)
	if err != nil {
		return err
	}
	if !ran {
		return schema.Errorf(schema.CodeConflict, "a rollup is running already; try again when it has finished")
	}
	return writeJSON(c, http.StatusOK, RollupDayResponse{Date: day.Format(jobs.DayLayout), Timezone: s.cfg.Location.String(), Squads: list})
}
