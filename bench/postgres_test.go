package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"folio/engine"
)

// BenchmarkPostgres loads the demo dataset (FOLIO_BENCH_ROWS entries,
// default 1M) into a PostgreSQL server the benchmark starts, and measures in
// the same run, beside the SQLite demo database of the same size: the
// keyset page at the deepest full page vs page 1 on PostgreSQL, 100-row
// pages/s with 32 connections (page cache off), and a full HTTP harvest at
// 1000 rows a page.
func BenchmarkPostgres(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is needed: apt-get install -y wrk")
	}
	secs := benchSeconds(b)
	pe, psrv := serve(b, postgresSource(b, postgresDemo(b)), -1)
	pgBase := listen(b, psrv.Handler())
	lite := newStackCache(b, demoDB(b), -1)
	liteBase := listen(b, lite.srv.Handler())
	dir := b.TempDir()

	for range b.N {
		first, deep := depthPages(b, pe, 500)
		b.ReportMetric(deep/first, "pg_depth_ratio")
		b.Logf("PostgreSQL keyset page: page 1 %.0f µs, deepest full page %.0f µs, ratio %.2f", first, deep, deep/first)

		runWrk(b, wrk, dir, pgBase, []string{"/v1/entries?limit=100"}, 1) // warm
		runWrk(b, wrk, dir, liteBase, []string{"/v1/entries?limit=100"}, 1)
		p := runWrk(b, wrk, dir, pgBase, []string{"/v1/entries?limit=100"}, secs)
		s := runWrk(b, wrk, dir, liteBase, []string{"/v1/entries?limit=100"}, secs)
		b.ReportMetric(p/s, "pages_ratio")
		b.Logf("100-row pages, 32 connections: PostgreSQL %.0f pages/s, SQLite %.0f pages/s, ratio %.2f", p, s, p/s)

		client := newHarvestClient()
		pr, pd := harvest(b, client, pgBase, pgBase+"/v1/entries?limit=1000")
		sr, sd := harvest(b, client, liteBase, liteBase+"/v1/entries?limit=1000")
		if pr != sr {
			b.Fatalf("PostgreSQL harvested %d rows, SQLite %d", pr, sr)
		}
		b.ReportMetric(sd.Seconds()/pd.Seconds(), "harvest_ratio")
		b.Logf("full harvest of %d rows: PostgreSQL %s (%.0f rows/s), SQLite %s (%.0f rows/s), ratio %.2f",
			pr, pd.Round(time.Millisecond), float64(pr)/pd.Seconds(), sd.Round(time.Millisecond), float64(sr)/sd.Seconds(), sd.Seconds()/pd.Seconds())
	}
}

// depthPages times n 100-row pages of entries at the start and after the
// row 200 before the end, alternating, and returns their mean µs.
func depthPages(tb testing.TB, e *engine.Engine, n int) (first, deep float64) {
	ctx := context.Background()
	c, err := e.Collection("entries")
	if err != nil {
		tb.Fatal(err)
	}
	end, err := e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 200, At: engine.Last{}}, engine.TotalNone)
	if err != nil {
		tb.Fatal(err)
	}
	dw := engine.Window{Limit: 100, At: engine.After(end.SortValues(end.Rows[0]))}
	page := func(w engine.Window) time.Duration {
		start := time.Now()
		p, err := e.Page(ctx, c, engine.Query{}, w, engine.TotalNone)
		if err != nil || len(p.Rows) != 100 {
			tb.Fatalf("page: %v (%d rows)", err, len(p.Rows))
		}
		return time.Since(start)
	}
	for range 20 {
		page(engine.Window{Limit: 100})
		page(dw)
	}
	var tf, td time.Duration
	for range n {
		tf += page(engine.Window{Limit: 100})
		td += page(dw)
	}
	return float64(tf.Microseconds()) / float64(n), float64(td.Microseconds()) / float64(n)
}
