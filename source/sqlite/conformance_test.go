package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/source/conformance"
)

// TestConformance runs the suite every source must pass: paging against a
// brute-force oracle and harvests under concurrent writes from another
// connection, as another process would make them, and, since SQLite keeps
// whatever a writer stores in a column, paging over tables with mistyped
// cells. FOLIO_CONFORMANCE_CASES sets the number of random queries of each
// paging test (default 10,000).
func TestConformance(t *testing.T) {
	cases := 0
	if s := os.Getenv("FOLIO_CONFORMANCE_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("FOLIO_CONFORMANCE_CASES=%q: want a positive number", s)
		}
		cases = n
	}
	conformance.Run(t, conformance.Harness{
		Load: func(t testing.TB, tables []*dataset.Table) (engine.Source, conformance.Writer) {
			path := filepath.Join(t.TempDir(), "conformance.db")
			if err := Load(context.Background(), path, tables, nil); err != nil {
				t.Fatal(err)
			}
			s := openSource(t, path)
			w := writer(t, path)
			return s, func(ctx context.Context, query string, args ...any) error {
				_, err := w.ExecContext(ctx, query, args...)
				return err
			}
		},
		Cases:  cases,
		Stored: loadStored,
	})
}

// loadStored is how Load stores a value of a column of type t (loadValue):
// times as text in loadLayout, booleans as 0 and 1; a value of another
// kind (a mistyped cell) as it is.
func loadStored(t engine.Type, v engine.Value) engine.Value {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(loadLayout)
	case bool:
		return boolInt(x)
	}
	return v
}
