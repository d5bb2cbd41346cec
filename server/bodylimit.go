package server

import (
	"fmt"
	"net/http"

	"folio/engine"
	"folio/httperr"
)

// limitBody caps how much of a request body a handler can read, and
// answers a body declared larger than that with 413 in the mount's error
// shape.
func limitBody(n int64, errs *httperr.Writer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				errs.Error(w, r, &engine.Error{Code: engine.CodeTooLarge, Message: fmt.Sprintf("the request body is too large: at most %d bytes are read", n)})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}
