package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/source/conformance"
	"folio/source/sqlite"
)

// These tests run the engine over the real SQLite source: what they check
// (totals that follow another connection's writes, bounds that keep a
// request inside the database's own limits) only means something against a
// real database.

// countingSource is the real source with its Count calls counted, to tell a
// cached total from a recount.
type countingSource struct {
	engine.Source
	counts atomic.Int64
}

func (s *countingSource) Count(ctx context.Context, c *engine.Collection, f []engine.Cond) (int64, error) {
	s.counts.Add(1)
	return s.Source.Count(ctx, c, f)
}

// load writes tb to a fresh SQLite file and returns its path and an engine
// over it whose source counts its Count calls.
func load(t *testing.T, tb *dataset.Table) (string, *engine.Engine, *countingSource) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "engine.sqlite")
	if err := sqlite.Load(ctx, path, []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}
	real, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	src := &countingSource{Source: real}
	cols, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("engine-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	return path, e, src
}

// otherConnection opens the file as another writer would. The driver is
// registered by source/sqlite, the one package that imports it; the test
// uses it by name only.
func otherConnection(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomTable(n int) (*dataset.Table, *conformance.Oracle) {
	tb := conformance.RandomTable(rand.New(rand.NewPCG(5, 8)), "t", n, conformance.IntKey)
	return tb, conformance.NewOracle(tb)
}

// TestExactTotalCache: an exact total is counted once per collection and
// filter while the data stays the same, and counted again as soon as
// another connection commits, so a changing database never shows a stale
// total.
func TestExactTotalCache(t *testing.T) {
	tb, o := randomTable(300)
	path, e, src := load(t, tb)
	writer := otherConnection(t, path)
	ctx := context.Background()
	c, err := e.Collection("t")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		filters []engine.Filter
	}{
		{"no filter", nil},
		{"a > 0", []engine.Filter{{Field: "a", Op: engine.OpGt, Values: []engine.Value{int64(0)}}}},
		{"a null", []engine.Filter{{Field: "a", Op: engine.OpNull, Values: []engine.Value{true}}}},
		{"a > 0 and s null", []engine.Filter{
			{Field: "a", Op: engine.OpGt, Values: []engine.Value{int64(0)}},
			{Field: "s", Op: engine.OpNull, Values: []engine.Value{false}},
		}},
	}
	total := func(q engine.Query, w engine.Window) int64 {
		t.Helper()
		p, err := e.Page(ctx, c, q, w, engine.TotalExact)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total == nil || p.Total.Estimate || p.Total.Relation() != "eq" {
			t.Fatalf("total %+v, want an exact one", p.Total)
		}
		return p.Total.Count
	}
	nextID := int64(1_000_000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := engine.Query{Filters: tt.filters}
			want := int64(len(o.Select(tt.filters, nil)))
			before := src.counts.Load()
			if got := total(q, engine.Window{Limit: 5}); got != want {
				t.Fatalf("total %d, want %d", got, want)
			}
			if n := src.counts.Load() - before; n != 1 {
				t.Fatalf("first total: %d counts, want 1", n)
			}
			// Unchanged data: served from the cache, whatever the window or sort.
			for _, w := range []engine.Window{{Limit: 5}, {Limit: 7, At: engine.Offset(3)}} {
				q2 := engine.Query{Filters: tt.filters, Sort: engine.Sort{{Field: "f", Desc: true}}}
				if got := total(q2, w); got != want {
					t.Errorf("cached total %d, want %d", got, want)
				}
			}
			if n := src.counts.Load() - before; n != 1 {
				t.Errorf("unchanged data counted %d times, want once", n)
			}

			// Another connection inserts a row that every filter above
			// matches, and one that is deleted again: the next total is
			// recounted and includes the first.
			nextID++
			if _, err := writer.Exec(`INSERT INTO t (id, a, f, s, t, b, tags) SELECT ?, 7, 1.5, 'new', t, b, tags FROM t LIMIT 1`, nextID); err != nil {
				t.Fatal(err)
			}
			grew := want
			if tt.name != "a null" {
				grew++
			}
			if got := total(q, engine.Window{Limit: 5}); got != grew {
				t.Errorf("after another connection's insert: total %d, want %d", got, grew)
			}
			if _, err := writer.Exec(`DELETE FROM t WHERE id = ?`, nextID); err != nil {
				t.Fatal(err)
			}
			if got := total(q, engine.Window{Limit: 5}); got != want {
				t.Errorf("after another connection's delete: total %d, want %d", got, want)
			}
			if n := src.counts.Load() - before; n != 3 {
				t.Errorf("%d counts for three data versions, want 3", n)
			}
		})
	}
}

