package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/source/conformance"
)

// TestConformance runs the suite every source must pass: paging against a
// brute-force oracle and harvests under concurrent writes from another
// connection, as another process would make them.
func TestConformance(t *testing.T) {
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
	})
}
