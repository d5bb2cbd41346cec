package native

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"folio/baseurl"
	"folio/engine"
	"folio/httperr"
	"folio/wire"
)

// The listing is small and rarely asked for, so it uses encoding/json.

type collectionDoc struct {
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	Key         *string    `json:"key"`
	KeyFields   []string   `json:"key_fields,omitempty"`
	KeyCaveat   string     `json:"key_caveat,omitempty"`
	Paging      []string   `json:"paging"`
	DefaultSort *string    `json:"default_sort"`
	Limits      limitsDoc  `json:"limits"`
	Fields      []fieldDoc `json:"fields"`
}

type limitsDoc struct {
	DefaultLimit int `json:"default_limit"`
	MaxLimit     int `json:"max_limit"`
	MaxOffset    int `json:"max_offset"`
}

type fieldDoc struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Nullable   bool     `json:"nullable"`
	Sortable   bool     `json:"sortable"`
	Filterable bool     `json:"filterable"`
	Operators  []string `json:"operators,omitempty"`
}

// serveCollections answers GET {path}: every collection with its fields,
// key, paging styles, default sort and limits.
func (h *Handler) serveCollections(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for name := range q {
			h.errs.Error(w, r, engine.Invalidf(name, "unknown parameter %s: the collection list takes none", httperr.Quote(name)))
			return
		}
	}
	var doc struct {
		Data []collectionDoc `json:"data"`
	}
	doc.Data = []collectionDoc{}
	base := baseurl.Of(r) + h.path + "/"
	for _, c := range h.e.Collections() {
		// A collection or field the principal may not see is not listed:
		// to it, they do not exist.
		if !h.e.Readable(r.Context(), c) {
			continue
		}
		d := collectionDoc{
			Name:   c.Name,
			URL:    string(wire.AppendPath([]byte(base), url.PathEscape(c.Name))),
			Paging: []string{"offset"},
			Limits: limitsDoc{c.DefaultLimit, c.MaxLimit, c.MaxOffset},
			Fields: []fieldDoc{},
		}
		if c.Keyed() {
			// key stays one name, as clients read it; a key of several
			// fields is named by key_fields alone.
			if !c.Composite() {
				key := c.Key[0]
				d.Key = &key
			}
			d.KeyFields = c.Key
			d.KeyCaveat = c.KeyCaveat
			d.Paging = []string{"cursor", "offset"}
		}
		if s := c.DefaultSort.String(); s != "" {
			d.DefaultSort = &s
		} else if c.Keyed() {
			s := strings.Join(c.Key, ",")
			d.DefaultSort = &s
		}
		for _, f := range h.e.VisibleTo(r.Context(), c) {
			fd := fieldDoc{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable, Sortable: f.Sortable && f.Type.Scalar(), Filterable: f.Filterable}
			if f.Filterable {
				fd.Operators = operators(f)
			}
			d.Fields = append(d.Fields, fd)
		}
		doc.Data = append(doc.Data, d)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		h.errs.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// operators lists the filter operators a field takes: the engine's own
// table (engine.Field.Ops: its type's, and match on a full-text field),
// so the listing advertises exactly what a filter may use. OpNull is among them whether or not the field is nullable: on a
// field without NULLs it is accepted and matches every row or none.
func operators(f *engine.Field) []string {
	ops := f.Ops()
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = string(op)
	}
	return out
}
