package sqlgen

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"folio/engine"
)

// fake renders every hook as a readable token, so that the tests see the
// statement the shared code builds around them. A time with a fraction
// finer than a microsecond is inexact, as in PostgreSQL.
type fake struct {
	nullsLow bool
	limitAll string
}

func (fake) Table(st *Statement) { st.Quote(st.Collection().Table) }
func (fake) SelectColumn(st *Statement, f *engine.Field) error {
	st.WriteString("sel(" + f.Name + ")")
	return nil
}
func (fake) Column(st *Statement, f *engine.Field) error {
	st.WriteString("col(" + f.Name + ")")
	return nil
}
func (fake) Value(_ *Statement, f *engine.Field, v engine.Value) (any, bool, error) {
	if t, ok := v.(time.Time); ok {
		r := t.Truncate(time.Microsecond)
		return r, r.Equal(t), nil
	}
	if _, ok := v.(bool); ok && f.Type != engine.TypeBool {
		return nil, false, fmt.Errorf("not of type %v", f.Type)
	}
	return v, true, nil
}
func (fake) Param(st *Statement, _ any, t engine.Type) {
	st.WriteString("$" + strconv.Itoa(st.Bind(nil)) + ":" + t.String())
}
func (fake) Prefix(st *Statement, f *engine.Field, p string) error {
	st.WriteString("prefix(" + f.Name + ")")
	st.Bind(p)
	return nil
}
func (fake) Contains(st *Statement, f *engine.Field, p string) error {
	st.WriteString("contains(" + f.Name + ")")
	st.Bind(p)
	return nil
}
func (fake) Array(st *Statement, f *engine.Field, op engine.Op, values []string) error {
	st.WriteString(string(op) + "(" + f.Name + ", " + strings.Join(values, " ") + ")")
	return nil
}
func (d fake) NullsLow() bool   { return d.nullsLow }
func (d fake) LimitAll() string { return d.limitAll }
func (fake) False() string      { return "F" }

func testCollection() *engine.Collection {
	return &engine.Collection{Name: "c", Table: `t"x`, Key: []string{"id"}, Fields: []*engine.Field{
		{Name: "id", Column: "id", Type: engine.TypeInt},
		{Name: "s", Column: "s", Type: engine.TypeText, Nullable: true},
		{Name: "n", Column: "n", Type: engine.TypeInt, Nullable: true},
		{Name: "at", Column: "at", Type: engine.TypeTime, Nullable: true},
		{Name: "tags", Column: "tags", Type: engine.TypeJSON, Nullable: true},
		{Name: "secret", Column: `se"cret`, Type: engine.TypeBool, Hidden: true},
	}}
}

func TestWhere(t *testing.T) {
	c := testCollection()
	id, s := c.Fields[0], c.Fields[1]
	eq := func(f string) engine.Filter {
		return engine.Filter{Field: f, Op: engine.OpEq, Values: []engine.Value{int64(1)}}
	}
	seek := &engine.Predicate{
		Bound: []engine.Atom{{Field: s, Op: engine.OpGte, Value: "m"}},
		Or: [][]engine.Atom{
			{{Field: s, Op: engine.OpGt, Value: "m"}},
			{{Field: s, Op: engine.OpNull, Value: true}},
			{{Field: s, Op: engine.OpEq, Value: "m"}, {Field: id, Op: engine.OpGt, Value: int64(7)}},
		},
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	fine := at.Add(time.Nanosecond)
	tuple := func(v engine.Value, desc bool) *engine.Predicate {
		p := *seek
		p.Tuple = &engine.Tuple{Fields: []*engine.Field{c.Fields[3], id}, Values: []engine.Value{v, int64(7)}, Desc: desc}
		return &p
	}
	for _, tc := range []struct {
		name    string
		filters []engine.Filter
		seek    *engine.Predicate
		want    string
	}{
		{"nothing", nil, nil, ""},
		{"filters", []engine.Filter{eq("id"), eq("n")}, nil, " WHERE col(id) = $1:integer AND col(n) = $2:integer"},
		{"or and not", []engine.Filter{{Op: engine.OpOr, Sub: [][]engine.Filter{
			{eq("id")}, {eq("n"), {Op: engine.OpNot, Sub: [][]engine.Filter{{eq("id"), eq("n")}}}},
		}}}, nil, " WHERE ((col(id) = $1:integer) OR (col(n) = $2:integer AND NOT coalesce((col(id) = $3:integer AND col(n) = $4:integer), F)))"},
		{"expanded seek", []engine.Filter{eq("n")}, seek,
			` WHERE col(n) = $1:integer AND col(s) >= $2:text AND ((col(s) > $3:text) OR ("s" IS NULL) OR (col(s) = $4:text AND col(id) > $5:integer))`},
		{"row-value seek", nil, tuple(at, false), " WHERE (col(at), col(id)) > ($1:time, $2:integer)"},
		{"row-value seek descending", []engine.Filter{eq("n")}, tuple(at, true), " WHERE col(n) = $1:integer AND (col(at), col(id)) < ($2:time, $3:integer)"},
		{"row value of an inexact time falls back", nil, tuple(fine, false),
			` WHERE col(s) >= $1:text AND ((col(s) > $2:text) OR ("s" IS NULL) OR (col(s) = $3:text AND col(id) > $4:integer))`},
		{"empty seek", nil, &engine.Predicate{}, " WHERE F"},
		{"empty seek after a bound", nil, &engine.Predicate{Bound: seek.Bound}, " WHERE col(s) >= $1:text AND F"},
	} {
		st := newStatement(context.Background(), fake{}, c, 0)
		conds, err := engine.Conds(c, tc.filters)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.where(conds, tc.seek); err != nil || st.sql.String() != tc.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", tc.name, st.sql.String(), err, tc.want)
		}
	}
}

