package native

import (
	"net/http"
	"strconv"

	"folio/engine"
	"folio/wire"
)

// codeInternal labels failures that are folio's fault, never the client's.
const codeInternal engine.Code = "internal_error"

// writeError answers with the native error shape:
//
//	{"error":{"status":400,"code":"invalid_parameter","parameter":"limit","message":"…"}}
//
// status 0 takes the status from the engine error. Errors that are not
// *engine.Error are logged and answered 500 without detail.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, status int) {
	e, ok := engine.AsError(err)
	switch {
	case ok:
		if e.Code == engine.CodeUnavailable {
			// e.Err is the cause the client is not shown; the log needs it.
			h.log.WarnContext(r.Context(), "source unavailable", "path", r.URL.Path, "err", e.Err)
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
		status = e.Status()
	}
	b := append([]byte(nil), `{"error":{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"code":`...)
	b = wire.AppendString(b, string(e.Code))
	if e.Parameter != "" {
		b = append(b, `,"parameter":`...)
		b = wire.AppendString(b, e.Parameter)
	}
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, e.Message)
	b = append(b, "}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
