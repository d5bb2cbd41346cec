package server

import (
	"context"
	"net/http"
	"time"

	"folio/engine"
)

// health answers /healthz: 200 "ok" when the source answers, else 503, so
// that a load balancer takes a node whose database is gone out of rotation.
func health(src engine.Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if _, err := src.Version(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("unavailable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}
