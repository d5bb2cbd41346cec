package nomad

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"folio/engine"
	"folio/httperr"
)

// NOMAD's query language, mapped onto engine filters:
//
//	{"name": v}                  equality (an array field: holds v)
//	{"name": [v, …]}             an array field holds all; a scalar field is one of them
//	{"name": {"all"|"any"|"none": [v, …]}}
//	{"name": {"gt"|"gte"|"lt"|"lte": v, …}}   range; several bounds combine
//	{"name:op": …}               the same operators as a suffix
//	{"and": [q, …]}, {"or": [q, …]}, {"not": q}
//
// The keys of one object are ANDed; a quantity may appear once per object.

// Query operators.
const (
	opAll  = "all"
	opAny  = "any"
	opNone = "none"
	opGt   = "gt"
	opGte  = "gte"
	opLt   = "lt"
	opLte  = "lte"
)

func rangeOp(op string) (engine.Op, bool) {
	switch op {
	case opGt:
		return engine.OpGt, true
	case opGte:
		return engine.OpGte, true
	case opLt:
		return engine.OpLt, true
	case opLte:
		return engine.OpLte, true
	}
	return "", false
}

func knownOp(op string) bool {
	_, r := rangeOp(op)
	return r || op == opAll || op == opAny || op == opNone
}

// maxQueryDepth bounds and/or/not nesting, so that a hostile body cannot
// recurse deeply or build a huge SQL expression.
const maxQueryDepth = 16

// parseQuery turns a decoded query object (json.Number for numbers) into
// engine filters, a conjunction.
func (h *Handler) parseQuery(v any) ([]engine.Filter, *apiError) {
	return h.queryObject(v, 0)
}

func (h *Handler) queryObject(v any, depth int) ([]engine.Filter, *apiError) {
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid([]any{"query"}, typeDict, "a query must be an object of quantities and values")
	}
	if depth > maxQueryDepth {
		return nil, invalid([]any{"query"}, typeValue, fmt.Sprintf("the query nests and/or/not deeper than %d levels", maxQueryDepth))
	}
	var out []engine.Filter
	seen := map[string]string{}
	// Sorted, so that of several bad keys the same one is reported every time.
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		val := obj[key]
		switch key {
		case "and":
			list, ok := val.([]any)
			if !ok {
				return nil, invalid([]any{"query", key}, typeList, "and takes a list of queries")
			}
			for _, q := range list {
				fs, err := h.queryObject(q, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, fs...)
			}
			continue
		case "or":
			list, ok := val.([]any)
			if !ok {
				return nil, invalid([]any{"query", key}, typeList, "or takes a list of queries")
			}
			or := engine.Filter{Op: engine.OpOr}
			all := false // a query without conditions matches every row
			for _, q := range list {
				fs, err := h.queryObject(q, depth+1)
				if err != nil {
					return nil, err
				}
				all = all || len(fs) == 0
				or.Sub = append(or.Sub, fs)
			}
			switch {
			case len(list) == 0 || all:
				// Elasticsearch's bool query with no (or an unconditional)
				// should clause matches every document.
			default:
				out = append(out, or)
			}
			continue
		case "not":
			fs, err := h.queryObject(val, depth+1)
			if err != nil {
				return nil, err
			}
			if len(fs) == 0 {
				out = append(out, h.nothing())
			} else {
				out = append(out, engine.Filter{Op: engine.OpNot, Sub: [][]engine.Filter{fs}})
			}
			continue
		}
		name, op := key, ""
		if i := strings.LastIndexByte(key, ':'); i >= 0 {
			name, op = key[:i], key[i+1:]
			if !knownOp(op) {
				return nil, invalid([]any{"query", key}, typeValue, fmt.Sprintf("%s is not an operator (one of all, any, none, gt, gte, lt, lte)", httperr.Quote(op)))
			}
		}
		fd := h.s.byName[name]
		if fd == nil {
			return nil, invalid([]any{"query", key}, typeValue, httperr.Echo(name)+" is not a doc quantity")
		}
		if prev, dup := seen[name]; dup {
			return nil, invalid([]any{"query", key}, typeValue, fmt.Sprintf("a quantity can only appear once in a query (%s and %s)", httperr.Quote(prev), httperr.Quote(key)))
		}
		seen[name] = key
		fs, err := h.criterion(fd, op, val)
		if err != nil {
			return nil, invalid([]any{"query", key}, typeValue, err.Error())
		}
		out = append(out, fs...)
	}
	return out, nil
}