func TestFilter(t *testing.T) {
	c := testCollection()
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	fine := at.Add(time.Nanosecond)
	f := func(field string, op engine.Op, vs ...engine.Value) engine.Filter {
		return engine.Filter{Field: field, Op: op, Values: vs}
	}
	for _, tc := range []struct {
		filter engine.Filter
		want   string // the condition, or "error: " and part of the message
		args   int
	}{
		{f("n", engine.OpEq, int64(1)), "col(n) = $1:integer", 1},
		{f("n", engine.OpNe, int64(1)), "col(n) <> $1:integer", 1},
		{f("n", engine.OpLt, int64(1)), "col(n) < $1:integer", 1},
		{f("n", engine.OpLte, int64(1)), "col(n) <= $1:integer", 1},
		{f("n", engine.OpGt, int64(1)), "col(n) > $1:integer", 1},
		{f("n", engine.OpGte, int64(1)), "col(n) >= $1:integer", 1},
		{f("n", engine.OpGte, "5"), "col(n) >= $1:integer", 1}, // scope filters carry text
		{f("n", engine.OpGte, "five"), `error: n: "five" is not an integer`, 0},
		{f("s", engine.OpEq, "5"), "col(s) = $1:text", 1},
		{f("secret", engine.OpEq, true), "col(secret) = $1:boolean", 1}, // hidden fields are found
		{f("at", engine.OpEq, at), "col(at) = $1:time", 1},
		// A time the column cannot hold: rounded down, operator adjusted.
		{f("at", engine.OpEq, fine), "F", 0},
		{f("at", engine.OpNe, fine), `"at" IS NOT NULL`, 0},
		{f("at", engine.OpLt, fine), "col(at) <= $1:time", 1},
		{f("at", engine.OpLte, fine), "col(at) <= $1:time", 1},
		{f("at", engine.OpGt, fine), "col(at) > $1:time", 1},
		{f("at", engine.OpGte, fine), "col(at) > $1:time", 1},
		{f("n", engine.OpIn, int64(1), int64(2)), "col(n) IN ($1:integer, $2:integer)", 2},
		{f("at", engine.OpIn, fine, at, fine), "col(at) IN ($1:time)", 1},
		{f("at", engine.OpIn, fine), "F", 0},
		{f("s", engine.OpNull, true), `"s" IS NULL`, 0},
		{f("secret", engine.OpNull, false), `"se""cret" IS NOT NULL`, 0},
		{f("s", engine.OpNull, "true"), `"s" IS NULL`, 0},
		{f("s", engine.OpNull, "maybe"), "error: s: ", 0},
		{f("s", engine.OpNull, int64(1)), "error: value 1 is not of type boolean", 0},
		{f("s", engine.OpPrefix, "ap"), "prefix(s)", 1},
		{f("s", engine.OpContains, "ap"), "contains(s)", 1},
		{f("n", engine.OpPrefix, int64(1)), "error: operator prefix applies only to text fields", 0},
		{f("tags", engine.OpAll, "a", json.RawMessage(`b`)), "all(tags, a b)", 0},
		{f("tags", engine.OpAny, "a"), "any(tags, a)", 0},
		{f("tags", engine.OpNone, "a", "b"), "none(tags, a b)", 0},
		{f("tags", engine.OpAny, int64(1)), "error: value 1 is not of type json", 0},
		{f("nope", engine.OpEq, int64(1)), `error: unknown field "nope"`, 0},
		{f("n", engine.OpEq), `error: operator "eq" needs a value`, 0},
		{f("n", "like", "x"), `error: unknown operator "like"`, 0},
		{f("n", engine.OpEq, true), "error: value true is not of type integer", 0},
	} {
		// The engine resolves filters (engine.Cond) and refuses what it
		// cannot type; sqlgen renders what it resolved.
		st := newStatement(context.Background(), fake{}, c, 0)
		conds, err := engine.Conds(c, []engine.Filter{tc.filter})
		if err == nil {
			err = st.filter(conds[0])
		}
		if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want one containing %q", tc.filter, err, want)
			}
			continue
		}
		if err != nil || st.sql.String() != tc.want || len(st.args) != tc.args {
			t.Errorf("%s: got %q (%d args), %v; want %q (%d args)", tc.filter, st.sql.String(), len(st.args), err, tc.want, tc.args)
		}
	}
}

