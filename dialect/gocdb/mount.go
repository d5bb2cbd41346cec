package gocdb

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"folio/config"
	"folio/engine"
)

// Mount option names; the package documentation describes them.
const (
	optMethod     = "method"
	optElement    = "element"
	optAttributes = "attributes"
	optElements   = "elements"
	optFilters    = "filters"
	optPageSize   = "page_size"
	optNested     = "nested"
	optPeriod     = "period"
	optTopEntity  = "topentity"
	optScope      = "scope"
	optDefScope   = "default_scope"
	optDefMatch   = "default_scope_match"
)

// knownOptions lists every option, in the order errors name them.
var knownOptions = []string{optMethod, optElement, optAttributes, optElements, optFilters, optPageSize,
	optNested, optPeriod, optTopEntity, optScope, optDefScope, optDefMatch}

// DefaultPageSize is the page size of a mount that names none: GOCDB's.
const DefaultPageSize = 100

// formatted marks the names whose times GOCDB writes as text.
const formatted = "FORMATED_"

// The parameters every method accepts besides its filters. GOCDB takes
// scope and scope_match on every method, and its own next links carry
// "scope=" on every page.
const (
	paramMethod     = "method"
	paramNext       = "next_cursor"
	paramPrev       = "prev_cursor"
	paramScope      = "scope"
	paramScopeMatch = "scope_match"
)

// get_downtime's time parameters, accepted when the mount names the
// downtime's period (option period).
const (
	paramOngoing   = "ongoing_only"
	paramStartDate = "startdate"
	paramEndDate   = "enddate"
	paramWinStart  = "windowstart"
	paramWinEnd    = "windowend"
	paramLastMonth = "all_lastmonth"
)

// paramTopEntity is get_downtime's parameter that names a site, NGI or
// host, accepted when the mount names the fields it matches (option
// topentity).
const paramTopEntity = "topentity"

var periodParams = []string{paramOngoing, paramStartDate, paramEndDate, paramWinStart, paramWinEnd, paramLastMonth}

// method is one configured method: the collection it reads and how its rows
// are written.
type method struct {
	name     string
	c        *engine.Collection
	key      *engine.Field
	pageSize int
	fields   []string // collection fields the query projects
	open     []byte   // "  <DOWNTIME"
	close    []byte   // "  </DOWNTIME>\n"
	attrs    []column
	elems    []column
	filters  map[string]filterParam

	// start and end are the row's period (option period), nil when the
	// method takes no time parameters.
	start, end *engine.Field
	// topentity are the fields topentity matches, any of them.
	topentity []*engine.Field
	// scope is the JSON array of scope tags (option scope); nil: the
	// collection has none, and scope and scope_match filter nothing.
	scope *engine.Field
	// defaultScope is the scope a request without one gets; scopeAll tells
	// whether several scopes must all be present when the request does
	// not say (GOCDB's default_scope_match, "all" unless configured).
	defaultScope string
	scopeAll     bool
}

// column is one attribute or child element of a row.
type column struct {
	name  string
	field *engine.Field
	open  []byte // ` ID="` for an attribute, "    <PRIMARY_KEY>" for an element
	close []byte // `"` or "</PRIMARY_KEY>\n"
	text  bool   // times as "2006-01-02 15:04"
	// item, for an element whose JSON value is written as XML (option
	// nested), names the element of each array item; empty otherwise.
	item string
}

// filterParam is one filter parameter of a method.
type filterParam struct {
	field *engine.Field
	op    engine.Op
	list  bool // comma-separated values
}

var filterOps = map[string]engine.Op{
	"eq": engine.OpEq, "list": engine.OpIn, "gt": engine.OpGt, "gte": engine.OpGte,
	"lt": engine.OpLt, "lte": engine.OpLte, "prefix": engine.OpPrefix, "contains": engine.OpContains,
}

