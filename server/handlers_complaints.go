package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// MaxComplaintBodyBytes bounds a complaint intake or action body: the
// longest content with room for the other fields and JSON escaping.
const MaxComplaintBodyBytes = 8 * schema.MaxComplaintContent

// ComplaintActionRequest is the body of POST /api/v1/complaints/{id}/{action}:
// reason for reject, assign and extend; days for extend; squad_id for
// assign; text for handle (the result) and answer (the reply); method for
// answer.
type ComplaintActionRequest struct {
	Reason  string `json:"reason"`
	Days    int    `json:"days"`
	SquadID int64  `json:"squad_id"`
	Text    string `json:"text"`
	Method  string `json:"method"`
}

// ComplaintPage is one page of GET /api/v1/complaints; Next, when set, is
// the after that continues it.
type ComplaintPage struct {
	Complaints []schema.Complaint `json:"complaints"`
	Next       string             `json:"next,omitempty"`
}

// complaintAccess is what the caller may do with complaints: nothing for
// a device token or an inspector.
func complaintAccess(p *auth.Principal) schema.ComplaintAccess {
	return schema.ComplaintAccessOf(p.Role, p.SquadID, p.IsDevice())
}

// complaintReader is the caller's access when it may read complaints at all.
func complaintReader(p *auth.Principal) (schema.ComplaintAccess, error) {
	a := complaintAccess(p)
	if !a.Read.Valid {
		return a, schema.Errorf(schema.CodeForbidden, "only office staff, squad leaders and admins read complaints")
	}
	return a, nil
}

func (s *Server) createComplaint(c echo.Context) error {
	p := principal(c)
	a := complaintAccess(p)
	if !a.Intake {
		return schema.Errorf(schema.CodeForbidden, "only office staff and admins take complaints in")
	}
	var in schema.ComplaintIntake
	if err := bindJSON(c, MaxComplaintBodyBytes, &in); err != nil {
		return err
	}
	if in.VenueID != "" {
		if err := schema.ValidUUID(in.VenueID); err != nil {
			return schema.Errorf(schema.CodeInvalid, "venue_id: %v", err)
		}
	}
	out, err := s.store.CreateComplaint(c.Request().Context(), in, p.Username, s.cfg.ComplaintLimits)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, schema.ComplaintSeenBy(out, a))
}

func (s *Server) listComplaints(c echo.Context) error {
	a, err := complaintReader(principal(c))
	if err != nil {
		return err
	}
	f := store.ComplaintFilter{Status: c.QueryParam("status"), After: c.QueryParam("after")}
	if q := c.QueryParam("squad"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n <= 0 {
			return schema.Errorf(schema.CodeInvalid, "squad %q is not a squad number", truncate(q, 20))
		}
		if !a.Read.Covers(n) {
			return schema.Errorf(schema.CodeForbidden, "you lead squad %d; squad %d is not yours", a.Read.Squad, n)
		}
		f.SquadID = &n
	}
	if q := c.QueryParam("overdue"); q != "" {
		if f.Overdue, err = strconv.ParseBool(q); err != nil {
			return schema.Errorf(schema.CodeInvalid, "overdue %q is not true or false", truncate(q, 20))
		}
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	list, err := s.store.ListComplaints(c.Request().Context(), f, a)
	if err != nil {
		return err
	}
	page := ComplaintPage{Complaints: list}
	if len(list) > 0 && len(list) == f.ComplaintLimit() {
		page.Next = store.ComplaintCursorOf(list[len(list)-1])
	}
	return writeJSON(c, http.StatusOK, page)
}

func (s *Server) getComplaint(c echo.Context) error {
	a, err := complaintReader(principal(c))
	if err != nil {
		return err
	}
	id, err := idParam(c, "complaint")
	if err != nil {
		return err
	}
	out, err := s.store.Complaint(c.Request().Context(), id, a)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// actOnComplaint is the handler of one complaint action.
func (s *Server) actOnComplaint(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		a, err := complaintReader(p)
		if err != nil {
			return err
		}
		id, err := idParam(c, "complaint")
		if err != nil {
			return err
		}
		var req ComplaintActionRequest
		if err := bindOptionalJSON(c, MaxComplaintBodyBytes, &req); err != nil {
			return err
		}
		act := schema.ComplaintAction{Action: action, By: p.Username, Reason: req.Reason, Days: req.Days, SquadID: req.SquadID,
			Text: req.Text, Method: req.Method}
		out, err := s.store.ActOnComplaint(c.Request().Context(), id, act, a, s.cfg.ComplaintLimits)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, out)
	}
}
