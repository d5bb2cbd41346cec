package nomad

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"folio/engine"
	"folio/httperr"
)

// Parameter names, in the body's pagination object and in GET's query string.
const (
	paramPageSize   = "page_size"
	paramOrderBy    = "order_by"
	paramOrder      = "order"
	paramAfter      = "page_after_value"
	paramPage       = "page"
	paramPageOffset = "page_offset"
	paramOwner      = "owner"
	paramInclude    = "include"
	paramExclude    = "exclude"
	paramJSONQuery  = "json_query"
	paramQ          = "q"
)

// owners are NOMAD's owner values; only "public" needs no user.
var owners = []string{"public", "all", "visible", "shared", "user", "staging", "admin"}

const ownerPublic = "public"

// request is a NOMAD request parsed into the engine's terms, with what the
// response echoes.
type request struct {
	get bool // GET {path}: locations say "query", links are added

	owner     string
	queryEcho []byte // compact JSON of the query to echo; nil: none

	// pagination, as echoed
	size    int
	orderBy *field
	desc    bool
	after   *string // given and not null
	page    *int
	offset  *int

	include, exclude []string // as echoed; nil: not given
	hasInclude       bool
	hasExclude       bool

	query  engine.Query
	window engine.Window
}

// paramLoc is where a parameter sits: in the body's section for POST, in
// the query string for GET.
func (r *request) paramLoc(section, name string) []any {
	if r.get {
		return []any{"query", name}
	}
	if section == "" {
		return []any{"body", name}
	}
	return []any{"body", section, name}
}

// rawPagination holds the pagination values as sent: JSON values
// (json.Number for numbers) from a body, text from a query string; nil
// when absent or null.
type rawPagination struct {
	size, orderBy, order, after, page, offset any
}

// parseBody reads POST {path}/query's JSON body.
func (h *Handler) parseBody(r *http.Request) (*request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, detail: "the request body is too large"}
		}
		return nil, invalid([]any{"body"}, typeJSON, "the request body could not be read: "+err.Error())
	}
	if len(body) > maxBodyBytes {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", maxBodyBytes)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid([]any{"body"}, typeMissing, "field required")
	}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, invalid([]any{"body", int(se.Offset)}, typeJSON, se.Error())
		}
		return nil, invalid([]any{"body"}, typeJSON, "the body is not valid JSON")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, invalid([]any{"body"}, typeDict, "value is not a valid dict")
	}
	req := &request{owner: ownerPublic}

	if aerr := req.setOwner(top[paramOwner], nil); aerr != nil {
		return nil, aerr
	}
	if aerr := checkAggregations(top["aggregations"]); aerr != nil {
		return nil, aerr
	}
	var filters []engine.Filter
	if raw := top["query"]; !isNull(raw) {
		v, _ := decode(raw)
		fs, aerr := h.parseQuery(v)
		if aerr != nil {
			return nil, aerr
		}
		filters = fs
		var buf bytes.Buffer
		json.Compact(&buf, raw)
		req.queryEcho = buf.Bytes()
	}

	var rp rawPagination
	if raw := top["pagination"]; !isNull(raw) {
		v, _ := decode(raw)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid([]any{"body", "pagination"}, typeDict, "value is not a valid dict")
		}
		rp = rawPagination{m[paramPageSize], m[paramOrderBy], m[paramOrder], m[paramAfter], m[paramPage], m[paramPageOffset]}
	}
	if raw := top["required"]; !isNull(raw) {
		v, _ := decode(raw)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid([]any{"body", "required"}, typeDict, "value is not a valid dict")
		}
		for _, name := range []string{paramInclude, paramExclude} {
			x := m[name]
			if x == nil {
				continue
			}
			list, ok := x.([]any)
			if !ok {
				return nil, invalid([]any{"body", "required", name}, typeList, "value is not a valid list")
			}
			paths := make([]string, len(list))
			for i, p := range list {
				s, ok := p.(string)
				if !ok {
					return nil, invalid([]any{"body", "required", name, i}, typeStr, "str type expected")
				}
				paths[i] = s
			}
			if name == paramInclude {
				req.include, req.hasInclude = paths, true
			} else {
				req.exclude, req.hasExclude = paths, true
			}
		}
	}
	if err := h.finish(req, rp, filters); err != nil {
		return nil, err
	}
	return req, nil
}

