package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// PlanResponse is the body of GET and PUT /api/v1/plan: the squad's cafés
// not inspected this month riskiest first, its visits, and the warnings
// the visits leave (schema.CheckPlan).
type PlanResponse struct {
	SquadID    int64                  `json:"squad_id"`
	Month      string                 `json:"month"`
	Today      string                 `json:"today"`
	MonthEnd   string                 `json:"month_end"`
	Candidates []schema.PlanCandidate `json:"candidates"`
	Visits     []schema.PlanVisit     `json:"visits"`
	Flags      []schema.PlanFlag      `json:"flags"`
	// Inspectors are whom a visit may name (the squad's, then its
	// co-inspectors).
	Inspectors []schema.Member `json:"inspectors"`
}

// PlanRequest is the body of PUT /api/v1/plan: the visits from today on
// (each venue_id, day, inspectors).
type PlanRequest struct {
	Visits []schema.PlanVisit `json:"visits"`
}

// maxPlanVisits bounds one plan: a squad's cafés a few times over.
const maxPlanVisits = 2000

// planTarget reads ?squad= and ?month= for the caller: a leader's own
// squad, or the squad an admin names.
func (s *Server) planTarget(c echo.Context) (int64, store.PlanMonth, error) {
	sq, err := scope(c, principal(c))
	if err != nil {
		return 0, store.PlanMonth{}, err
	}
	if sq == nil {
		return 0, store.PlanMonth{}, schema.Errorf(schema.CodeInvalid, "name the squad: ?squad=N")
	}
	m, err := store.NewPlanMonth(truncate(c.QueryParam("month"), 20), s.cfg.Now(), s.cfg.Location)
	return *sq, m, err
}

// planOf reads the squad's plan of the month with its warnings.
func (s *Server) planOf(c echo.Context, squad int64, m store.PlanMonth) (PlanResponse, error) {
	ctx := c.Request().Context()
	cands, err := s.store.PlanCandidates(ctx, squad, m)
	if err != nil {
		return PlanResponse{}, err
	}
	visits, err := s.store.PlanVisits(ctx, squad, m)
	if err != nil {
		return PlanResponse{}, err
	}
	inspectors, err := s.store.PlanInspectors(ctx, squad)
	if err != nil {
		return PlanResponse{}, err
	}
	return PlanResponse{SquadID: squad, Month: m.Month, Today: m.Today, MonthEnd: m.End, Candidates: cands, Visits: visits,
		Flags: schema.CheckPlan(cands, openVisits(visits), m.Today, m.End), Inspectors: inspectors}, nil
}

// openVisits are the visits still to do: a done one covers its café
// already, and is no longer a candidate either.
func openVisits(list []schema.PlanVisit) []schema.PlanVisit {
	out := []schema.PlanVisit{}
	for _, v := range list {
		if v.DoneInspectionID == "" {
			out = append(out, v)
		}
	}
	return out
}

// getPlan answers GET /api/v1/plan?squad=&month=.
func (s *Server) getPlan(c echo.Context) error {
	squad, m, err := s.planTarget(c)
	if err != nil {
		return err
	}
	out, err := s.planOf(c, squad, m)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// putPlan answers PUT /api/v1/plan?squad=&month=: the leader of the squad
// (or an admin) replaces its unfinished visits from today on. Warnings do
// not stop the save; they come back with the plan.
func (s *Server) putPlan(c echo.Context) error {
	squad, m, err := s.planTarget(c)
	if err != nil {
		return err
	}
	var req PlanRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes*16, &req); err != nil {
		return err
	}
	if len(req.Visits) > maxPlanVisits {
		return schema.Errorf(schema.CodeInvalid, "a plan holds at most %d visits", maxPlanVisits)
	}
	if _, err := s.store.SavePlan(c.Request().Context(), squad, m, req.Visits, principal(c).Username); err != nil {
		return err
	}
	out, err := s.planOf(c, squad, m)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}
