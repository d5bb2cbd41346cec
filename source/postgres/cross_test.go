package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/internal/pgtest"
	"folio/source/conformance"
	"folio/source/sqlite"
)

// TestSameAsSQLite loads the same random tables into SQLite and PostgreSQL
// and checks that the same sorts and filters give identical pages, page by
// page, and identical counts.
func TestSameAsSQLite(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(21, 42))
	var tables []*dataset.Table
	for i := range 6 {
		tables = append(tables, conformance.RandomTable(rng, fmt.Sprintf("x%d", i), 50+rng.IntN(250), conformance.KeyKind(i%3)))
	}
	path := filepath.Join(t.TempDir(), "same.db")
	if err := sqlite.Load(ctx, path, tables, nil); err != nil {
		t.Fatal(err)
	}
	lite, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	url := pgtest.Start(t)
	if err := Load(ctx, url, tables, nil); err != nil {
		t.Fatal(err)
	}
	pg := openSource(t, url, Options{})
	le, pe := conformance.NewEngine(t, lite), conformance.NewEngine(t, pg)

	const queries = 400
	pages := 0
	for i := range queries {
		tb := tables[rng.IntN(len(tables))]
		q := conformance.RandomQuery(rng, tb)
		limit := 1 + rng.IntN(20)
		lc, err := le.Collection(tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := pe.Collection(tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		lw, pw := engine.Window{Limit: limit}, engine.Window{Limit: limit}
		for n := 0; ; n++ {
			lp, err := le.Page(ctx, lc, q, lw, engine.TotalExact)
			if err != nil {
				t.Fatalf("query %d sqlite: %v", i, err)
			}
			pp, err := pe.Page(ctx, pc, q, pw, engine.TotalExact)
			if err != nil {
				t.Fatalf("query %d postgres: %v", i, err)
			}
			pages++
			lk, pk := conformance.PageKeys(lp), conformance.PageKeys(pp)
			if !slices.EqualFunc(lk, pk, func(a, b engine.Value) bool { return engine.Compare(a, b) == 0 }) {
				t.Fatalf("table %s, sort %v, filters %v, limit %d, page %d:\nsqlite   %v\npostgres %v", tb.Name, q.Sort, q.Filters, limit, n, lk, pk)
			}
			if lp.Total.Count != pp.Total.Count || lp.HasNext != pp.HasNext {
				t.Fatalf("table %s, sort %v, filters %v: total %d/%d, has_next %v/%v", tb.Name, q.Sort, q.Filters,
					lp.Total.Count, pp.Total.Count, lp.HasNext, pp.HasNext)
			}
			if !lp.HasNext {
				break
			}
			lw, pw = engine.Window{Limit: limit, At: engine.Token(lp.Next)}, engine.Window{Limit: limit, At: engine.Token(pp.Next)}
		}
	}
	t.Logf("%d queries, %d identical pages", queries, pages)
}
