package schema_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/patrolhq/patrol/schema"
)

func TestHTTPStatus_EveryCodeMapsAndRoundTrips(t *testing.T) {
	codes := []schema.Code{schema.CodeInvalid, schema.CodeUnauthorized, schema.CodeForbidden, schema.CodeNotFound,
		schema.CodeConflict, schema.CodeTooLarge, schema.CodeRateLimited, schema.CodeUnavailable, schema.CodeInternal,
		schema.CodeUnsupportedMedia, schema.CodeChecksumMismatch, schema.CodeOffsetMismatch, schema.CodeGone, schema.CodeTimeout,
		schema.CodeUndecodable, schema.CodeSealed}
	for _, c := range codes {
		st := schema.HTTPStatus(c)
		if st < 400 {
			t.Errorf("%s → %d", c, st)
		}
		if st < 500 && c != schema.CodeOffsetMismatch && c != schema.CodeUndecodable && c != schema.CodeSealed && schema.CodeForStatus(st) != c {
			t.Errorf("%s → %d → %s", c, st, schema.CodeForStatus(st))
		}
	}
	if schema.HTTPStatus("no-such-code") != http.StatusInternalServerError {
		t.Error("unknown code must be a 500")
	}
}

func TestErrorCode_FindsWrappedError(t *testing.T) {
	err := fmt.Errorf("store: push: %w", schema.Errorf(schema.CodeForbidden, "venue not in your squad"))
	if schema.ErrorCode(err) != schema.CodeForbidden {
		t.Fatal(schema.ErrorCode(err))
	}
	if schema.ErrorCode(fmt.Errorf("plain")) != schema.CodeInternal || schema.ErrorCode(nil) != "" {
		t.Fatal("plain/nil errors misclassified")
	}
}