// criterion maps the value of one quantity (op from a "name:op" suffix,
// or empty) to filters.
func (h *Handler) criterion(fd *field, op string, val any) ([]engine.Filter, error) {
	if op != "" {
		return h.operator(fd, op, val)
	}
	switch x := val.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil, fmt.Errorf("an operator object needs one of all, any, none, or gt, gte, lt, lte")
		}
		var out []engine.Filter
		ranges := 0
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if !knownOp(k) {
				return nil, fmt.Errorf("%s is not an operator (one of all, any, none, gt, gte, lt, lte)", httperr.Quote(k))
			}
			if _, r := rangeOp(k); r {
				ranges++
			}
			fs, err := h.operator(fd, k, x[k])
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
		if len(x) > 1 && ranges != len(x) {
			return nil, fmt.Errorf("all, any and none stand alone; only range bounds (gt, gte, lt, lte) combine")
		}
		return out, nil
	case []any:
		// A list: an array field holds all of them (NOMAD's many_all
		// quantities); a scalar field equals one of them.
		if fd.f.Type == engine.TypeJSON {
			return h.operator(fd, opAll, x)
		}
		return h.operator(fd, opAny, x)
	}
	if fd.f.Type == engine.TypeJSON {
		return h.operator(fd, opAll, []any{val})
	}
	v, err := typed(fd, val)
	if err != nil {
		return nil, err
	}
	return []engine.Filter{{Field: fd.f.Name, Op: engine.OpEq, Values: []engine.Value{v}}}, nil
}

// operator maps one operator and its value(s) to filters.
func (h *Handler) operator(fd *field, op string, val any) ([]engine.Filter, error) {
	array := fd.f.Type == engine.TypeJSON
	col := fd.f.Name
	if rop, ok := rangeOp(op); ok {
		if array {
			return nil, fmt.Errorf("%s is a list of values: use all, any or none, not %s", fd.name, op)
		}
		v, err := typed(fd, val)
		if err != nil {
			return nil, err
		}
		return []engine.Filter{{Field: col, Op: rop, Values: []engine.Value{v}}}, nil
	}
	list, ok := val.([]any)
	if !ok {
		list = []any{val}
	}
	vals := make([]engine.Value, len(list))
	for i, x := range list {
		v, err := typed(fd, x)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if len(vals) == 0 {
		if op == opAny {
			return []engine.Filter{h.nothing()}, nil // no value to match
		}
		return nil, nil // all of none, none of none: every row
	}
	switch {
	case array && op == opAll:
		return []engine.Filter{{Field: col, Op: engine.OpAll, Values: vals}}, nil
	case array && op == opAny:
		return []engine.Filter{{Field: col, Op: engine.OpAny, Values: vals}}, nil
	case array:
		return []engine.Filter{{Field: col, Op: engine.OpNone, Values: vals}}, nil
	case op == opAll:
		out := make([]engine.Filter, len(vals))
		for i, v := range vals {
			out[i] = engine.Filter{Field: col, Op: engine.OpEq, Values: []engine.Value{v}}
		}
		return out, nil
	case op == opAny:
		return []engine.Filter{{Field: col, Op: engine.OpIn, Values: vals}}, nil
	}
	// none on a scalar: rows without the value, including rows without any
	// value, as Elasticsearch's must_not does.
	in := engine.Filter{Field: col, Op: engine.OpIn, Values: vals}
	return []engine.Filter{{Op: engine.OpNot, Sub: [][]engine.Filter{{in}}}}, nil
}

// nothing is a filter no row passes: the key is never NULL.
func (h *Handler) nothing() engine.Filter {
	return engine.Filter{Field: h.s.id.f.Name, Op: engine.OpNull, Values: []engine.Value{true}}
}

// typed converts one value of a query (a JSON value, or the text of a GET
// parameter) to the field's type, as pydantic's lax coercion does.
func typed(fd *field, v any) (engine.Value, error) {
	t := fd.f.Type
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("%s: null is not a value to search for", fd.name)
	case string:
		if t == engine.TypeJSON {
			return x, nil
		}
		pv, err := engine.ParseValue(t, x)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fd.name, err)
		}
		return pv, nil
	case json.Number:
		switch t {
		case engine.TypeText, engine.TypeJSON:
			return string(x), nil
		case engine.TypeInt:
			if n, err := x.Int64(); err == nil {
				return n, nil
			}
			if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				return int64(f), nil
			}
			return nil, fmt.Errorf("%s: %s is not an integer", fd.name, x)
		case engine.TypeFloat:
			f, err := x.Float64()
			if err != nil || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s: %s is not a finite number", fd.name, x)
			}
			return f, nil
		case engine.TypeTime:
			// pydantic reads a number as Unix time: seconds, or milliseconds
			// when it is larger than 2e10.
			f, err := x.Float64()
			if err != nil || math.Abs(f) > 1e17 {
				return nil, fmt.Errorf("%s: %s is not a Unix time", fd.name, x)
			}
			if math.Abs(f) > 2e10 {
				f /= 1000
			}
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC(), nil
		case engine.TypeBool:
			return engine.ParseValue(t, string(x))
		}
	case bool:
		switch t {
		case engine.TypeBool:
			return x, nil
		case engine.TypeText, engine.TypeJSON:
			return strconv.FormatBool(x), nil
		}
	}
	return nil, fmt.Errorf("%s: %s is not a %v value", fd.name, httperr.Echo(fmt.Sprint(v)), t)
}
