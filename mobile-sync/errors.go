package mobilesync

import (
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
)

// ErrNotEnrolled is returned by operations that need a server identity
// (sync, recording work for a squad) on a device that never enrolled, so
// that a caller can tell the person to run enroll first.
var ErrNotEnrolled = errors.New("this device is not enrolled; run `patrol enroll --server URL --code CODE` first")

// ErrEnrollAgain is wrapped into the error of a sync the server refused
// with 401 (token revoked or expired): the only way forward is a new
// enrolment, and the device's unsent work is kept for it.
var ErrEnrollAgain = errors.New("the server no longer accepts this device's token (revoked or expired); enrol again with `patrol enroll` — your work is kept")

// ErrUnreachable is matched (errors.Is) by every UnreachableError, so that
// callers can tell "offline, try later" from a refusal without inspecting
// network error types.
var ErrUnreachable = errors.New("server unreachable")

// UnreachableError reports that the server could not be reached after all
// retries. Nothing local is lost: the outbox and cursor are unchanged.
type UnreachableError struct {
	URL string // the server URL that was tried
	Err error  // the last network error
}

// Error says what failed and that the work is safe, in words a person in
// the field can act on.
func (e *UnreachableError) Error() string {
	return "cannot reach " + e.URL + ": " + netReason(e.Err) + " — your work is kept; run sync again when online"
}

// Unwrap exposes the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// netReason reduces a transport error to its root cause ("connection
// refused", "i/o timeout") instead of Go's nested operation chain.
func netReason(err error) string {
	if err == nil {
		return "unknown error"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) && se.Err != nil {
		err = se.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return "cannot resolve " + de.Name
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return strings.TrimSpace(err.Error())
}
