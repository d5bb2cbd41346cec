package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
)

// filterTable is small enough that every expectation below is worked out by hand.
func filterTable(t *testing.T) (*Source, *engine.Collection) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	cols := []dataset.Column{
		{Name: "id", Type: engine.TypeInt},
		{Name: "s", Type: engine.TypeText, Nullable: true},
		{Name: "n", Type: engine.TypeInt, Nullable: true},
		{Name: "f", Type: engine.TypeFloat, Nullable: true},
		{Name: "ok", Type: engine.TypeBool, Nullable: true},
		{Name: "tags", Type: engine.TypeJSON, Nullable: true},
		{Name: "at", Type: engine.TypeTime, Nullable: true},
	}
	rows := [][]engine.Value{
		{int64(1), "apple", int64(1), -1.5, true, `["a","b"]`, day(1)},
		{int64(2), "Apple", int64(2), 0.0, false, `["b"]`, day(2)},
		{int64(3), "app", nil, 2.25, nil, `[]`, day(3)},
		{int64(4), nil, int64(4), nil, true, nil, nil},
		{int64(5), "apricot", int64(5), 1e10, false, `["c","a"]`, day(5)},
		{int64(6), "", int64(-3), -0.5, true, `["a"]`, day(6)},
		{int64(7), "a%_", int64(0), 0.1, false, `["a%"]`, day(7)},
	}
	path := filepath.Join(t.TempDir(), "filters.db")
	if err := Load(context.Background(), path, []*dataset.Table{tableOf("items", "id", cols, rows)}, nil); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	return s, collection(t, s, "items")
}

