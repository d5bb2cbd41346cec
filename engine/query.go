package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Op is a filter operator.
type Op string

const (
	OpEq     Op = "eq"
	OpNe     Op = "ne"
	OpLt     Op = "lt"
	OpLte    Op = "lte"
	OpGt     Op = "gt"
	OpGte    Op = "gte"
	OpIn     Op = "in"     // any of Values
	OpPrefix Op = "prefix" // text starts with Values[0]
	OpNull   Op = "null"   // Values[0] is true: IS NULL; false: IS NOT NULL
	OpAll    Op = "all"    // JSON array holds every one of Values; a NULL array matches no all/any filter
	OpAny    Op = "any"    // JSON array holds at least one of Values
	OpNone   Op = "none"   // JSON array holds none of Values; a NULL array holds none
	// OpContains: text holds Values[0] as a substring (byte-exact, case-sensitive).
	OpContains Op = "contains"
	// OpMatch: full-text search on a FullText field: the text holds every
	// word (run of non-space) of Values[0], words compared as the source's
	// full-text index splits and folds them (SQLite FTS5's default: case
	// and diacritics ignored); a word ending in * matches the words it
	// begins.
	OpMatch Op = "match"
)

// Combinators join filters into a tree. They are not field operators: a
// Filter with one of them has no Field and no Values, only Sub.
const (
	OpOr  Op = "or"  // at least one of the Sub groups matches (each group a conjunction)
	OpNot Op = "not" // the single Sub group (a conjunction) does not match; NULL comparisons count as not matching
)

// Ops lists every operator, in the order documentation shows them.
var Ops = []Op{OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpIn, OpPrefix, OpContains, OpMatch, OpNull, OpAll, OpAny, OpNone}

// OpsFor lists the operators a filter on a field of type t may use, in the
// order of Ops. It is the one table of which operator applies to which type:
// the engine accepts exactly these (checkFilter) and listings advertise them.
func OpsFor(t Type) []Op {
	var out []Op
	for _, op := range Ops {
		if opApplies(op, t) {
			out = append(out, op)
		}
	}
	return out
}

// Ops lists the operators that may filter f: those of its type
// (OpsFor), and match on a full-text field.
func (f *Field) Ops() []Op {
	ops := OpsFor(f.Type)
	if f.FullText && f.Type == TypeText {
		ops = append(ops, OpMatch)
	}
	return ops
}

// opApplies reports whether op may filter a field of type t (OpsFor).
// match is a property of a field's index, not of its type (Field.Ops).
func opApplies(op Op, t Type) bool {
	switch op {
	case OpMatch:
		return false
	case OpNull:
		return true
	case OpAll, OpAny, OpNone:
		return t == TypeJSON
	case OpPrefix, OpContains:
		return t == TypeText
	}
	// Comparisons and in: every scalar type has an order and an equality.
	return t != TypeJSON
}

// ValidOp reports whether op exists.
func ValidOp(op Op) bool {
	for _, o := range Ops {
		if o == op {
			return true
		}
	}
	return false
}

// Filter is one condition; a Query's filters are a conjunction.
// Comparisons (eq, ne, lt, …, in, prefix) never match NULL, as in SQL;
// use OpNull to select NULLs.
type Filter struct {
	Field  string
	Op     Op
	Values []Value
	Sub    [][]Filter // OpOr and OpNot only
}

func (f Filter) String() string { return formatFilter(f.Field, f.Op, f.Values, f.Sub) }

// formatFilter writes a filter or a resolved one as field[op]=v,w, or
// op((a and b), (c)) for a combinator.
func formatFilter[T fmt.Stringer](field string, op Op, values []Value, sub [][]T) string {
	if op == OpOr || op == OpNot {
		groups := make([]string, len(sub))
		for i, g := range sub {
			parts := make([]string, len(g))
			for j, h := range g {
				parts[j] = h.String()
			}
			groups[i] = "(" + strings.Join(parts, " and ") + ")"
		}
		return string(op) + "(" + strings.Join(groups, ", ") + ")"
	}
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = FormatValue(v)
	}
	return fmt.Sprintf("%s[%s]=%s", field, op, strings.Join(vs, ","))
}

// Nulls says where a sort key puts the rows whose value is NULL.
type Nulls uint8