// newMethod checks one mount against the engine's collections.
func newMethod(e *engine.Engine, m config.Mount) (*method, error) {
	for k := range m.Options {
		if !slices.Contains(knownOptions, k) {
			return nil, fmt.Errorf("unknown option %q (known: %s)", k, strings.Join(knownOptions, ", "))
		}
	}
	name := m.Options[optMethod]
	if name == "" || !validName(name) {
		return nil, fmt.Errorf("option %s must name the method (letters, digits, '_'), got %q", optMethod, name)
	}
	c, err := e.Collection(m.Collection)
	if err != nil {
		return nil, fmt.Errorf("collection %q does not exist", m.Collection)
	}
	key := c.KeyField()
	if key == nil || key.Type != engine.TypeInt {
		return nil, fmt.Errorf("collection %q needs an integer key of one field: GOCDB's cursors are row ids", c.Name)
	}
	md := &method{name: name, c: c, key: key, pageSize: DefaultPageSize, filters: map[string]filterParam{}, scopeAll: true}
	if s, ok := m.Options[optPageSize]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > c.MaxLimit {
			return nil, fmt.Errorf("option %s must be a whole number from 1 to %d (the collection's max_limit), got %q", optPageSize, c.MaxLimit, s)
		}
		md.pageSize = n
	}

	names := map[string]*engine.Field{} // every name the mount may use
	for from, to := range m.Fields {
		f := c.Field(to)
		if f == nil {
			return nil, fmt.Errorf("field map %q: collection %q has no visible field %q", from, c.Name, to)
		}
		if !validName(from) {
			return nil, fmt.Errorf("field map %q: not an XML element name", from)
		}
		names[from] = f
	}
	lookup := func(n string) (*engine.Field, error) {
		if f, ok := names[n]; ok {
			return f, nil
		}
		for _, f := range c.Visible() {
			if strings.EqualFold(f.Name, n) {
				return f, nil
			}
		}
		return nil, fmt.Errorf("no field map entry and no field of %q named %q", c.Name, n)
	}
	// wireNames are the names of a field: its map keys, else its name upper-cased.
	wireNames := func(f *engine.Field) []string {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(names)) {
			if names[k] == f {
				out = append(out, k)
			}
		}
		if out == nil && validName(strings.ToUpper(f.Name)) {
			out = []string{strings.ToUpper(f.Name)}
		}
		return out
	}

	element := m.Options[optElement]
	if element == "" {
		element = strings.ToUpper(strings.TrimPrefix(name, "get_"))
	}
	if !validName(element) {
		return nil, fmt.Errorf("option %s: %q is not an XML element name", optElement, element)
	}
	md.open = []byte("  <" + element)
	md.close = []byte("  </" + element + ">\n")

	attrs := list(m.Options[optAttributes])
	if _, ok := m.Options[optAttributes]; !ok {
		attrs = wireNames(key)
		if len(attrs) == 0 {
			return nil, fmt.Errorf("option %s: the key %q has no XML name; name the attributes", optAttributes, key.Name)
		}
		attrs = attrs[:1]
	}
	isAttr := map[string]bool{}
	for _, a := range attrs {
		if !validName(a) || isAttr[a] {
			return nil, fmt.Errorf("option %s: %q is not an XML name or appears twice", optAttributes, a)
		}
		f, err := lookup(a)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", optAttributes, err)
		}
		isAttr[a] = true
		md.attrs = append(md.attrs, column{name: a, field: f, open: []byte(" " + a + `="`), close: []byte(`"`), text: strings.HasPrefix(a, formatted)})
	}

	elems := list(m.Options[optElements])
	if _, ok := m.Options[optElements]; !ok {
		elems = nil
		for _, f := range c.Visible() {
			for _, n := range wireNames(f) {
				if !isAttr[n] {
					elems = append(elems, n)
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range elems {
		if !validName(n) || seen[n] {
			return nil, fmt.Errorf("option %s: %q is not an XML name or appears twice", optElements, n)
		}
		seen[n] = true
		f, err := lookup(n)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", optElements, err)
		}
		md.elems = append(md.elems, column{name: n, field: f, open: []byte("    <" + n + ">"), close: []byte("</" + n + ">\n"), text: strings.HasPrefix(n, formatted)})
	}

	if err := md.nested(m.Options[optNested]); err != nil {
		return nil, fmt.Errorf("option %s: %w", optNested, err)
	}
	if err := md.downtimeOptions(m.Options, lookup); err != nil {
		return nil, err
	}

	projected := map[*engine.Field]bool{}
	for _, col := range slices.Concat(md.attrs, md.elems) {
		if !projected[col.field] {
			projected[col.field] = true
			md.fields = append(md.fields, col.field.Name)
		}
	}
	if len(md.fields) == 0 {
		md.fields = []string{key.Name}
	}

	if spec, ok := m.Options[optFilters]; ok {
		for _, item := range list(spec) {
			param, target, ok := strings.Cut(item, "=")
			if !ok {
				return nil, fmt.Errorf("option %s: %q is not param=NAME[:op]", optFilters, item)
			}
			opName := "eq"
			if n, o, ok := strings.Cut(target, ":"); ok {
				target, opName = n, o
			}
			op, ok := filterOps[opName]
			if !ok {
				return nil, fmt.Errorf("option %s: %q: unknown operator %q (eq, list, gt, gte, lt, lte, prefix, contains)", optFilters, item, opName)
			}
			f, err := lookup(target)
			if err != nil {
				return nil, fmt.Errorf("option %s: %q: %w", optFilters, item, err)
			}
			if err := md.addFilter(param, f, op); err != nil {
				return nil, fmt.Errorf("option %s: %q: %w", optFilters, item, err)
			}
		}
	} else {
		for _, col := range slices.Concat(md.attrs, md.elems) {
			p := strings.ToLower(col.name)
			if _, dup := md.filters[p]; dup || md.reserved(p) || col.text || col.field.Type == engine.TypeJSON || !col.field.Filterable {
				continue
			}
			if err := md.addFilter(p, col.field, engine.OpEq); err != nil {
				return nil, err
			}
		}
	}
	return md, nil
}

func (md *method) addFilter(param string, f *engine.Field, op engine.Op) error {
	switch {
	case param == "" || strings.ContainsAny(param, "&=#+% "):
		return fmt.Errorf("parameter name %q cannot be sent in a query string", param)
	case md.reserved(param):
		return fmt.Errorf("parameter %q is reserved", param)
	case md.filters[param].field != nil:
		return fmt.Errorf("parameter %q is defined twice", param)
	case !f.Filterable || f.Type == engine.TypeJSON:
		return fmt.Errorf("field %q cannot be filtered on", f.Name)
	case (op == engine.OpPrefix || op == engine.OpContains) && f.Type != engine.TypeText:
		return fmt.Errorf("operator %s needs a text field, and %q is %v", op, f.Name, f.Type)
	}
	md.filters[param] = filterParam{field: f, op: op, list: op == engine.OpIn}
	return nil
}

// reserved reports whether param is one the method reads itself, which a
// filter may not take: the cursors, scope, and the time and topentity
// parameters when the mount enables them.
func (md *method) reserved(param string) bool {
	switch {
	case param == paramMethod || param == paramNext || param == paramPrev || param == paramScope || param == paramScopeMatch:
		return true
	case param == paramTopEntity:
		return md.topentity != nil
	}
	return md.start != nil && slices.Contains(periodParams, param)
}

// nested reads option nested, "NAME=ITEM,…": the child elements whose JSON
// value is written as XML, each array item as an ITEM element.
func (md *method) nested(spec string) error {
	for _, item := range list(spec) {
		name, elem, ok := strings.Cut(item, "=")
		if !ok || !validName(elem) {
			return fmt.Errorf("%q is not NAME=ITEM (ITEM an XML name)", item)
		}
		i := slices.IndexFunc(md.elems, func(c column) bool { return c.name == name })
		switch {
		case i < 0:
			return fmt.Errorf("%q: %q is not one of the elements", item, name)
		case md.elems[i].field.Type != engine.TypeJSON:
			return fmt.Errorf("%q: field %q is %v, not JSON", item, md.elems[i].field.Name, md.elems[i].field.Type)
		case md.elems[i].item != "":
			return fmt.Errorf("%q: %s is named twice", item, name)
		}
		md.elems[i].item = elem
	}
	return nil
}

// downtimeOptions reads the options of get_downtime's own parameters:
// period (START,END: the time parameters), topentity (the fields it
// matches), scope (a JSON array of scope tags), default_scope and
// default_scope_match. They come before the filters, which may not take
// the parameters they enable.
func (md *method) downtimeOptions(opts map[string]string, lookup func(string) (*engine.Field, error)) error {
	if spec, ok := opts[optPeriod]; ok {
		names := list(spec)
		if len(names) != 2 {
			return fmt.Errorf("option %s must name the start and the end, e.g. START_DATE,END_DATE; got %q", optPeriod, spec)
		}
		var fs [2]*engine.Field
		for i, n := range names {
			f, err := lookup(n)
			if err != nil {
				return fmt.Errorf("option %s: %w", optPeriod, err)
			}
			if f.Type != engine.TypeTime || !f.Filterable {
				return fmt.Errorf("option %s: field %q is not a filterable time", optPeriod, f.Name)
			}
			fs[i] = f
		}
		md.start, md.end = fs[0], fs[1]
	}
	if spec, ok := opts[optTopEntity]; ok {
		for _, n := range list(spec) {
			f, err := lookup(n)
			if err != nil {
				return fmt.Errorf("option %s: %w", optTopEntity, err)
			}
			if f.Type != engine.TypeText || !f.Filterable {
				return fmt.Errorf("option %s: field %q is not filterable text", optTopEntity, f.Name)
			}
			md.topentity = append(md.topentity, f)
		}
		if md.topentity == nil {
			return fmt.Errorf("option %s names no field", optTopEntity)
		}
	}
	if n, ok := opts[optScope]; ok {
		f, err := lookup(n)
		if err != nil {
			return fmt.Errorf("option %s: %w", optScope, err)
		}
		if f.Type != engine.TypeJSON || !f.Filterable {
			return fmt.Errorf("option %s: field %q is not a filterable JSON array", optScope, f.Name)
		}
		md.scope = f
	}
	if s, ok := opts[optDefScope]; ok {
		if md.scope == nil {
			return fmt.Errorf("option %s needs option %s, the field of scope tags", optDefScope, optScope)
		}
		md.defaultScope = s
	}
	switch opts[optDefMatch] {
	case "", "all":
	case "any":
		md.scopeAll = false
	default:
		return fmt.Errorf("option %s must be all or any, got %q", optDefMatch, opts[optDefMatch])
	}
	return nil
}

// list splits a comma-separated option, dropping blanks.
func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validName reports whether s is a plain XML name (ASCII letters, digits,
// '_', '-', '.'; not starting with a digit, '-' or '.').
func validName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Params lists the query parameters the method of mount m takes, from the
// same checked mount the handler serves (for a description of the API).
func Params(e *engine.Engine, m config.Mount) ([]string, error) {
	md, err := newMethod(e, m)
	if err != nil {
		return nil, fmt.Errorf("gocdb: mount %s: %w", m.Path, err)
	}
	out := []string{paramMethod, paramNext, paramPrev}
	if md.scope != nil {
		out = append(out, paramScope, paramScopeMatch)
	}
	if md.start != nil {
		out = append(out, periodParams...)
	}
	if len(md.topentity) > 0 {
		out = append(out, paramTopEntity)
	}
	return append(out, slices.Sorted(maps.Keys(md.filters))...), nil
}