// TestTotalModes: estimate is labelled as such, none skips the count.
func TestTotalModes(t *testing.T) {
	tb, o := randomTable(200)
	_, e, src := load(t, tb)
	c, _ := e.Collection("t")
	tests := []struct {
		mode     engine.TotalMode
		relation string // "" for no total
	}{
		{engine.TotalExact, "eq"},
		{engine.TotalEstimate, "estimate"},
		{engine.TotalNone, ""},
	}
	for _, tt := range tests {
		before := src.counts.Load()
		p, err := e.Page(context.Background(), c, engine.Query{}, engine.Window{Limit: 3}, tt.mode)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.relation == "" && p.Total != nil:
			t.Errorf("mode %v: total %+v, want none", tt.mode, p.Total)
		case tt.relation != "" && (p.Total == nil || p.Total.Relation() != tt.relation || p.Total.Estimate != (tt.relation == "estimate")):
			t.Errorf("mode %v: total %+v, want relation %s", tt.mode, p.Total, tt.relation)
		case tt.relation == "eq" && p.Total.Count != int64(len(o.Rows)):
			t.Errorf("exact total %d, want %d", p.Total.Count, len(o.Rows))
		}
		if tt.mode != engine.TotalExact && src.counts.Load() != before {
			t.Errorf("mode %v ran a COUNT", tt.mode)
		}
	}
}

// TestOffsetBounds: offsets beyond the cap are refused, including those
// near MaxInt whose offset+limit would wrap around.
func TestOffsetBounds(t *testing.T) {
	tb, _ := randomTable(50)
	_, e, _ := load(t, tb)
	c, _ := e.Collection("t")
	c.MaxOffset = 40
	tests := []struct {
		offset, limit int
		ok            bool
	}{
		{0, 10, true},
		{30, 10, true},
		{31, 10, false},
		{40, 1, false},
		{math.MaxInt, 10, false},
		{math.MaxInt - 5, 10, false},
		{math.MaxInt, 1000, false},
		{math.MaxInt - 1000, 1000, false},
	}
	for _, tt := range tests {
		_, err := e.Page(context.Background(), c, engine.Query{}, engine.Window{Limit: tt.limit, At: engine.Offset(tt.offset)}, engine.TotalNone)
		if tt.ok {
			if err != nil {
				t.Errorf("offset %d limit %d: %v", tt.offset, tt.limit, err)
			}
			continue
		}
		if e, ok := engine.AsError(err); !ok || e.Code != engine.CodeInvalid || e.Param != engine.ParamOffset {
			t.Errorf("offset %d limit %d: error %v, want an invalid offset", tt.offset, tt.limit, err)
		}
	}
}

// TestQuerySize: queries up to the bounds run on SQLite (no 503 from its
// expression depth or parameter limits); one more condition or value is a
// 400 naming the filter.
func TestQuerySize(t *testing.T) {
	tb, _ := randomTable(100)
	_, e, _ := load(t, tb)
	c, _ := e.Collection("t")
	repeat := func(n int, f func(i int) engine.Filter) []engine.Filter {
		out := make([]engine.Filter, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	ne := func(i int) engine.Filter {
		return engine.Filter{Field: "a", Op: engine.OpNe, Values: []engine.Value{int64(-1000 - i)}}
	}
	values := func(n int, f func(i int) engine.Value) []engine.Value {
		out := make([]engine.Value, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tag := func(i int) engine.Value { return fmt.Sprint("tag", i) }
	// nested not(not(...(a != x))): each level is a filter and a group.
	nested := func(levels int) []engine.Filter {
		f := ne(0)
		for range levels {
			f = engine.Filter{Op: engine.OpNot, Sub: [][]engine.Filter{{f}}}
		}
		return []engine.Filter{f}
	}
	tests := []struct {
		name    string
		filters []engine.Filter
		param   string // "" when the query must run
	}{
		{"max filters", repeat(engine.MaxConditions, ne), ""},
		{"one filter more", repeat(engine.MaxConditions+1, ne), "a"},
		{"max in values", []engine.Filter{{Field: "id", Op: engine.OpIn, Values: values(engine.MaxFilterValues, func(i int) engine.Value { return int64(i) })}}, ""},
		{"one in value more", []engine.Filter{{Field: "id", Op: engine.OpIn, Values: values(engine.MaxFilterValues+1, func(i int) engine.Value { return int64(i) })}}, "id"},
		{"max all values", []engine.Filter{{Field: "tags", Op: engine.OpAll, Values: values(engine.MaxConditions-1, tag)}}, ""},
		{"one all value more", []engine.Filter{{Field: "tags", Op: engine.OpAll, Values: values(engine.MaxConditions, tag)}}, "tags"},
		{"deep nesting", nested((engine.MaxConditions - 1) / 2), ""},
		{"too deep nesting", nested(engine.MaxConditions / 2), "a"}, // the innermost filter crosses the bound
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := engine.Query{Filters: tt.filters, Sort: engine.Sort{{Field: "s"}, {Field: "f", Desc: true}}}
			p, err := e.Page(context.Background(), c, q, engine.Window{Limit: 5}, engine.TotalExact)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("a query within the bounds failed: %v", err)
				}
				// A next page adds the keyset predicate to the same filters.
				if p.HasNext {
					if _, err := e.Page(context.Background(), c, q, engine.Window{Limit: 5, At: engine.Token(p.Next)}, engine.TotalNone); err != nil {
						t.Fatalf("next page: %v", err)
					}
				}
				return
			}
			ee, ok := engine.AsError(err)
			if !ok || ee.Code != engine.CodeInvalid || ee.Param != engine.ParamFilter || ee.Field != tt.param || !strings.Contains(ee.Message, "split it") {
				t.Fatalf("error %v, want a 400 naming %q", err, tt.param)
			}
		})
	}
}

