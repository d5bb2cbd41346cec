// Package httperr is the one path by which every dialect answers a failed
// request. It decides the status from the error's code, sets Retry-After
// for a database that cannot answer now, logs what is folio's fault and
// hides its detail, recognises a client that went away, and cuts a
// streamed response that fails midway so that it can never look complete.
// A dialect supplies only how its error body looks (a Shape); the server
// uses the same Writer for the body limit and panics of that dialect's
// mount, so every answer of a mount has the mount's shape.
package httperr

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"folio/engine"
	"folio/wire"
)

// Status is the HTTP status of each engine error code: the table every
// dialect starts from (Writer.Statuses changes single entries).
func Status(c engine.Code) int {
	switch c {
	case engine.CodeInvalid, engine.CodeInvalidCursor:
		return http.StatusBadRequest
	case engine.CodeNotFound:
		return http.StatusNotFound
	case engine.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case engine.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case engine.CodeUnavailable, engine.CodeBusy:
		return http.StatusServiceUnavailable
	case engine.CodeTimeout:
		return http.StatusGatewayTimeout
	case engine.CodeRateLimited:
		return http.StatusTooManyRequests
	case engine.CodeUnauthorized:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// StatusClientClosed is logged for a request whose client went away before
// the answer was written (nginx's 499): nobody reads the answer, and it is
// neither the database's fault (503) nor folio's (500).
const StatusClientClosed = 499

// Answer is a dialect's own client error, answered with its status as it
// is (NOMAD's 422 validation errors, JSON:API's 406 and 415).
type Answer interface {
	error
	HTTPStatus() int
}

// Shape renders one dialect's error bodies. err is an Answer of the
// dialect's own or an *engine.Error (for folio's own faults, one with
// CodeInternal and no detail).
type Shape interface {
	ErrorBody(r *http.Request, status int, err error) (contentType string, body []byte)
}

// Writer answers failed requests for one dialect.
type Writer struct {
	Shape Shape
	Log   *slog.Logger
	// Statuses overrides Status for some codes (Copernica answers a
	// missing database with 400, as the service does).
	Statuses map[engine.Code]int
}

// Error answers err before any of the response has been written.
func (x *Writer) Error(w http.ResponseWriter, r *http.Request, err error) {
	status, err := x.classify(w, r, err)
	ct, body := x.Shape.ErrorBody(r, status, err)
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	h.Del("Content-Disposition")
	w.WriteHeader(status)
	w.Write(body)
}

// Unrouted answers a request that no route of a read-only API took: 405
// with an Allow header and methodMsg for a method other than GET or HEAD,
// else notFound.
func (x *Writer) Unrouted(w http.ResponseWriter, r *http.Request, methodMsg string, notFound error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		x.Error(w, r, &engine.Error{Code: engine.CodeMethodNotAllowed, Message: methodMsg})
		return
	}
	x.Error(w, r, notFound)
}

// Stream answers err in a streamed response s (nil when none was started):
// as Error while nothing has reached the client, and otherwise by Abort.
func (x *Writer) Stream(w http.ResponseWriter, r *http.Request, s *wire.Stream, err error) {
	if s == nil || s.Written() == 0 {
		x.Error(w, r, err)
		return
	}
	x.Abort(r, err)
}

// Abort ends a response that has begun and cannot be finished: the error
// is logged and the connection dropped, never closed cleanly (no final
// chunk), so that a client cannot take a cut-off response for a complete
// one. It does not return.
func (x *Writer) Abort(r *http.Request, err error) {
	if !cancelled(r, err) {
		x.log().WarnContext(r.Context(), "response cut off", "path", r.URL.Path, "err", err)
	}
	panic(http.ErrAbortHandler)
}

// classify returns the status of err and the error the shape renders.
func (x *Writer) classify(w http.ResponseWriter, r *http.Request, err error) (int, error) {
	var a Answer
	if errors.As(err, &a) {
		return a.HTTPStatus(), a
	}
	if e, ok := engine.AsError(err); ok {
		e = Bound(e)
		switch e.Code {
		case engine.CodeUnavailable:
			// e.Err is the cause the client is not shown; the log needs it.
			x.log().WarnContext(r.Context(), "source unavailable", "path", r.URL.Path, "err", e.Err)
			w.Header().Set("Retry-After", "1")
		case engine.CodeBusy:
			w.Header().Set("Retry-After", "1")
		case engine.CodeTimeout:
			x.log().WarnContext(r.Context(), "query over its time limit", "path", r.URL.Path)
		case engine.CodeInternal:
			// A statement the database refuses or cannot run on its data:
			// the client is told nothing more, the operator why.
			x.log().ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", e.Err)
		}
		if s, ok := x.Statuses[e.Code]; ok {
			return s, e
		}
		return Status(e.Code), e
	}
	if cancelled(r, err) {
		return StatusClientClosed, &engine.Error{Code: engine.CodeUnavailable, Message: "the request was cancelled"}
	}
	x.log().ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, &engine.Error{Code: engine.CodeInternal, Message: "internal error"}
}

// cancelled reports whether err is the end of a request whose client went
// away.
func cancelled(r *http.Request, err error) bool {
	return r.Context().Err() != nil || errors.Is(err, context.Canceled)
}

func (x *Writer) log() *slog.Logger {
	if x.Log == nil {
		return slog.Default()
	}
	return x.Log
}
