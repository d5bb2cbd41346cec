package copernica

import (
	"net/http"

	"folio/engine"
	"folio/httperr"
)

// names names the engine's parameters on Copernica's wire; a filter is
// always one of the fields[] conditions.
var names = engine.Names{
	Params: map[engine.Param]string{
		engine.ParamOffset: paramStart,
		engine.ParamLimit:  paramLimit,
		engine.ParamSort:   paramOrderBy,
		engine.ParamFields: paramFields,
		engine.ParamTotal:  paramTotal,
	},
	Filter: func(string) string { return paramFields },
}

// statuses: Copernica answers (almost) every error with 400, "No database
// with supplied ID" and "Invalid method" included; folio does the same,
// except 405 for a method other than GET, 413 for a body it will not
// read, 503 (with Retry-After) when the database is unavailable and 500
// for its own faults.
var statuses = map[engine.Code]int{engine.CodeNotFound: http.StatusBadRequest}

// shape is Copernica's error shape, {"error":{"message":"…"}}, with the
// parameter at fault leading the message.
type shape struct{}

// ErrorBody renders err (httperr.Shape).
func (shape) ErrorBody(_ *http.Request, _ int, err error) (string, []byte) {
	msg := err.Error()
	if e, ok := engine.AsError(err); ok {
		msg = e.Detail()
		if e.Parameter != "" {
			msg = e.Parameter + ": " + msg
		}
	}
	b := append([]byte(nil), `{"error":{"message":`...)
	b = appendString(b, msg)
	return "application/json", append(b, "}}\n"...)
}

// Errors returns the writer that answers the mount's failures, for the
// server's body limit and panic recovery.
func (h *Handler) Errors() *httperr.Writer { return &h.errs }
