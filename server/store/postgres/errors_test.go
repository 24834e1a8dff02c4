package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patrolhq/patrol/schema"
)

// TestTranslate_BySQLSTATE: driver errors become the codes the server
// answers with by their SQLSTATE class and code, wrapped or not, and the
// driver error stays in the chain.
func TestTranslate_BySQLSTATE(t *testing.T) {
	for _, tc := range []struct {
		code string
		want schema.Code
	}{
		{"23505", schema.CodeConflict},    // unique_violation
		{"23503", schema.CodeInvalid},     // foreign_key_violation
		{"23514", schema.CodeInvalid},     // check_violation
		{"22001", schema.CodeInvalid},     // string_data_right_truncation
		{"40001", schema.CodeUnavailable}, // serialization_failure
		{"40P01", schema.CodeUnavailable}, // deadlock_detected
		{"57014", schema.CodeUnavailable}, // query_canceled (statement_timeout)
		{"53100", schema.CodeUnavailable}, // disk_full
		{"53300", schema.CodeUnavailable}, // too_many_connections
		{"57P01", schema.CodeUnavailable}, // admin_shutdown
		{"25006", schema.CodeUnavailable}, // read_only_sql_transaction (a standby)
		{"42P01", schema.CodeInternal},    // undefined_table: the server's own fault
	} {
		pe := &pgconn.PgError{Code: tc.code, TableName: "users", ConstraintName: "users_username_key"}
		err := translate(fmt.Errorf("store: op: %w", pe))
		if got := schema.ErrorCode(err); got != tc.want {
			t.Errorf("SQLSTATE %s: %s (%v); want %s", tc.code, got, err, tc.want)
		}
		var back *pgconn.PgError
		if !errors.As(err, &back) || back != pe {
			t.Errorf("SQLSTATE %s: the driver error left the chain", tc.code)
		}
	}
	if err := translate(context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) || schema.ErrorCode(err) != schema.CodeInternal {
		t.Errorf("a deadline must stay a deadline for the server to answer timeout: %v", err)
	}
	if translate(nil) != nil {
		t.Error("translate(nil) != nil")
	}
}
