// Package sqlgentest pins the statements a SQL source sends to its
// database. Every source loads the same table (a field of every type, a
// nullable and a NOT NULL time, a column name that needs quoting) and
// renders the same plans and counts, which between them reach every
// operator, NULL test, seek form, order and LIMIT/OFFSET form; the text and
// arguments are compared with a golden file per source. The conformance
// suite proves the statements right against a database; this proves them
// unchanged, so that a change in what reaches the planner (and so in which
// index it uses) shows in review.
package sqlgentest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
)

// Table is the table every source loads for Check, named "gen".
func Table() *dataset.Table {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 12, 0, 0, 0, time.UTC) }
	rows := [][]engine.Value{
		{int64(1), "apple", int64(1), -1.5, true, day(1), day(1), `["a","b"]`, []byte{1}, "x"},
		{int64(2), nil, nil, nil, nil, nil, day(2), nil, nil, nil},
	}
	return &dataset.Table{
		Name: "gen",
		Columns: []dataset.Column{
			{Name: "id", Type: engine.TypeInt},
			{Name: "s", Type: engine.TypeText, Nullable: true},
			{Name: "n", Type: engine.TypeInt, Nullable: true},
			{Name: "f", Type: engine.TypeFloat, Nullable: true},
			{Name: "ok", Type: engine.TypeBool, Nullable: true},
			{Name: "at", Type: engine.TypeTime, Nullable: true},
			{Name: "ts", Type: engine.TypeTime},
			{Name: "tags", Type: engine.TypeJSON, Nullable: true},
			{Name: "b", Type: engine.TypeBytes, Nullable: true},
			{Name: `q"t`, Type: engine.TypeText, Nullable: true},
		},
		Key: []string{"id"},
		Rows: func(yield func([]engine.Value) bool) {
			for _, r := range rows {
				if !yield(r) {
					return
				}
			}
		},
		Len: len(rows),
	}
}

// Case is one statement to render: a SELECT for Plan, or, when Plan is nil,
// a count of the rows of Collection that match Filters (resolved as the
// engine resolves a collection's scope, engine.Conds).
type Case struct {
	Name       string
	Plan       *engine.Plan
	Collection *engine.Collection
	Filters    []engine.Filter
}

