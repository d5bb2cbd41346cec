package server

import (
	"net/http"

	"github.com/rs/cors"
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer.
const corsMaxAge = 600

// allowCORS answers preflight requests (OPTIONS with
// Access-Control-Request-Method) with 204 and, for an allowed origin, the
// Access-Control-Allow-* headers; on every other request it adds
// Access-Control-Allow-Origin and -Expose-Headers for an allowed origin,
// and Vary: Origin always, so that a shared cache keeps answers to
// different origins apart. origins lists the allowed origins ("*" for any;
// one '*' wildcard per origin, as in https://*.example.org); empty means no
// cross-origin reads: no CORS headers at all; nil, any origin ("*": no
// credentials are ever allowed, so a script reads nothing a plain request
// could not fetch).
func allowCORS(origins []string) func(http.Handler) http.Handler {
	if origins == nil {
		origins = []string{"*"}
	}
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		// folio is read-only; POST carries NOMAD's queries, and any other
		// method is answered 405 by the mount.
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		// Beyond the safelisted request headers: JSON bodies (NOMAD's
		// POST queries), conditional requests, and a request id to follow
		// through the logs.
		AllowedHeaders: []string{"Accept", "Content-Type", "If-None-Match", "If-Modified-Since", "X-Request-Id"},
		// Beyond the safelisted response headers (Content-Type,
		// Content-Length, Cache-Control, Last-Modified, ...), those folio
		// sends for a client to read: the native API's Link header, the
		// ETag to revalidate with, the request id to quote, Retry-After on a 503, an export's file name
		// and a 405's methods. No dialect sends a total header; totals
		// are in the bodies. TestCORSExposesEveryHeader finds a header
		// folio starts sending that is missing here.
		ExposedHeaders: []string{"Link", "ETag", "X-Request-Id", "Retry-After", "Content-Disposition", "Allow",
			"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"},
		MaxAge: corsMaxAge,
	})
	return c.Handler
}
