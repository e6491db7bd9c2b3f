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
	EInternal     = "internal"
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
