package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"folio/engine"
	"folio/source/conformance"
)

// newDB creates a database file in a temporary directory by running stmts
// on a connection of its own, and returns its path.
func newDB(t testing.TB, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db := writer(t, path)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

// writer opens a read-write connection pool on path, as another process
// writing the file would.
func writer(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driverName, dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// openSource opens path with the source's warnings discarded; the tests
// that check them use openLogged.
func openSource(t testing.TB, path string) *Source {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func collection(t testing.TB, s *Source, name string) *engine.Collection {
	t.Helper()
	return conformance.Collection(t, s, name)
}

// run executes plan and returns copies of its rows.
func run(t testing.TB, s *Source, plan *engine.Plan) []engine.Row {
	t.Helper()
	var out []engine.Row
	err := s.Query(context.Background(), plan, func(r engine.Row) error {
		out = append(out, slices.Clone(r))
		return nil
	})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return out
}

// allPlan selects every visible field of c in key order.
func allPlan(c *engine.Collection) *engine.Plan {
	p := &engine.Plan{Collection: c, Columns: c.Visible()}
	if k := c.KeyField(); k != nil {
		p.Order = []engine.OrderKey{{Field: k}}
	}
	return p
}

func field(t testing.TB, c *engine.Collection, name string) *engine.Field {
	t.Helper()
	f := c.Field(name)
	if f == nil {
		t.Fatalf("collection %s has no field %q", c.Name, name)
	}
	return f
}

// conds resolves filters against c as the engine resolves a collection's
// scope (hidden fields included), for plans the tests build by hand.
func conds(t testing.TB, c *engine.Collection, filters ...engine.Filter) []engine.Cond {
	t.Helper()
	cs, err := engine.Conds(c, filters)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// discovered returns the collections s discovers and their names.
func discovered(t testing.TB, s *Source) ([]*engine.Collection, []string) {
	t.Helper()
	cols, err := s.Collections(context.Background())
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return cols, names
}
