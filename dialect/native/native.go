// Package native is folio's own HTTP API: GET {path} lists the collections,
// GET {path}/{collection} pages through one with filters, sort, projection,
// signed cursors or offsets and optional totals,
// GET {path}/{collection}/{key} returns one record, and
// GET {path}/{collection}.ndjson, .csv and .json stream the whole filtered,
// sorted, projected result (see package export). It maps request
// parameters onto the engine and renders the engine's pages; it holds no
// paging logic of its own.
package native

import (
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"folio/baseurl"
	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// Options configure a Handler.
type Options struct {
	// Path is the URL path the API is mounted under, e.g. "/v1".
	Path string
	// Logger receives errors that are not the client's fault.
	Logger *slog.Logger
}

// Handler serves the native API for every collection of an engine.
type Handler struct {
	e    *engine.Engine
	path string
	log  *slog.Logger
	errs httperr.Writer
	mux  *http.ServeMux
	bufs wire.Buffers // *[]byte response buffers
}

// New returns the native API over e, mounted under o.Path.
func New(e *engine.Engine, o Options) *Handler {
	h := &Handler{e: e, path: strings.TrimSuffix(o.Path, "/"), log: o.Logger, mux: http.NewServeMux()}
	if h.path == "" {
		h.path = "/v1"
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.errs = httperr.Writer{Shape: shape{}, Log: h.log}
	h.mux.HandleFunc("GET "+h.path+"", h.serveCollections)
	h.mux.HandleFunc("GET "+h.path+"/{collection}", h.servePage)
	h.mux.HandleFunc("GET "+h.path+"/{collection}/{key...}", h.serveRecord)
	h.mux.HandleFunc(h.path, h.serveFallback)
	h.mux.HandleFunc(h.path+"/", h.serveFallback)
	return h
}

// ServeHTTP routes a request under the handler's path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) serveFallback(w http.ResponseWriter, r *http.Request) {
	h.errs.Unrouted(w, r, r.Method+" is not supported; the API is read-only (GET)",
		engine.NotFoundf("no such resource: %s lists the collections", h.path))
}

// target returns the collection a request names and its query parameters,
// or answers with the error and returns false.
func (h *Handler) target(w http.ResponseWriter, r *http.Request) (*engine.Collection, url.Values, bool) {
	// A collection the principal may not read is not found, before any
	// parameter is checked against it.
	c, err := h.e.CollectionFor(r.Context(), r.PathValue("collection"))
	if err != nil {
		h.errs.Error(w, r, err)
		return nil, nil, false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.errs.Error(w, r, malformed(r.URL.RawQuery, err))
		return nil, nil, false
	}
	return c, q, true
}

// malformed names the parameter of a query string that url.ParseQuery
// rejected, so that the error points at it like every other one.
func malformed(raw string, err error) error {
	for _, pair := range strings.Split(raw, "&") {
		key, value, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(key)
		if kerr != nil {
			name = key
		}
		switch {
		case strings.Contains(pair, ";"):
			return engine.Invalidf(name, "the query string is malformed: %s holds a semicolon; separate parameters with &", httperr.Quote(pair))
		case kerr != nil:
			return engine.Invalidf(name, "the query string is malformed: the parameter name %s has a bad %%-escape", httperr.Quote(key))
		}
		if _, verr := url.QueryUnescape(value); verr != nil {
			return engine.Invalidf(name, "the query string is malformed: the value %s has a bad %%-escape", httperr.Quote(value))
		}
	}
	return engine.Invalidf("", "the query string is malformed: %v", err)
}

// servePage answers GET {path}/{collection}, and the exports
// GET {path}/{collection}.{ndjson,csv,json}.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if c, f, ok := h.exportTarget(r.Context(), r.PathValue("collection")); ok {
		h.serveExport(w, r, c, f)
		return
	}
	c, q, ok := h.target(w, r)
	if !ok {
		return
	}
	req, err := parseList(c, q)
	if err != nil {
		h.errs.Error(w, r, err)
		return
	}
	p, err := h.e.Page(r.Context(), c, req.query, req.window, req.total)
	if err != nil {
		h.errs.Error(w, r, req.name(c, err))
		return
	}
	ls := pageLinks(r, baseurl.Of(r), q, p)

	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	b := append((*bp)[:0], `{"data":[`...)
	keys, idx := fieldKeys(p), p.Fields
	for i, row := range p.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendObject(b, row, keys, idx)
	}
	b = append(b, `],"page":{"limit":`...)
	b = strconv.AppendInt(b, int64(p.Limit), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(len(p.Rows)), 10)
	if p.Total != nil {
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, p.Total.Count, 10)
		b = append(b, `,"total_relation":`...)
		b = wire.AppendString(b, p.Total.Relation())
	}
	if p.Keyset && p.HasNext {
		b = append(b, `,"next_cursor":`...)
		b = wire.AppendString(b, p.Next)
	}
	if p.Keyset && p.HasPrev {
		b = append(b, `,"prev_cursor":`...)
		b = wire.AppendString(b, p.Prev)
	}
	b = append(b, `},"links":{`...)
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, l.Rel)
		b = append(b, ':')
		b = wire.AppendString(b, l.URL)
	}
	b = append(b, "}}\n"...)
	*bp = b

	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Link", linkHeader(ls))
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// serveRecord answers GET {path}/{collection}/{key}.
func (h *Handler) serveRecord(w http.ResponseWriter, r *http.Request) {
	c, q, ok := h.target(w, r)
	if !ok {
		return
	}
	var fields []string
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if name != paramFields {
			h.errs.Error(w, r, engine.Invalidf(name, "unknown parameter %s: a single record takes only fields", httperr.Quote(name)))
			return
		}
		var err error
		if fields, err = parseFields(q); err != nil {
			h.errs.Error(w, r, err)
			return
		}
	}
	p, err := h.e.Get(r.Context(), c, RecordKey(r, h.path, c), fields)
	if err != nil {
		h.errs.Error(w, r, err)
		return
	}
	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	b := append((*bp)[:0], `{"data":`...)
	b = wire.AppendObject(b, p.Rows[0], fieldKeys(p), p.Fields)
	b = append(b, "}\n"...)
	*bp = b
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// RecordKey returns the key parts of a record path under the mount path
// (routed as {path}/{collection}/{key...}). A key of one field is
// the whole rest of the path, '/' and all (DOIs hold slashes); a key of
// several fields is one path segment per field, in key order, each
// percent-decoded on its own, so a part holding '/' is written %2F.
func RecordKey(r *http.Request, path string, c *engine.Collection) []string {
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	skip := 1 // the collection
	if p := strings.Trim(path, "/"); p != "" {
		skip += strings.Count(p, "/") + 1
	}
	if skip > len(segs) {
		return nil
	}
	parts := segs[skip:]
	if !c.Composite() {
		// As the mux's {key...} reads it: each segment decoded, '/' kept.
		for i, s := range parts {
			if u, err := url.PathUnescape(s); err == nil {
				parts[i] = u
			}
		}
		return []string{strings.Join(parts, "/")}
	}
	for i, s := range parts {
		if u, err := url.PathUnescape(s); err == nil {
			parts[i] = u
		}
	}
	return parts
}