// checkAggregations refuses aggregations, which folio does not compute:
// a request that asks for them must not be answered as if it had not.
// NOMAD takes a map of names to aggregations; null and an empty map ask
// for none.
func checkAggregations(raw json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	v, _ := decode(raw)
	m, ok := v.(map[string]any)
	if !ok {
		return invalid([]any{"body", "aggregations"}, typeDict, "value is not a valid dict")
	}
	if len(m) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(m))
	return invalid([]any{"body", "aggregations", names[0]}, typeValue,
		fmt.Sprintf("this server computes no aggregations (%d asked for); send the request without them, or with an empty aggregations object", len(names)))
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// decode decodes valid JSON keeping numbers as json.Number.
func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// setOwner reads owner, one of NOMAD's values (what each one selects, and
// who may use it, is scope's). raw is a JSON value, or nil with text for
// GET.
func (req *request) setOwner(raw json.RawMessage, text *string) *apiError {
	var s string
	switch {
	case text != nil:
		s = *text
	case isNull(raw):
		return nil
	default:
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid(req.paramLoc("", paramOwner), typeStr, "str type expected")
		}
	}
	if !slices.Contains(owners, s) {
		return invalid(req.paramLoc("", paramOwner), typeEnum, "value is not a valid enumeration member; permitted: 'public', 'all', 'visible', 'shared', 'user', 'staging', 'admin'")
	}
	req.owner = s
	return nil
}

// parseQueryString reads GET {path}'s parameters: the pagination ones,
// owner, include and exclude (repeatable), json_query (a query as JSON), q
// (quantity__value or quantity__op__value), and every other parameter as a
// quantity: name=value (repeat for several values) or name__op=value.
func (h *Handler) parseQueryString(raw string) (*request, error) {
	req := &request{get: true, owner: ownerPublic}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, invalid([]any{"query"}, typeValue, "the query string is malformed: "+err.Error())
	}
	// FastAPI reads the last of a repeated scalar parameter.
	last := func(name string) any {
		if vs := q[name]; len(vs) > 0 {
			return vs[len(vs)-1]
		}
		return nil
	}
	if s, ok := last(paramOwner).(string); ok {
		if aerr := req.setOwner(nil, &s); aerr != nil {
			return nil, aerr
		}
	}
	rp := rawPagination{last(paramPageSize), last(paramOrderBy), last(paramOrder), last(paramAfter), last(paramPage), last(paramPageOffset)}
	if vs, ok := q[paramInclude]; ok {
		req.include, req.hasInclude = vs, true
	}
	if vs, ok := q[paramExclude]; ok {
		req.exclude, req.hasExclude = vs, true
	}

	var filters []engine.Filter
	echo := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		switch name {
		case paramPageSize, paramOrderBy, paramOrder, paramAfter, paramPage, paramPageOffset, paramOwner, paramInclude, paramExclude:
			continue
		case paramJSONQuery:
			s := vs[len(vs)-1]
			if !json.Valid([]byte(s)) {
				return nil, invalid([]any{"query", paramJSONQuery}, typeJSON, "json_query is not valid JSON")
			}
			v, _ := decode([]byte(s))
			fs, aerr := h.parseQuery(v)
			if aerr != nil {
				return nil, aerr
			}
			filters = append(filters, fs...)
			echo[paramJSONQuery] = json.RawMessage(s)
			continue
		case paramQ:
			for _, s := range vs {
				parts := strings.SplitN(s, "__", 3)
				if len(parts) < 2 {
					return nil, invalid([]any{"query", paramQ}, typeValue, fmt.Sprintf("q=%s must be quantity__value or quantity__op__value", httperr.Quote(s)))
				}
				key, val := parts[0], parts[1]
				if len(parts) == 3 {
					key, val = parts[0]+":"+parts[1], parts[2]
				}
				fs, aerr := h.parseQuery(map[string]any{key: val})
				if aerr != nil {
					return nil, aerr
				}
				filters = append(filters, fs...)
				echo[key] = appendEcho(echo[key], val)
			}
			continue
		}
		key := name
		if i := strings.LastIndex(name, "__"); i >= 0 {
			key = name[:i] + ":" + name[i+2:]
		}
		var val any = vs[0]
		if len(vs) > 1 {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			val = list
		}
		if _, isRange := rangeOp(key[strings.LastIndexByte(key, ':')+1:]); isRange && len(vs) > 1 {
			return nil, invalid([]any{"query", name}, typeValue, fmt.Sprintf("%s takes one value, got %d", httperr.Echo(name), len(vs)))
		}
		fs, aerr := h.parseQuery(map[string]any{key: val})
		if aerr != nil {
			aerr.loc = []any{"query", name}
			return nil, aerr
		}
		filters = append(filters, fs...)
		echo[key] = val
	}
	if len(echo) > 0 {
		req.queryEcho, _ = json.Marshal(echo)
	}
	if err := h.finish(req, rp, filters); err != nil {
		return nil, err
	}
	return req, nil
}

