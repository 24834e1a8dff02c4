package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// VersionsResponse answers GET /api/v1/inspections/{id}/versions: every
// accepted version, oldest first, and what changed from each to the next
// (Changes[i] leads from Versions[i] to Versions[i+1]).
type VersionsResponse struct {
	Versions []store.InspectionVersion `json:"versions"`
	Changes  [][]schema.VersionChange  `json:"changes"`
}

func (s *Server) inspectionVersions(c echo.Context) error {
	p, id, err := supervisedID(c, "inspection")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	in, err := s.store.Inspection(ctx, id)
	if err != nil {
		return err
	}
	if !p.CanSupervise(in.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "inspection %s not found", id)
	}
	vs, err := s.store.InspectionVersions(ctx, id)
	if err != nil {
		return err
	}
	out := VersionsResponse{Versions: vs, Changes: [][]schema.VersionChange{}}
	for i := 1; i < len(vs); i++ {
		d := schema.DiffVersions(vs[i-1].Record, vs[i].Record)
		if d == nil {
			d = []schema.VersionChange{}
		}
		out.Changes = append(out.Changes, d)
	}
	return writeJSON(c, http.StatusOK, out)
}

// queryTime reads a time parameter: RFC 3339, or a date (the start of that
// day in China).
func queryTime(c echo.Context, name string) (time.Time, error) {
	q := c.QueryParam(name)
	if q == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, q); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, q, store.ChinaTime); err == nil {
		return t, nil
	}
	return time.Time{}, schema.Errorf(schema.CodeInvalid, "%s %q is not a date (2006-01-02) or RFC 3339 time", name, truncate(q, 40))
}

func (s *Server) listFindings(c echo.Context) error {
	p := principal(c)
	sq, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.FindingFilter{SquadID: sq, Status: c.QueryParam("status"), ItemID: c.QueryParam("item"), Sort: c.QueryParam("sort"),
		After: c.QueryParam("after")}
	if v := c.QueryParam("venue"); v != "" {
		if err := schema.ValidUUID(v); err != nil {
			return schema.Errorf(schema.CodeInvalid, "venue: %v", err)
		}
		f.VenueID = v
	}
	if q := c.QueryParam("overdue"); q != "" {
		if f.Overdue, err = strconv.ParseBool(q); err != nil {
			return schema.Errorf(schema.CodeInvalid, "overdue %q is not true or false", truncate(q, 20))
		}
	}
	if err := schema.CheckText("item", f.ItemID, 40); err != nil {
		return err
	}
	if f.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(c, "to"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	page, err := s.store.Findings(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, page)
}

// visibleFinding reads a finding the caller may supervise; another
// squad's is not found.
func (s *Server) visibleFinding(c echo.Context) (schema.Finding, error) {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return schema.Finding{}, err
	}
	id, err := idParam(c, "finding")
	if err != nil {
		return schema.Finding{}, err
	}
	f, err := s.store.Finding(c.Request().Context(), id)
	if err != nil {
		return schema.Finding{}, err
	}
	if !p.CanSupervise(f.SquadID) {
		return schema.Finding{}, schema.Errorf(schema.CodeNotFound, "finding %s not found", id)
	}
	return f, nil
}

func (s *Server) getFinding(c echo.Context) error {
	f, err := s.visibleFinding(c)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, f)
}

// OrderRequest is the body of POST /api/v1/findings/{id}/order. Deadline
// is an RFC 3339 time or a date, meaning the end of that day in China.
type OrderRequest struct {
	Deadline string `json:"deadline"`
	Action   string `json:"action"`
	Comment  string `json:"comment"`
}

// CloseRequest is the body of POST /api/v1/findings/{id}/close: how the
// fix was verified.
type CloseRequest struct {
	Note string `json:"note"`
}

// EscalateRequest is the body of POST /api/v1/findings/{id}/escalate.
type EscalateRequest struct {
	Reason string `json:"reason"`
}

// ParseDeadline reads an order's deadline: an RFC 3339 time, or a date
// YYYY-MM-DD meaning the last instant of that day in China.
func ParseDeadline(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, store.ChinaTime); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
	}
	return time.Time{}, schema.Errorf(schema.CodeInvalid, "deadline %q is not a date (2006-01-02) or RFC 3339 time", truncate(s, 40))
}

func (s *Server) orderFinding(c echo.Context) error {
	var req OrderRequest
	return s.actOnFinding(c, &req, func() (schema.FindingAction, error) {
		d, err := ParseDeadline(req.Deadline)
		return schema.FindingAction{Action: schema.FindingActOrder, Deadline: d, Text: req.Action, Comment: req.Comment}, err
	})
}

func (s *Server) closeFinding(c echo.Context) error {
	var req CloseRequest
	return s.actOnFinding(c, &req, func() (schema.FindingAction, error) {
		return schema.FindingAction{Action: schema.FindingActClose, Text: req.Note}, nil
	})
}

func (s *Server) escalateFinding(c echo.Context) error {
	var req EscalateRequest
	return s.actOnFinding(c, &req, func() (schema.FindingAction, error) {
		return schema.FindingAction{Action: schema.FindingActEscalate, Text: req.Reason}, nil
	})
}

// actOnFinding decodes a leader's action on a finding into req and has
// the store apply what action makes of it.
func (s *Server) actOnFinding(c echo.Context, req any, action func() (schema.FindingAction, error)) error {
	p, id, err := supervisedID(c, "finding")
	if err != nil {
		return err
	}
	if err := bindJSON(c, schema.MaxSmallBodyBytes, req); err != nil {
		return err
	}
	a, err := action()
	if err != nil {
		return err
	}
	a.By = p.Username
	f, err := s.store.ActOnFinding(c.Request().Context(), id, a, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, f)
}

func (s *Server) venueLedger(c echo.Context) error {
	p, id, err := supervisedID(c, "venue")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := s.store.Venue(ctx, id)
	if err != nil {
		return err
	}
	if !p.CanSupervise(v.SquadID) {
		return schema.Errorf(schema.CodeNotFound, "venue %s not found", id)
	}
	l, err := s.store.VenueLedger(ctx, id)
	if err != nil {
		return err
	}
	// A leader sees the inspections and findings of their squad's time
	// with the venue; an admin sees all.
	if !p.IsAdmin() {
		ins := l.Inspections[:0]
		for _, in := range l.Inspections {
			if p.CanSupervise(in.SquadID) {
				ins = append(ins, in)
			}
		}
		l.Inspections = ins
	}
	return writeJSON(c, http.StatusOK, l)
}