func TestFilters(t *testing.T) {
	s, c := filterTable(t)
	ts := func(v string) engine.Value {
		x, err := engine.ParseValue(engine.TypeTime, v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	f := func(field string, op engine.Op, vs ...engine.Value) engine.Filter {
		return engine.Filter{Field: field, Op: op, Values: vs}
	}
	tests := []struct {
		filters []engine.Filter
		want    []int64
	}{
		{[]engine.Filter{f("s", engine.OpEq, "apple")}, []int64{1}},
		{[]engine.Filter{f("s", engine.OpNe, "apple")}, []int64{2, 3, 5, 6, 7}}, // NULL is not "not apple"
		{[]engine.Filter{f("n", engine.OpLt, int64(2))}, []int64{1, 6, 7}},
		{[]engine.Filter{f("n", engine.OpLte, int64(2))}, []int64{1, 2, 6, 7}},
		{[]engine.Filter{f("n", engine.OpGt, int64(2))}, []int64{4, 5}},
		{[]engine.Filter{f("n", engine.OpGte, int64(4))}, []int64{4, 5}},
		{[]engine.Filter{f("n", engine.OpNe, int64(4))}, []int64{1, 2, 5, 6, 7}},
		{[]engine.Filter{f("f", engine.OpIn, -1.5, 0.1, 7.0)}, []int64{1, 7}},
		{[]engine.Filter{f("f", engine.OpGt, 0.0)}, []int64{3, 5, 7}},
		{[]engine.Filter{f("f", engine.OpEq, 0.1)}, []int64{7}},
		{[]engine.Filter{f("f", engine.OpLt, -0.5)}, []int64{1}},
		{[]engine.Filter{f("f", engine.OpLte, -0.5)}, []int64{1, 6}},
		{[]engine.Filter{f("s", engine.OpPrefix, "app")}, []int64{1, 3}}, // case-sensitive
		{[]engine.Filter{f("s", engine.OpPrefix, "a%")}, []int64{7}},     // no LIKE wildcards
		{[]engine.Filter{f("s", engine.OpPrefix, "")}, []int64{1, 2, 3, 5, 6, 7}},
		{[]engine.Filter{f("s", engine.OpPrefix, "apples")}, nil},
		{[]engine.Filter{f("s", engine.OpIn, "app", "", "zzz")}, []int64{3, 6}},
		{[]engine.Filter{f("n", engine.OpNull, true)}, []int64{3}},
		{[]engine.Filter{f("s", engine.OpNull, false)}, []int64{1, 2, 3, 5, 6, 7}},
		{[]engine.Filter{f("ok", engine.OpEq, true)}, []int64{1, 4, 6}},
		{[]engine.Filter{f("ok", engine.OpEq, false)}, []int64{2, 5, 7}},
		{[]engine.Filter{f("ok", engine.OpNe, true)}, []int64{2, 5, 7}},
		{[]engine.Filter{f("ok", engine.OpEq, "true")}, []int64{1, 4, 6}}, // scope filters may carry text
		{[]engine.Filter{f("tags", engine.OpAll, "a", "b")}, []int64{1}},
		{[]engine.Filter{f("tags", engine.OpAll, "a")}, []int64{1, 5, 6}},
		{[]engine.Filter{f("tags", engine.OpAny, "b", "c")}, []int64{1, 2, 5}},
		{[]engine.Filter{f("tags", engine.OpAny, "a%")}, []int64{7}},
		{[]engine.Filter{f("tags", engine.OpNone, "a")}, []int64{2, 3, 4, 7}}, // a NULL array holds nothing
		{[]engine.Filter{f("tags", engine.OpNull, true)}, []int64{4}},
		{[]engine.Filter{f("at", engine.OpGte, ts("2024-01-03"))}, []int64{3, 5, 6, 7}},
		{[]engine.Filter{f("at", engine.OpLt, ts("2024-01-02T00:00:00.000001Z"))}, []int64{1, 2}},
		{[]engine.Filter{f("at", engine.OpEq, ts("2024-01-05T00:00:00Z"))}, []int64{5}},
		{[]engine.Filter{f("n", engine.OpGte, int64(0)), f("s", engine.OpPrefix, "ap")}, []int64{1, 5}},
		{[]engine.Filter{f("id", engine.OpIn, int64(2), int64(4), int64(99))}, []int64{2, 4}},
	}
	for _, tt := range tests {
		var names []string
		for _, f := range tt.filters {
			names = append(names, f.String())
		}
		t.Run(strings.Join(names, "&"), func(t *testing.T) {
			p := allPlan(c)
			p.Filters = conds(t, c, tt.filters...)
			var ids []int64
			for _, r := range run(t, s, p) {
				ids = append(ids, r[0].(int64))
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ids %v, want %v", ids, tt.want)
			}
			n, err := s.Count(context.Background(), c, p.Filters)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(tt.want)) {
				t.Errorf("count %d, want %d", n, len(tt.want))
			}
		})
	}
}

// TestHiddenScope checks that a filter may name a hidden field: that is how
// a visibility rule tests a column clients never see.
func TestHiddenScope(t *testing.T) {
	s, c := filterTable(t)
	field(t, c, "ok").Hidden = true
	p := &engine.Plan{Collection: c, Columns: c.Visible(), Order: []engine.OrderKey{{Field: c.KeyField()}},
		Filters: conds(t, c, engine.Filter{Field: "ok", Op: engine.OpEq, Values: []engine.Value{true}})}
	if got := len(run(t, s, p)); got != 3 {
		t.Errorf("%d rows, want 3", got)
	}
}

func TestLimitOffset(t *testing.T) {
	s, c := filterTable(t)
	tests := []struct {
		limit, offset int
		want          []int64
	}{
		{0, 0, []int64{1, 2, 3, 4, 5, 6, 7}},
		{2, 0, []int64{1, 2}},
		{2, 3, []int64{4, 5}},
		{0, 5, []int64{6, 7}},
		{10, 6, []int64{7}},
		{3, 10, nil},
	}
	for _, tt := range tests {
		p := allPlan(c)
		p.Limit, p.Offset = tt.limit, tt.offset
		var ids []int64
		for _, r := range run(t, s, p) {
			ids = append(ids, r[0].(int64))
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("limit %d offset %d: ids %v, want %v", tt.limit, tt.offset, ids, tt.want)
		}
	}
}

// TestKeyset holds every keyset page against a brute-force oracle: for every
// sort of up to three fields in both directions (key appended) and every
// row as the boundary, the rows after it are exactly the rows that
// engine.Predicate.Matches accepts, in the order engine.Compare gives.
func TestKeyset(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	texts := []string{"", "a", "A", "ab", "é", "b", "日本", "a b"}
	floats := []float64{-2.5, -0.0, 0.1, 1, 1e20}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	cols := []dataset.Column{
		{Name: "id", Type: engine.TypeInt},
		{Name: "s", Type: engine.TypeText, Nullable: true},
		{Name: "n", Type: engine.TypeInt, Nullable: true},
		{Name: "f", Type: engine.TypeFloat, Nullable: true},
		{Name: "at", Type: engine.TypeTime},
		{Name: "ok", Type: engine.TypeBool, Nullable: true},
	}
	var rows [][]engine.Value
	null := func(v engine.Value) engine.Value {
		if rng.IntN(4) == 0 {
			return nil
		}
		return v
	}
	for i := 1; i <= 60; i++ {
		rows = append(rows, []engine.Value{
			int64(i), null(texts[rng.IntN(len(texts))]), null(int64(rng.IntN(4) - 1)), null(floats[rng.IntN(len(floats))]),
			base.Add(time.Duration(rng.IntN(5)) * time.Microsecond * 250), null(rng.IntN(2) == 0),
		})
	}
	path := filepath.Join(t.TempDir(), "keyset.db")
	tbl := tableOf("k", "id", cols, rows, dataset.Index{Columns: []string{"s", "id"}})
	if err := Load(context.Background(), path, []*dataset.Table{tbl}, nil); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	c := collection(t, s, "k")
	key := c.KeyField()
	all := run(t, s, &engine.Plan{Collection: c, Columns: c.Fields})

	sortable := []string{"s", "n", "f", "at", "ok"}
	var orders [][]engine.OrderKey
	for _, a := range sortable {
		for _, b := range append([]string{""}, sortable...) {
			if a == b {
				continue
			}
			for dirs := 0; dirs < 4; dirs++ {
				o := []engine.OrderKey{{Field: field(t, c, a), Desc: dirs&1 != 0}}
				if b != "" {
					o = append(o, engine.OrderKey{Field: field(t, c, b), Desc: dirs&2 != 0})
				} else if dirs >= 2 {
					continue
				}
				orders = append(orders, append(o, engine.OrderKey{Field: key, Desc: rng.IntN(2) == 0}))
			}
		}
	}
	cases := 0
	for _, order := range orders {
		want := slices.Clone(all)
		idx := func(f *engine.Field) int { return slices.Index(c.Fields, f) }
		slices.SortStableFunc(want, func(x, y engine.Row) int {
			for _, o := range order {
				cmp := engine.Compare(x[idx(o.Field)], y[idx(o.Field)])
				if o.Desc {
					cmp = -cmp
				}
				if cmp != 0 {
					return cmp
				}
			}
			return 0
		})
		got := run(t, s, &engine.Plan{Collection: c, Columns: c.Fields, Order: order})
		if !sameIDs(got, want) {
			t.Fatalf("order %v: rows\n%v\nwant\n%v", order, ids(got), ids(want))
		}
		for _, boundary := range want {
			vals := make([]engine.Value, len(order))
			for i, o := range order {
				vals[i] = boundary[idx(o.Field)]
			}
			seek := engine.SeekAfter(order, vals)
			var expect []engine.Row
			for _, r := range want {
				if seek.Matches(c.Fields, r) {
					expect = append(expect, r)
				}
			}
			for _, limit := range []int{0, 3} {
				got := run(t, s, &engine.Plan{Collection: c, Columns: c.Fields, Order: order, Seek: seek, Limit: limit})
				exp := expect
				if limit > 0 && len(exp) > limit {
					exp = exp[:limit]
				}
				if !sameIDs(got, exp) {
					t.Fatalf("order %s after %v limit %d: rows %v, want %v", orderString(order), vals, limit, ids(got), ids(exp))
				}
				cases++
			}
			// The oracle itself must agree that "after" means after.
			pos := slices.IndexFunc(want, func(r engine.Row) bool { return r[0] == boundary[0] })
			if !sameIDs(expect, want[pos+1:]) {
				t.Fatalf("order %s: predicate after %v disagrees with the sorted rows", orderString(order), vals)
			}
		}
	}
	t.Logf("%d orders, %d keyset pages checked", len(orders), cases)
}

func ids(rows []engine.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r[0].(int64)
	}
	return out
}