// TestFilterGuards: a condition the engine would never resolve is refused,
// never rendered.
func TestFilterGuards(t *testing.T) {
	c := testCollection()
	s, n := c.Fields[1], c.Fields[2]
	for _, tc := range []struct {
		cond engine.Cond
		want string
	}{
		{engine.Cond{Field: s, Op: engine.OpNull, Values: []engine.Value{int64(1)}}, "null test needs a boolean"},
		{engine.Cond{Field: n, Op: engine.OpPrefix, Values: []engine.Value{int64(1)}}, "prefix needs text"},
		{engine.Cond{Field: s, Op: engine.OpAny, Values: []engine.Value{int64(1)}}, "array elements are compared as text"},
		{engine.Cond{Op: engine.OpEq, Values: []engine.Value{int64(1)}}, "no field"},
		{engine.Cond{Field: n, Op: engine.OpEq}, "no value"},
		{engine.Cond{Field: n, Op: "like", Values: []engine.Value{"x"}}, `unsupported filter operator "like"`},
	} {
		st := newStatement(context.Background(), fake{}, c, 0)
		if err := st.filter(tc.cond); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.cond.Op, err, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	c := testCollection()
	id, s, n := c.Fields[0], c.Fields[1], c.Fields[2]
	plan := func(limit, offset int, order ...engine.OrderKey) *engine.Plan {
		return &engine.Plan{Collection: c, Columns: []*engine.Field{id, s}, Order: order, Limit: limit, Offset: offset}
	}
	const head = `SELECT sel(id), sel(s) FROM "t""x"`
	asc := func(f *engine.Field) engine.OrderKey { return engine.OrderKey{Field: f} }
	desc := func(f *engine.Field) engine.OrderKey { return engine.OrderKey{Field: f, Desc: true} }
	sqlite, postgres := fake{nullsLow: true, limitAll: "-1"}, fake{}
	for _, tc := range []struct {
		name string
		d    fake
		plan *engine.Plan
		want string
	}{
		{"no order", postgres, plan(0, 0), head},
		// NULL sorts above every value: a database that sorts it below is
		// told so for nullable columns, and only for them.
		{"nulls low", sqlite, plan(0, 0, asc(s), desc(n), asc(id)), head + " ORDER BY col(s) NULLS LAST, col(n) DESC NULLS FIRST, col(id)"},
		{"nulls low, descending key", sqlite, plan(0, 0, desc(s), desc(id)), head + " ORDER BY col(s) DESC NULLS FIRST, col(id) DESC"},
		{"nulls high", postgres, plan(0, 0, asc(s), desc(n), asc(id)), head + " ORDER BY col(s), col(n) DESC, col(id)"},
		{"limit", sqlite, plan(10, 0, asc(id)), head + " ORDER BY col(id) LIMIT $1:integer"},
		{"limit and offset", sqlite, plan(10, 20, asc(id)), head + " ORDER BY col(id) LIMIT $1:integer OFFSET $2:integer"},
		{"offset, LIMIT needed", sqlite, plan(0, 20, asc(id)), head + " ORDER BY col(id) LIMIT -1 OFFSET $1:integer"},
		{"offset alone", postgres, plan(0, 20, asc(id)), head + " ORDER BY col(id) OFFSET $1:integer"},
		{"filters", postgres, &engine.Plan{Collection: c, Columns: []*engine.Field{id}, Order: []engine.OrderKey{asc(id)}, Limit: 3,
			Filters: []engine.Cond{{Field: s, Op: engine.OpEq, Values: []engine.Value{"x"}}},
			Seek:    engine.SeekAfter([]engine.OrderKey{asc(id)}, []engine.Value{int64(5)})},
			`SELECT sel(id) FROM "t""x" WHERE col(s) = $1:text AND col(id) >= $2:integer AND ((col(id) > $3:integer)) ORDER BY col(id) LIMIT $4:integer`},
	} {
		query, args, err := Select(context.Background(), tc.d, tc.plan)
		if err != nil || query != tc.want || len(args) != strings.Count(query, "$") {
			t.Errorf("%s:\n got %q (%d args), %v\nwant %q", tc.name, query, len(args), err, tc.want)
		}
	}
}

func TestCount(t *testing.T) {
	c := testCollection()
	query, args, err := Count(context.Background(), fake{}, c, []engine.Cond{{Field: c.Fields[2], Op: engine.OpLt, Values: []engine.Value{int64(3)}}})
	if want := `SELECT count(*) FROM "t""x" WHERE col(n) < $1:integer`; err != nil || query != want || len(args) != 1 {
		t.Errorf("got %q (%d args), %v; want %q", query, len(args), err, want)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"a": `"a"`, "": `""`, `a"b`: `"a""b"`, `"`: `""""`, `x""`: `"x"""""`} {
		var st Statement
		st.Quote(in)
		if got := st.sql.String(); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
