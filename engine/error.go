package engine

import (
	"errors"
	"fmt"
)

// Code classifies an Error so that each dialect can map it to its own
// status code and wire shape without parsing messages.
type Code string

const (
	// CodeInvalid: a request parameter has a bad value (HTTP 400).
	CodeInvalid Code = "invalid_parameter"
	// CodeInvalidCursor: a cursor is malformed, tampered with, foreign or
	// bound to another query (HTTP 400).
	CodeInvalidCursor Code = "invalid_cursor"
	// CodeNotFound: the collection or record does not exist (HTTP 404).
	CodeNotFound Code = "not_found"
	// CodeUnavailable: the source cannot answer now; the client may retry (HTTP 503).
	CodeUnavailable Code = "unavailable"
)

// Error is the one error type that crosses from the engine to the dialects.
// Parameter names the request parameter that caused it, when one did.
type Error struct {
	Code      Code
	Parameter string
	Message   string
	Err       error // underlying cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Parameter != "" {
		return fmt.Sprintf("%s: %s", e.Parameter, e.Message)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status that the native API uses for the error.
func (e *Error) Status() int {
	switch e.Code {
	case CodeInvalid, CodeInvalidCursor:
		return 400
	case CodeNotFound:
		return 404
	case CodeUnavailable:
		return 503
	}
	return 500
}

// Invalidf reports a bad value for the named parameter.
func Invalidf(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Parameter: param, Message: fmt.Sprintf(format, args...)}
}

// InvalidCursorf reports a cursor that cannot be used.
func InvalidCursorf(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidCursor, Parameter: param, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf reports a missing collection or record.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps a source failure that a client may retry.
func Unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "the database is unavailable, retry later", Err: err}
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// WithParameter returns a copy of err naming param, for errors raised
// below the layer that knows the parameter's wire name.
func WithParameter(err error, param string) error {
	if e, ok := AsError(err); ok {
		c := *e
		c.Parameter = param
		return &c
	}
	return err
}
