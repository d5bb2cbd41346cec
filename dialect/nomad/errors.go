package nomad

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"folio/engine"
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

// engineError turns an error of the engine into NOMAD's shape, naming the
// request parameter in NOMAD's terms.
func (h *Handler) engineError(err error, req *request) error {
	e, ok := engine.AsError(err)
	if !ok {
		return err
	}
	switch e.Code {
	case engine.CodeInvalidCursor:
		return badRequest(e.Message)
	case engine.CodeUnavailable:
		return err
	case engine.CodeNotFound:
		return &apiError{status: http.StatusNotFound, detail: e.Message}
	}
	switch e.Parameter {
	case "limit":
		return badRequest(e.Message)
	case "cursor":
		return badRequest(e.Message)
	case "offset":
		return invalid(req.paramLoc("pagination", paramPageOffset), typeAssertion, e.Message)
	case "sort":
		return invalid([]any{"pagination", "order_by"}, typeValue, e.Message)
	case "fields":
		return invalid([]any{"required"}, typeValue, e.Message)
	}
	name := e.Parameter
	if fd := h.s.byColumn[name]; fd != nil {
		name = fd.name
	}
	return invalid([]any{"query", name}, typeValue, e.Message)
}

// writeError answers with err in NOMAD's shape. Errors that are neither an
// apiError nor an engine error are folio's fault: logged, answered 500.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		e, ok := engine.AsError(err)
		switch {
		case ok && e.Code == engine.CodeUnavailable:
			h.log.WarnContext(r.Context(), "source unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "1")
			ae = &apiError{status: http.StatusServiceUnavailable, detail: e.Message}
		case ok:
			ae = &apiError{status: e.Status(), detail: e.Message}
		case r.Context().Err() != nil || errors.Is(err, context.Canceled):
			// The client went away: nobody reads this.
			ae = &apiError{status: http.StatusServiceUnavailable, detail: "the request was cancelled"}
		default:
			h.log.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err)
			ae = &apiError{status: http.StatusInternalServerError, detail: "Unexpected exception while handling your request"}
		}
	}
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
				b = wire.AppendString(b, x)
			}
		}
		b = append(b, `],"msg":`...)
		b = wire.AppendString(b, ae.msg)
		b = append(b, `,"type":`...)
		b = wire.AppendString(b, ae.typ)
		b = append(b, "}]"...)
	} else {
		b = wire.AppendString(b, ae.detail)
	}
	b = append(b, "}\n"...)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(ae.status)
	w.Write(b)
}
