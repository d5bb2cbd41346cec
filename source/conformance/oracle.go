// Package conformance holds the tests every Source must pass, and the
// brute-force oracle they are judged by: the same filters and sorts applied
// to rows in plain Go.
package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"folio/dataset"
	"folio/engine"
)

// Oracle answers queries over a table's rows by brute force.
type Oracle struct {
	Columns []dataset.Column
	Key     []string
	Rows    [][]engine.Value
}

// NewOracle collects a table's rows (copying them) into an Oracle.
func NewOracle(t *dataset.Table) *Oracle {
	o := &Oracle{Columns: t.Columns, Key: t.Key}
	for r := range t.Rows {
		o.Rows = append(o.Rows, slices.Clone(r))
	}
	return o
}

func (o *Oracle) col(name string) int {
	for i, c := range o.Columns {
		if c.Name == name {
			return i
		}
	}
	panic("oracle: no column " + name)
}

// Select returns the rows matching every filter, sorted by sort with the key
// appended as the tie-breaker the way the engine appends it. Filter values
// must be typed.
func (o *Oracle) Select(filters []engine.Filter, sort engine.Sort) [][]engine.Value {
	var out [][]engine.Value
	for _, r := range o.Rows {
		ok := true
		for _, f := range filters {
			if !o.match(r, f) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	order := slices.Clone(sort)
	desc := len(order) > 0 && order[len(order)-1].Desc
	for _, key := range o.Key {
		if !slices.ContainsFunc(order, func(k engine.SortKey) bool { return k.Field == key }) {
			order = append(order, engine.SortKey{Field: key, Desc: desc})
		}
	}
	idx := make([]int, len(order))
	for i, k := range order {
		idx[i] = o.col(k.Field)
	}
	slices.SortStableFunc(out, func(a, b []engine.Value) int {
		for i, k := range order {
			if c := compareKey(k, a[idx[i]], b[idx[i]]); c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

// compareKey orders two values as sort key k reads them. NULLs go where
// the key says: first, last, or by default above every value (last
// ascending, first descending).
func compareKey(k engine.SortKey, a, b engine.Value) int {
	if (a == nil) != (b == nil) {
		first := k.Desc // the default: NULL above every value
		switch k.Nulls {
		case engine.NullsFirst:
			first = true
		case engine.NullsLast:
			first = false
		}
		if (a == nil) == first {
			return -1
		}
		return 1
	}
	if a == nil {
		return 0
	}
	c := engine.Compare(a, b)
	if k.Desc {
		return -c
	}
	return c
}

func (o *Oracle) all(r []engine.Value, fs []engine.Filter) bool {
	for _, f := range fs {
		if !o.match(r, f) {
			return false
		}
	}
	return true
}

// Keys returns the key of each of rows (KeyOf).
func (o *Oracle) Keys(rows [][]engine.Value) []engine.Value {
	idx := make([]int, len(o.Key))
	for i, k := range o.Key {
		idx[i] = o.col(k)
	}
	out := make([]engine.Value, len(rows))
	for i, r := range rows {
		out[i] = KeyOf(r, idx)
	}
	return out
}

// KeyOf returns row's key, whose fields are at idx, as one value: the
// value itself for a key of one field, else text that two rows share just
// when their keys are equal.
func KeyOf(row []engine.Value, idx []int) engine.Value {
	if len(idx) == 1 {
		return row[idx[0]]
	}
	var b strings.Builder
	for _, i := range idx {
		fmt.Fprintf(&b, "%T:%v\x1f", row[i], row[i])
	}
	return b.String()
}

func (o *Oracle) match(r []engine.Value, f engine.Filter) bool {
	switch f.Op {
	case engine.OpOr:
		for _, g := range f.Sub {
			if o.all(r, g) {
				return true
			}
		}
		return false
	case engine.OpNot:
		return !o.all(r, f.Sub[0])
	}
	v := r[o.col(f.Field)]
	switch f.Op {
	case engine.OpNull:
		return (v == nil) == f.Values[0].(bool)
	case engine.OpAll, engine.OpAny, engine.OpNone:
		var arr []string
		if v != nil {
			var raw string
			switch x := v.(type) {
			case string:
				raw = x
			case json.RawMessage:
				raw = string(x)
			}
			if err := json.Unmarshal([]byte(raw), &arr); err != nil {
				panic("oracle: bad JSON array " + raw)
			}
		}
		if v == nil && f.Op != engine.OpNone {
			return false
		}
		hits := 0
		for _, want := range f.Values {
			if slices.Contains(arr, want.(string)) {
				hits++
			}
		}
		switch f.Op {
		case engine.OpAll:
			return hits == len(f.Values)
		case engine.OpAny:
			return hits > 0
		}
		return hits == 0
	}
	if v == nil {
		return false // comparisons never match NULL
	}
	switch f.Op {
	case engine.OpIn:
		for _, w := range f.Values {
			if engine.Compare(v, w) == 0 {
				return true
			}
		}
		return false
	case engine.OpPrefix:
		return strings.HasPrefix(v.(string), f.Values[0].(string))
	case engine.OpContains:
		return strings.Contains(v.(string), f.Values[0].(string))
	}
	c := engine.Compare(v, f.Values[0])
	switch f.Op {
	case engine.OpEq:
		return c == 0
	case engine.OpNe:
		return c != 0
	case engine.OpLt:
		return c < 0
	case engine.OpLte:
		return c <= 0
	case engine.OpGt:
		return c > 0
	case engine.OpGte:
		return c >= 0
	}
	panic("oracle: unknown op " + string(f.Op))
}
