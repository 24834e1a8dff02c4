package postgres

import (
	"context"

	"github.com/patrolhq/patrol/schema"
	"github.com/patrolhq/patrol/server/store"
)

// CreateComplaint is not yet on PostgreSQL.
func (s *Store) CreateComplaint(ctx context.Context, in schema.ComplaintIntake, by string, lim schema.ComplaintLimits) (schema.Complaint, error) {
	return schema.Complaint{}, schema.Errorf(schema.CodeUnavailable, "complaints are not yet kept on PostgreSQL")
}

// Complaint is not yet on PostgreSQL.
func (s *Store) Complaint(ctx context.Context, id string, a schema.ComplaintAccess) (schema.Complaint, error) {
	return schema.Complaint{}, schema.Errorf(schema.CodeNotFound, "complaint %s not found", id)
}

// ListComplaints is not yet on PostgreSQL.
func (s *Store) ListComplaints(ctx context.Context, f store.ComplaintFilter, a schema.ComplaintAccess) ([]schema.Complaint, error) {
	return []schema.Complaint{}, nil
}

// ActOnComplaint is not yet on PostgreSQL.
func (s *Store) ActOnComplaint(ctx context.Context, id string, act schema.ComplaintAction, a schema.ComplaintAccess, lim schema.ComplaintLimits) (schema.Complaint, error) {
	return schema.Complaint{}, schema.Errorf(schema.CodeNotFound, "complaint %s not found", id)
}
