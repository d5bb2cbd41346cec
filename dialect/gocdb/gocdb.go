// Package gocdb serves collections the way GOCDB's programmatic interface
// does: GET {path}/?method=NAME with the method's filter parameters, XML
// out, and GOCDB's optional cursor paging. Without next_cursor or
// prev_cursor the whole result is streamed; with one, pages of a fixed size
// follow the row id upwards, with <meta> links to the next, previous and
// first page. It maps parameters onto the engine and renders its pages; it
// holds no paging logic of its own.
//
// # Mounting
//
// Each mount serves one method from its collection, set by its options:
//
//	method      the method name, e.g. get_downtime (required)
//	element     the element of one row (default: the method without "get_",
//	            upper-cased: DOWNTIME)
//	attributes  names written as attributes of the row element, in order
//	            (default: the key, e.g. ID)
//	elements    names written as child elements, in order (default: every
//	            visible field not among the attributes, in collection order)
//	filters     parameters the method accepts: "param=NAME[:op]" separated by
//	            commas, op one of eq (default), list (comma-separated values,
//	            any of them), gt, gte, lt, lte, prefix, contains (default:
//	            each attribute and element name, lower-cased, with eq)
//	page_size   rows per page when paging, reported as max_page_size
//	            (default 100)
//	nested      "NAME=ITEM,…": child elements whose JSON value is written as
//	            XML children, each array item as an ITEM element, as GOCDB
//	            writes AFFECTED_ENDPOINTS
//	period      "START,END": the row's period, which enables get_downtime's
//	            time parameters ongoing_only, startdate, enddate,
//	            windowstart, windowend and all_lastmonth
//	topentity   the text fields get_downtime's topentity matches, any of
//	            them (GOCDB: host, site, NGI or country name)
//	scope       a JSON array field of scope tags, which scope and
//	            scope_match filter on; without it both are accepted and
//	            filter nothing
//	default_scope        the scope of a request that names none (default:
//	                     none)
//	default_scope_match  all (default) or any: how several scopes match
//	                     when scope_match is not given
//
// A NAME is a key of the mount's field map, or else the name of a visible
// field of the collection, compared without case (ID finds id). Time values
// are written as Unix seconds, as GOCDB writes them, except under names that
// start with FORMATED_ (GOCDB's spelling), which carry "2006-01-02 15:04".
//
// Answers that depend on the time of the request (ongoing_only,
// all_lastmonth) read the handler's clock and are sent with
// Cache-Control: no-store.
//
// Several mounts may share a path (NewGroup), one method each, as GOCDB
// serves all its methods under /gocdbpi/public/.
package gocdb

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"folio/config"
	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// ContentType is the media type GOCDB answers with, errors included.
const ContentType = "application/xml"

// Handler answers GOCDB requests for the methods of one path.
type Handler struct {
	e       *engine.Engine
	path    string
	log     *slog.Logger
	errs    httperr.Writer
	mux     *http.ServeMux
	methods map[string]*method
	bufs    wire.Buffers // *[]byte page buffers
	// now is the clock of the time parameters (ongoing_only,
	// all_lastmonth): time.Now when serving, a fixed time in tests.
	now func() time.Time
}

// New returns the handler of one gocdb mount: one method, named by the
// mount's "method" option, served from the mount's collection under
// m.Path (see Mounting above). It returns an error for a
// mount that does not fit the engine's collections.
func New(e *engine.Engine, m config.Mount, log *slog.Logger) (http.Handler, error) {
	return NewGroup(e, []config.Mount{m}, log)
}

// NewGroup returns one handler for several gocdb mounts that share a path,
// as GOCDB serves every method under /gocdbpi/public/: each mount adds its
// method (its own collection, field map and options), and the method
// parameter picks one. The mounts must have the same path and distinct
// methods.
func NewGroup(e *engine.Engine, mounts []config.Mount, log *slog.Logger) (http.Handler, error) {
	h, err := newGroup(e, mounts, log, time.Now)
	if err != nil {
		return nil, err // not a nil *Handler in a non-nil interface
	}
	return h, nil
}

// newGroup is NewGroup with the clock the time parameters read.
func newGroup(e *engine.Engine, mounts []config.Mount, log *slog.Logger, now func() time.Time) (*Handler, error) {
	if len(mounts) == 0 {
		return nil, errors.New("gocdb: no mount")
	}
	if log == nil {
		log = slog.Default()
	}
	path := strings.TrimSuffix(mounts[0].Path, "/")
	h := &Handler{e: e, path: path, log: log, mux: http.NewServeMux(), methods: map[string]*method{}, now: now}
	h.errs = httperr.Writer{Shape: shape{}, Log: log}
	for _, m := range mounts {
		if strings.TrimSuffix(m.Path, "/") != path {
			return nil, fmt.Errorf("gocdb: mounts at %s and %s cannot share a handler", mounts[0].Path, m.Path)
		}
		md, err := newMethod(e, m)
		if err != nil {
			return nil, fmt.Errorf("gocdb mount %s (collection %q): %w", m.Path, m.Collection, err)
		}
		if h.methods[md.name] != nil {
			return nil, fmt.Errorf("gocdb mount %s: method %q is mounted twice", m.Path, md.name)
		}
		h.methods[md.name] = md
	}
	h.mux.HandleFunc("GET "+path+"/{$}", h.serve)
	h.mux.HandleFunc("GET "+path, h.serve)
	h.mux.HandleFunc(path+"/", h.fallback)
	h.mux.HandleFunc(path, h.fallback)
	return h, nil
}

// ServeHTTP routes a request under the handler's path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) fallback(w http.ResponseWriter, r *http.Request) {
	h.errs.Unrouted(w, r, r.Method+" is not supported; the interface is read-only (GET)",
		engine.NotFoundf("Not found: methods are served at %s/?method=NAME", h.path))
}

// serve answers GET {path}/?method=….
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	req, err := h.parse(r.URL.RawQuery)
	if err != nil {
		h.errs.Error(w, r, err)
		return
	}
	if req.volatile {
		// The same URL answers differently a minute later: no cache, folio's
		// page cache included, may keep it.
		w.Header().Set("Cache-Control", "no-store")
	}
	if !req.paged {
		h.stream(w, r, req)
		return
	}
	md := req.md
	p, err := h.e.Page(r.Context(), md.c, req.query, req.window(), engine.TotalNone)
	if err != nil {
		h.errs.Error(w, r, req.name(err))
		return
	}
	bp := h.bufs.Get()
	defer h.bufs.Put(bp)
	*bp = h.appendPage((*bp)[:0], r, req, p)
	writeBody(w, http.StatusOK, *bp)
}
