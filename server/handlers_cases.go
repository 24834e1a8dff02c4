package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// Cases (立案): leaders open them from a finding or a confirmed black café
// and carry them to a decision; admins see every squad's. Anyone else (an
// inspector, a device, the office) is forbidden; a leader of another
// squad finds no such case.

// OpenCaseRequest is the body of POST /api/v1/cases.
type OpenCaseRequest struct {
	Source   string `json:"source"`
	SourceID string `json:"source_id"`
	Summary  string `json:"summary"`
}

// CaseNoteRequest is the body of POST /api/v1/cases/{id}/investigate and
// /close: the note (how the decision was carried out, for close).
type CaseNoteRequest struct {
	Note string `json:"note"`
}

// AttachRequest is the body of POST /api/v1/cases/{id}/attach.
type AttachRequest struct {
	Evidence []schema.CaseEvidence `json:"evidence"`
}

// HandlersRequest is the body of POST /api/v1/cases/{id}/handlers: the
// usernames of the handling inspectors.
type HandlersRequest struct {
	Handlers []string `json:"handlers"`
}

// DecideRequest is the body of POST /api/v1/cases/{id}/decide.
type DecideRequest struct {
	Type     string `json:"type"`
	FineYuan int64  `json:"fine_yuan"`
	Note     string `json:"note"`
}

func (s *Server) listCases(c echo.Context) error {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return err
	}
	sq, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.CaseFilter{SquadID: sq, Status: c.QueryParam("status"), After: c.QueryParam("after")}
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
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	page, err := s.store.ListCases(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, page)
}

func (s *Server) openCase(c echo.Context) error {
	p := principal(c)
	if err := supervisor(p); err != nil {
		return err
	}
	var req OpenCaseRequest
	if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
		return err
	}
	out, created, err := s.store.OpenCase(c.Request().Context(),
		store.OpenCaseInput{Source: req.Source, SourceID: req.SourceID, Summary: req.Summary, By: p.Username}, p.Scope())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(c, status, out)
}

func (s *Server) getCase(c echo.Context) error {
	p, id, err := supervisedID(c, "case")
	if err != nil {
		return err
	}
	out, err := s.store.Case(c.Request().Context(), id, p.Scope())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// caseAction is the handler of POST /api/v1/cases/{id}/{action}: it
// decodes the action's body and has the store apply it.
func (s *Server) caseAction(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, id, err := supervisedID(c, "case")
		if err != nil {
			return err
		}
		in := store.CaseInput{Action: action, By: p.Username}
		switch action {
		case schema.CaseActInvestigate, schema.CaseActClose:
			var req CaseNoteRequest
			if err := bindOptionalJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
				return err
			}
			in.Note = req.Note
		case schema.CaseActAttach:
			var req AttachRequest
			if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
				return err
			}
			if len(req.Evidence) > schema.MaxCaseEvidence {
				return schema.Errorf(schema.CodeInvalid, "attach at most %d pieces of evidence at once", schema.MaxCaseEvidence)
			}
			in.Evidence = req.Evidence
		case schema.CaseActHandlers:
			var req HandlersRequest
			if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
				return err
			}
			in.Handlers = req.Handlers
		case schema.CaseActDecide:
			var req DecideRequest
			if err := bindJSON(c, schema.MaxSmallBodyBytes, &req); err != nil {
				return err
			}
			in.Decision = schema.CaseDecision{Type: req.Type, FineYuan: req.FineYuan, Note: req.Note}
		}
		out, err := s.store.ActOnCase(c.Request().Context(), id, in, p.Scope())
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, out)
	}
}
