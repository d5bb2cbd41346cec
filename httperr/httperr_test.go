package httperr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"folio/engine"
	"folio/wire"
)

// textShape renders "status|code|parameter|detail", enough to see what
// the Writer handed the shape.
type textShape struct{}

func (textShape) ErrorBody(_ *http.Request, status int, err error) (string, []byte) {
	if e, ok := engine.AsError(err); ok {
		return "text/plain", fmt.Appendf(nil, "%d|%s|%s|%s", status, e.Code, e.Parameter, e.Detail())
	}
	return "text/plain", fmt.Appendf(nil, "%d|answer|%s", status, err)
}

type teapot struct{}

func (teapot) Error() string   { return "short and stout" }
func (teapot) HTTPStatus() int { return http.StatusTeapot }

func TestWriterError(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		name      string
		err       error
		statuses  map[engine.Code]int
		cancel    bool
		status    int
		body      string
		retry     bool
		logged    string // a log line holds it
		notLogged string
	}{
		{name: "invalid", err: &engine.Error{Code: engine.CodeInvalid, Parameter: "limit", Message: "must be between 1 and 10, got 11"},
			status: 400, body: "400|invalid_parameter|limit|must be between 1 and 10, got 11"},
		{name: "hint", err: &engine.Error{Code: engine.CodeInvalid, Parameter: "offset", Message: "too deep", Hint: "use cursors"},
			status: 400, body: "400|invalid_parameter|offset|too deep; use cursors"},
		{name: "cursor", err: &engine.Error{Code: engine.CodeInvalidCursor, Message: "altered"}, status: 400, body: "400|invalid_cursor||altered"},
		{name: "not found", err: engine.NotFoundf("no such record"), status: 404, body: "404|not_found||no such record"},
		{name: "not found as 400", err: engine.NotFoundf("no such database"), statuses: map[engine.Code]int{engine.CodeNotFound: 400},
			status: 400, body: "400|not_found||no such database"},
		{name: "method", err: &engine.Error{Code: engine.CodeMethodNotAllowed, Message: "read-only"}, status: 405, body: "405|method_not_allowed||read-only"},
		{name: "too large", err: &engine.Error{Code: engine.CodeTooLarge, Message: "too large"}, status: 413, body: "413|body_too_large||too large"},
		{name: "unavailable", err: fmt.Errorf("page: %w", engine.Unavailable(cause)), status: 503, retry: true,
			body: "503|unavailable||the database is unavailable, retry later", logged: "connection refused"},
		{name: "answer", err: fmt.Errorf("parse: %w", teapot{}), status: 418, body: "418|answer|short and stout"},
		{name: "internal", err: errors.New("nil map write in render"), status: 500, body: "500|internal_error||internal error",
			logged: "nil map write in render"},
		{name: "cancelled", err: fmt.Errorf("query cancelled: %w", context.Canceled), cancel: true, status: StatusClientClosed,
			notLogged: "query cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			x := &Writer{Shape: textShape{}, Log: slog.New(slog.NewTextHandler(&logs, nil)), Statuses: tt.statuses}
			r := httptest.NewRequest("GET", "/x", nil)
			if tt.cancel {
				ctx, cancel := context.WithCancel(r.Context())
				cancel()
				r = r.WithContext(ctx)
			}
			w := httptest.NewRecorder()
			w.Header().Set("Content-Disposition", "attachment")
			w.Header().Set("Content-Encoding", "gzip")
			x.Error(w, r, tt.err)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
			if got := w.Header().Get("Retry-After") != ""; got != tt.retry {
				t.Errorf("Retry-After set: %v, want %v", got, tt.retry)
			}
			if w.Header().Get("Content-Length") != fmt.Sprint(w.Body.Len()) || w.Header().Get("Content-Type") != "text/plain" {
				t.Errorf("headers %v", w.Header())
			}
			if w.Header().Get("Content-Disposition") != "" || w.Header().Get("Content-Encoding") != "" {
				t.Errorf("an error kept the headers of the answer it replaced: %v", w.Header())
			}
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log %q lacks %q", logs.String(), tt.logged)
			}
			if tt.notLogged != "" && strings.Contains(logs.String(), tt.notLogged) {
				t.Errorf("log %q holds %q", logs.String(), tt.notLogged)
			}
			if strings.Contains(w.Body.String(), "connection refused") {
				t.Error("the cause of a 503 reached the client")
			}
		})
	}
}

// TestWriterStream: before the first byte a stream's failure is an
// ordinary error answer; after it, the handler is aborted.
func TestWriterStream(t *testing.T) {
	x := &Writer{Shape: textShape{}, Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	fail := engine.Unavailable(errors.New("disk I/O error"))

	w := httptest.NewRecorder()
	s := wire.NewStream(w, "application/x-ndjson")
	s.Buf = append(s.Buf, "{}\n"...) // buffered, not yet written
	x.Stream(w, httptest.NewRequest("GET", "/x", nil), s, fail)
	if w.Code != 503 || !strings.HasPrefix(w.Body.String(), "503|") {
		t.Errorf("unsent stream: %d %q, want the error answer", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	x.Stream(w, httptest.NewRequest("GET", "/x", nil), nil, fail)
	if w.Code != 503 {
		t.Errorf("no stream: %d, want 503", w.Code)
	}

	w = httptest.NewRecorder()
	s = wire.NewStream(w, "application/x-ndjson")
	s.Buf = append(s.Buf, "{}\n"...)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("a begun stream's failure: recovered %v, want http.ErrAbortHandler", v)
		}
		if strings.Contains(w.Body.String(), "503") {
			t.Errorf("an error was appended to the begun stream: %q", w.Body)
		}
	}()
	x.Stream(w, httptest.NewRequest("GET", "/x", nil), s, fail)
	t.Error("Stream returned after the response had begun")
}

func TestStatusTable(t *testing.T) {
	for code, want := range map[engine.Code]int{
		engine.CodeInvalid: 400, engine.CodeInvalidCursor: 400, engine.CodeNotFound: 404,
		engine.CodeMethodNotAllowed: 405, engine.CodeTooLarge: 413, engine.CodeUnavailable: 503,
		engine.CodeInternal: 500, "something_new": 500,
	} {
		if got := Status(code); got != want {
			t.Errorf("Status(%s) = %d, want %d", code, got, want)
		}
	}
}

func TestUnrouted(t *testing.T) {
	x := &Writer{Shape: textShape{}}
	for _, tt := range []struct {
		method string
		status int
		allow  string
	}{
		{"GET", 404, ""}, {"HEAD", 404, ""}, {"POST", 405, "GET, HEAD"}, {"DELETE", 405, "GET, HEAD"},
	} {
		w := httptest.NewRecorder()
		x.Unrouted(w, httptest.NewRequest(tt.method, "/x", nil), tt.method+" is not supported", engine.NotFoundf("nothing here"))
		if w.Code != tt.status || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s: %d, Allow %q; want %d, %q", tt.method, w.Code, w.Header().Get("Allow"), tt.status, tt.allow)
		}
	}
}
