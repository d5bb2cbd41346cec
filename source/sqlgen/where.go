package sqlgen

import (
	"fmt"

	"folio/engine"
)

// where appends " WHERE " and the filters and the keyset predicate (nil:
// none), joined with AND, or nothing when there is no condition.
func (st *Statement) where(filters []engine.Cond, seek *engine.Predicate) error {
	sep := " WHERE "
	for _, f := range filters {
		st.WriteString(sep)
		sep = " AND "
		if err := st.filter(f); err != nil {
			return err
		}
	}
	if seek != nil {
		return st.seek(seek, sep)
	}
	return nil
}

// filter appends one filter, or/not trees included.
func (st *Statement) filter(f engine.Cond) error {
	if f.Op != engine.OpOr && f.Op != engine.OpNot {
		return st.field(f)
	}
	groups := f.Sub
	if len(groups) == 0 {
		// An or of no groups matches nothing: a row rule that lets the
		// principal see no row.
		st.WriteString(st.d.False())
		return nil
	}
	if f.Op == engine.OpNot {
		// A comparison with NULL is unknown in SQL; the engine counts it as
		// not matching, so NOT of it matches.
		st.WriteString("NOT coalesce(")
		groups = groups[:1] // not has a single group (engine.OpNot)
	} else {
		st.WriteString("(")
	}
	if err := anyOf(st, groups, st.filter); err != nil {
		return err
	}
	if f.Op == engine.OpNot {
		st.WriteString(", ")
		st.WriteString(st.d.False())
		st.WriteString(")")
	} else {
		st.WriteString(")")
	}
	return nil
}

// seek appends a keyset predicate after sep: the row-value form when every
// value binds exactly, else "Bound AND (Or[0] OR Or[1] ...)", the bound
// atoms first and alone so that the planner can start an index scan at the
// boundary.
func (st *Statement) seek(p *engine.Predicate, sep string) error {
	if p.Tuple != nil {
		ok, err := st.tuple(p.Tuple, sep)
		if err != nil || ok {
			return err
		}
	}
	for _, a := range p.Bound {
		st.WriteString(sep)
		sep = " AND "
		if err := st.atom(a); err != nil {
			return err
		}
	}
	st.WriteString(sep)
	if len(p.Or) == 0 {
		st.WriteString(st.d.False())
		return nil
	}
	st.WriteString("(")
	if err := anyOf(st, p.Or, st.atom); err != nil {
		return err
	}
	st.WriteString(")")
	return nil
}

// anyOf appends a disjunction of conjunctions, "(a AND b) OR (c)", each
// condition written by cond: the shape of an or filter and of a seek.
func anyOf[T any](st *Statement, groups [][]T, cond func(T) error) error {
	for i, g := range groups {
		if i > 0 {
			st.WriteString(" OR ")
		}
		st.WriteString("(")
		for j, c := range g {
			if j > 0 {
				st.WriteString(" AND ")
			}
			if err := cond(c); err != nil {
				return err
			}
		}
		st.WriteString(")")
	}
	return nil
}

// tuple appends sep and the row-value form of a seek, "(a, b) > (x, y)",
// which the database turns into one index seek straight to the boundary,
// where the expanded form would scan every row that ties on the leading
// field. ok is false, and nothing is appended, when a value cannot be bound
// exactly: the row value of a rounded time is not the same predicate.
func (st *Statement) tuple(t *engine.Tuple, sep string) (ok bool, err error) {
	var buf [8]any
	args := buf[:0]
	for i, f := range t.Fields {
		arg, exact, err := st.value(f, t.Values[i])
		if err != nil || !exact {
			return false, err
		}
		args = append(args, arg)
	}
	st.WriteString(sep)
	st.WriteString("(")
	for i, f := range t.Fields {
		if i > 0 {
			st.WriteString(", ")
		}
		if err := st.d.Column(st, f); err != nil {
			return false, err
		}
	}
	if t.Desc {
		st.WriteString(") < (")
	} else {
		st.WriteString(") > (")
	}
	for i, f := range t.Fields {
		if i > 0 {
			st.WriteString(", ")
		}
		st.d.Param(st, args[i], f.Type)
	}
	st.WriteString(")")
	return true, nil
}

// atom appends one comparison of a keyset predicate.
func (st *Statement) atom(a engine.Atom) error {
	if a.Op == engine.OpNull {
		return st.null(a.Field, a.Value)
	}
	return st.compare(a.Field, a.Op, a.Value)
}

