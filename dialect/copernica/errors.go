package copernica

import (
	"net/http"
	"strconv"

	"folio/engine"
)

// Error codes of the dialect's own, beside the engine's.
const (
	codeMethod   engine.Code = "method_not_allowed"
	codeInternal engine.Code = "internal_error"
)

// engineParams maps the engine's parameter names onto Copernica's.
var engineParams = map[string]string{
	"offset": paramStart,
	"limit":  paramLimit,
	"sort":   paramOrderBy,
	"fields": paramFields,
}

// writeError answers in Copernica's error shape, {"error":{"message":"…"}},
// with the parameter at fault leading the message. Copernica answers
// (almost) every error with 400, "No database with supplied ID" and
// "Invalid method" included; folio does the same, except 405 for a method
// other than GET, 503 (with Retry-After) when the database is unavailable
// and 500 for its own faults. status 0 takes the status from the error.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, status int) {
	e, ok := engine.AsError(err)
	switch {
	case ok:
		if e.Code == engine.CodeUnavailable {
			h.log.WarnContext(r.Context(), "source unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "1")
		}
	case r.Context().Err() != nil:
		// The client went away (or the server is stopping): nobody reads this.
		e = &engine.Error{Code: engine.CodeUnavailable, Message: "the request was cancelled"}
	default:
		h.log.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err)
		e = &engine.Error{Code: codeInternal, Message: "internal error"}
		status = http.StatusInternalServerError
	}
	if status == 0 {
		switch e.Code {
		case engine.CodeUnavailable:
			status = http.StatusServiceUnavailable
		case engine.CodeInvalid, engine.CodeInvalidCursor, engine.CodeNotFound:
			status = http.StatusBadRequest
		default:
			status = http.StatusInternalServerError
		}
	}
	msg := e.Message
	if p := e.Parameter; p != "" {
		if name, ok := engineParams[p]; ok {
			p = name
		} else if h.c.Field(p) != nil {
			// The engine names a filter by its field.
			p = paramFields
		}
		msg = p + ": " + msg
	}
	b := append([]byte(nil), `{"error":{"message":`...)
	b = appendString(b, msg)
	b = append(b, "}}\n"...)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
