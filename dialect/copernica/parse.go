package copernica

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"folio/engine"
	"folio/httperr"
)

// Parameter names, as Copernica spells them (case-sensitive: LIMIT is not
// limit, and is ignored like any parameter Copernica does not know).
const (
	paramStart    = "start"
	paramLimit    = "limit"
	paramTotal    = "total"
	paramOrderBy  = "orderby"
	paramOrder    = "order"
	paramFields   = "fields[]"
	paramDataOnly = "dataonly"
)

// maxWhole bounds start and limit so that start+limit cannot overflow.
const maxWhole = 1 << 50

// request is a profiles request parsed into the engine's terms.
type request struct {
	query    engine.Query
	start    int
	limit    int // effective: after the cap
	total    bool
	dataOnly bool
	// byID: sorted by the key alone, so nextid applies.
	byID bool
}

// parse turns the path's database id and the query string into a request.
// Like PHP (which Copernica runs on), a repeated parameter keeps its last
// value, and fields conditions may come as fields[]=…, fields[0]=… (what
// PHP's http_build_query writes) or fields=….
func (h *Handler) parse(id, rawQuery string) (*request, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, engine.Invalidf("", "the query string is malformed: %v", err)
	}
	r := &request{limit: DefaultLimit, total: true}
	dbValue, err := engine.ParseValue(h.database.Type, id)
	if err != nil {
		return nil, engine.NotFoundf("No database with supplied ID")
	}
	r.query.Filters = append(r.query.Filters, engine.Filter{Field: h.database.Name, Op: engine.OpEq, Values: []engine.Value{dbValue}})

	last := func(name string) (string, bool) {
		vs := q[name]
		if len(vs) == 0 {
			return "", false
		}
		return vs[len(vs)-1], true
	}
	if s, ok := last(paramStart); ok && s != "" {
		if r.start, err = whole(paramStart, s); err != nil {
			return nil, err
		}
	}
	if s, ok := last(paramLimit); ok && s != "" {
		if r.limit, err = whole(paramLimit, s); err != nil {
			return nil, err
		}
	}
	if h.maxLimit > 0 {
		// Copernica caps silently; the envelope echoes the effective limit.
		r.limit = min(r.limit, h.maxLimit)
	}
	if s, ok := last(paramTotal); ok {
		r.total = truthy(s)
	}
	if s, ok := last(paramDataOnly); ok {
		r.dataOnly = truthy(s)
	}

	desc := false
	if s, ok := last(paramOrder); ok {
		switch strings.ToLower(s) {
		case "", "asc":
		case "desc":
			desc = true
		default:
			return nil, engine.Invalidf(paramOrder, "must be asc or desc, got %s", httperr.Quote(s))
		}
	}
	sortBy := h.key
	if s, ok := last(paramOrderBy); ok && s != "" && !strings.EqualFold(s, "id") {
		if strings.EqualFold(s, "random") {
			return nil, engine.Invalidf(paramOrderBy, "random is not supported: folio pages through a stable order; use id, modified or a field name")
		}
		if sortBy = h.field(s); sortBy == nil {
			return nil, engine.Invalidf(paramOrderBy, "unknown field %s", httperr.Quote(s))
		}
		if !sortBy.Sortable || !sortBy.Type.Scalar() {
			return nil, engine.Invalidf(paramOrderBy, "field %s cannot be sorted on", httperr.Quote(s))
		}
	}
	r.query.Sort = engine.Sort{{Field: sortBy.Name, Desc: desc}}
	r.byID = sortBy == h.key

	// Sorted names, so that of several bad conditions the same one is
	// reported every time.
	var names []string
	for name := range q {
		if name == "fields" || strings.HasPrefix(name, "fields[") && strings.HasSuffix(name, "]") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, cond := range q[name] {
			f, ok, err := h.condition(cond)
			if err != nil {
				return nil, err
			}
			if ok {
				r.query.Filters = append(r.query.Filters, f)
			}
		}
	}
	return r, nil
}

// whole parses a start or limit: folio answers a non-numeric or negative
// value with a 400 where Copernica silently returns an empty page.
func whole(param, s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, engine.Invalidf(param, "must be a whole number of 0 or more, got %s", httperr.Quote(s))
	}
	if n > maxWhole {
		return 0, engine.Invalidf(param, "must be at most %d, got %s", int64(maxWhole), httperr.Echo(s))
	}
	return int(n), nil
}

// truthy is Copernica's reading of a boolean parameter: yes or true (in any
// case) or a number of magnitude 1 or more; anything else is false.
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes":
		return true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && math.Abs(f) >= 1
}