// Cases lists the statements Check renders for c, the collection a source
// discovered for Table.
func Cases(t testing.TB, c *engine.Collection) []Case {
	t.Helper()
	field := func(name string) *engine.Field {
		for _, f := range c.Fields {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("collection %s has no field %q", c.Name, name)
		return nil
	}
	id, s, n, ts := field("id"), field("s"), field("n"), field("ts")
	at := time.Date(2024, 1, 2, 12, 0, 0, 0, time.UTC)
	fine := at.Add(500 * time.Nanosecond) // finer than either database stores
	plan := func(order []engine.OrderKey, seek []engine.Value, limit, offset int) *engine.Plan {
		p := &engine.Plan{Collection: c, Columns: c.Fields, Order: order, Limit: limit, Offset: offset}
		if seek != nil {
			p.Seek = engine.SeekAfter(order, seek)
		}
		return p
	}
	asc := func(f *engine.Field) engine.OrderKey { return engine.OrderKey{Field: f} }
	desc := func(f *engine.Field) engine.OrderKey { return engine.OrderKey{Field: f, Desc: true} }
	low := func(k engine.OrderKey) engine.OrderKey { k.NullsLow = true; return k }
	filter := func(name string, op engine.Op, vs ...engine.Value) engine.Filter {
		return engine.Filter{Field: name, Op: op, Values: vs}
	}
	conds := func(fs ...engine.Filter) []engine.Cond {
		cs, err := engine.Conds(c, fs)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cases := []Case{
		{Name: "first page", Plan: plan([]engine.OrderKey{asc(id)}, nil, 26, 0)},
		{Name: "next page on the key", Plan: plan([]engine.OrderKey{asc(id)}, []engine.Value{int64(7)}, 26, 0)},
		{Name: "nullable ascending after a value", Plan: plan([]engine.OrderKey{asc(s), asc(id)}, []engine.Value{"m", int64(7)}, 26, 0)},
		{Name: "nullable ascending after NULL", Plan: plan([]engine.OrderKey{asc(s), asc(id)}, []engine.Value{nil, int64(7)}, 26, 0)},
		{Name: "nullable descending after a value", Plan: plan([]engine.OrderKey{desc(s), desc(id)}, []engine.Value{"m", int64(7)}, 26, 0)},
		{Name: "nullable descending after NULL", Plan: plan([]engine.OrderKey{desc(s), desc(id)}, []engine.Value{nil, int64(7)}, 26, 0)},
		{Name: "nullable ascending, NULLs first, after a value", Plan: plan([]engine.OrderKey{low(asc(s)), asc(id)}, []engine.Value{"m", int64(7)}, 26, 0)},
		{Name: "nullable ascending, NULLs first, after NULL", Plan: plan([]engine.OrderKey{low(asc(s)), asc(id)}, []engine.Value{nil, int64(7)}, 26, 0)},
		{Name: "nullable descending, NULLs last, after a value", Plan: plan([]engine.OrderKey{low(desc(s)), desc(id)}, []engine.Value{"m", int64(7)}, 26, 0)},
		{Name: "nullable descending, NULLs last, after NULL", Plan: plan([]engine.OrderKey{low(desc(s)), desc(id)}, []engine.Value{nil, int64(7)}, 26, 0)},
		{Name: "mixed directions", Plan: plan([]engine.OrderKey{desc(n), asc(ts), asc(id)}, []engine.Value{int64(3), at, int64(7)}, 26, 0)},
		{Name: "row value ascending", Plan: plan([]engine.OrderKey{asc(ts), asc(id)}, []engine.Value{at, int64(7)}, 26, 0)},
		{Name: "row value descending", Plan: plan([]engine.OrderKey{desc(ts), desc(id)}, []engine.Value{at, int64(7)}, 26, 0)},
		{Name: "row value with an inexact time", Plan: plan([]engine.OrderKey{desc(ts), desc(id)}, []engine.Value{fine, int64(7)}, 26, 0)},
		{Name: "empty seek", Plan: &engine.Plan{Collection: c, Columns: []*engine.Field{id}, Order: []engine.OrderKey{asc(id)}, Seek: &engine.Predicate{}, Limit: 5}},
		{Name: "offset only", Plan: plan([]engine.OrderKey{asc(id)}, nil, 0, 50)},
		{Name: "limit and offset", Plan: plan([]engine.OrderKey{desc(ts), desc(id)}, nil, 10, 50)},
		{Name: "no order, no limit", Plan: &engine.Plan{Collection: c, Columns: []*engine.Field{id, s}}},
		{Name: "filters and seek", Plan: &engine.Plan{Collection: c, Columns: []*engine.Field{id}, Order: []engine.OrderKey{asc(id)},
			Filters: conds(filter("s", engine.OpPrefix, "ap"), filter("n", engine.OpGte, int64(0))),
			Seek:    engine.SeekAfter([]engine.OrderKey{asc(id)}, []engine.Value{int64(3)}), Limit: 11}},
		{Name: "count everything", Collection: c},
	}
	counts := []engine.Filter{
		filter("s", engine.OpEq, "apple"),
		filter("n", engine.OpNe, int64(4)),
		filter("f", engine.OpLt, 2.5),
		filter("id", engine.OpLte, int64(9)),
		filter("ts", engine.OpGt, at),
		filter("at", engine.OpGte, at),
		filter("ok", engine.OpEq, true),
		filter("ok", engine.OpEq, "true"), // scope filters from configuration carry text
		filter("n", engine.OpGt, "5"),
		filter("b", engine.OpEq, []byte{1, 2}),
		filter(`q"t`, engine.OpEq, "x"),
		filter("at", engine.OpEq, fine),
		filter("at", engine.OpNe, fine),
		filter("at", engine.OpLt, fine),
		filter("at", engine.OpLte, fine),
		filter("at", engine.OpGt, fine),
		filter("at", engine.OpGte, fine),
		filter("n", engine.OpIn, int64(1), int64(2), int64(3)),
		filter("s", engine.OpIn, "a", "b"),
		filter("at", engine.OpIn, at, fine),
		filter("at", engine.OpIn, fine),
		filter("s", engine.OpPrefix, "ap"),
		filter(`q"t`, engine.OpPrefix, "x"),
		filter("s", engine.OpContains, "pl"),
		filter("tags", engine.OpAll, "a", json.RawMessage(`b`)),
		filter("tags", engine.OpAny, "a", "b"),
		filter("tags", engine.OpNone, "a"),
		filter("s", engine.OpNull, true),
		filter("tags", engine.OpNull, false),
		filter("n", engine.OpNull, "true"),
		{Op: engine.OpOr, Sub: [][]engine.Filter{
			{filter("s", engine.OpEq, "a")},
			{filter("n", engine.OpLt, int64(2)), {Op: engine.OpNot, Sub: [][]engine.Filter{{filter("s", engine.OpPrefix, "b")}}}},
		}},
	}
	for _, f := range counts {
		name := "count " + f.String()
		if len(f.Values) > 0 {
			name += fmt.Sprintf(" (%T)", f.Values[0]) // text from configuration reads like the typed value
		}
		cases = append(cases, Case{Name: name, Collection: c, Filters: []engine.Filter{f}})
	}
	return append(cases, Case{Name: "count with two filters", Collection: c, Filters: []engine.Filter{
		filter("s", engine.OpPrefix, "ap"), filter("at", engine.OpLt, fine),
	}})
}

// Check renders every case with the source's statement builders, sel for
// a plan and count for a count, and compares the text and arguments with
// the golden file, or rewrites the file when update is set.
func Check(t *testing.T, golden string, update bool, cases []Case,
	sel func(*engine.Plan) (string, []any, error),
	count func(*engine.Collection, []engine.Cond) (string, []any, error),
) {
	t.Helper()
	var out strings.Builder
	for _, tc := range cases {
		var query string
		var args []any
		var err error
		if tc.Plan != nil {
			query, args, err = sel(tc.Plan)
		} else {
			var cs []engine.Cond
			if cs, err = engine.Conds(tc.Collection, tc.Filters); err == nil {
				query, args, err = count(tc.Collection, cs)
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		fmt.Fprintf(&out, "== %s\n%s\n", tc.Name, query)
		for i, a := range args {
			fmt.Fprintf(&out, "  %d: %T %v\n", i+1, a, a)
		}
	}
	if update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("statements differ from %s (run with -update to accept):\n%s", golden, diff(string(want), got))
	}
}

// diff lists the lines that differ between want and got, each under the
// case it belongs to, which is enough to see what changed in a statement.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	head := ""
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if strings.HasPrefix(gl, "== ") {
			head = gl
		}
		if wl != gl {
			fmt.Fprintf(&b, "%s\n  - %s\n  + %s\n", head, wl, gl)
		}
	}
	return b.String()
}
