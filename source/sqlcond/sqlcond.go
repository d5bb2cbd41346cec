// Package sqlcond composes the WHERE clause every SQL source writes: a
// conjunction of filters, with their or/not trees, and the keyset
// predicate. The leaves differ by database (placeholders, collation, JSON
// functions, how a time is bound), so each source renders those; the shape
// around them is written once, here.
package sqlcond

import (
	"strings"

	"folio/engine"
)

// Leaves renders the parts of a condition that differ by database. The
// composer calls them in the order their text appears in the statement, so
// a source may number its placeholders as it goes.
type Leaves interface {
	// Field renders one filter on a field (never OpOr or OpNot).
	Field(f engine.Filter) (string, error)
	// Atom renders one comparison of a keyset predicate.
	Atom(a engine.Atom) (string, error)
	// Tuple renders the row-value form of a keyset predicate; ok is false
	// when the source cannot write it exactly, and the expanded form is used.
	Tuple(t *engine.Tuple) (cond string, ok bool, err error)
}

// Where returns " WHERE ..." for the filters and the seek (nil: none), or
// "" when there is no condition.
func Where(l Leaves, filters []engine.Filter, seek *engine.Predicate) (string, error) {
	var conds []string
	for _, f := range filters {
		cond, err := Filter(l, f)
		if err != nil {
			return "", err
		}
		conds = append(conds, cond)
	}
	if seek != nil {
		cond, err := Seek(l, seek)
		if err != nil {
			return "", err
		}
		conds = append(conds, cond...)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

// Filter renders one filter, or/not trees included.
func Filter(l Leaves, f engine.Filter) (string, error) {
	if f.Op != engine.OpOr && f.Op != engine.OpNot {
		return l.Field(f)
	}
	groups := make([]string, len(f.Sub))
	for i, g := range f.Sub {
		conds := make([]string, len(g))
		for j, h := range g {
			cond, err := Filter(l, h)
			if err != nil {
				return "", err
			}
			conds[j] = cond
		}
		groups[i] = "(" + strings.Join(conds, " AND ") + ")"
	}
	if f.Op == engine.OpNot {
		// A comparison with NULL is unknown in SQL; the engine counts it as
		// not matching, so NOT of it matches.
		return "NOT coalesce(" + groups[0] + ", FALSE)", nil
	}
	return "(" + strings.Join(groups, " OR ") + ")", nil
}

// Seek renders a keyset predicate: the row-value form when the source can
// write it, else "Bound AND (Or[0] OR Or[1] ...)", the bound atoms first
// and alone so that the planner can start an index scan at the boundary.
func Seek(l Leaves, p *engine.Predicate) ([]string, error) {
	if p.Tuple != nil {
		if cond, ok, err := l.Tuple(p.Tuple); err != nil || ok {
			return []string{cond}, err
		}
	}
	var conds []string
	for _, a := range p.Bound {
		cond, err := l.Atom(a)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond)
	}
	if len(p.Or) == 0 {
		return append(conds, "FALSE"), nil
	}
	ors := make([]string, len(p.Or))
	for i, conj := range p.Or {
		ands := make([]string, len(conj))
		for j, a := range conj {
			cond, err := l.Atom(a)
			if err != nil {
				return nil, err
			}
			ands[j] = cond
		}
		ors[i] = "(" + strings.Join(ands, " AND ") + ")"
	}
	return append(conds, "("+strings.Join(ors, " OR ")+")"), nil
}