const (
	// NullsDefault is the engine's rule: NULL sorts above every value,
	// last in ascending order and first in descending order (PostgreSQL's
	// default).
	NullsDefault Nulls = iota
	// NullsFirst puts NULLs before every value, whichever the direction.
	NullsFirst
	// NullsLast puts NULLs after every value, whichever the direction (as
	// Elasticsearch places a missing value).
	NullsLast
)

// SortKey is one term of a sort.
type SortKey struct {
	Field string
	Desc  bool
	Nulls Nulls
}

// Sort is an ordered list of sort keys.
type Sort []SortKey

// Suffixes of a sort term that place its NULLs ("-band_gap.nullslast").
const (
	suffixNullsFirst = ".nullsfirst"
	suffixNullsLast  = ".nullslast"
)

// ParseSort parses "-a,b.nullsfirst" (a minus sign means descending; a
// suffix .nullsfirst or .nullslast places the term's NULLs, which
// otherwise sort above every value).
func ParseSort(s string) Sort {
	var out Sort
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var k SortKey
		switch {
		case strings.HasSuffix(part, suffixNullsFirst):
			part, k.Nulls = strings.TrimSuffix(part, suffixNullsFirst), NullsFirst
		case strings.HasSuffix(part, suffixNullsLast):
			part, k.Nulls = strings.TrimSuffix(part, suffixNullsLast), NullsLast
		}
		k.Field = part
		if strings.HasPrefix(part, "-") {
			k.Field, k.Desc = part[1:], true
		} else if strings.HasPrefix(part, "+") {
			k.Field = part[1:]
		}
		out = append(out, k)
	}
	return out
}

func (s Sort) String() string {
	parts := make([]string, len(s))
	for i, k := range s {
		if k.Desc {
			parts[i] = "-" + k.Field
		} else {
			parts[i] = k.Field
		}
		switch k.Nulls {
		case NullsFirst:
			parts[i] += suffixNullsFirst
		case NullsLast:
			parts[i] += suffixNullsLast
		}
	}
	return strings.Join(parts, ",")
}

// nullsLow reports whether the key's NULLs sort below every value (first
// ascending, last descending) rather than above.
func (k SortKey) nullsLow() bool {
	switch k.Nulls {
	case NullsFirst:
		return !k.Desc
	case NullsLast:
		return k.Desc
	}
	return false
}

// Query is what a caller asks for: which rows, in which order, which fields.
type Query struct {
	Filters []Filter
	Sort    Sort     // empty: the collection's default sort
	Fields  []string // empty: every visible field
}

// resolved is a Query checked against its Collection.
type resolved struct {
	c       *Collection
	filters []Cond     // scope, the row rule bound to the principal, then query filters, resolved
	ruled   bool       // a row rule restricts the principal's rows
	order   []OrderKey // sort with the key appended; empty key: offset only
	out     []*Field   // projected fields, in output order
	columns []*Field   // out plus the sort fields the cursor needs
	masked  []int      // indexes into columns of fields hidden from the principal: read as null
	fp      [8]byte    // fingerprint of collection, filters, sort and the bound rule
}

// OrderKey is a resolved sort term.
type OrderKey struct {
	Field *Field
	Desc  bool
	// NullsLow puts the field's NULLs below every value (first ascending,
	// last descending); the zero value puts them above, the engine's rule.
	// Only a nullable field has it set, so that a NOT NULL field's order,
	// and so its cursors, never depend on a placement that cannot matter.
	NullsLow bool
}

// NullsLast reports whether NULLs come after every value in this key's
// order, as read.
func (o OrderKey) NullsLast() bool { return o.Desc == o.NullsLow }

// Compare orders two values of the key's field as the key reads them:
// its direction, and its NULLs where it places them.
func (o OrderKey) Compare(a, b Value) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil || b == nil:
		c := 1 // a is NULL
		if b == nil {
			c = -1
		}
		if !o.NullsLast() {
			c = -c
		}
		return c
	}
	c := Compare(a, b)
	if o.Desc {
		return -c
	}
	return c
}

