// Package jsonapi serves a collection the way DataCite's REST API serves
// DOIs: a JSON:API document, page-number paging over the first 10,000
// records (page[size], page[number]), cursor paging without limit
// (page[cursor]=1, then links.next), sort, DataCite's filters, meta.total
// and meta.totalPages. GET {path} lists, GET {path}/{id} returns one
// resource (DOIs hold slashes: /dois/10.5281/zenodo.123).
//
// The dialect only maps: request parameters become an engine Query and
// Window, the engine's Page becomes the document. The cursor in links.next
// is the engine's signed token.
package jsonapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"folio/config"
	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// Mount options (config.Mount.Options).
const (
	// OptionType is the JSON:API resource type; default the collection's name.
	OptionType = "type"
	// OptionSort is the page-number mode's default sort, e.g. "-updated"
	// (DataCite's default, used when the collection has such a field);
	// otherwise the collection's default sort.
	OptionSort = "sort"
	// OptionCursorSort is the cursor mode's default sort; default "created"
	// (DataCite's), or the key when there is no such field.
	OptionCursorSort = "cursor_sort"
	// OptionQueryFields lists the fields query= searches, comma-separated;
	// default every visible text field.
	OptionQueryFields = "query_fields"
)

const (
	mediaType = "application/vnd.api+json"
	plainJSON = "application/json"
)

// handler serves one mount.
type handler struct {
	e    *engine.Engine
	c    *engine.Collection
	path string
	log  *slog.Logger
	errs httperr.Writer
	mux  *http.ServeMux
	bufs wire.Buffers // *[]byte response buffers

	names       *resolver
	tmpl        *template
	pageSort    engine.Sort // nil: the collection's default
	cursorSort  engine.Sort
	queryFields []*engine.Field
}

// New returns the DataCite-style JSON:API handler for mount m. It checks the
// mount: the collection must exist and have a key (the resource id), every
// field map target must exist, and every option must be known and valid.
//
// The field map's keys are the dialect's names: attribute paths
// ("publicationYear", "types.resourceTypeGeneral"; a segment ending in "[]"
// is a one-element array, so "titles[].title" renders
// "titles":[{"title":…}]) and relationships ("relationships.client" renders
// "client":{"data":{"id":…,"type":"clients"}}). Visible fields the map does
// not name are attributes under their camelCased names.
func New(e *engine.Engine, m config.Mount, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	c, err := e.Collection(m.Collection)
	if err != nil {
		return nil, fmt.Errorf("jsonapi mount %s: %w", m.Path, err)
	}
	if c.KeyField() == nil {
		return nil, fmt.Errorf("jsonapi mount %s: collection %q has %s to serve as the resource id; name one in the collection's key", m.Path, c.Name, c.WhyNoKeyField())
	}
	h := &handler{e: e, c: c, path: strings.TrimSuffix(m.Path, "/"), log: log, mux: http.NewServeMux()}
	h.errs = httperr.Writer{Shape: shape{}, Log: log}
	if h.path == "" || !strings.HasPrefix(h.path, "/") {
		return nil, fmt.Errorf("jsonapi mount %q: path must start with '/'", m.Path)
	}
	for k := range m.Options {
		switch k {
		case OptionType, OptionSort, OptionCursorSort, OptionQueryFields:
		default:
			return nil, fmt.Errorf("jsonapi mount %s: unknown option %q (known: %s, %s, %s, %s)", m.Path, k, OptionType, OptionSort, OptionCursorSort, OptionQueryFields)
		}
	}
	typ := c.Name
	if t, ok := m.Options[OptionType]; ok {
		if t = strings.TrimSpace(t); t == "" {
			return nil, fmt.Errorf("jsonapi mount %s: option %s is empty", m.Path, OptionType)
		}
		typ = t
	}
	if h.names, h.tmpl, err = compile(c, m.Fields, typ); err != nil {
		return nil, fmt.Errorf("jsonapi mount %s: %w", m.Path, err)
	}

	defaultSort := func(opt, fallback string) (engine.Sort, error) {
		s, ok := m.Options[opt]
		if !ok {
			if h.names.field(strings.TrimPrefix(fallback, "-")) == nil {
				return nil, nil
			}
			s = fallback
		}
		out, err := h.names.sort(s)
		if err != nil {
			return nil, fmt.Errorf("jsonapi mount %s: option %s: %s", m.Path, opt, err.(*engine.Error).Message)
		}
		return out, nil
	}
	if h.pageSort, err = defaultSort(OptionSort, "-updated"); err != nil {
		return nil, err
	}
	if h.cursorSort, err = defaultSort(OptionCursorSort, "created"); err != nil {
		return nil, err
	}
	if h.cursorSort == nil {
		h.cursorSort = engine.Sort{{Field: c.Key[0]}}
	}
	if s, ok := m.Options[OptionQueryFields]; ok {
		for _, name := range strings.Split(s, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			f := h.names.field(name)
			if f == nil || f.Type != engine.TypeText || !f.Filterable {
				return nil, fmt.Errorf("jsonapi mount %s: option %s: %q is not a filterable text field", m.Path, OptionQueryFields, name)
			}
			if !slices.Contains(h.queryFields, f) {
				h.queryFields = append(h.queryFields, f)
			}
		}
	} else {
		for _, f := range c.Visible() {
			if f.Type == engine.TypeText && f.Filterable {
				h.queryFields = append(h.queryFields, f)
			}
		}
	}

	h.mux.HandleFunc("GET "+h.path, h.serveList)
	h.mux.HandleFunc("GET "+h.path+"/{id...}", h.serveRecord)
	h.mux.HandleFunc(h.path, h.serveFallback)
	h.mux.HandleFunc(h.path+"/", h.serveFallback)
	return h, nil
}

