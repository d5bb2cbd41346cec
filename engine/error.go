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
	// CodeMethodNotAllowed: the API is read-only (HTTP 405).
	CodeMethodNotAllowed Code = "method_not_allowed"
	// CodeTooLarge: the request body is larger than the server reads (HTTP 413).
	CodeTooLarge Code = "body_too_large"
	// CodeUnavailable: the source cannot answer now; the client may retry (HTTP 503).
	CodeUnavailable Code = "unavailable"
	// CodeBusy: the server runs as many costly queries as it runs at once,
	// and this one waited its time limit for a turn; the client may retry
	// (HTTP 503).
	CodeBusy Code = "busy"
	// CodeTimeout: the query ran longer than the server's time limit and
	// was cancelled; the same request would meet it again (HTTP 504).
	CodeTimeout Code = "query_timeout"
	// CodeUnauthorized: the request's credentials are not valid (a token
	// unknown, expired, revoked or badly signed); without them it would be
	// answered as the anonymous principal's (HTTP 401).
	CodeUnauthorized Code = "unauthorized"
	// CodeRateLimited: the client sent more requests than its rate allows;
	// it may retry after the time it is told (HTTP 429).
	CodeRateLimited Code = "rate_limited"
	// CodeInternal: a fault of folio's own, or a statement the database
	// cannot run on the data it holds; never the client's, and no retry
	// helps (HTTP 500).
	CodeInternal Code = "internal_error"
)

// Param is a request parameter as the engine knows it. The engine names
// the parameter at fault with one of these; each dialect says what the
// parameter is called on its wire (a Names table), so the engine never
// speaks any dialect's words.
type Param uint8

const (
	ParamNone   Param = iota // no parameter, or one the dialect named itself
	ParamLimit               // the page size
	ParamOffset              // the offset of offset paging
	ParamCursor              // a position: a signed cursor or a transparent boundary
	ParamSort                // the sort
	ParamFields              // the projection
	ParamTotal               // the total mode
	ParamFilter              // a filter; Error.Field names its field, or its combinator
)

var paramNames = [...]string{"", "limit", "offset", "cursor", "sort", "fields", "total", "filter"}

func (p Param) String() string {
	if int(p) < len(paramNames) {
		return paramNames[p]
	}
	return fmt.Sprintf("param(%d)", int(p))
}

// ErrOffsetTooDeep is the cause (Error.Err) of the error for an offset
// beyond the collection's MaxOffset, so that each dialect can add the way
// out its clients have.
var ErrOffsetTooDeep = errors.New("offset beyond the deepest offset served")

// Error is the one error type that crosses from the engine to the dialects.
// The engine fills Param (and Field, for a filter) and states facts in
// Message; a dialect sets Parameter, the parameter's name on its wire, and
// may add a Hint saying what its client can do.
type Error struct {
	Code  Code
	Param Param
	// Field is the field of the filter at fault (ParamFilter), or the
	// combinator ("or", "not") of a group of filters.
	Field string
	// Parameter is the name of the parameter at fault on the dialect's
	// wire; empty until a dialect names it.
	Parameter string
	Message   string
	Hint      string // what the client can do about it, added by a dialect
	Err       error  // underlying cause, never shown to clients
}

func (e *Error) Error() string {
	msg := e.Detail()
	switch {
	case e.Parameter != "":
		return e.Parameter + ": " + msg
	case e.Param == ParamFilter && e.Field != "":
		return e.Field + ": " + msg
	case e.Param != ParamNone:
		return e.Param.String() + ": " + msg
	}
	return msg
}

// Detail is the message with the hint, if any, as clients read it.
func (e *Error) Detail() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + "; " + e.Hint
}

func (e *Error) Unwrap() error { return e.Err }

// Invalidf reports a bad value for the named parameter of a dialect's
// wire (dialects use it for the parameters they parse themselves).
func Invalidf(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Parameter: param, Message: fmt.Sprintf(format, args...)}
}

// InvalidCursorf reports a cursor, named on a dialect's wire, that cannot be used.
func InvalidCursorf(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidCursor, Parameter: param, Message: fmt.Sprintf(format, args...)}
}

// invalid reports a bad value of an engine parameter.
func invalid(p Param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Param: p, Message: fmt.Sprintf(format, args...)}
}

// invalidFilter reports a bad filter on field (or a bad combinator).
func invalidFilter(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Param: ParamFilter, Field: field, Message: fmt.Sprintf(format, args...)}
}

// invalidCursor reports a position that cannot be used.
func invalidCursor(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidCursor, Param: ParamCursor, Message: fmt.Sprintf(format, args...)}
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

// Names is one dialect's names for the engine's parameters.
type Names struct {
	// Params names each parameter; a parameter without a name here keeps
	// an empty Parameter.
	Params map[Param]string
	// Filter names the parameter that carried a filter on field (or the
	// combinator "or" or "not"); nil names it by the field itself.
	Filter func(field string) string
}

// Name returns err with the parameter at fault named on the dialect's
// wire. An error that already has a Parameter, or is not an *Error, is
// returned as it is; err itself is never modified.
func (n Names) Name(err error) error {
	e, ok := AsError(err)
	if !ok || e.Parameter != "" || e.Param == ParamNone {
		return err
	}
	c := *e
	if e.Param == ParamFilter {
		c.Parameter = e.Field
		if n.Filter != nil {
			c.Parameter = n.Filter(e.Field)
		}
	} else {
		c.Parameter = n.Params[e.Param]
	}
	return &c
}
