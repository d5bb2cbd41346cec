package sqlite

import (
	"context"
	"testing"

	"folio/engine"
	"folio/source/conformance"
)

// TestDataErrorIsNotUnavailable: a statement that fails on what it reads
// (a view whose expression overflows on one row) is the server's error,
// not unavailability that a client would retry until it gives up; a
// database that cannot answer (here: closed) is still unavailable.
func TestDataErrorIsNotUnavailable(t *testing.T) {
	path := newDB(t,
		`CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER)`,
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 20) INSERT INTO n SELECT i, i FROM seq`,
		`CREATE VIEW failing AS SELECT id, CASE WHEN id = 5 THEN abs(-9223372036854775807 - 1) ELSE v END AS v FROM n`,
	)
	s := openSource(t, path)
	e := conformance.NewEngine(t, s)
	c, err := e.Collection("failing")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	code := func(err error) engine.Code {
		if e, ok := engine.AsError(err); ok {
			return e.Code
		}
		return ""
	}
	_, err = e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 10, At: engine.Offset(0)}, engine.TotalNone)
	if code(err) != engine.CodeInternal {
		t.Errorf("a page over a row that fails: %v (code %q), want %q", err, code(err), engine.CodeInternal)
	}
	err = e.Stream(ctx, c, engine.Query{}, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error { return nil })
	if code(err) != engine.CodeInternal {
		t.Errorf("a stream over a row that fails: %v (code %q), want %q", err, code(err), engine.CodeInternal)
	}
	_, err = e.Total(ctx, c, engine.Query{Filters: []engine.Filter{{Field: "v", Op: engine.OpGt, Values: []engine.Value{int64(0)}}}}, engine.TotalExact)
	if code(err) != engine.CodeInternal {
		t.Errorf("a count over a row that fails: %v (code %q), want %q", err, code(err), engine.CodeInternal)
	}

	s.Close()
	_, err = e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 10, At: engine.Offset(0)}, engine.TotalNone)
	if code(err) != engine.CodeUnavailable {
		t.Errorf("a page from a closed database: %v (code %q), want %q", err, code(err), engine.CodeUnavailable)
	}
}
