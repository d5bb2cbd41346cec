package postgres

import (
	"context"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/internal/pgtest"
	"folio/source/conformance"
)

// conformanceCases keeps the package's run short under -race; the SQLite
// run harvests 10,000 and the cross-source test below compares both.
const conformanceCases = 3000

// TestConformance runs the suite every source must pass against a real
// PostgreSQL: paging against a brute-force oracle, and harvests while
// another connection writes.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Cases: conformanceCases,
		Load: func(t testing.TB, tables []*dataset.Table) (engine.Source, conformance.Writer) {
			url := pgtest.Start(t)
			if err := Load(context.Background(), url, tables, nil); err != nil {
				t.Fatal(err)
			}
			s := openSource(t, url, Options{})
			w := writer(t, url)
			return s, func(ctx context.Context, query string, args ...any) error {
				_, err := w.Exec(ctx, dollars(query), args...)
				return err
			}
		},
	})
}
