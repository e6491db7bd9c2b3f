// Package engram is the domain of the engram team knowledge base: its types,
// their rules, the error type and the interfaces the adapters implement.
// It imports nothing but the standard library.
package engram

import (
	"errors"
	"fmt"
)

// Error codes. They are small on purpose; the HTTP layer maps each to one
// status in a single table.
const (
	EInvalid      = "invalid_argument"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	ENotFound     = "not_found"
	EConflict     = "conflict"
	ETooLarge     = "too_large"
	EUnavailable  = "unavailable"
	// ERateLimited: too many attempts; Details["retry_after"] holds the
	// seconds to wait.
	ERateLimited = "rate_limited"
	EInternal    = "internal"
)

// Error is engram's error type. Message is written for the user and is safe
// to show to a client; anything that is not an *Error is internal and is
// never shown.
type Error struct {
	Code    string
	Message string
	// Details carries structured data for some conflicts (for example the
	// id of a running job). It is shown to the client.
	Details map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EInternal when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err, or a generic text
// when err is internal.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// LogText describes err for a log line without any value it may carry. An
// *Error is its code and message (written for the user, who may see it
// anyway); a database's error is reduced to its SQLSTATE or result code,
// since the server's message can quote a parameter (a document's title,
// another tenant's id); anything else to the text of its innermost error
// (a closed pool, a refused connection), dropping the wrapping our own
// code may have formatted with values. Logs reach people and systems the
// tenants never agreed to.
func LogText(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		return "internal: sqlstate " + state.SQLState()
	}
	var code interface{ Code() int }
	if errors.As(err, &code) {
		return fmt.Sprintf("internal: result code %d", code.Code())
	}
	for x := err; x != nil; x = errors.Unwrap(x) {
		if errors.Unwrap(x) == nil {
			if _, joined := x.(interface{ Unwrap() []error }); joined {
				break
			}
			return "internal: " + x.Error()
		}
	}
	return "internal"
}
