package bench

import (
	"context"
	"testing"
	"time"

	"folio/engine"
)

// BenchmarkKeysetDepth compares a 100-row keyset page at the start of the
// 1M-row entries with one at depth ~1,000,000 (default sort, through the
// engine and the SQLite source), alternating the two in one loop so that
// both see the same machine. The ratio deep/first must stay under 1.2.
func BenchmarkKeysetDepth(b *testing.B) {
	st := newStack(b, demoDB(b))
	ctx := context.Background()
	c, err := st.eng.Collection("entries")
	if err != nil {
		b.Fatal(err)
	}
	// The boundary 200 rows before the end: the page after it is the
	// deepest full page.
	end, err := st.eng.Page(ctx, c, engine.Query{}, engine.Window{Limit: 200, At: engine.Last{}}, engine.TotalExact)
	if err != nil {
		b.Fatal(err)
	}
	deep := engine.Window{Limit: 100, At: engine.After(end.SortValues(end.Rows[0]))}
	first := engine.Window{Limit: 100}
	b.Logf("deep page starts after row %d of %d", end.Total.Count-200+1, end.Total.Count)

	page := func(w engine.Window) time.Duration {
		start := time.Now()
		p, err := st.eng.Page(ctx, c, engine.Query{}, w, engine.TotalNone)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Rows) != 100 {
			b.Fatalf("page has %d rows", len(p.Rows))
		}
		return time.Since(start)
	}
	for range 50 { // warm the caches for both
		page(first)
		page(deep)
	}
	var tf, td time.Duration
	b.ResetTimer()
	for range b.N {
		tf += page(first)
		td += page(deep)
	}
	b.ReportMetric(float64(tf.Microseconds())/float64(b.N), "first_µs/page")
	b.ReportMetric(float64(td.Microseconds())/float64(b.N), "deep_µs/page")
	b.ReportMetric(float64(td)/float64(tf), "ratio")
}
