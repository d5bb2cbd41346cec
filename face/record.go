package face

import (
	"net/http"
	"net/url"
	"strings"

	"folio/baseurl"
	"folio/dialect/native"
	"folio/engine"
)

type recordView struct {
	Mount, Collection, CollectionURL, Key, JSON string
	Fields                                      []recordField
}

type recordField struct {
	Name, Type string
	Value      cell
}

// serveRecord answers a browser's GET {path}/{collection}/{key}: the
// record the API returns for the same URL, a row per field.
func (f *Face) serveRecord(w http.ResponseWriter, r *http.Request, path string, c *engine.Collection) {
	q, ok := f.query(w, r)
	if !ok {
		return
	}
	var fields []string
	for name := range q {
		if name != "fields" {
			f.errs.Error(w, r, engine.Invalidf(name, "unknown parameter %q: a single record takes only fields", name))
			return
		}
		for _, s := range strings.Split(q.Get(name), ",") {
			if s = strings.TrimSpace(s); s != "" {
				fields = append(fields, s)
			}
		}
	}
	key := native.RecordKey(r, path, c)
	p, err := f.e.Get(r.Context(), c, key, fields)
	if err != nil {
		f.errs.Error(w, r, err)
		return
	}
	base := baseurl.Of(r)
	v := recordView{
		Mount: base + path, Collection: c.Name,
		CollectionURL: base + path + "/" + url.PathEscape(c.Name),
		Key:           strings.Join(key, " / "),
		JSON:          base + r.URL.EscapedPath() + "?" + with(q, paramFormat, "json").Encode(),
	}
	for _, j := range p.Fields {
		fd := p.Columns[j]
		cl := render(p.Rows[0][j], fd)
		cl.Short = "" // a record shows every value whole
		v.Fields = append(v.Fields, recordField{Name: fd.Name, Type: fd.Type.String(), Value: cl})
	}
	f.render(w, r, http.StatusOK, "record.html", c.Name+" "+v.Key, v)
}
