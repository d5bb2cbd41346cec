package jsonapi

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"folio/engine"
	"folio/httperr"
)

// Parameter names.
const (
	paramSize   = "page[size]"
	paramNumber = "page[number]"
	paramCursor = "page[cursor]"
	paramSort   = "sort"
	paramQuery  = "query"
	paramPrefix = "prefix"
)

// cursorStart is what DataCite's documentation tells clients to send to
// start cursor paging; an empty page[cursor] starts too.
const cursorStart = "1"

// request is a list request parsed into the engine's terms.
type request struct {
	query  engine.Query
	window engine.Window
	cursor bool // cursor mode (else page-number mode)
	size   int
	number int // page-number mode
	// params maps a field (or the "or" of the query parameter) to the
	// request parameter that filtered it, so that the engine's errors
	// name the latter.
	params map[string]string
	// keep holds the parameters links.next carries over: all but the page ones.
	keep url.Values
	// tmpl renders the resources in the view the request asks for.
	tmpl *template
}

// parse turns the query string of a list request into an engine query and
// window. Unknown parameters are errors: a misspelt filter silently
// ignored would return the wrong records, and JSON:API asks for a 400.
func (h *handler) parse(raw string) (*request, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, engine.Invalidf("", "the query string is malformed: %v", err)
	}
	c := h.c
	r := &request{size: c.DefaultLimit, number: 1, params: map[string]string{
		string(engine.OpOr): paramQuery,
	}, keep: url.Values{}}
	var v view
	// Sorted, so that of several bad parameters the same one is reported every time.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if len(vs) > 1 {
			return nil, engine.Invalidf(name, "given %d times; give it once (a list is comma-separated)", len(vs))
		}
		val := vs[0]
		if ok, err := h.display(&v, name, val); ok {
			if err != nil {
				return nil, err
			}
			r.keep[name] = vs
			continue
		}
		switch {
		case name == paramSize || name == paramNumber || name == paramCursor:
			continue
		case strings.HasPrefix(name, "page["):
			return nil, engine.Invalidf(name, "unknown page parameter %s: use page[size] with page[number], or page[cursor]", httperr.Quote(name))
		case name == paramSort:
		case ignored(name):
		case name == paramQuery:
			if err := h.queryFilter(r, val); err != nil {
				return nil, err
			}
		default:
			if err := h.filter(r, name, val); err != nil {
				return nil, err
			}
		}
		r.keep[name] = vs
	}
	r.tmpl = h.tmpl.view(v)
	r.query.Fields = r.tmpl.columns

	if s := q.Get(paramSize); q.Has(paramSize) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > c.MaxLimit {
			return nil, engine.Invalidf(paramSize, "must be a whole number from 0 to %d, got %s", c.MaxLimit, httperr.Quote(s))
		}
		r.size = n
	}
	r.window.Limit = r.size

	r.cursor = q.Has(paramCursor)
	if r.cursor {
		if q.Has(paramNumber) {
			return nil, engine.Invalidf(paramNumber, "cannot be combined with page[cursor]: a cursor already says where the page starts")
		}
		if tok := strings.TrimSpace(q.Get(paramCursor)); tok != cursorStart && tok != "" {
			r.window.At = engine.Token(tok)
		}
	} else {
		if s := q.Get(paramNumber); q.Has(paramNumber) {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 {
				return nil, engine.Invalidf(paramNumber, "must be a whole number from 1, got %s", httperr.Quote(s))
			}
			r.number = n
		}
		// Page-number paging reaches the first MaxOffset records. The last
		// page is cut at that record, so that every one of meta.totalPages
		// pages can be fetched whatever the size.
		if r.size > 0 {
			if r.number-1 >= (c.MaxOffset+r.size-1)/r.size {
				return nil, engine.Invalidf(paramNumber, "page-number paging reaches only the first %d records (page[size]=%d allows page[number] up to %d); use cursor paging for more: page[cursor]=1, then follow links.next",
					c.MaxOffset, r.size, (c.MaxOffset+r.size-1)/r.size)
			}
			offset := (r.number - 1) * r.size
			r.window.At = engine.Offset(offset)
			r.window.Limit = min(r.size, c.MaxOffset-offset)
		}
	}

	if s := strings.TrimSpace(q.Get(paramSort)); s != "" {
		if r.query.Sort, err = h.names.sort(s); err != nil {
			return nil, err
		}
	}
	// No sort, or only relevance, which names no order (resolver.sort):
	// the mode's default.
	switch {
	case len(r.query.Sort) > 0:
	case r.cursor:
		r.query.Sort = h.cursorSort
	default:
		r.query.Sort = h.pageSort
	}
	r.query.Sort = missingLast(r.query.Sort)
	return r, nil
}

// missingLast places NULLs after every value in both directions, where
// Elasticsearch, behind DataCite, puts a document that has no value.
func missingLast(s engine.Sort) engine.Sort {
	out := slices.Clone(s)
	for i := range out {
		out[i].Nulls = engine.NullsLast
	}
	return out
}

