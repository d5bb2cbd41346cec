package jsonapi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"folio/engine"
	"folio/httperr"
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

// HTTPStatus makes an apiError an answer of its own (httperr.Answer).
func (e *apiError) HTTPStatus() int { return e.status }

// titles are the error titles by engine code.
var titles = map[engine.Code]string{
	engine.CodeInvalid:          "Invalid parameter",
	engine.CodeInvalidCursor:    "Invalid cursor",
	engine.CodeNotFound:         notFoundTitle,
	engine.CodeMethodNotAllowed: "Method not allowed",
	engine.CodeTooLarge:         "Request body too large",
	engine.CodeUnavailable:      "Service unavailable",
	engine.CodeBusy:             "Service unavailable",
	engine.CodeTimeout:          "Query timeout",
	engine.CodeRateLimited:      "Too many requests",
	engine.CodeUnauthorized:     "Unauthorized",
	engine.CodeInternal:         "Internal server error",
}

// shape is the JSON:API error document:
//
//	{"errors":[{"status":"400","title":"…","detail":"…","source":{"parameter":"page[size]"}}]}
//
// in the media type the request negotiated.
type shape struct{}

// ErrorBody renders err (httperr.Shape).
func (shape) ErrorBody(r *http.Request, status int, err error) (string, []byte) {
	var ae apiError
	if a, ok := err.(*apiError); ok {
		ae = *a
	} else if e, ok := engine.AsError(err); ok {
		ae = apiError{status: status, title: titles[e.Code], detail: e.Detail(), parameter: e.Parameter}
		if ae.title == "" {
			ae.title = http.StatusText(status)
		}
		if e.Code == engine.CodeInternal {
			ae.detail = string(engine.CodeInternal)
		}
	} else {
		ae = apiError{status: status, title: http.StatusText(status), detail: err.Error()}
	}
	b := append([]byte(nil), `{"errors":[{"status":"`...)
	b = strconv.AppendInt(b, int64(status), 10)
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
	// The content type follows Accept; an answer that refuses the request's
	// media types still speaks JSON:API.
	ct, _, _ := negotiate(r.Header)
	return ct, b
}

// Errors returns the writer that answers the mount's failures, for the
// server's body limit and panic recovery.
func (h *handler) Errors() *httperr.Writer { return &h.errs }

// writeError answers err; every failure takes this path.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Add("Vary", "Accept")
	h.errs.Error(w, r, err)
}

// negotiate applies JSON:API 1.1's content negotiation and picks the
// response type. Status is 415 when the request's Content-Type is the
// JSON:API media type with any media type parameter other than profile and
// ext, or with an ext naming an extension (this server supports none), or
// with parameters that cannot be read at all; 406 when every JSON:API
// media type in Accept is modified so. A client that asks for
// application/json and not JSON:API gets application/json, as DataCite
// answers; everyone else gets application/vnd.api+json.
func negotiate(hd http.Header) (ct string, status int, msg string) {
	if v := hd.Get("Content-Type"); v != "" {
		if base, params, ok := mediaRange(v); base == mediaType && (!ok || !plainAPIType(params)) {
			return mediaType, http.StatusUnsupportedMediaType, "the Content-Type " + mediaType + " may carry only the profile parameter (and ext naming no extension: this server supports none)"
		}
	}
	var apiSeen, apiOK, jsonOK bool
	for _, line := range hd.Values("Accept") {
		for _, part := range strings.Split(line, ",") {
			base, params, ok := mediaRange(part)
			delete(params, "q") // a weight, not a media type parameter
			switch base {
			case mediaType:
				apiSeen = true
				apiOK = apiOK || ok && plainAPIType(params)
			case plainJSON:
				jsonOK = true
			}
		}
	}
	switch {
	case apiSeen && !apiOK:
		return mediaType, http.StatusNotAcceptable, "every " + mediaType + " in Accept carries a parameter other than profile, or an extension; this server supports no extensions"
	case jsonOK && !apiSeen:
		return plainJSON, 0, ""
	}
	return mediaType, 0, ""
}

// mediaRange splits a media type into its base type, lower-cased, and its
// parameters; ok is false when the parameters cannot be read (a name
// without a value, a name twice), which for the JSON:API type counts as a
// parameter it may not carry.
func mediaRange(s string) (base string, params map[string]string, ok bool) {
	b, _, _ := strings.Cut(s, ";")
	base = strings.ToLower(strings.TrimSpace(b))
	_, params, err := mime.ParseMediaType(s)
	return base, params, err == nil
}

// plainAPIType reports whether the parameters of a JSON:API media type are
// ones this server accepts: profile (profiles change nothing it does), and
// ext when it names no extension.
func plainAPIType(params map[string]string) bool {
	for k, v := range params {
		switch {
		case k == "profile":
		case k == "ext" && strings.TrimSpace(v) == "":
		default:
			return false
		}
	}
	return true
}