// resolve validates q against c. Every error names the parameter at fault
// using the native API's names (filter errors name the field).
//
// p is who asks: a collection p may not read is not found, the fields
// hidden from p are unknown to its filters and sorts, and the row rule
// bound to p joins the filters, so that every page, record, count and
// stream resolved here obeys c's Access.
func resolve(c *Collection, q Query, p Principal) (*resolved, error) {
	a, err := bindAccess(c, p)
	if err != nil {
		return nil, err
	}
	r := &resolved{c: c, ruled: a.ruled}
	if err := checkSize(append(c.Scope[:len(c.Scope):len(c.Scope)], q.Filters...)); err != nil {
		return nil, err
	}
	scope, err := Conds(c, c.Scope)
	if err != nil {
		return nil, err
	}
	r.filters = append(r.filters, scope...)
	r.filters = append(r.filters, a.rule...)
	lookup := func(name string) (*Field, error) {
		fd := a.field(c, name)
		if fd == nil {
			return nil, invalidFilter(name, "unknown field %q", name)
		}
		if !fd.Filterable {
			return nil, invalidFilter(name, "field %q is not filterable", name)
		}
		return fd, nil
	}
	for _, f := range q.Filters {
		tf, err := checkFilter(lookup, f)
		if err != nil {
			return nil, err
		}
		r.filters = append(r.filters, tf)
	}

	sort := q.Sort
	if len(sort) == 0 {
		sort = c.DefaultSort
	}
	seen := map[string]bool{}
	keys := c.KeyFields()
	missing := len(keys) // key fields the order has yet to name
	for _, k := range sort {
		f := a.field(c, k.Field)
		if f == nil {
			return nil, invalid(ParamSort, "unknown field %q", k.Field)
		}
		if !f.Sortable || !f.Type.Scalar() {
			return nil, invalid(ParamSort, "field %q is not sortable", k.Field)
		}
		if seen[f.Name] {
			return nil, invalid(ParamSort, "field %q appears twice", k.Field)
		}
		seen[f.Name] = true
		r.order = append(r.order, OrderKey{Field: f, Desc: k.Desc, NullsLow: k.nullsLow() && f.Nullable})
		if slices.Contains(keys, f) {
			if missing--; missing == 0 {
				break // the key is unique: later terms could never matter
			}
		}
	}
	// The tie-breakers take the direction of the last term so that an index
	// on (a, key) serves "-a" when scanned backwards.
	desc := len(r.order) > 0 && r.order[len(r.order)-1].Desc
	for _, kf := range keys {
		if !seen[kf.Name] {
			r.order = append(r.order, OrderKey{Field: kf, Desc: desc})
		}
	}

	if len(q.Fields) == 0 {
		for _, f := range c.Fields {
			if c.seen(f, p) {
				r.out = append(r.out, f)
			}
		}
	} else {
		picked := map[string]bool{}
		for _, kf := range keys {
			r.out = append(r.out, kf)
			picked[kf.Name] = true
		}
		for _, name := range q.Fields {
			f := c.Field(name)
			if f == nil {
				return nil, invalid(ParamFields, "unknown field %q", name)
			}
			if !picked[f.Name] {
				picked[f.Name] = true
				r.out = append(r.out, f)
			}
		}
	}
	r.columns = append(r.columns, r.out...)
	for _, o := range r.order {
		if !containsField(r.columns, o.Field) {
			r.columns = append(r.columns, o.Field)
		}
	}
	// A field hidden from p is not projected, but stays a column that
	// reads as null, so that a dialect whose fixed schema names it (and
	// looks it up among the columns) renders null, not a value.
	if len(q.Fields) == 0 {
		for _, f := range c.Visible() {
			if !c.seen(f, p) && !containsField(r.columns, f) {
				r.columns = append(r.columns, f)
			}
		}
	}
	for i, f := range r.columns {
		if !c.seen(f, p) {
			r.masked = append(r.masked, i)
		}
	}
	r.fp = fingerprint(c.Name, r.filters, r.order, a.rule)
	return r, nil
}

func containsField(fs []*Field, f *Field) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// Cond is a filter resolved against its collection: the field itself,
// values of the field's type (a bool for OpNull), or/not groups resolved
// alike. A Plan carries only Conds, so a source neither looks a field up
// by name nor parses a value.
type Cond struct {
	Field  *Field // nil for OpOr and OpNot
	Op     Op
	Values []Value
	Sub    [][]Cond // OpOr and OpNot only
}

func (c Cond) String() string {
	var name string
	if c.Field != nil {
		name = c.Field.Name
	}
	return formatFilter(name, c.Op, c.Values, c.Sub)
}

