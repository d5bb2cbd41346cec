package engine

import (
	"slices"
	"time"
)

// Plan is everything a Source needs to produce rows: which table, which
// columns, which rows and in which order. The engine builds it; sources turn
// it into SQL with bound parameters. Every field in it was checked against
// the Collection, so a source may use Field.Column as an identifier.
type Plan struct {
	Collection *Collection
	Columns    []*Field   // the columns of every Row, in order
	Filters    []Cond     // a conjunction, resolved against Collection
	Order      []OrderKey // NULL sorts above every value (NULLS LAST ascending, NULLS FIRST descending)
	Seek       *Predicate // keyset predicate, nil on a first page or for offset paging
	Offset     int
	Limit      int // rows to return; 0: all of them
}

// Atom is one comparison of a keyset predicate. For OpNull, Value is a bool.
// Only eq, lt, gt, lte, gte and null occur.
type Atom struct {
	Field *Field
	Op    Op
	Value Value
}

// Predicate selects the rows strictly after a boundary in an order:
//
//	Bound AND (Or[0] OR Or[1] OR ...), each Or[i] a conjunction of atoms.
//
// Bound is implied by the disjunction; it is there so that a database can
// seek an index on the leading sort field instead of scanning from the start.
// An empty Or selects nothing.
type Predicate struct {
	Bound []Atom
	Or    [][]Atom
	// Tuple, when set, is the same predicate as a row-value comparison,
	// (a, b, ...) > (x, y, ...) ascending or < descending. It is set only
	// where that is exact: every field NOT NULL and one direction. A source
	// may render it instead, so that the database seeks an index on
	// (a, b, ...) straight to the boundary rather than scanning the rows
	// that tie on the leading field.
	Tuple *Tuple
}

// Tuple is a row-value comparison against a boundary.
type Tuple struct {
	Fields []*Field
	Values []Value
	Desc   bool // (fields) < (values); else (fields) > (values)
}

// SeekAfter builds the predicate "sorts strictly after values" for order,
// each key's NULLs where it places them (OrderKey.NullsLow). It is a pure
// function of its arguments; the property tests hold it against a
// brute-force comparison.
func SeekAfter(order []OrderKey, values []Value) *Predicate {
	p := &Predicate{}
	var prefix []Atom
	for i, o := range order {
		b := values[i]
		add := func(a Atom) {
			conj := make([]Atom, 0, len(prefix)+1)
			conj = append(conj, prefix...)
			p.Or = append(p.Or, append(conj, a))
		}
		cmp := OpGt
		if o.Desc {
			cmp = OpLt
		}
		switch {
		case b == nil && o.NullsLast():
			// Nothing sorts after NULL on this key.
		case b == nil:
			add(Atom{Field: o.Field, Op: OpNull, Value: false})
		default:
			add(Atom{Field: o.Field, Op: cmp, Value: b})
			if o.Field.Nullable && o.NullsLast() {
				add(Atom{Field: o.Field, Op: OpNull, Value: true})
			}
		}
		if b == nil {
			prefix = append(prefix, Atom{Field: o.Field, Op: OpNull, Value: true})
		} else {
			prefix = append(prefix, Atom{Field: o.Field, Op: OpEq, Value: b})
		}
	}
	if tupleExact(order, values) {
		t := &Tuple{Desc: order[0].Desc, Values: values}
		for _, o := range order {
			t.Fields = append(t.Fields, o.Field)
		}
		p.Tuple = t
	}
	if len(order) > 0 {
		o, b := order[0], values[0]
		bound := OpGte
		if o.Desc {
			bound = OpLte
		}
		switch {
		case b == nil && o.NullsLast():
			p.Bound = []Atom{{Field: o.Field, Op: OpNull, Value: true}}
		case b == nil:
			// Every row qualifies for the leading field.
		case !o.Field.Nullable || !o.NullsLast():
			// No NULL follows the boundary: the rest lie on one side of it.
			p.Bound = []Atom{{Field: o.Field, Op: bound, Value: b}}
		}
	}
	return p
}