// field appends one filter on a field. Comparisons never match NULL (SQL
// semantics: "ne" is col <> x, which excludes NULL). The engine resolved
// the field and typed the values (engine.Cond); a value of another type
// is a fault of the plan, reported, never rendered.
func (st *Statement) field(f engine.Cond) error {
	fd := f.Field
	if fd == nil || len(f.Values) == 0 {
		return fmt.Errorf("filter %s: no field or no value", f)
	}
	switch f.Op {
	case engine.OpEq, engine.OpNe, engine.OpLt, engine.OpLte, engine.OpGt, engine.OpGte:
		return st.compare(fd, f.Op, f.Values[0])
	case engine.OpNull:
		return st.null(fd, f.Values[0])
	case engine.OpIn:
		return st.in(fd, f.Values)
	case engine.OpPrefix, engine.OpContains:
		p, ok := f.Values[0].(string)
		if !ok {
			return fmt.Errorf("filter %s: %s needs text, got %T", f, f.Op, f.Values[0])
		}
		if f.Op == engine.OpPrefix {
			return st.d.Prefix(st, fd, p)
		}
		return st.d.Contains(st, fd, p)
	case engine.OpMatch:
		words, ok := f.Values[0].(string)
		if !ok {
			return fmt.Errorf("filter %s: match needs text, got %T", f, f.Values[0])
		}
		m, ok := st.d.(Matcher)
		if !ok {
			return fmt.Errorf("filter %s: this database has no full-text search", f)
		}
		return m.Match(st, fd, words)
	case engine.OpAll, engine.OpAny, engine.OpNone:
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			x, ok := v.(string)
			if !ok {
				return fmt.Errorf("filter %s: array elements are compared as text, got %T", f, v)
			}
			vals[i] = x
		}
		return st.d.Array(st, fd, f.Op, vals)
	}
	return fmt.Errorf("unsupported filter operator %q", f.Op)
}

// null appends an IS [NOT] NULL test of f's column itself, the form an
// index on the column serves.
func (st *Statement) null(f *engine.Field, v engine.Value) error {
	isNull, ok := v.(bool)
	if !ok {
		return fmt.Errorf("null test needs a boolean, got %T", v)
	}
	st.Quote(f.Column)
	if isNull {
		st.WriteString(" IS NULL")
	} else {
		st.WriteString(" IS NOT NULL")
	}
	return nil
}

// compare appends one comparison of a field with a value. A time the
// column cannot hold exactly is bound rounded down, and the operator is
// adjusted so that the result is still the comparison with the exact time.
func (st *Statement) compare(f *engine.Field, op engine.Op, v engine.Value) error {
	sqlOp := compareOp(op)
	if sqlOp == "" {
		return fmt.Errorf("operator %q is not a comparison", op)
	}
	arg, exact, err := st.value(f, v)
	if err != nil {
		return err
	}
	if !exact {
		// For x stored at the column's resolution and a = floor(v) < v:
		// x < v ⇔ x <= a, x >= v ⇔ x > a, x = v never, x <> v always.
		switch op {
		case engine.OpEq:
			st.WriteString(st.d.False())
			return nil
		case engine.OpNe:
			return st.null(f, false)
		case engine.OpLt:
			sqlOp = " <= "
		case engine.OpGte:
			sqlOp = " > "
		}
	}
	if err := st.d.Column(st, f); err != nil {
		return err
	}
	st.WriteString(sqlOp)
	st.d.Param(st, arg, f.Type)
	return nil
}

// compareOp is the SQL operator of a comparison, spaced, or "" for an
// operator that is not one.
func compareOp(op engine.Op) string {
	switch op {
	case engine.OpEq:
		return " = "
	case engine.OpNe:
		return " <> "
	case engine.OpLt:
		return " < "
	case engine.OpLte:
		return " <= "
	case engine.OpGt:
		return " > "
	case engine.OpGte:
		return " >= "
	}
	return ""
}

// in appends "col IN (...)" for the values the column can hold. A time it
// cannot hold exactly equals no stored value, so it is left out; with none
// left no row matches.
func (st *Statement) in(f *engine.Field, values []engine.Value) error {
	args := make([]any, 0, len(values))
	for _, v := range values {
		arg, exact, err := st.value(f, v)
		if err != nil {
			return err
		}
		if exact {
			args = append(args, arg)
		}
	}
	if len(args) == 0 {
		st.WriteString(st.d.False())
		return nil
	}
	if err := st.d.Column(st, f); err != nil {
		return err
	}
	st.WriteString(" IN (")
	for i, arg := range args {
		if i > 0 {
			st.WriteString(", ")
		}
		st.d.Param(st, arg, f.Type)
	}
	st.WriteString(")")
	return nil
}

// value has the dialect convert v, a value of field f's type, for binding.
func (st *Statement) value(f *engine.Field, v engine.Value) (any, bool, error) {
	arg, exact, err := st.d.Value(st, f, v)
	if err != nil {
		return nil, false, fmt.Errorf("field %s: %w", f.Name, err)
	}
	return arg, exact, nil
}
