package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush passes through so that streaming responses keep streaming.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if r.status == 0 {
			r.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessLog logs one structured line per request when it completes, a
// response cut off midway (httperr.Abort) included, marked aborted.
func accessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w}
			aborted := true
			defer func() {
				if rec.status == 0 {
					rec.status = http.StatusOK
				}
				level := slog.LevelInfo
				switch {
				case rec.status >= 500:
					level = slog.LevelError
				case aborted:
					level = slog.LevelWarn // often a client that went away
				}
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", rec.status),
					slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestID(r.Context())),
				}
				if r.URL.RawQuery != "" {
					attrs = append(attrs, slog.String("query", logQuery(r.URL.RawQuery)))
				}
				if aborted {
					attrs = append(attrs, slog.Bool("aborted", true))
				}
				log.LogAttrs(r.Context(), level, "request", attrs...)
			}()
			next.ServeHTTP(rec, r)
			aborted = false
		})
	}
}

// What logQuery keeps of a query string.
const (
	cursorPrefix   = 12   // characters of a cursor value kept
	maxLoggedQuery = 2048 // bytes of a query string kept
)

// credentials are query parameters that carry a credential: their values
// never reach the log. (Headers, Authorization among them, are not logged.)
var credentials = map[string]bool{"access_token": true, "api_key": true, "apikey": true, "token": true, "password": true, "secret": true}

// logQuery is a request's query string as the access log records it, in
// the client's order and encoding: a cursor's value (any parameter whose
// name says cursor, and NOMAD's page_after_value) cut to its first 12
// characters, since a signed cursor is long and tells a reader nothing
// more; a credential's value replaced; the whole bounded, so that 200
// filter values cannot make a log line of megabytes.
func logQuery(raw string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		k, v, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		name = strings.ToLower(name)
		switch {
		case !hasValue:
		case credentials[name]:
			v = "REDACTED"
		case strings.Contains(name, "cursor") || name == "page_after_value":
			if u, err := url.QueryUnescape(v); err == nil && len([]rune(u)) > cursorPrefix {
				v = url.QueryEscape(string([]rune(u)[:cursorPrefix])) + "…"
			}
		}
		b.WriteString(k)
		if hasValue {
			b.WriteByte('=')
			b.WriteString(v)
		}
		if b.Len() > maxLoggedQuery {
			return b.String()[:maxLoggedQuery] + "…"
		}
	}
	return b.String()
}
