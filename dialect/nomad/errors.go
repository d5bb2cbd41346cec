package nomad

import (
	"errors"
	"net/http"
	"strconv"

	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// apiError is an answer in one of NOMAD's (FastAPI's) error shapes:
// a validation error, 422 {"detail":[{"loc":[…],"msg":"…","type":"…"}]},
// or any other status with {"detail":"…"}.
type apiError struct {
	status int
	detail string // the text of a non-validation error
	loc    []any  // where a validation error is: strings and indexes
	msg    string
	typ    string
}

func (e *apiError) Error() string {
	if e.status == http.StatusUnprocessableEntity {
		return e.msg
	}
	return e.detail
}

// Validation error types, as pydantic names them.
const (
	typeAssertion = "assertion_error"
	typeValue     = "value_error.exception"
	typeMissing   = "value_error.missing"
	typeJSON      = "value_error.jsondecode"
	typeInt       = "type_error.integer"
	typeStr       = "type_error.str"
	typeDict      = "type_error.dict"
	typeList      = "type_error.list"
	typeEnum      = "type_error.enum"
)

// invalid reports a validation error (422) at loc.
func invalid(loc []any, typ, msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, loc: loc, msg: msg, typ: typ}
}

// badRequest reports what NOMAD answers 400: an error Elasticsearch raised
// on a request that passed validation (a bad cursor, a page too large).
func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: msg}
}

// HTTPStatus makes an apiError an answer of its own (httperr.Answer).
func (e *apiError) HTTPStatus() int { return e.status }

// engineError turns an error of the engine into NOMAD's shape, naming the
// request parameter in NOMAD's terms: NOMAD's one table of the engine's
// parameters.
func (h *Handler) engineError(err error, req *request) error {
	e, ok := engine.AsError(err)
	if !ok {
		return err
	}
	e = httperr.Bound(e)
	msg := e.Detail()
	switch e.Code {
	case engine.CodeInvalidCursor:
		return badRequest(msg)
	case engine.CodeInvalid:
	default:
		return err
	}
	switch e.Param {
	case engine.ParamLimit, engine.ParamCursor:
		return badRequest(msg)
	case engine.ParamOffset:
		if errors.Is(e, engine.ErrOffsetTooDeep) {
			msg += "; use page_after_value to go deeper"
		}
		return invalid(req.paramLoc("pagination", paramPageOffset), typeAssertion, msg)
	case engine.ParamSort:
		return invalid([]any{"pagination", "order_by"}, typeValue, msg)
	case engine.ParamFields:
		return invalid([]any{"required"}, typeValue, msg)
	case engine.ParamFilter:
		name := e.Field
		if fd := h.s.byColumn[name]; fd != nil {
			name = fd.name
		}
		return invalid([]any{"query", name}, typeValue, msg)
	}
	return err
}

// shape is NOMAD's (FastAPI's) error shape: 422 {"detail":[{"loc":[…],
// "msg":"…","type":"…"}]} for a validation error, {"detail":"…"} for
// every other status.
type shape struct{}

// ErrorBody renders err (httperr.Shape).
func (shape) ErrorBody(_ *http.Request, status int, err error) (string, []byte) {
	ae, ok := err.(*apiError)
	if !ok {
		detail := err.Error()
		if e, ok := engine.AsError(err); ok {
			detail = e.Detail()
			if e.Code == engine.CodeInternal {
				detail = "Unexpected exception while handling your request"
			}
		}
		ae = &apiError{status: status, detail: detail}
	}
	// Messages bound what they repeat of the request themselves; the
	// bounds here are the last resort (a location is a client's parameter
	// name or query key).
	b := append([]byte(nil), `{"detail":`...)
	if ae.status == http.StatusUnprocessableEntity {
		b = append(b, `[{"loc":[`...)
		for i, l := range ae.loc {
			if i > 0 {
				b = append(b, ',')
			}
			switch x := l.(type) {
			case int:
				b = strconv.AppendInt(b, int64(x), 10)
			case string:
				b = wire.AppendString(b, httperr.Echo(x))
			}
		}
		b = append(b, `],"msg":`...)
		b = wire.AppendString(b, httperr.Bounded(ae.msg))
		b = append(b, `,"type":`...)
		b = wire.AppendString(b, ae.typ)
		b = append(b, "}]"...)
	} else {
		b = wire.AppendString(b, httperr.Bounded(ae.detail))
	}
	return "application/json", append(b, "}\n"...)
}

// Errors returns the writer that answers the mount's failures, for the
// server's body limit and panic recovery.
func (h *Handler) Errors() *httperr.Writer { return &h.errs }
