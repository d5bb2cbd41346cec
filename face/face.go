// Package face is folio's face for people: the landing page at /, the
// API reference at /docs, and HTML views of the native API's collection
// and record URLs, served to browsers by content negotiation. Every view
// parses its parameters with the native API's own parser and reads through
// the engine's one query path, so a page shows the rows the JSON API
// returns for the same URL, under the same access rules and limits.
package face

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"folio/baseurl"
	"folio/config"
	"folio/engine"
	"folio/httperr"
	"folio/openapi"
	"folio/wire"
)

//go:embed templates/*.html style.css
var files embed.FS

// Face serves the HTML views over one engine and its mounts.
type Face struct {
	e      *engine.Engine
	mounts []config.Mount
	doc    *openapi.Document
	log    *slog.Logger
	tmpl   *template.Template
	css    template.CSS
	errs   httperr.Writer
	bufs   wire.Buffers // pages are rendered into these
}

// New returns the face of e's collections as mounts serve them, with doc
// the API description that /docs renders.
func New(e *engine.Engine, mounts []config.Mount, doc *openapi.Document, log *slog.Logger) (*Face, error) {
	if mounts == nil {
		mounts = []config.Mount{{Dialect: config.Native, Path: config.NativePath}}
	}
	if log == nil {
		log = slog.Default()
	}
	css, err := files.ReadFile("style.css")
	if err != nil {
		return nil, err
	}
	t, err := template.New("").Funcs(funcs()).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	f := &Face{e: e, mounts: mounts, doc: doc, log: log, tmpl: t, css: template.CSS(css)}
	f.errs = httperr.Writer{Shape: htmlShape{f}, Log: log}
	return f, nil
}

// Errors answers failures as HTML pages.
func (f *Face) Errors() *httperr.Writer { return &f.errs }

// render writes template name with data as an HTML page.
func (f *Face) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	bp := f.bufs.Get()
	defer f.bufs.Put(bp)
	buf := bytes.NewBuffer((*bp)[:0])
	if err := f.tmpl.ExecuteTemplate(buf, name, page{CSS: f.css, Base: baseurl.Of(r), Title: title, Data: data}); err != nil {
		f.errs.Error(w, r, err)
		return
	}
	*bp = buf.Bytes()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(*bp)))
	w.WriteHeader(status)
	w.Write(*bp)
}

// page is what every template gets: the stylesheet, the title and its
// own data.
type page struct {
	CSS   template.CSS
	Base  string // the external base every link starts with
	Title string
	Data  any
}

// htmlShape renders errors as a page (httperr.Shape).
type htmlShape struct{ f *Face }

func (s htmlShape) ErrorBody(r *http.Request, status int, err error) (string, []byte) {
	msg, param := http.StatusText(status), ""
	if e, ok := engine.AsError(err); ok {
		msg, param = e.Detail(), e.Parameter
	} else if a, ok := err.(httperr.Answer); ok {
		msg = a.Error()
	}
	var buf bytes.Buffer
	data := struct {
		Status             int
		StatusText         string
		Message, Parameter string
		Back               string
	}{status, http.StatusText(status), msg, param, baseurl.Of(r) + r.URL.EscapedPath()}
	title := strconv.Itoa(status) + " " + http.StatusText(status)
	if err := s.f.tmpl.ExecuteTemplate(&buf, "error.html", page{CSS: s.f.css, Base: baseurl.Of(r), Title: title, Data: data}); err != nil {
		return "text/plain; charset=utf-8", []byte(msg + "\n")
	}
	return "text/html; charset=utf-8", buf.Bytes()
}

// WantsHTML reports whether r asks for HTML: format=html forces it and
// format=json refuses it; otherwise the Accept header must name text/html
// (or XHTML) itself, as browsers do, at least as high as JSON. A client
// that sends no Accept, or */* (curl), gets JSON as before.
func WantsHTML(r *http.Request) bool {
	switch formatParam(r) {
	case "html":
		return true
	case "json":
		return false
	}
	html, jsonQ := -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				q = v
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			jsonQ = max(jsonQ, q)
		}
	}
	return html > 0 && html >= jsonQ
}

// formatParam is the request's format parameter, if any.
func formatParam(r *http.Request) string {
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		if k, v, _ := strings.Cut(pair, "="); k == paramFormat {
			return v
		}
	}
	return ""
}

const paramFormat = "format"

// withoutFormat returns r with the format parameter taken out of its
// query, so that the JSON API sees the request a client without it sends.
func withoutFormat(r *http.Request) *http.Request {
	if !strings.Contains(r.URL.RawQuery, paramFormat+"=") {
		return r
	}
	parts := strings.Split(r.URL.RawQuery, "&")
	parts = slices.DeleteFunc(parts, func(p string) bool { k, _, _ := strings.Cut(p, "="); return k == paramFormat })
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = strings.Join(parts, "&")
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}

// Negotiate wraps the native API mounted at path: a browser's request for
// the collection list, a collection's page or a record gets HTML, every
// other request (exports, API clients, format=json) goes to api as it is.
func (f *Face) Negotiate(path string, api http.Handler) http.Handler {
	path = strings.TrimSuffix(path, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, under := strings.CutPrefix(r.URL.Path, path)
		if !under || (rest != "" && rest[0] != '/') || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			api.ServeHTTP(w, r)
			return
		}
		rest = strings.TrimPrefix(rest, "/")
		name, _, _ := strings.Cut(rest, "/")
		var c *engine.Collection
		if name != "" {
			var err error
			if c, err = f.e.Collection(name); err != nil {
				// An export ({name}.csv), or no such collection: the API's.
				api.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Add("Vary", "Accept")
		if fm := formatParam(r); fm != "" && fm != "html" && fm != "json" {
			api.ServeHTTP(w, r) // which names format as the unknown parameter
			return
		}
		if !WantsHTML(r) {
			api.ServeHTTP(w, withoutFormat(r))
			return
		}
		switch {
		case c == nil:
			f.serveLanding(w, r)
		case strings.Contains(rest, "/"):
			f.serveRecord(w, r, path, c)
		default:
			f.serveTable(w, r, path, c)
		}
	})
}

// query parses the request's query string, or answers the error.
func (f *Face) query(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		f.errs.Error(w, r, engine.Invalidf("", "the query string is malformed: %v", err))
		return nil, false
	}
	q.Del(paramFormat)
	return q, true
}

// favicon is folio's icon: a browser asks for /favicon.ico on every page
// that names none (an export, the JSON), and a 404 there is an error in
// its console.
const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b57b0"/><path d="M4 3h8v2H6v2h5v2H6v4H4z" fill="#fff"/></svg>`

// Favicon answers GET /favicon.ico.
func (f *Face) Favicon() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "max-age=86400")
		w.Write([]byte(favicon))
	})
}
