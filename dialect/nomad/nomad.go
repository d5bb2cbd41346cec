// Package nomad serves a collection the way NOMAD's v1 API serves its
// entries: POST {path}/query with a JSON body {owner, query, pagination,
// required} and GET {path} with the same as query parameters. It pages with
// page_size, order_by, order, the transparent page_after_value cursor
// (answered by next_page_after_value), page and page_offset; filters with
// NOMAD's query language; projects with required.include/exclude into
// nested documents; and echoes the request in NOMAD's envelope. It maps all
// of that onto the engine and renders the engine's pages; it holds no
// paging logic of its own.
package nomad

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"folio/config"
	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// Mount options.
const (
	// OptionPublicField names the boolean collection field that owner
	// "public" requires to be true. Default: the field NOMAD's `published`
	// names (through the fields map or by its own name); "none" serves
	// every row as public.
	OptionPublicField = "public_field"
	// OptionMaxResultWindow bounds page_size, and how deep page and
	// page_offset reach (default 10000, Elasticsearch's
	// index.max_result_window that NOMAD runs with). For this mount it
	// replaces the collection's max_limit and max_offset.
	OptionMaxResultWindow = "max_result_window"
)

// DefaultMaxResultWindow is NOMAD's practical maximum page size and the
// depth page/page_offset reach.
const DefaultMaxResultWindow = 10000

// DefaultPageSize is the page size when a request names none.
const DefaultPageSize = 10

// publishedName is NOMAD's name of the flag that owner=public filters on.
const publishedName = "published"

// maxBodyBytes bounds a POST body when the server has not bounded it already.
const maxBodyBytes = 1 << 20

// Handler serves one NOMAD mount.
type Handler struct {
	e      *engine.Engine
	c      *engine.Collection // the mount's copy, limits set to the result window
	s      *schema
	public *engine.Field // nil: every row is public
	own    ownership
	window int
	path   string
	log    *slog.Logger
	errs   httperr.Writer
	mux    *http.ServeMux
	bufs   wire.Buffers // *[]byte response buffers
}

// New returns the NOMAD dialect for mount m over e. It fails when the
// collection does not exist, has no key (page_after_value needs one), a
// field map names a field the collection lacks or two names collide, or an
// option is unknown or bad.
func New(e *engine.Engine, m config.Mount, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	col, err := e.Collection(m.Collection)
	if err != nil {
		return nil, fmt.Errorf("nomad mount %s: %w", m.Path, err)
	}
	if col.KeyField() == nil {
		return nil, fmt.Errorf("nomad mount %s: collection %q has %s, which NOMAD's entry id and page_after_value need", m.Path, col.Name, col.WhyNoKeyField())
	}
	for _, k := range slices.Sorted(maps.Keys(m.Options)) {
		if !slices.Contains([]string{OptionPublicField, OptionMaxResultWindow, OptionOwnerField, OptionSharedField, OptionEmbargoField}, k) {
			return nil, fmt.Errorf("nomad mount %s: unknown option %q (known: %s, %s, %s, %s, %s)", m.Path, k, OptionPublicField, OptionMaxResultWindow, OptionOwnerField, OptionSharedField, OptionEmbargoField)
		}
	}
	window := DefaultMaxResultWindow
	if v, ok := m.Options[OptionMaxResultWindow]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("nomad mount %s: option %s must be a whole number of 1 or more, got %q", m.Path, OptionMaxResultWindow, v)
		}
		window = n
	}
	s, err := newSchema(col, m.Fields)
	if err != nil {
		return nil, fmt.Errorf("nomad mount %s: %w", m.Path, err)
	}
	// The mount pages within NOMAD's result window, whatever the
	// collection's own limits are for other dialects.
	c := *col
	c.MaxLimit, c.MaxOffset = window, window
	c.DefaultLimit = min(DefaultPageSize, window)

	h := &Handler{e: e, c: &c, s: s, window: window, path: strings.TrimSuffix(m.Path, "/"), log: log, mux: http.NewServeMux()}
	h.errs = httperr.Writer{Shape: shape{}, Log: log}
	if h.public, err = publicField(&c, s, m.Options[OptionPublicField]); err != nil {
		return nil, fmt.Errorf("nomad mount %s: %w", m.Path, err)
	}
	if h.own, err = newOwnership(&c, m.Options); err != nil {
		return nil, fmt.Errorf("nomad mount %s: %w", m.Path, err)
	}
	if h.path == "" {
		return nil, fmt.Errorf("nomad mount: path is empty")
	}
	h.mux.HandleFunc("POST "+h.path+"/query", h.servePost)
	h.mux.HandleFunc("GET "+h.path, h.serveGet)
	h.mux.HandleFunc(h.path+"/query", h.serveMethod("POST"))
	h.mux.HandleFunc(h.path, h.serveMethod("GET, HEAD"))
	h.mux.HandleFunc(h.path+"/", h.serveNotFound)
	return h, nil
}

// publicField resolves the field owner=public filters on.
func publicField(c *engine.Collection, s *schema, opt string) (*engine.Field, error) {
	var f *engine.Field
	switch opt {
	case "none":
		return nil, nil
	case "":
		fd := s.byName[publishedName]
		if fd == nil {
			return nil, nil
		}
		f = fd.f
	default:
		if f = c.Field(opt); f == nil {
			return nil, fmt.Errorf("option %s: collection %q has no visible field %q", OptionPublicField, c.Name, opt)
		}
	}
	if f.Type != engine.TypeBool || !f.Filterable {
		return nil, fmt.Errorf("option %s: field %q must be a filterable boolean, is %v", OptionPublicField, f.Name, f.Type)
	}
	return f, nil
}

// ServeHTTP routes a request under the mount's path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// serveMethod answers a known path asked with the wrong method, as FastAPI does.
func (h *Handler) serveMethod(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		h.errs.Error(w, r, &apiError{status: http.StatusMethodNotAllowed, detail: "Method Not Allowed"})
	}
}

func (h *Handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h.errs.Error(w, r, &apiError{status: http.StatusNotFound, detail: "Not Found"})
}

// servePost answers POST {path}/query.
func (h *Handler) servePost(w http.ResponseWriter, r *http.Request) {
	req, aerr := h.parseBody(r)
	if aerr != nil {
		h.errs.Error(w, r, aerr)
		return
	}
	h.serve(w, r, req)
}

// serveGet answers GET {path}.
func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) {
	req, aerr := h.parseQueryString(r.URL.RawQuery)
	if aerr != nil {
		h.errs.Error(w, r, aerr)
		return
	}
	h.serve(w, r, req)
}

// page reads the page req asks for, with its exact total; page_size 0
// asks for the total alone.
func (h *Handler) page(ctx context.Context, req *request) (*engine.Page, error) {
	if req.size == 0 {
		return h.e.CountPage(ctx, h.c, req.query, engine.TotalExact)
	}
	if req.orderBy != h.s.id && req.orderBy.f.Type == engine.TypeTime {
		return h.millisPage(ctx, req)
	}
	return h.e.Page(ctx, h.c, req.query, req.window, engine.TotalExact)
}

// serve runs a parsed request through the engine and writes the envelope.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, req *request) {
	scope, aerr := h.scope(r.Context(), req.owner)
	if aerr != nil {
		h.errs.Error(w, r, aerr)
		return
	}
	req.query.Filters = append(req.query.Filters, scope...)
	p, err := h.page(r.Context(), req)
	if err != nil {
		h.errs.Error(w, r, h.engineError(err, req))
		return
	}
	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	b := h.render((*bp)[:0], r, req, p)
	*bp = b
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
