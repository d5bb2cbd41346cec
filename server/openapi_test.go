package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"folio/internal/openapitest"
)

// describedOnly wraps a server's handler so that every response it writes
// in full is validated against the OpenAPI document the same handler
// publishes: the end-to-end tests' requests, errors included, are then
// each a check of the document.
func describedOnly(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", rec.Code, rec.Body)
	}
	v := openapitest.New(t, rec.Body.Bytes())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(tw, r) // a cut stream panics past here, and is not checked
		if tw.failed {
			return // the client went away: the body is not whole
		}
		resp := &http.Response{StatusCode: tw.status, Header: w.Header().Clone(), Request: r}
		for _, e := range v.Errors(r, resp, tw.body.Bytes()) {
			t.Errorf("%s %s → %d: %s", r.Method, r.URL.RequestURI(), tw.status, e)
		}
	})
}

// teeWriter keeps a copy of what a handler writes.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	failed bool
}

func (w *teeWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	n, err := w.ResponseWriter.Write(b)
	if err != nil {
		w.failed = true
	}
	return n, err
}

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
