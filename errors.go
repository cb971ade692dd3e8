package newsletter

import (
	"errors"
	"fmt"
)

// Error codes. They map to HTTP statuses and exit codes only at the edges.
const (
	EINVALID      = "invalid"      // bad input: the message says what to fix
	ENOTFOUND     = "not_found"    // the thing does not exist
	ECONFLICT     = "conflict"     // the thing exists or is in the wrong state
	EUNAUTHORIZED = "unauthorized" // missing or bad credentials or token
	EFORBIDDEN    = "forbidden"    // authenticated, but the role does not reach
	EUNAVAILABLE  = "unavailable"  // a dependency (Redis, SES) cannot be reached
	EINTERNAL     = "internal"     // a bug
)

// Error is an application error with a code and a message meant for a person:
// it names the problem and, where one exists, the fix. Err, when set, is the
// underlying cause (errors.Is and errors.As see it); Message already says
// what matters about it.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code. The message is formatted as
// by fmt.Errorf: a %w verb puts its operand in the message and keeps it as
// the cause.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: err.Error()}
	switch w := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = w.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = err // several %w: keep them all reachable
	}
	return e
}

// ErrNotFound is returned by stores when a lookup finds nothing.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// other errors and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// PermanentError marks a failure that retrying cannot fix (a rejected
// address, a malformed message). Workers record it and move on.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is or wraps a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ErrUnknownOutcome means a send may or may not have reached SES (e.g. the
// connection dropped after the request was written). Such a delivery is not
// resent automatically: one missed email is better than a duplicate.
var ErrUnknownOutcome = &Error{Code: EUNAVAILABLE, Message: "the outcome of the SES call is unknown"}