func sameIDs(a, b []engine.Row) bool { return slices.Equal(ids(a), ids(b)) }

func orderString(order []engine.OrderKey) string {
	var parts []string
	for _, o := range order {
		if o.Desc {
			parts = append(parts, "-"+o.Field.Name)
		} else {
			parts = append(parts, o.Field.Name)
		}
	}
	return strings.Join(parts, ",")
}

func TestSeekEmptyOr(t *testing.T) {
	s, c := filterTable(t)
	p := allPlan(c)
	p.Seek = &engine.Predicate{}
	if got := run(t, s, p); len(got) != 0 {
		t.Errorf("empty disjunction selected %d rows", len(got))
	}
}

// TestFalseColumn checks the statements on a table with a column named
// "false", which SQLite's FALSE would read instead of the constant.
func TestFalseColumn(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE f (id INTEGER PRIMARY KEY, "false" INTEGER, v TEXT)`,
		`INSERT INTO f VALUES (1, 1, NULL), (2, 0, 'a'), (3, NULL, 'b')`)
	s := openSource(t, path)
	c := collection(t, s, "f")
	p := allPlan(c)
	// NOT counts an unknown comparison as not matching, so not(v = 'a')
	// holds where v is NULL.
	p.Filters = conds(t, c, engine.Filter{Op: engine.OpNot, Sub: [][]engine.Filter{{{Field: "v", Op: engine.OpEq, Values: []engine.Value{"a"}}}}})
	if got := ids(run(t, s, p)); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("not(v = a): ids %v, want [1 3]", got)
	}
	p = allPlan(c)
	p.Seek = &engine.Predicate{}
	if got := run(t, s, p); len(got) != 0 {
		t.Errorf("empty disjunction selected %d rows", len(got))
	}
}

// bigTable makes a table of n rows quickly, in SQL.
func bigTable(t testing.TB, n int) string {
	return newDB(t,
		`CREATE TABLE big (id INTEGER PRIMARY KEY, t DATETIME NOT NULL, v REAL, s TEXT)`,
		fmt.Sprintf(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %d)
			INSERT INTO big SELECT i, strftime('%%Y-%%m-%%dT%%H:%%M:%%f000Z', 1700000000 + i / 7, 'unixepoch'),
			(i * 7919 %% 10007) / 3.0, hex(randomblob(8)) FROM seq`, n),
		`CREATE INDEX big_t ON big (t, id)`,
		`ANALYZE`,
	)
}