// Matches evaluates the predicate on a row in Go, for tests and for sources
// that cannot express it; cols are the row's columns.
func (p *Predicate) Matches(cols []*Field, row Row) bool {
	get := func(f *Field) Value {
		for i, c := range cols {
			if c == f {
				return row[i]
			}
		}
		panic("engine: predicate field " + f.Name + " not in row")
	}
	eval := func(a Atom) bool {
		v := get(a.Field)
		if a.Op == OpNull {
			return (v == nil) == a.Value.(bool)
		}
		if v == nil {
			return false // SQL: comparisons with NULL are not true
		}
		c := Compare(v, a.Value)
		switch a.Op {
		case OpEq:
			return c == 0
		case OpLt:
			return c < 0
		case OpLte:
			return c <= 0
		case OpGt:
			return c > 0
		case OpGte:
			return c >= 0
		}
		return false
	}
	for _, a := range p.Bound {
		if !eval(a) {
			return false
		}
	}
	for _, conj := range p.Or {
		ok := true
		for _, a := range conj {
			if !eval(a) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// reverse returns order with every direction flipped. A key's NULLs stay
// above (or below) every value, so the reversed order is exactly the
// original read backwards.
func reverse(order []OrderKey) []OrderKey {
	out := make([]OrderKey, len(order))
	for i, o := range order {
		out[i] = OrderKey{Field: o.Field, Desc: !o.Desc, NullsLow: o.NullsLow}
	}
	return out
}

// tupleExact reports whether a row-value comparison equals the keyset
// predicate: no NULLs can occur and every term runs the same way.
func tupleExact(order []OrderKey, values []Value) bool {
	if len(order) < 2 {
		return false // a single field is a plain comparison already
	}
	for i, o := range order {
		if o.Field.Nullable || values[i] == nil || o.Desc != order[0].Desc {
			return false
		}
	}
	return true
}

// Matches evaluates the row-value comparison in Go, for tests.
func (t *Tuple) Matches(cols []*Field, row Row) bool {
	for i, f := range t.Fields {
		c := Compare(row[slices.Index(cols, f)], t.Values[i])
		if c == 0 {
			continue
		}
		return c > 0 != t.Desc
	}
	return false
}

// withoutImplied returns filters less those that every row sorting after
// values in order satisfies anyway: a range filter on the leading sort field
// on the same side as the seek and no tighter than the boundary. Such a
// filter is a second bound on the index the seek walks, and SQLite's
// planner, given two lower bounds on one column, may seek by the filter's
// and scan from there on every page, which makes page n cost O(n). A
// client harvesting one key range (from ≤ key < to) by cursor hits this on
// every page. filters itself is not modified.
func withoutImplied(filters []Cond, order []OrderKey, values []Value) []Cond {
	if len(order) == 0 || values[0] == nil {
		return filters
	}
	o, b := order[0], values[0]
	implied := func(f Cond) bool {
		if f.Field != o.Field || len(f.Values) != 1 || !sameScalar(f.Values[0], b) {
			return false
		}
		// Rows after a non-NULL boundary lie on one side of it, unless
		// NULLs follow it; a NULL fails every range filter, so then there
		// is no implication.
		if o.Field.Nullable && o.NullsLast() {
			return false
		}
		c := Compare(b, f.Values[0])
		if !o.Desc {
			return f.Op == OpGte && c >= 0 || f.Op == OpGt && c > 0
		}
		return f.Op == OpLte && c <= 0 || f.Op == OpLt && c < 0
	}
	if !slices.ContainsFunc(filters, implied) {
		return filters
	}
	return slices.DeleteFunc(slices.Clone(filters), implied)
}

// sameScalar reports whether two values have the same scalar type, one
// whose order Compare shares with every source.
func sameScalar(a, b Value) bool {
	switch a.(type) {
	case int64:
		_, ok := b.(int64)
		return ok
	case float64:
		_, ok := b.(float64)
		return ok
	case string:
		_, ok := b.(string)
		return ok
	case time.Time:
		_, ok := b.(time.Time)
		return ok
	}
	return false
}
