package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patrolhq/patrol/schema"
)

// SQLSTATE codes the store tells apart (PostgreSQL Appendix A).
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgNotNullViolation    = "23502"
	pgSerialization       = "40001"
	pgDeadlock            = "40P01"
	pgLockNotAvailable    = "55P03"
	pgQueryCanceled       = "57014"
	pgReadOnlyTx          = "25006"
)

// translate turns a driver error into a *schema.Error the server can
// answer with, judged by type and SQLSTATE, never by message text; the
// driver error stays in the chain for the log. Errors that are already
// *schema.Error, and those that are the server's own fault, pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se *schema.Error
	if errors.As(err, &se) {
		return err
	}
	// The request's deadline or cancellation is the server's to answer
	// (timeout), not the database's; context.DeadlineExceeded is also a
	// net.Error, so this comes before the connection errors.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch class := pe.Code[:2]; {
		case pe.Code == pgUniqueViolation:
			return with(schema.Errorf(schema.CodeConflict, "%s already holds that %s", pe.TableName, constraintWhat(pe)), err)
		case pe.Code == pgForeignKeyViolation:
			return with(schema.Errorf(schema.CodeInvalid, "%s refers to a row that does not exist (%s)", pe.TableName, pe.ConstraintName), err)
		case pe.Code == pgCheckViolation, pe.Code == pgNotNullViolation, class == "22":
			return with(schema.Errorf(schema.CodeInvalid, "%s does not take that value (%s)", pe.TableName, constraintWhat(pe)), err)
		case pe.Code == pgSerialization, pe.Code == pgDeadlock, pe.Code == pgLockNotAvailable, pe.Code == pgQueryCanceled:
			return with(schema.Errorf(schema.CodeUnavailable, "the server's database is busy; nothing was acknowledged, retry shortly"), err)
		case pe.Code == pgReadOnlyTx:
			return with(schema.Errorf(schema.CodeUnavailable, "the server's database is read-only (a standby?); nothing was acknowledged, retry later"), err)
		case class == "53", class == "57", class == "08", class == "58":
			// Insufficient resources (disk full, out of memory, too many
			// connections), shutdown, connection and system errors.
			return with(schema.Errorf(schema.CodeUnavailable, "the server's database cannot take the work now (%s); nothing was acknowledged, retry later", pe.Code), err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return with(schema.Errorf(schema.CodeUnavailable, "the server cannot reach its database; nothing was acknowledged, retry later"), err)
	}
	return err
}

// with keeps cause in the chain behind the answer e.
func with(e *schema.Error, cause error) error {
	return fmt.Errorf("%w: %w", e, cause)
}

func constraintWhat(pe *pgconn.PgError) string {
	if pe.ConstraintName != "" {
		return pe.ConstraintName
	}
	return pe.ColumnName
}

// isUnique reports whether err is a unique violation of constraint ("":
// any).
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation && (constraint == "" || pe.ConstraintName == constraint)
}

// isForeignKey reports whether err is a foreign-key violation of
// constraint.
func isForeignKey(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgForeignKeyViolation && pe.ConstraintName == constraint
}

// redactDSN hides a password in a DSN quoted in a message or log.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	return "(key=value DSN)"
}
