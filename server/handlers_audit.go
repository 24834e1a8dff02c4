package server

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/auth"
	"github.com/patrolhq/patrol/server/store"
)

// auditKinds are the entity kinds the audit log names.
var auditKinds = map[string]bool{
	schema.AuditInspection: true, schema.AuditFinding: true, schema.AuditConflict: true, schema.AuditUser: true,
	schema.AuditDevice: true, schema.AuditEnrollmentCode: true, schema.AuditVenue: true, store.AuditCase: true,
	schema.AuditComplaint: true,
}

// auditor puts who makes the request, and from which address, into its
// context, where the store reads them for the audit entries of the changes
// it makes (store.WithAuditor).
func auditor(c echo.Context, p *auth.Principal) {
	actor := p.Username
	if p.IsDevice() {
		actor = "device:" + p.DeviceID
	}
	req := c.Request()
	c.SetRequest(req.WithContext(store.WithAuditor(req.Context(), actor, c.RealIP())))
}

// listAudit answers GET /api/v1/audit: entries newest first, filtered by
// entity (kind and id), actor and squad, paged by seq (before). An admin
// sees every entry; a leader those recorded for their squad and every
// entry of an entity that belongs to their squad now; anyone else is
// forbidden. format=csv answers a CSV download instead of JSON.
func (s *Server) listAudit(c echo.Context) error {
	p := principal(c)
	squad, err := scope(c, p)
	if err != nil {
		return err
	}
	f := store.AuditFilter{EntityKind: c.QueryParam("entity"), EntityID: c.QueryParam("id"), Actor: c.QueryParam("actor"), SquadID: squad}
	switch {
	case f.EntityKind != "" && !auditKinds[f.EntityKind]:
		return schema.Errorf(schema.CodeInvalid, "entity %q is not one of inspection, finding, conflict, user, device, enrollment_code, venue, case, complaint", truncate(f.EntityKind, 30))
	case f.EntityID != "" && f.EntityKind == "":
		return schema.Errorf(schema.CodeInvalid, "id needs entity (the kind of thing the id names)")
	case !auditText(f.EntityID):
		return schema.Errorf(schema.CodeInvalid, "id %q is not an id (at most 64 letters, digits, - _ :)", truncate(f.EntityID, 70))
	case len(f.Actor) > 128:
		return schema.Errorf(schema.CodeInvalid, "actor is longer than 128 bytes")
	}
	if q := c.QueryParam("before"); q != "" {
		if f.BeforeSeq, err = strconv.ParseInt(q, 10, 64); err != nil || f.BeforeSeq < 1 {
			return schema.Errorf(schema.CodeInvalid, "before %q is not an entry number (the seq of the last entry of the previous page)", truncate(q, 20))
		}
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "csv" {
		return schema.Errorf(schema.CodeInvalid, "format %q is not json or csv", truncate(format, 20))
	}
	ctx := c.Request().Context()
	if !p.IsAdmin() && f.EntityID != "" && s.entityOfSquad(ctx, f.EntityKind, f.EntityID, *p.SquadID) {
		f.SquadID = nil // the whole history of an entity of the leader's squad
	}
	list, err := s.store.AuditEntries(ctx, f)
	if err != nil {
		return err
	}
	if format != "csv" {
		return writeJSON(c, http.StatusOK, list)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="audit.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	w.Write(schema.AuditCSVHeader)
	for _, e := range list {
		w.Write(schema.AuditCSVRecord(e))
	}
	w.Flush()
	return nil // the status is sent: a failed write is the client gone
}

// entityOfSquad reports whether the entity belongs to squad now. A lookup
// that fails (no such entity) says no, so that a guessed id tells nothing.
func (s *Server) entityOfSquad(ctx context.Context, kind, id string, squad int64) bool {
	switch kind {
	case schema.AuditInspection:
		in, err := s.store.Inspection(ctx, id)
		return err == nil && in.SquadID == squad
	case schema.AuditVenue:
		v, err := s.store.Venue(ctx, id)
		return err == nil && v.SquadID == squad
	case schema.AuditConflict:
		cf, err := s.store.Conflict(ctx, id)
		return err == nil && cf.SquadID == squad
	case schema.AuditDevice:
		u, err := s.store.DeviceOwner(ctx, id)
		return err == nil && u.SquadID != nil && *u.SquadID == squad
	case store.AuditCase:
		_, err := s.store.Case(ctx, id, schema.SquadScope(squad))
		return err == nil
	case schema.AuditComplaint:
		_, err := s.store.Complaint(ctx, id, schema.ComplaintAccessOf(schema.RoleLeader, &squad, false))
		return err == nil
	}
	return false
}

// auditText reports whether s may be an entity id of the audit log.
func auditText(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == ':') {
			return false
		}
	}
	return true
}