// ServeHTTP routes a request under the mount's path.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// accept negotiates the media type as JSON:API 1.1 requires and returns the
// response's content type, or answers 406/415 and returns false.
func (h *handler) accept(w http.ResponseWriter, r *http.Request) (string, bool) {
	ct, status, msg := negotiate(r.Header)
	if status != 0 {
		h.writeError(w, r, &apiError{status: status, title: http.StatusText(status), detail: msg})
		return "", false
	}
	return ct, true
}

func (h *handler) serveFallback(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.accept(w, r); !ok {
		return
	}
	w.Header().Add("Vary", "Accept")
	h.errs.Unrouted(w, r, r.Method+" is not supported; this API is read-only (GET)", notFound(""))
}

// serveList answers GET {path}.
func (h *handler) serveList(w http.ResponseWriter, r *http.Request) {
	ct, ok := h.accept(w, r)
	if !ok {
		return
	}
	req, err := h.parse(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.page(r.Context(), req)
	if err != nil {
		h.writeError(w, r, req.name(err))
		return
	}
	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	*bp = h.appendList((*bp)[:0], r, req, p)
	h.write(w, ct, *bp)
}

// page reads the page req asks for, with the total; page[size]=0 asks
// for the total alone.
func (h *handler) page(ctx context.Context, req *request) (*engine.Page, error) {
	if req.size == 0 {
		return h.e.CountPage(ctx, h.c, req.query, engine.TotalExact)
	}
	return h.e.Page(ctx, h.c, req.query, req.window, engine.TotalExact)
}

// serveRecord answers GET {path}/{id}. DOIs are case-insensitive and
// DataCite stores them in lower case, so a miss is retried in lower case.
func (h *handler) serveRecord(w http.ResponseWriter, r *http.Request) {
	ct, ok := h.accept(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if id == "" {
		h.writeError(w, r, notFound(""))
		return
	}
	tmpl, err := h.recordView(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.e.Get(r.Context(), h.c, []string{id}, tmpl.columns)
	if e, ok := engine.AsError(err); ok && e.Code == engine.CodeNotFound && strings.ToLower(id) != id {
		p, err = h.e.Get(r.Context(), h.c, []string{strings.ToLower(id)}, tmpl.columns)
	}
	if err != nil {
		if e, ok := engine.AsError(err); ok && e.Code == engine.CodeNotFound {
			err = notFound(fmt.Sprintf("no %s resource with id %s", h.tmpl.typ, httperr.Quote(id)))
		}
		h.writeError(w, r, err)
		return
	}
	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	b := append((*bp)[:0], `{"data":`...)
	b = tmpl.appendResource(b, p.Rows[0], tmpl.indexes(p))
	*bp = append(b, "}\n"...)
	h.write(w, ct, *bp)
}

func (h *handler) write(w http.ResponseWriter, ct string, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Add("Vary", "Accept") // the content type follows Accept
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
