package gocdb

import (
	"net/http"
	"strconv"
	"strings"

	"folio/engine"
	"folio/wire"
)

// writeError answers with GOCDB's error shape, <error>message</error>, the
// message GOCDB itself gives where it has one. GOCDB sends these with
// status 200; folio sends the status the error calls for (400 for a bad
// request; DIALECTS.md). status 0 takes it from the engine error. Errors
// that are not *engine.Error are logged and answered 500 without detail.
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
		e = &engine.Error{Message: "internal error"}
		status = http.StatusInternalServerError
	}
	if status == 0 {
		status = e.Status()
	}
	b := make([]byte, 0, 64+len(e.Message))
	b = append(b, "<error>"...)
	b = appendErrorText(b, e.Message)
	b = append(b, "</error>"...)
	writeBody(w, status, b)
}

// writeBody sends a complete XML body.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", ContentType)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// appendErrorText escapes an error message as character data but leaves
// quotes as they are, as GOCDB prints them: clients that match its
// messages as text find the same bytes.
func appendErrorText(b []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, `"'`)
		if i < 0 {
			return wire.AppendXML(b, s)
		}
		b = wire.AppendXML(b, s[:i])
		b = append(b, s[i])
		s = s[i+1:]
	}
}