// Conds resolves filters against c as its Scope is resolved: any field,
// hidden ones included, whether or not clients may filter on it (a
// visibility rule may test what clients never see). Requests' filters are
// resolved by the engine itself, against the visible, filterable fields.
func Conds(c *Collection, filters []Filter) ([]Cond, error) {
	out := make([]Cond, 0, len(filters))
	for _, f := range filters {
		cf, err := checkFilter(c.anyField, f)
		if err != nil {
			return nil, err
		}
		out = append(out, cf)
	}
	return out, nil
}

// publicField finds a field a request may filter on.
func (c *Collection) publicField(name string) (*Field, error) {
	fd := c.Field(name)
	if fd == nil {
		return nil, invalidFilter(name, "unknown field %q", name)
	}
	if !fd.Filterable {
		return nil, invalidFilter(name, "field %q is not filterable", name)
	}
	return fd, nil
}

// anyField finds any field, hidden ones included.
func (c *Collection) anyField(name string) (*Field, error) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f, nil
		}
	}
	return nil, invalidFilter(name, "unknown field %q", name)
}

// checkFilter resolves f, finding its field with lookup.
func checkFilter(lookup func(string) (*Field, error), f Filter) (Cond, error) {
	if f.Op == OpOr || f.Op == OpNot {
		if len(f.Sub) == 0 || f.Op == OpNot && len(f.Sub) != 1 {
			return Cond{}, invalidFilter(string(f.Op), "%s needs %s", f.Op, map[Op]string{OpOr: "at least one group of conditions", OpNot: "exactly one group of conditions"}[f.Op])
		}
		out := Cond{Op: f.Op, Sub: make([][]Cond, len(f.Sub))}
		for i, g := range f.Sub {
			if len(g) == 0 {
				return Cond{}, invalidFilter(string(f.Op), "%s has an empty group of conditions", f.Op)
			}
			for _, h := range g {
				th, err := checkFilter(lookup, h)
				if err != nil {
					return Cond{}, err
				}
				out.Sub[i] = append(out.Sub[i], th)
			}
		}
		return out, nil
	}
	fd, err := lookup(f.Field)
	if err != nil {
		return Cond{}, err
	}
	if !ValidOp(f.Op) {
		return Cond{}, invalidFilter(f.Field, "unknown operator %q (one of %s)", f.Op, opList())
	}
	arrayOp := f.Op == OpAll || f.Op == OpAny || f.Op == OpNone
	if f.Op == OpMatch && !slices.Contains(fd.Ops(), OpMatch) {
		return Cond{}, invalidFilter(f.Field, "operator match applies only to full-text fields (the columns of an SQLite FTS5 table)")
	}
	if f.Op != OpMatch && !opApplies(f.Op, fd.Type) {
		// The message says what would work instead.
		switch {
		case fd.Type == TypeJSON:
			return Cond{}, invalidFilter(f.Field, "field %q is a JSON array: use all, any, none or null", f.Field)
		case arrayOp:
			return Cond{}, invalidFilter(f.Field, "operator %q applies only to JSON array fields", f.Op)
		}
		// What is left for a scalar field are the text operators.
		return Cond{}, invalidFilter(f.Field, "operator %s applies only to text fields", f.Op)
	}
	out := Cond{Field: fd, Op: f.Op}
	if len(f.Values) == 0 {
		return Cond{}, invalidFilter(f.Field, "operator %q needs a value", f.Op)
	}
	if f.Op != OpIn && !arrayOp && len(f.Values) != 1 {
		return Cond{}, invalidFilter(f.Field, "operator %q takes one value, got %d", f.Op, len(f.Values))
	}
	want := fd.Type
	if f.Op == OpNull {
		want = TypeBool
	}
	for _, v := range f.Values {
		if raw, ok := v.(json.RawMessage); ok && want == TypeJSON {
			v = string(raw) // an array's elements are compared as text
		}
		// Dialects may hand over text; type it here, once, for all of them.
		if s, ok := v.(string); ok {
			pv, err := ParseValue(want, s)
			if err != nil {
				return Cond{}, invalidFilter(f.Field, "%v", err)
			}
			v = pv
		}
		if v == nil || !checkType(want, v) {
			return Cond{}, invalidFilter(f.Field, "value %v is not of type %v", v, want)
		}
		if s, _ := v.(string); f.Op == OpMatch && strings.TrimSpace(s) == "" {
			return Cond{}, invalidFilter(f.Field, "operator match needs at least one word")
		}
		out.Values = append(out.Values, v)
	}
	return out, nil
}

func opList() string {
	s := make([]string, len(Ops))
	for i, o := range Ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}
