package face

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"folio/baseurl"
	"folio/config"
	"folio/engine"
)

type landingView struct {
	Base        string              `json:"-"`
	Collections []collectionSummary `json:"collections"`
	Mounts      []mountSummary      `json:"mounts"`
	OpenAPI     string              `json:"openapi"`
	OpenAPIYAML string              `json:"openapi_yaml"`
	Docs        string              `json:"docs"`
}

type collectionSummary struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Rows is the database's estimate of the rows, nil when it has none.
	Rows   *int64         `json:"rows_estimate"`
	Key    []string       `json:"key_fields"`
	Fields []fieldSummary `json:"fields"`
}

type fieldSummary struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

type mountSummary struct {
	Dialect    string `json:"dialect"`
	Path       string `json:"path"`
	Collection string `json:"collection,omitempty"`
	Example    string `json:"example"`
}

// Landing answers GET /: an index of the collections, the mounts with an
// example link each, and the API description, as HTML for browsers and as
// JSON for everyone else.
func (f *Face) Landing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if WantsHTML(r) {
			f.serveLanding(w, r)
			return
		}
		b, err := json.Marshal(f.landing(r))
		if err != nil {
			f.errs.Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
	})
}

func (f *Face) serveLanding(w http.ResponseWriter, r *http.Request) {
	f.render(w, r, http.StatusOK, "landing.html", "Home", f.landing(r))
}

func (f *Face) landing(r *http.Request) *landingView {
	base := baseurl.Of(r)
	v := &landingView{Base: base, OpenAPI: base + "/openapi.json", OpenAPIYAML: base + "/openapi.yaml", Docs: base + "/docs",
		Collections: []collectionSummary{}, Mounts: []mountSummary{}}
	native := f.nativePath()
	for _, c := range f.e.Collections() {
		s := collectionSummary{Name: c.Name, Key: c.Key, Fields: []fieldSummary{}}
		if native != "" {
			s.URL = base + native + "/" + url.PathEscape(c.Name)
		}
		if n, ok := f.estimate(r.Context(), c); ok {
			s.Rows = &n
		}
		for _, fd := range c.Visible() {
			s.Fields = append(s.Fields, fieldSummary{fd.Name, fd.Type.String(), fd.Nullable})
		}
		v.Collections = append(v.Collections, s)
	}
	for _, m := range f.mounts {
		v.Mounts = append(v.Mounts, mountSummary{Dialect: m.Dialect, Path: m.Path, Collection: m.Collection, Example: base + f.example(r.Context(), m)})
	}
	return v
}

// estimate is the database's estimate of c's rows: cheap (statistics, not
// a COUNT), and through the engine, so what a request may not see is not
// counted.
func (f *Face) estimate(ctx context.Context, c *engine.Collection) (int64, bool) {
	t, err := f.e.Total(ctx, c, engine.Query{}, engine.TotalEstimate)
	if err != nil {
		return 0, false
	}
	return t.Count, true
}

// nativePath is where the native API is mounted, "" when it is not.
func (f *Face) nativePath() string {
	for _, m := range f.mounts {
		if m.Dialect == config.Native {
			return strings.TrimSuffix(m.Path, "/")
		}
	}
	return ""
}

// example is a working request of mount m: a small first page.
func (f *Face) example(ctx context.Context, m config.Mount) string {
	p := strings.TrimSuffix(m.Path, "/")
	switch m.Dialect {
	case config.Native:
		if cs := f.e.Collections(); len(cs) > 0 {
			return p + "/" + url.PathEscape(cs[0].Name) + "?limit=5"
		}
		return p
	case config.NOMAD:
		return p + "?page_size=5"
	case config.JSONAPI:
		return p + "?page%5Bsize%5D=5"
	case config.Copernica:
		return p + "/database/" + url.PathEscape(f.copernicaDatabase(ctx, m)) + "/profiles?limit=5"
	case config.GOCDB:
		return p + "/?method=" + url.QueryEscape(m.Options["method"])
	}
	return p
}

// copernicaDatabase is a database id the mount's collection holds: the
// first row's, read through the engine.
func (f *Face) copernicaDatabase(ctx context.Context, m config.Mount) string {
	field := "database_id"
	for wire, name := range m.Fields {
		if wire == "database" {
			field = name
		}
	}
	c, err := f.e.Collection(m.Collection)
	if err != nil || c.Field(field) == nil {
		return "1"
	}
	p, err := f.e.Page(ctx, c, engine.Query{Fields: []string{field}}, engine.Window{Limit: 1}, engine.TotalNone)
	if err != nil || len(p.Rows) == 0 {
		return "1"
	}
	return engine.FormatValue(p.Value(p.Rows[0], field))
}
