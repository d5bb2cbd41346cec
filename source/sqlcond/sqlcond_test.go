package sqlcond

import (
	"fmt"
	"testing"

	"folio/engine"
)

// names renders leaves as their field and operator, so that the tests see
// the shape the composer builds around them.
type names struct{ tuple bool }

func (names) Field(f engine.Filter) (string, error) { return f.Field + "." + string(f.Op), nil }
func (names) Atom(a engine.Atom) (string, error)    { return a.Field.Name + "." + string(a.Op), nil }
func (n names) Tuple(t *engine.Tuple) (string, bool, error) {
	return fmt.Sprintf("tuple%d", len(t.Fields)), n.tuple, nil
}

func TestWhere(t *testing.T) {
	a, b := &engine.Field{Name: "a"}, &engine.Field{Name: "b"}
	eq := func(f string) engine.Filter { return engine.Filter{Field: f, Op: engine.OpEq} }
	seek := &engine.Predicate{
		Bound: []engine.Atom{{Field: a, Op: engine.OpGte}},
		Or:    [][]engine.Atom{{{Field: a, Op: engine.OpGt}}, {{Field: a, Op: engine.OpEq}, {Field: b, Op: engine.OpGt}}},
		Tuple: &engine.Tuple{Fields: []*engine.Field{a, b}},
	}
	for _, c := range []struct {
		name    string
		l       names
		filters []engine.Filter
		seek    *engine.Predicate
		want    string
	}{
		{"nothing", names{}, nil, nil, ""},
		{"filters", names{}, []engine.Filter{eq("x"), eq("y")}, nil, " WHERE x.eq AND y.eq"},
		{"or and not", names{}, []engine.Filter{
			{Op: engine.OpOr, Sub: [][]engine.Filter{{eq("x")}, {eq("y"), {Op: engine.OpNot, Sub: [][]engine.Filter{{eq("z")}}}}}},
		}, nil, " WHERE ((x.eq) OR (y.eq AND NOT coalesce((z.eq), FALSE)))"},
		{"expanded seek", names{}, []engine.Filter{eq("x")}, seek, " WHERE x.eq AND a.gte AND ((a.gt) OR (a.eq AND b.gt))"},
		{"row-value seek", names{tuple: true}, nil, seek, " WHERE tuple2"},
		{"empty seek", names{}, nil, &engine.Predicate{}, " WHERE FALSE"},
	} {
		got, err := Where(c.l, c.filters, c.seek)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
