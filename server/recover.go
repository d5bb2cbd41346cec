package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// recoverPanics is a safety net: no request should panic, but if one does
// the client gets a 500 in JSON and the log gets the stack, and the server
// keeps serving.
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
				if rec, ok := w.(*recorder); ok && rec.status != 0 {
					// The response has begun; the client sees a truncated body.
					panic(http.ErrAbortHandler)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"error":{"status":500,"code":"internal_error","message":"internal error"}}` + "\n"))
			}()
			next.ServeHTTP(w, r)
		})
	}
}
