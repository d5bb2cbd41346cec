package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

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
		if tw.status == http.StatusNotModified {
			return // no body: what it stands for was checked when it was sent
		}
		header, body := w.Header().Clone(), tw.body.Bytes()
		if coding := header.Get("Content-Encoding"); coding != "" {
			plain, err := decodeBody(coding, body)
			if err != nil {
				t.Errorf("%s %s: a %s body that does not decode: %v", r.Method, r.URL.RequestURI(), coding, err)
				return
			}
			header.Del("Content-Encoding")
			body = plain
		}
		resp := &http.Response{StatusCode: tw.status, Header: header, Request: r}
		for _, e := range v.Errors(r, resp, body) {
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

// decodeBody undoes a content coding folio sends (gzip, zstd).
func decodeBody(coding string, b []byte) ([]byte, error) {
	var rd io.Reader
	switch coding {
	case "gzip":
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		rd = z
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer z.Close()
		rd = z
	default:
		return nil, fmt.Errorf("unknown coding %q", coding)
	}
	return io.ReadAll(rd)
}
