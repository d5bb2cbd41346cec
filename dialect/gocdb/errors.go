package gocdb

import (
	"net/http"
	"strconv"
	"strings"

	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// shape is GOCDB's error shape, <error>message</error>, the message GOCDB
// itself gives where it has one. GOCDB sends these with status 200; folio
// sends the status the error calls for (400 for a bad request; see
// docs/DIALECTS.md).
type shape struct{}

// ErrorBody renders err (httperr.Shape).
func (shape) ErrorBody(_ *http.Request, _ int, err error) (string, []byte) {
	msg := err.Error()
	if e, ok := engine.AsError(err); ok {
		msg = e.Detail()
	}
	b := make([]byte, 0, 64+len(msg))
	b = append(b, "<error>"...)
	b = appendErrorText(b, msg)
	return ContentType, append(b, "</error>"...)
}

// Errors returns the writer that answers the mount's failures, for the
// server's body limit and panic recovery.
func (h *Handler) Errors() *httperr.Writer { return &h.errs }

// name names the parameter at fault in an engine error: the cursor the
// request carried.
func (r *request) name(err error) error {
	p := paramNext
	if r.before {
		p = paramPrev
	}
	return engine.Names{Params: map[engine.Param]string{engine.ParamCursor: p}}.Name(err)
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