// TestTotalAlone: Total counts what Page would count, reads no rows and
// shares the exact-total cache; Check refuses what Page refuses, without
// touching the source.
func TestTotalAlone(t *testing.T) {
	tb, o := randomTable(200)
	_, e, src := load(t, tb)
	ctx := context.Background()
	c, _ := e.Collection("t")
	q := engine.Query{Filters: []engine.Filter{{Field: "a", Op: engine.OpGt, Values: []engine.Value{int64(0)}}}}
	want := int64(len(o.Select(q.Filters, nil)))

	before := src.counts.Load()
	got, err := e.Total(ctx, c, q, engine.TotalExact)
	if err != nil || got.Count != want || got.Estimate {
		t.Fatalf("Total = %+v, %v; want exactly %d", got, err, want)
	}
	p, err := e.Page(ctx, c, q, engine.Window{Limit: 1}, engine.TotalExact)
	if err != nil || p.Total.Count != want {
		t.Fatalf("page total %+v, %v; want %d", p.Total, err, want)
	}
	if n := src.counts.Load() - before; n != 1 {
		t.Errorf("%d counts for one query's total asked twice, want 1 (cached)", n)
	}
	if cp, err := e.CountPage(ctx, c, q, engine.TotalExact); err != nil || len(cp.Rows) != 0 || cp.Total == nil || cp.Total.Count != want {
		t.Errorf("CountPage: %+v, %v; want no rows and a total of %d", cp, err, want)
	}
	if est, err := e.Total(ctx, c, q, engine.TotalEstimate); err != nil || !est.Estimate {
		t.Errorf("estimate %+v, %v", est, err)
	}
	if _, err := e.Total(ctx, c, q, engine.TotalNone); err == nil {
		t.Error("a total-only call without a count mode succeeded")
	}

	bad := engine.Query{Filters: []engine.Filter{{Field: "nope", Op: engine.OpEq, Values: []engine.Value{"x"}}}}
	for name, err := range map[string]error{
		"Check": e.Check(context.Background(), c, bad),
		"Total": func() error { _, err := e.Total(ctx, c, bad, engine.TotalExact); return err }(),
	} {
		ee, ok := engine.AsError(err)
		if !ok || ee.Code != engine.CodeInvalid || ee.Param != engine.ParamFilter || ee.Field != "nope" {
			t.Errorf("%s of an unknown field: %v, want an invalid filter on nope", name, err)
		}
	}
	if err := e.Check(context.Background(), c, q); err != nil {
		t.Errorf("Check of a good query: %v", err)
	}
}