func TestCancel(t *testing.T) {
	path := bigTable(t, 300_000)
	s := openSource(t, path)
	c := collection(t, s, "big")
	// Sorting on an unindexed column makes SQLite work before the first row.
	plan := &engine.Plan{Collection: c, Columns: c.Fields, Order: []engine.OrderKey{{Field: field(t, c, "s")}, {Field: c.KeyField()}}}

	t.Run("mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		err := s.Query(ctx, plan, func(engine.Row) error {
			n++
			if n == 100 {
				cancel()
			}
			return nil
		})
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("Query after cancel: %v (rows %d), want context.Canceled", err, n)
		}
		if n > 1000 {
			t.Errorf("%d rows emitted after cancel", n-100)
		}
	})
	t.Run("before first row", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Query(ctx, plan, func(engine.Row) error { return nil })
		if err == nil {
			t.Fatal("Query finished despite the deadline")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Query returned %v after its deadline", d)
		}
	})
	t.Run("emit error", func(t *testing.T) {
		stop := errors.New("client went away")
		err := s.Query(context.Background(), plan, func(engine.Row) error { return stop })
		if err != stop {
			t.Errorf("Query returned %v, want emit's error", err)
		}
	})
	// The pool survives cancellations.
	if n, err := s.Count(context.Background(), c, nil); err != nil || n != 300_000 {
		t.Errorf("count after cancellations: %d, %v", n, err)
	}
}