// field resolves a Copernica field name: id (any case) is the profile ID,
// code the secret and modified the modification time, as in Copernica's
// fields parameter; then the mount's fields map, then the collection's own
// field names.
func (h *Handler) field(name string) *engine.Field {
	switch {
	case strings.EqualFold(name, "id"):
		return h.key
	case strings.EqualFold(name, "code") && h.secret != nil:
		return h.secret
	case strings.EqualFold(name, propModified) && h.modified != nil:
		return h.modified
	}
	if t, ok := h.names[name]; ok {
		return h.c.Field(t)
	}
	return h.c.Field(name)
}

// operators in the order they are tried at the operator's position, so
// that two-character operators win over their one-character prefixes.
var operators = []struct {
	text string
	op   engine.Op
}{
	{"==", engine.OpEq}, {"!=", engine.OpNe}, {"<>", engine.OpNe}, {"<=", engine.OpLte}, {">=", engine.OpGte},
	{"=~", opLike}, {"!~", opNotLike}, {"<", engine.OpLt}, {">", engine.OpGt},
}

// Pseudo-operators for LIKE and NOT LIKE, mapped onto the engine's by
// like.
const (
	opLike    engine.Op = "like"
	opNotLike engine.Op = "notlike"
)

// condition parses one fields[] condition, "name operator value". A
// condition on a field the profiles do not have is ignored (ok false), as
// Copernica documents; one that is not a condition at all, or that folio
// could answer only wrongly, is an error.
func (h *Handler) condition(cond string) (f engine.Filter, ok bool, err error) {
	i := strings.IndexAny(cond, "=!<>~")
	name := ""
	if i > 0 {
		name = strings.TrimSpace(cond[:i])
	}
	var op engine.Op
	var value string
	if name != "" {
		for _, o := range operators {
			if strings.HasPrefix(cond[i:], o.text) {
				op, value = o.op, cond[i+len(o.text):]
				break
			}
		}
	}
	if op == "" {
		return f, false, engine.Invalidf(paramFields, "%s is not a condition: write field, operator, value, e.g. ID>500 or city==Amsterdam (operators ==, !=, <>, <, >, <=, >=, =~, !~)", httperr.Quote(cond))
	}
	fd := h.field(name)
	switch {
	case fd == nil:
		return f, false, nil
	case !fd.Filterable || !fd.Type.Scalar():
		return f, false, engine.Invalidf(paramFields, "%s: field %s cannot be filtered on", httperr.Quote(cond), httperr.Quote(name))
	}
	if op == opLike || op == opNotLike {
		like, err := likeFilter(fd, cond, value)
		if err != nil {
			return f, false, err
		}
		if op == opNotLike {
			return engine.Filter{Op: engine.OpNot, Sub: [][]engine.Filter{{like}}}, true, nil
		}
		return like, true, nil
	}
	v, err := engine.ParseValue(fd.Type, value)
	if err != nil {
		return f, false, engine.Invalidf(paramFields, "%s: %v", httperr.Quote(cond), err)
	}
	return engine.Filter{Field: fd.Name, Op: op, Values: []engine.Value{v}}, true, nil
}

// likeFilter maps the LIKE patterns the engine can answer exactly: abc
// (equal), abc% (starts with) and %abc% (contains). Others — _, a % inside
// or only in front, escapes — are a 400 rather than a silently different
// match.
func likeFilter(f *engine.Field, cond, pattern string) (engine.Filter, error) {
	if f.Type != engine.TypeText {
		return engine.Filter{}, engine.Invalidf(paramFields, "%s: =~ and !~ apply only to text fields; %q is %v", httperr.Quote(cond), f.Name, f.Type)
	}
	unsupported := func() (engine.Filter, error) {
		return engine.Filter{}, engine.Invalidf(paramFields, "%s: pattern %s is not supported: =~ and !~ take abc (equal), abc%% (starts with) or %%abc%% (contains); _, escapes and other placements of %% are not", httperr.Quote(cond), httperr.Quote(pattern))
	}
	if strings.ContainsAny(pattern, `_\`) {
		return unsupported()
	}
	inner := pattern
	op := engine.OpEq
	switch {
	case len(pattern) >= 2 && pattern[0] == '%' && pattern[len(pattern)-1] == '%':
		op, inner = engine.OpContains, pattern[1:len(pattern)-1]
	case strings.HasSuffix(pattern, "%"):
		op, inner = engine.OpPrefix, pattern[:len(pattern)-1]
	}
	if strings.Contains(inner, "%") {
		return unsupported()
	}
	return engine.Filter{Field: f.Name, Op: op, Values: []engine.Value{inner}}, nil
}

// Params lists the parameters of a profiles request besides its field
// conditions (for a description of the API).
func Params() []string {
	return []string{paramStart, paramLimit, paramTotal, paramOrderBy, paramOrder, paramFields, paramDataOnly}
}