func appendEcho(prev any, v string) any {
	switch x := prev.(type) {
	case nil:
		return v
	case string:
		return []any{x, v}
	case []any:
		return append(x, v)
	}
	return v
}

// finish validates pagination and projection and builds the engine's query
// and window.
func (h *Handler) finish(req *request, rp rawPagination, filters []engine.Filter) *apiError {
	loc := func(name string) []any { return req.paramLoc("pagination", name) }

	req.size = DefaultPageSize
	if rp.size != nil {
		n, ok := laxInt(rp.size)
		if !ok {
			return invalid(loc(paramPageSize), typeInt, "value is not a valid integer")
		}
		if n < 0 {
			return invalid(loc(paramPageSize), typeAssertion, "page_size must be >= 0")
		}
		req.size = n
	}
	if rp.order != nil {
		s, _ := laxString(rp.order)
		switch s {
		case "asc":
		case "desc":
			req.desc = true
		default:
			return invalid(loc(paramOrder), typeEnum, "value is not a valid enumeration member; permitted: 'asc', 'desc'")
		}
	}
	if rp.after != nil {
		s, ok := laxString(rp.after)
		if !ok {
			return invalid(loc(paramAfter), typeStr, "str type expected")
		}
		req.after = &s
	}
	if rp.page != nil {
		n, ok := laxInt(rp.page)
		if !ok {
			return invalid(loc(paramPage), typeInt, "value is not a valid integer")
		}
		if n < 1 {
			return invalid(loc(paramPage), typeAssertion, "Page has to be larger than 1.")
		}
		req.page = &n
	}
	if rp.offset != nil {
		n, ok := laxInt(rp.offset)
		if !ok {
			return invalid(loc(paramPageOffset), typeInt, "value is not a valid integer")
		}
		if n < 0 {
			return invalid(loc(paramPageOffset), typeAssertion, "Page offset has to be larger than or equal to 0.")
		}
		req.offset = &n
	}
	// NOMAD tests truthiness: page_offset 0 and an empty page_after_value
	// do not count as given.
	given := 0
	if req.page != nil {
		given++
	}
	if req.offset != nil && *req.offset != 0 {
		given++
	}
	if req.after != nil && *req.after != "" {
		given++
	}
	if given > 1 {
		return invalid(loc("__root__"), typeAssertion, "Can only specify one `page_offset`, `page`, or `page_after_value`.")
	}
	if given > 0 && req.size == 0 {
		return invalid(loc("__root__"), typeAssertion, "Cannot specify `page_offset`, `page`, or `page_after_value` when `page_size` is set to 0.")
	}
	if req.page != nil && (*req.page > h.window || *req.page*req.size > h.window) {
		return invalid(loc(paramPage), typeAssertion, fmt.Sprintf("Pagination by `page` is limited to %d entries.", h.window))
	}
	if req.offset != nil && *req.offset+req.size > h.window {
		return invalid(loc(paramPageOffset), typeAssertion, fmt.Sprintf("Page offset plus page size can reach only the first %d entries; use page_after_value to go deeper.", h.window))
	}

	req.orderBy = h.s.id
	if rp.orderBy != nil {
		name, ok := laxString(rp.orderBy)
		if !ok {
			return invalid(loc(paramOrderBy), typeStr, "str type expected")
		}
		fd := h.s.byName[name]
		switch {
		case fd == nil:
			return invalid([]any{"pagination", paramOrderBy}, typeValue, httperr.Echo(name)+" is not a doc quantity")
		case !fd.f.Type.Scalar():
			return invalid([]any{"pagination", paramOrderBy}, typeValue, "the order_by quantity must be a scalar")
		case !fd.f.Sortable:
			return invalid([]any{"pagination", paramOrderBy}, typeValue, httperr.Echo(name)+" cannot be sorted on")
		}
		req.orderBy = fd
	}
	if req.size > h.window {
		return badRequest(fmt.Sprintf("Result window is too large: page_size must be at most %d, got %d; page through more entries with page_after_value.", h.window, req.size))
	}

	// The engine's terms.
	id := h.s.id.f
	req.query.Sort = engine.Sort{{Field: id.Name, Desc: req.desc}}
	var orderField *engine.Field
	if req.orderBy != h.s.id {
		orderField = req.orderBy.f
		// Elasticsearch, behind NOMAD, puts an entry with no value last
		// in both directions.
		req.query.Sort = engine.Sort{{Field: orderField.Name, Desc: req.desc, Nulls: engine.NullsLast}, {Field: id.Name, Desc: req.desc}}
	}
	req.query.Filters = filters
	w := engine.Window{Limit: req.size}
	switch {
	case req.size == 0:
		// A count alone (Handler.page): no window.
	case req.after != nil && *req.after != "":
		vals, err := parseAfter(*req.after, orderField, id)
		if err != nil {
			return badRequest(err.(*engine.Error).Message)
		}
		w.At = engine.After(vals)
	case req.page != nil:
		w.At = engine.Offset((*req.page - 1) * req.size)
	case req.offset != nil:
		w.At = engine.Offset(*req.offset)
	}
	req.window = w
	return h.project(req)
}

