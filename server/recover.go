package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"folio/httperr"
)

// recoverPanics is a safety net: no request should panic, but if one does
// the log gets the stack, the client a 500 in the mount's error shape (or,
// when the response has begun, a dropped connection, never a clean end),
// and the server keeps serving.
func recoverPanics(log *slog.Logger, errs *httperr.Writer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b := &begun{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v) // net/http's own signal to drop the connection
				}
				log.ErrorContext(r.Context(), "panic", "panic", v, "path", r.URL.Path,
					"request_id", RequestID(r.Context()), "stack", string(debug.Stack()))
				err := fmt.Errorf("panic: %v", v)
				if b.started {
					errs.Abort(r, err)
				}
				errs.Error(w, r, err)
			}()
			next.ServeHTTP(b, r)
		})
	}
}

// begun notes whether a response has started, so that a panic after the
// status line is sent cuts the response instead of writing a second one.
type begun struct {
	http.ResponseWriter
	started bool
}

func (b *begun) WriteHeader(code int) {
	if code >= 200 {
		b.started = true
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *begun) Write(p []byte) (int, error) {
	b.started = true
	return b.ResponseWriter.Write(p)
}

// Flush passes through so that streaming responses keep streaming.
func (b *begun) Flush() {
	b.started = true
	http.NewResponseController(b.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (b *begun) Unwrap() http.ResponseWriter { return b.ResponseWriter }
