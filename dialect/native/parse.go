package native

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"folio/engine"
	"folio/httperr"
)

// Reserved parameter names; every other parameter is a filter.
const (
	paramLimit  = "limit"
	paramSort   = "sort"
	paramFields = "fields"
	paramCursor = "cursor"
	paramOffset = "offset"
	paramTotal  = "total"
)

func reserved(name string) bool {
	switch name {
	case paramLimit, paramSort, paramFields, paramCursor, paramOffset, paramTotal:
		return true
	}
	return false
}

// ReservedParams lists the parameters of a list request that are not
// filters, in the order documentation shows them.
func ReservedParams() []string {
	return []string{paramLimit, paramSort, paramFields, paramCursor, paramOffset, paramTotal}
}

// FilterParam is the name of the parameter that filters field with op, as
// filterName reads it back: the field alone for eq, else field[op].
func FilterParam(field string, op engine.Op) string {
	if op == engine.OpEq {
		return field
	}
	return field + "[" + string(op) + "]"
}

// List is a list request parsed as GET {path}/{collection} parses it, for
// views of the same pages in another form (HTML): the same parameters give
// the same query, window and total, so the same rows.
type List struct {
	Query  engine.Query
	Window engine.Window
	Total  engine.TotalMode
	r      *request
	c      *engine.Collection
}

// ParseList parses q as a list request on c.
func ParseList(c *engine.Collection, q url.Values) (*List, error) {
	r, err := parseList(c, q)
	if err != nil {
		return nil, err
	}
	return &List{Query: r.query, Window: r.window, Total: r.total, r: r, c: c}, nil
}

// Name names the parameter at fault in an engine error as the request
// carried it, as the native API's own errors do.
func (l *List) Name(err error) error { return l.r.name(l.c, err) }

// request is a list request parsed into the engine's terms.
type request struct {
	query  engine.Query
	window engine.Window
	total  engine.TotalMode
	// filterParams maps a field to the one parameter that filters it, so
	// that the engine's errors, which name fields, can name the parameter.
	filterParams map[string]string
}

// parseList turns the native API's query parameters into an engine query,
// window and total mode. A parameter that is neither reserved nor a filter
// on a filterable field is an error: silently ignoring a misspelt filter
// would return the wrong rows.
func parseList(c *engine.Collection, q url.Values) (*request, error) {
	r, err := parseFilters(c, q)
	if err != nil {
		return nil, err
	}
	if s := q.Get(paramLimit); q.Has(paramLimit) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, engine.Invalidf(paramLimit, "must be a whole number between 1 and %d, got %s", c.MaxLimit, httperr.Quote(s))
		}
		if n < 1 || n > c.MaxLimit {
			return nil, engine.Invalidf(paramLimit, "must be between 1 and %d, got %d", c.MaxLimit, n)
		}
		r.window.Limit = n
	}
	if err := parseSortFields(q, r); err != nil {
		return nil, err
	}
	cursor := q.Get(paramCursor)
	if q.Has(paramCursor) {
		if cursor == "" {
			return nil, engine.InvalidCursorf(paramCursor, "is empty; pass the next_cursor or prev_cursor of a previous page")
		}
		r.window.At = engine.Token(cursor)
	}
	offset := false
	if s := q.Get(paramOffset); q.Has(paramOffset) {
		if cursor != "" {
			return nil, engine.Invalidf(paramOffset, "cannot be combined with cursor: a cursor already says where the page starts")
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return nil, engine.Invalidf(paramOffset, "must be a whole number of 0 or more, got %s", httperr.Quote(s))
		}
		if n > c.MaxOffset {
			// Checked here as well as in the engine so that a huge offset
			// cannot overflow offset+limit on its way there.
			return nil, engine.Invalidf(paramOffset, "offset paging reaches only the first %d rows, got offset %d; %s", c.MaxOffset, n, offsetHint(c))
		}
		r.window.At = engine.Offset(n)
		offset = true
	}
	// Offset paging shows where a page sits in the whole, so it counts by
	// default; cursor paging skips the count, which costs a scan.
	r.total = engine.TotalNone
	if offset || !c.Keyed() {
		r.total = engine.TotalExact
	}
	if q.Has(paramTotal) {
		m, err := engine.ParseTotalMode(q.Get(paramTotal))
		if err != nil {
			return nil, r.name(c, err)
		}
		r.total = m
	}
	return r, nil
}