func TestVersion(t *testing.T) {
	path := newDB(t, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
	s := openSource(t, path)
	ctx := context.Background()
	v1, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Reads change nothing.
	c := collection(t, s, "t")
	run(t, s, allPlan(c))
	if v, _ := s.Version(ctx); v != v1 {
		t.Errorf("version moved from %d to %d without a write", v1, v)
	}
	w := writer(t, path)
	for i := range 3 {
		if _, err := w.Exec("INSERT INTO t (v) VALUES (?)", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		v2, err := s.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v2 == v1 {
			t.Fatalf("version %d unchanged after another connection's commit", v2)
		}
		if v3, _ := s.Version(ctx); v3 != v2 {
			t.Errorf("version moved from %d to %d without a write", v2, v3)
		}
		v1 = v2
	}
	// A rolled-back transaction commits nothing.
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec("INSERT INTO t (v) VALUES ('x')")
	tx.Rollback()
	if v, _ := s.Version(ctx); v != v1 {
		t.Errorf("version moved after a rollback")
	}
}

func TestExplainUsesIndex(t *testing.T) {
	path := bigTable(t, 20_000)
	s := openSource(t, path)
	c := collection(t, s, "big")
	tf, id := field(t, c, "t"), c.KeyField()
	order := []engine.OrderKey{{Field: tf, Desc: true}, {Field: id, Desc: true}}
	boundary := run(t, s, &engine.Plan{Collection: c, Columns: []*engine.Field{tf, id}, Order: order, Offset: 5000, Limit: 1})[0]
	plan := &engine.Plan{Collection: c, Columns: c.Fields, Order: order, Seek: engine.SeekAfter(order, boundary), Limit: 101}
	query, args, _, err := s.selectSQL(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	text := explain(t, s, query, args)
	if !strings.Contains(text, "USING INDEX big_t (t<") {
		t.Errorf("seek does not search index big_t on t: %s\n%s", text, query)
	}
	if strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("seek sorts in a temp b-tree: %s", text)
	}
	// And the page is the one that follows the boundary.
	got := run(t, s, plan)
	if len(got) != 101 || got[0][0].(int64) != boundary[1].(int64)-1 {
		t.Errorf("page after id %v starts at %v (%d rows)", boundary[1], got[0][0], len(got))
	}
}

func TestEstimate(t *testing.T) {
	ctx := context.Background()
	path := newDB(t,
		`CREATE TABLE e (id INTEGER PRIMARY KEY, cat TEXT NOT NULL, v INTEGER)`,
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000)
			INSERT INTO e SELECT i, 'c' || (i % 10), i FROM seq`,
		`CREATE INDEX e_cat ON e (cat)`,
		`CREATE TABLE nostats (id INTEGER PRIMARY KEY, v TEXT)`,
		`INSERT INTO nostats (id, v) VALUES (1, 'a'), (2, 'b'), (50, 'c')`,
		`CREATE VIEW ev AS SELECT id, cat FROM e WHERE v <= 100`,
	)
	w := writer(t, path)
	if _, err := w.Exec("ANALYZE e"); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	e := collection(t, s, "e")
	f := func(field string, op engine.Op, vs ...engine.Value) engine.Filter {
		return engine.Filter{Field: field, Op: op, Values: vs}
	}
	tests := []struct {
		c       string
		filters []engine.Filter
		want    int64
	}{
		{"e", nil, 1000},
		{"e", []engine.Filter{f("cat", engine.OpEq, "c1")}, 100},
		{"e", []engine.Filter{f("cat", engine.OpIn, "c1", "c2")}, 200},
		{"e", []engine.Filter{f("v", engine.OpGt, int64(5))}, 250},
		{"e", []engine.Filter{f("cat", engine.OpEq, "c1"), f("v", engine.OpGt, int64(5))}, 25},
		{"e", []engine.Filter{f("id", engine.OpEq, int64(5))}, 1},
		{"nostats", nil, 50}, // max(rowid)
		{"ev", nil, 100},     // a view is counted
	}
	for _, tt := range tests {
		tc := collection(t, s, tt.c)
		got, err := s.Estimate(ctx, tc, conds(t, tc, tt.filters...))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("estimate %s %v = %d, want %d", tt.c, tt.filters, got, tt.want)
		}
	}
	_ = e
}

// BenchmarkKeysetDepth compares 100-row keyset pages at the start of a
// 1M-row table (the first page, with no seek, and the second) with one at
// depth ~1M, on the index (t, id), sorted -t,-id.
//
//	go test ./source/sqlite -run '^$' -bench KeysetDepth -benchtime 2000x
func BenchmarkKeysetDepth(b *testing.B) {
	path := bigTable(b, 1_000_000)
	s := openSource(b, path)
	c := collection(b, s, "big")
	tf, id := field(b, c, "t"), c.KeyField()
	order := []engine.OrderKey{{Field: tf, Desc: true}, {Field: id, Desc: true}}
	boundary := func(offset int) *engine.Predicate {
		r := run(b, s, &engine.Plan{Collection: c, Columns: []*engine.Field{tf, id}, Order: order, Offset: offset, Limit: 1})[0]
		return engine.SeekAfter(order, r)
	}
	for _, bc := range []struct {
		name string
		seek *engine.Predicate
	}{{"page1", nil}, {"page2", boundary(100)}, {"depth1M", boundary(999_800)}} {
		b.Run(bc.name, func(b *testing.B) {
			plan := &engine.Plan{Collection: c, Columns: c.Fields, Order: order, Seek: bc.seek, Limit: 101}
			for b.Loop() {
				n := 0
				if err := s.Query(context.Background(), plan, func(engine.Row) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n != 101 {
					b.Fatalf("%d rows", n)
				}
			}
		})
	}
}

// TestNullPlacementUsesIndex: SQLite's index puts NULLs below every value,
// so a key that places them low (first ascending, last descending, as the
// Elasticsearch-backed dialects ask descending) is served by an index on
// the column, both ways, with no sort; the page is the one that follows.
func TestNullPlacementUsesIndex(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE nv (id INTEGER PRIMARY KEY, v REAL)`,
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 20000)
			INSERT INTO nv SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 7919 % 10007) / 3.0 END FROM seq`,
		`CREATE INDEX nv_v ON nv (v, id)`,
		`ANALYZE`)
	s := openSource(t, path)
	c := collection(t, s, "nv")
	v, id := field(t, c, "v"), c.KeyField()
	for _, desc := range []bool{false, true} {
		order := []engine.OrderKey{{Field: v, Desc: desc, NullsLow: true}, {Field: id, Desc: desc}}
		all := run(t, s, &engine.Plan{Collection: c, Columns: []*engine.Field{v, id}, Order: order})
		for i := 1; i < len(all); i++ {
			if cmp := order[0].Compare(all[i-1][0], all[i][0]); cmp > 0 || cmp == 0 && order[1].Compare(all[i-1][1], all[i][1]) >= 0 {
				t.Fatalf("desc %v: rows %d and %d out of order: %v, %v", desc, i-1, i, all[i-1], all[i])
			}
		}
		for _, at := range []int{100, 3000, 19000} { // NULLs, then values, ascending; the reverse descending
			boundary := all[at]
			plan := &engine.Plan{Collection: c, Columns: []*engine.Field{v, id}, Order: order, Seek: engine.SeekAfter(order, boundary), Limit: 50}
			query, args, _, err := s.selectSQL(context.Background(), plan)
			if err != nil {
				t.Fatal(err)
			}
			text := explain(t, s, query, args)
			if !strings.Contains(text, "INDEX nv_v") || strings.Contains(text, "TEMP B-TREE") {
				t.Errorf("desc %v after %v: not an index walk: %s\n%s", desc, boundary, text, query)
			}
			got := run(t, s, plan)
			if len(got) != 50 || got[0][1] != all[at+1][1] {
				t.Errorf("desc %v after %v: page starts at %v, want %v", desc, boundary, got[0], all[at+1])
			}
		}
	}
}

// explain returns SQLite's query plan for query, one line per step.
func explain(t *testing.T, s *Source, query string, args []any) string {
	t.Helper()
	rows, err := s.pools.db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var details []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		details = append(details, detail)
	}
	return strings.Join(details, "; ")
}