// project turns required.include/exclude into the engine's field list and
// the echo: the order_by quantity and entry_id are always returned, so
// they are appended to include and taken out of exclude.
func (h *Handler) project(req *request) *apiError {
	if !req.hasInclude && !req.hasExclude {
		return nil
	}
	picked := map[*field]bool{}
	if req.hasInclude {
		for i, p := range req.include {
			fs, aerr := h.match(req, paramInclude, i, p)
			if aerr != nil {
				return aerr
			}
			for _, fd := range fs {
				picked[fd] = true
			}
		}
		for _, name := range []string{req.orderBy.name, h.s.id.name} {
			if !slices.Contains(req.include, name) {
				req.include = append(req.include, name)
			}
		}
	} else {
		for _, fd := range h.s.fields {
			picked[fd] = true
		}
	}
	if req.hasExclude {
		kept := make([]string, 0, len(req.exclude))
		for i, p := range req.exclude {
			fs, aerr := h.match(req, paramExclude, i, p)
			if aerr != nil {
				return aerr
			}
			for _, fd := range fs {
				delete(picked, fd)
			}
			if p != req.orderBy.name && p != h.s.id.name {
				kept = append(kept, p)
			}
		}
		req.exclude = kept
	}
	picked[req.orderBy] = true
	picked[h.s.id] = true
	for _, fd := range h.s.fields {
		if picked[fd] {
			req.query.Fields = append(req.query.Fields, fd.f.Name)
		}
	}
	return nil
}

// match returns the fields a required path names: the field itself, every
// field of a section, or, with '*' wildcards, every field whose name
// matches (a wildcard that matches nothing is not an error, as in NOMAD).
func (h *Handler) match(req *request, list string, i int, p string) ([]*field, *apiError) {
	var out []*field
	wild := strings.Contains(p, "*")
	for _, fd := range h.s.fields {
		if fd.name == p || strings.HasPrefix(fd.name, p+".") || wild && glob(p, fd.name) {
			out = append(out, fd)
		}
	}
	if len(out) == 0 && !wild {
		loc := []any{"required"}
		if req.get {
			loc = []any{"query", list}
		}
		return nil, invalid(loc, typeValue, httperr.Echo(p)+" is not a doc quantity")
	}
	return out, nil
}

// glob reports whether name matches pattern, where '*' stands for any run
// of characters.
func glob(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name || strings.HasPrefix(name, pattern+".")
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for i := star; i <= len(name); i++ {
		if glob(rest, name[i:]) {
			return true
		}
	}
	return false
}

// laxInt reads an integer as pydantic does: JSON numbers (fractions cut
// off), numeric text and booleans. Values far beyond any limit are
// clamped, so that later arithmetic cannot overflow.
func laxInt(v any) (int, bool) {
	const big = 1 << 40
	clamp := func(f float64) int { return int(math.Max(-big, math.Min(big, f))) }
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return clamp(float64(n)), true
		}
		f, err := x.Float64()
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(f) {
			return 0, false
		}
		return clamp(math.Trunc(f)), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				if strings.HasPrefix(strings.TrimSpace(x), "-") {
					return -big, true
				}
				return big, true
			}
			return 0, false
		}
		return clamp(float64(n)), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// laxString reads text as pydantic does: strings, and numbers as their text.
func laxString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	}
	return "", false
}

// Params lists the query parameters of GET, which are also the fields of
// POST's body (for a description of the API).
func Params() []string {
	return []string{paramOwner, paramPageSize, paramOrderBy, paramOrder, paramAfter, paramPage, paramPageOffset,
		paramInclude, paramExclude, paramJSONQuery, paramQ}
}
