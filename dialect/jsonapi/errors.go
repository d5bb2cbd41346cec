package jsonapi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"folio/engine"
	"folio/wire"
)

// apiError is one JSON:API error object that is not an engine error:
// content negotiation, routing and method failures.
type apiError struct {
	status        int
	title, detail string
	parameter     string
}

func (e *apiError) Error() string { return e.title + ": " + e.detail }

// notFoundTitle is DataCite's title for a 404.
const notFoundTitle = "The resource you are looking for doesn't exist."

func notFound(detail string) *apiError {
	return &apiError{status: http.StatusNotFound, title: notFoundTitle, detail: detail}
}

// codeInternal labels failures that are folio's fault, never the client's.
const codeInternal engine.Code = "internal_error"

// writeError answers with a JSON:API error document:
//
//	{"errors":[{"status":"400","title":"…","detail":"…","source":{"parameter":"page[size]"}}]}
//
// Engine errors take their status from their code; errors that are neither
// engine errors nor apiErrors are logged and answered 500 without detail.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, ct string, err error) {
	var ae apiError
	if a, ok := err.(*apiError); ok {
		ae = *a
	} else if e, ok := engine.AsError(err); ok {
		ae = apiError{status: e.Status(), detail: e.Message, parameter: e.Parameter}
		switch e.Code {
		case engine.CodeInvalid:
			ae.title = "Invalid parameter"
		case engine.CodeInvalidCursor:
			ae.title = "Invalid cursor"
		case engine.CodeNotFound:
			ae.title = notFoundTitle
		case engine.CodeUnavailable:
			h.log.WarnContext(r.Context(), "source unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "1")
			ae.title = "Service unavailable"
		default:
			ae.title = http.StatusText(ae.status)
		}
	} else if r.Context().Err() != nil {
		// The client went away (or the server is stopping): nobody reads this.
		ae = apiError{status: http.StatusServiceUnavailable, title: "Service unavailable", detail: "the request was cancelled"}
	} else {
		h.log.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err)
		ae = apiError{status: http.StatusInternalServerError, title: "Internal server error", detail: string(codeInternal)}
	}
	b := append([]byte(nil), `{"errors":[{"status":"`...)
	b = strconv.AppendInt(b, int64(ae.status), 10)
	b = append(b, `","title":`...)
	b = wire.AppendString(b, ae.title)
	if ae.detail != "" {
		b = append(b, `,"detail":`...)
		b = wire.AppendString(b, ae.detail)
	}
	if ae.parameter != "" {
		b = append(b, `,"source":{"parameter":`...)
		b = wire.AppendString(b, ae.parameter)
		b = append(b, '}')
	}
	b = append(b, "}]}\n"...)
	if ct == "" {
		ct = mediaType
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(ae.status)
	w.Write(b)
}

// negotiate applies JSON:API 1.1's content negotiation and picks the
// response type. Status is 415 when the request's Content-Type is the
// JSON:API media type with a parameter other than profile (this server
// supports no extensions, so ext counts too), 406 when Accept names the
// JSON:API media type only with such parameters. A client that asks for
// application/json and not JSON:API gets application/json, as DataCite
// answers; everyone else gets application/vnd.api+json.
func negotiate(hd http.Header) (ct string, status int, msg string) {
	if v := hd.Get("Content-Type"); v != "" {
		if mt, params, err := mime.ParseMediaType(v); err == nil && mt == mediaType && !onlyProfile(params) {
			return mediaType, http.StatusUnsupportedMediaType, "the Content-Type " + mediaType + " may carry only the profile parameter; this server supports no extensions"
		}
	}
	var apiSeen, apiOK, jsonOK bool
	for _, line := range hd.Values("Accept") {
		for _, part := range strings.Split(line, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			delete(params, "q") // a weight, not a media type parameter
			switch mt {
			case mediaType:
				apiSeen = true
				apiOK = apiOK || onlyProfile(params)
			case plainJSON:
				jsonOK = true
			}
		}
	}
	switch {
	case apiSeen && !apiOK:
		return mediaType, http.StatusNotAcceptable, "every " + mediaType + " in Accept carries a parameter other than profile; this server supports no extensions"
	case jsonOK && !apiSeen:
		return plainJSON, 0, ""
	}
	return mediaType, 0, ""
}

func onlyProfile(params map[string]string) bool {
	for k := range params {
		if k != "profile" {
			return false
		}
	}
	return true
}