// TestPositions: each position of a window reads what it names, and the
// engine names the parameter at fault in its own terms.
func TestPositions(t *testing.T) {
	tb, o := randomTable(120)
	_, e, _ := load(t, tb)
	ctx := context.Background()
	c, _ := e.Collection("t")
	q := engine.Query{Fields: c.Key}
	all := o.Select(nil, nil)
	key := func(p *engine.Page, i int) engine.Value { return p.Value(p.Rows[i], c.Key[0]) }

	first, err := e.Page(ctx, c, q, engine.Window{Limit: 10}, engine.TotalNone)
	if err != nil || !first.Keyset || len(first.Rows) != 10 {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	next, err := e.Page(ctx, c, q, engine.Window{Limit: 10, At: engine.Token(first.Next)}, engine.TotalNone)
	if err != nil || engine.Compare(key(next, 0), key(first, 9)) <= 0 {
		t.Fatalf("token page: %v", err)
	}
	after, err := e.Page(ctx, c, q, engine.Window{Limit: 10, At: engine.After(first.SortValues(first.Rows[9]))}, engine.TotalNone)
	if err != nil || engine.Compare(key(after, 0), key(next, 0)) != 0 {
		t.Fatalf("after page differs from the token page: %v", err)
	}
	before, err := e.Page(ctx, c, q, engine.Window{Limit: 10, At: engine.Before(next.SortValues(next.Rows[0]))}, engine.TotalNone)
	if err != nil || engine.Compare(key(before, 9), key(first, 9)) != 0 {
		t.Fatalf("before page differs from the first page: %v", err)
	}
	last, err := e.Page(ctx, c, q, engine.Window{Limit: 10, At: engine.Last{}}, engine.TotalNone)
	if err != nil || last.HasNext || len(last.Rows) != 10 {
		t.Fatalf("last page: %+v, %v", last, err)
	}
	off, err := e.Page(ctx, c, q, engine.Window{Limit: 10, At: engine.Offset(10)}, engine.TotalNone)
	if err != nil || off.Keyset || engine.Compare(key(off, 0), key(next, 0)) != 0 || len(all) != 120 {
		t.Fatalf("offset page: %v", err)
	}

	for name, tt := range map[string]struct {
		w     engine.Window
		param engine.Param
		code  engine.Code
	}{
		"limit":        {engine.Window{Limit: 5000}, engine.ParamLimit, engine.CodeInvalid},
		"negative":     {engine.Window{Limit: 5, At: engine.Offset(-1)}, engine.ParamOffset, engine.CodeInvalid},
		"bad token":    {engine.Window{Limit: 5, At: engine.Token("abc")}, engine.ParamCursor, engine.CodeInvalidCursor},
		"short after":  {engine.Window{Limit: 5, At: engine.After{}}, engine.ParamCursor, engine.CodeInvalidCursor},
		"wrong before": {engine.Window{Limit: 5, At: engine.Before{"x", "y"}}, engine.ParamCursor, engine.CodeInvalidCursor},
	} {
		_, err := e.Page(ctx, c, q, tt.w, engine.TotalNone)
		ee, ok := engine.AsError(err)
		if !ok || ee.Param != tt.param || ee.Code != tt.code || ee.Parameter != "" {
			t.Errorf("%s: %v (%+v), want %v on %v unnamed", name, err, ee, tt.code, tt.param)
		}
	}

	var n int
	err = e.Stream(ctx, c, q, engine.Span{Limit: 7, From: engine.Offset(100)}, func([]*engine.Field, []int) error { return nil },
		func(engine.Row) error { n++; return nil })
	if err != nil || n != 7 {
		t.Errorf("stream of 7 from offset 100: %d rows, %v", n, err)
	}
	n = 0
	err = e.Stream(ctx, c, q, engine.Span{From: engine.After(last.SortValues(last.Rows[4]))}, func([]*engine.Field, []int) error { return nil },
		func(engine.Row) error { n++; return nil })
	if err != nil || n != 5 {
		t.Errorf("stream after the 5th last row: %d rows, %v", n, err)
	}
}

// TestNullPlacementResolved: a sort term's NULL placement reaches the page's
// order for a nullable field, and is no part of a NOT NULL field's order
// (nor of its cursors), where it cannot matter.
func TestNullPlacementResolved(t *testing.T) {
	tb, _ := randomTable(50)
	_, e, _ := load(t, tb)
	c, _ := e.Collection("t")
	var nullable, notNull string
	for _, f := range c.Fields {
		switch {
		case f.Nullable && f.Type.Scalar() && nullable == "":
			nullable = f.Name
		case !f.Nullable && !slices.Contains(c.Key, f.Name) && notNull == "":
			notNull = f.Name
		}
	}
	for _, tt := range []struct {
		sort string
		low  bool
	}{
		{nullable, false}, {nullable + ".nullslast", false}, {nullable + ".nullsfirst", true},
		{"-" + nullable, false}, {"-" + nullable + ".nullsfirst", false}, {"-" + nullable + ".nullslast", true},
		{notNull + ".nullsfirst", false}, {"-" + notNull + ".nullslast", false},
	} {
		p, err := e.Page(context.Background(), c, engine.Query{Sort: engine.ParseSort(tt.sort)}, engine.Window{Limit: 2}, engine.TotalNone)
		if err != nil {
			t.Fatal(err)
		}
		if p.Order[0].NullsLow != tt.low {
			t.Errorf("sort %s: NullsLow %v, want %v", tt.sort, p.Order[0].NullsLow, tt.low)
		}
	}
}
