package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Code is a machine-readable error class. Codes are part of the wire
// protocol: device code branches on them, so codes are only ever added,
// never renamed or reused.
type Code string

// The error codes of the protocol. Add new ones at the end.
const (
	CodeInvalid          Code = "invalid"           // malformed or semantically wrong input
	CodeUnauthorized     Code = "unauthorized"      // no, unknown, expired or revoked credentials
	CodeForbidden        Code = "forbidden"         // authenticated but not allowed
	CodeNotFound         Code = "not_found"         // no such object, or not visible to the caller
	CodeConflict         Code = "conflict"          // the object changed underneath the caller
	CodeTooLarge         Code = "too_large"         // request body or photo over the limit
	CodeRateLimited      Code = "rate_limited"      // too many attempts; see Retry-After
	CodeUnavailable      Code = "unavailable"       // overloaded or a dependency is down; retry later
	CodeInternal         Code = "internal"          // a bug or an unexpected failure on the server
	CodeUnsupportedMedia Code = "unsupported_media" // photo bytes are not an accepted image type
	CodeChecksumMismatch Code = "checksum_mismatch" // uploaded bytes do not hash to their name
	CodeOffsetMismatch   Code = "offset_mismatch"   // resumable upload offset differs from the server's
	CodeGone             Code = "gone"              // the object was deleted on the server
	CodeTimeout          Code = "timeout"           // the request took longer than the server allows
	CodeUndecodable      Code = "undecodable"       // a stored photo's image data cannot be decoded (no thumbnail)
	CodeSealed           Code = "sealed"            // the on-site record is signed; a change must be an amendment
)

// Error is the one error type that crosses the wire. Handlers return it,
// the HTTP layer maps its code to a status in HTTPStatus, and the device
// library decodes it back from the response body.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Error implements the error interface with a message a person can act on.
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return e.Message
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil, so callers never have to guess.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorBody is the JSON body of every non-2xx API response.
type ErrorBody struct {
	Error Error `json:"error"`
}

// HTTPStatus maps a code to its HTTP status. It is the only place that
// mapping lives.
func HTTPStatus(c Code) int {
	switch c {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict, CodeOffsetMismatch, CodeSealed:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case CodeChecksumMismatch, CodeUndecodable:
		return http.StatusUnprocessableEntity
	case CodeGone:
		return http.StatusGone
	case CodeTimeout:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// CodeForStatus is the inverse of HTTPStatus for responses that carry no
// decodable body (a proxy's 502, a cut connection's partial reply).
func CodeForStatus(status int) Code {
	switch {
	case status == http.StatusBadRequest:
		return CodeInvalid
	case status == http.StatusUnauthorized:
		return CodeUnauthorized
	case status == http.StatusForbidden:
		return CodeForbidden
	case status == http.StatusNotFound:
		return CodeNotFound
	case status == http.StatusConflict:
		return CodeConflict
	case status == http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case status == http.StatusTooManyRequests:
		return CodeRateLimited
	case status == http.StatusUnsupportedMediaType:
		return CodeUnsupportedMedia
	case status == http.StatusUnprocessableEntity:
		return CodeChecksumMismatch
	case status == http.StatusGone:
		return CodeGone
	case status >= 500:
		return CodeUnavailable
	default:
		return CodeInvalid
	}
}

// ResponseError turns the body of a non-2xx answer into the *Error it
// carries, or, when the body is not ours (a proxy's page, a cut reply),
// one derived from the status with the start of the text.
func ResponseError(status int, body []byte) *Error {
	var eb ErrorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error.Code != "" {
		e := eb.Error
		return &e
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	msg := fmt.Sprintf("server answered %d %s", status, http.StatusText(status))
	if text != "" {
		msg += ": " + text
	}
	return &Error{Code: CodeForStatus(status), Message: msg}
}

// Retryable reports whether a request that failed with this code may succeed
// unchanged later (the device keeps its work and tries again with backoff).
func Retryable(c Code) bool {
	switch c {
	case CodeRateLimited, CodeUnavailable, CodeTimeout, CodeInternal:
		return true
	}
	return false
}
