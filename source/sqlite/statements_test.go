package sqlite

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/source/sqlgen/sqlgentest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestStatements pins the SQL this source sends for every operator, seek
// form, order and LIMIT/OFFSET form (testdata/statements.golden). The
// spellings that decide index use live there: +col in the select list,
// the substr range test for prefix, json_each qualified with the table.
func TestStatements(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.db")
	if err := Load(context.Background(), path, []*dataset.Table{sqlgentest.Table()}, nil); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	ctx := context.Background()
	sqlgentest.Check(t, filepath.Join("testdata", "statements.golden"), *update, sqlgentest.Cases(t, collection(t, s, "gen")),
		func(p *engine.Plan) (string, []any, error) {
			query, args, _, err := s.selectSQL(ctx, p)
			return query, args, err
		},
		func(c *engine.Collection, f []engine.Cond) (string, []any, error) { return s.countSQL(ctx, c, f) })
}

// BenchmarkStatement measures building one page's statement, which
// happens on every page: the next page of a row-value seek, of an expanded
// seek on a nullable field, and a filtered count.
//
//	go test ./source/sqlite -run '^$' -bench Statement -benchmem
func BenchmarkStatement(b *testing.B) {
	path := filepath.Join(b.TempDir(), "gen.db")
	if err := Load(context.Background(), path, []*dataset.Table{sqlgentest.Table()}, nil); err != nil {
		b.Fatal(err)
	}
	s := openSource(b, path)
	c := collection(b, s, "gen")
	ctx := context.Background()
	cases := map[string]*engine.Plan{}
	for _, tc := range sqlgentest.Cases(b, c) {
		cases[tc.Name] = tc.Plan
	}
	for _, name := range []string{"row value descending", "nullable ascending after a value", "filters and seek"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := s.selectSQL(ctx, cases[name]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("count", func(b *testing.B) {
		filters := conds(b, c,
			engine.Filter{Field: "s", Op: engine.OpPrefix, Values: []engine.Value{"ap"}},
			engine.Filter{Field: "n", Op: engine.OpIn, Values: []engine.Value{int64(1), int64(2), int64(3)}},
			engine.Filter{Field: "tags", Op: engine.OpAny, Values: []engine.Value{"a", "b"}},
		)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.countSQL(ctx, c, filters); err != nil {
				b.Fatal(err)
			}
		}
	})
}