// filter adds the filter a parameter names: provider-id=cern (or a
// comma-separated list), created=2019 (a year, or a list of years),
// published=2017, prefix=10.5281. Blank values filter nothing, as in DataCite.
func (h *handler) filter(r *request, name, v string) error {
	f := h.names.field(name)
	if f == nil && normName(name) == paramPrefix && h.tmpl.doi != nil {
		return h.prefixFilter(r, name, v)
	}
	if f == nil {
		return engine.Invalidf(name, "unknown parameter %s: neither a page parameter, sort, query nor a filter on a field of %s", httperr.Quote(name), h.tmpl.typ)
	}
	if !f.Filterable {
		return engine.Invalidf(name, "%s cannot be filtered on", httperr.Quote(name))
	}
	var vals []engine.Value
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			vals = append(vals, s)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	if prev, ok := r.params[f.Name]; ok && prev != name {
		r.params[f.Name] = "" // two parameters filter it: errors keep the field's name
	} else {
		r.params[f.Name] = name
	}
	switch f.Type {
	case engine.TypeTime:
		// DataCite's date filters take years: created=2019 means created in 2019.
		var groups [][]engine.Filter
		for _, s := range vals {
			y, err := strconv.Atoi(s.(string))
			if err != nil || y < 1 || y > 9999 || len(s.(string)) != 4 {
				return engine.Invalidf(name, "takes a year like 2019, or years separated by commas, got %s", httperr.Quote(s.(string)))
			}
			from := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
			groups = append(groups, []engine.Filter{
				{Field: f.Name, Op: engine.OpGte, Values: []engine.Value{from}},
				{Field: f.Name, Op: engine.OpLt, Values: []engine.Value{from.AddDate(1, 0, 0)}},
			})
		}
		if len(groups) == 1 {
			r.query.Filters = append(r.query.Filters, groups[0]...)
		} else {
			r.query.Filters = append(r.query.Filters, engine.Filter{Op: engine.OpOr, Sub: groups})
			r.params[string(engine.OpOr)] = name
		}
	case engine.TypeJSON:
		r.query.Filters = append(r.query.Filters, engine.Filter{Field: f.Name, Op: engine.OpAny, Values: vals})
	default:
		op := engine.OpEq
		if len(vals) > 1 {
			op = engine.OpIn
		}
		r.query.Filters = append(r.query.Filters, engine.Filter{Field: f.Name, Op: op, Values: vals})
	}
	return nil
}

// prefixFilter selects DOIs under one prefix or any of a list: prefix=10.5281.
func (h *handler) prefixFilter(r *request, name, v string) error {
	var groups [][]engine.Filter
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			groups = append(groups, []engine.Filter{{Field: h.tmpl.doi.Name, Op: engine.OpPrefix, Values: []engine.Value{strings.TrimSuffix(s, "/") + "/"}}})
		}
	}
	switch len(groups) {
	case 0:
		return nil
	case 1:
		r.query.Filters = append(r.query.Filters, groups[0]...)
		r.params[h.tmpl.doi.Name] = name
	default:
		r.query.Filters = append(r.query.Filters, engine.Filter{Op: engine.OpOr, Sub: groups})
		r.params[string(engine.OpOr)] = name
	}
	return nil
}

// queryFilter turns query=text into "some query field contains text".
// DataCite takes a Lucene query string; folio matches the text as a
// substring (case-sensitive) of any query field.
func (h *handler) queryFilter(r *request, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(h.queryFields) == 0 {
		return engine.Invalidf(paramQuery, "%s has no text fields to search", h.tmpl.typ)
	}
	groups := make([][]engine.Filter, len(h.queryFields))
	for i, f := range h.queryFields {
		groups[i] = []engine.Filter{{Field: f.Name, Op: engine.OpContains, Values: []engine.Value{v}}}
		r.params[f.Name] = paramQuery
	}
	r.query.Filters = append(r.query.Filters, engine.Filter{Op: engine.OpOr, Sub: groups})
	return nil
}

// params names the engine's parameters on DataCite's wire.
var params = map[engine.Param]string{
	engine.ParamLimit:  paramSize,
	engine.ParamOffset: paramNumber,
	engine.ParamCursor: paramCursor,
	engine.ParamSort:   paramSort,
}

// name names the parameter at fault in an engine error as the request
// carried it: a page parameter, or the filter (or query) that made the
// filter at fault.
func (r *request) name(err error) error {
	return engine.Names{Params: params, Filter: func(field string) string {
		if name := r.params[field]; name != "" {
			return name
		}
		return field
	}}.Name(err)
}

// String is for test failure messages.
func (r *request) String() string {
	return fmt.Sprintf("filters=%v sort=%v window=%+v", r.query.Filters, r.query.Sort, r.window)
}

// recordView reads the parameters of a single-resource request: those
// that shape its view, and those that change nothing folio renders.
func (h *handler) recordView(raw string) (*template, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, engine.Invalidf("", "the query string is malformed: %v", err)
	}
	var v view
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if len(vs) > 1 {
			return nil, engine.Invalidf(name, "given %d times; give it once (a list is comma-separated)", len(vs))
		}
		ok, err := h.display(&v, name, vs[0])
		if err != nil {
			return nil, err
		}
		if !ok && !ignored(name) {
			return nil, engine.Invalidf(name, "unknown parameter %s: a single resource takes no filters or paging", httperr.Quote(name))
		}
	}
	return h.tmpl.view(v), nil
}

// Params lists the list parameters that are not field filters (for a
// description of the API).
func Params() []string {
	return []string{paramSize, paramNumber, paramCursor, paramSort, paramQuery, paramPrefix}
}