// parseExport parses the parameters of an export: the filters, sort and
// fields of a list request, and limit as the most rows to write (any
// number: an export buffers nothing). cursor, offset and total are refused
// by name rather than ignored: an export is the whole result, and a
// client that sends them expects something else.
func parseExport(c *engine.Collection, q url.Values) (*request, error) {
	r, err := parseFilters(c, q)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{paramCursor, paramOffset, paramTotal} {
		if q.Has(name) {
			return nil, engine.Invalidf(name, "an export streams the whole result and takes no %s; narrow it with filters, or cap it with limit", name)
		}
	}
	if s := q.Get(paramLimit); q.Has(paramLimit) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, engine.Invalidf(paramLimit, "must be a whole number of 1 or more (the most rows to export), got %s", httperr.Quote(s))
		}
		r.window.Limit = n
	}
	if err := parseSortFields(q, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseQuery parses the native API's filter, sort and fields parameters
// (name[op]=value, sort=-a,b, fields=a,b) into a query of c, as folio
// export reads them from its flags. The paging parameters limit, cursor,
// offset and total are refused: a query says which rows, not which slice.
func ParseQuery(c *engine.Collection, q url.Values) (engine.Query, error) {
	r, err := parseFilters(c, q)
	if err != nil {
		return engine.Query{}, err
	}
	for _, name := range []string{paramLimit, paramCursor, paramOffset, paramTotal} {
		if q.Has(name) {
			return engine.Query{}, engine.Invalidf(name, "a query takes filters, sort and fields only, not %s", name)
		}
	}
	if err := parseSortFields(q, r); err != nil {
		return engine.Query{}, err
	}
	return r.query, nil
}

// parseFilters reads every parameter that is not reserved as a filter, and
// checks that no reserved parameter is given twice.
func parseFilters(c *engine.Collection, q url.Values) (*request, error) {
	r := &request{filterParams: map[string]string{}}
	// Sorted, so that of several bad parameters the same one is reported every time.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if reserved(name) {
			if len(vs) > 1 {
				return nil, engine.Invalidf(name, "given %d times; give it once", len(vs))
			}
			continue
		}
		field, op, err := filterName(c, name)
		if err != nil {
			return nil, err
		}
		if prev, ok := r.filterParams[field]; ok && prev != name {
			r.filterParams[field] = "" // ambiguous: errors keep the field name
		} else {
			r.filterParams[field] = name
		}
		for _, v := range vs {
			f := engine.Filter{Field: field, Op: op}
			switch op {
			case engine.OpIn, engine.OpAll, engine.OpAny, engine.OpNone:
				for _, s := range strings.Split(v, ",") {
					f.Values = append(f.Values, s)
				}
			default:
				f.Values = []engine.Value{v}
			}
			r.query.Filters = append(r.query.Filters, f)
		}
	}
	return r, nil
}

// parseSortFields reads the sort and fields parameters into r.
func parseSortFields(q url.Values, r *request) error {
	if q.Has(paramSort) {
		r.query.Sort = engine.ParseSort(q.Get(paramSort))
		if len(r.query.Sort) == 0 {
			return engine.Invalidf(paramSort, "is empty; name fields like sort=-created,id or leave it out")
		}
	}
	if q.Has(paramFields) {
		fields, err := parseFields(q)
		if err != nil {
			return err
		}
		r.query.Fields = fields
	}
	return nil
}

// parseFields parses the fields parameter "a,b", given once and naming at
// least one field.
func parseFields(q url.Values) ([]string, error) {
	vs := q[paramFields]
	if len(vs) > 1 {
		return nil, engine.Invalidf(paramFields, "given %d times; give it once", len(vs))
	}
	var fields []string
	for _, f := range strings.Split(q.Get(paramFields), ",") {
		if f = strings.TrimSpace(f); f != "" {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil, engine.Invalidf(paramFields, "is empty; name fields like fields=a,b or leave it out")
	}
	return fields, nil
}

// filterName splits a filter parameter "field" or "field[op]".
func filterName(c *engine.Collection, name string) (string, engine.Op, error) {
	field, op := name, engine.OpEq
	if i := strings.IndexByte(name, '['); i >= 0 {
		if !strings.HasSuffix(name, "]") {
			return "", "", engine.Invalidf(name, "unknown parameter %s: a filter is field=value or field[op]=value", httperr.Quote(name))
		}
		field, op = name[:i], engine.Op(name[i+1:len(name)-1])
	}
	f := c.Field(field)
	if f == nil {
		return "", "", engine.Invalidf(name, "unknown parameter %s: neither one of limit, sort, fields, cursor, offset, total nor a field of %s", httperr.Quote(field), c.Name)
	}
	if !f.Filterable {
		return "", "", engine.Invalidf(name, "field %s cannot be filtered on", httperr.Quote(field))
	}
	if !engine.ValidOp(op) {
		return "", "", engine.Invalidf(name, "unknown operator %s (one of %s)", httperr.Quote(string(op)), opList())
	}
	return field, op, nil
}

func opList() string {
	s := make([]string, len(engine.Ops))
	for i, o := range engine.Ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}
