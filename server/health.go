package server

import (
	"context"
	"net/http"
	"time"

	"folio/engine"
)

// ready answers /readyz and /healthz: 200 "ok" when the database answers,
// else 503, so that a load balancer takes a node whose database is gone
// (deleted, unreadable, replaced by a file it cannot serve, or a server
// that is down) out of rotation, and puts it back once it answers again.
func ready(src engine.Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		plain(w)
		if _, err := src.Version(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("unavailable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}

// live answers /livez: 200 "ok" while the process serves HTTP, whatever
// the database. A supervisor restarts a process whose liveness check
// fails; restarting folio does not bring a database back, so liveness
// must not depend on it (readiness does).
func live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain(w)
		w.Write([]byte("ok\n"))
	})
}

// plain sets the headers of a health answer: text, never cached.
func plain(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
}
