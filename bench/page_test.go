package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"folio/engine"
	"folio/source/sqlite"
)

// BenchmarkHandlerPage serves the first 100-row page of entries through
// the whole server handler in process, with no network: the cost folio adds
// per page, for profiling.
func BenchmarkHandlerPage(b *testing.B) {
	st := newStack(b, demoDB(b))
	h := st.srv.Handler()
	req := httptest.NewRequest("GET", "/v1/entries?limit=100", nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkKeyOrderPages walks 1000-row pages of entries in key order
// (sort=entry_id, the order a parallel harvest's slices use) through the
// engine, with the SQLite file read through a memory mapping (the default)
// and by read calls only, alternating page by page in the same run. The
// demo's rows were inserted in another order, so every row of such a page
// is looked up at a random spot of the file.
func BenchmarkKeyOrderPages(b *testing.B) {
	path := demoDB(b)
	mapped := newStackWith(b, path, -1, sqlite.Options{})
	plain := newStackWith(b, path, -1, sqlite.Options{MmapBytes: -1})
	ctx := context.Background()
	q := engine.Query{Sort: engine.Sort{{Field: "entry_id"}}}
	walk := func(st *stack, pages int) time.Duration {
		c, err := st.eng.Collection("entries")
		if err != nil {
			b.Fatal(err)
		}
		w := engine.Window{Limit: 1000}
		start := time.Now()
		for range pages {
			p, err := st.eng.Page(ctx, c, q, w, engine.TotalNone)
			if err != nil {
				b.Fatal(err)
			}
			w.At = engine.Token(p.Next)
		}
		return time.Since(start)
	}
	walk(mapped, 50) // warm-up: the file into the operating system's cache
	walk(plain, 50)
	var tm, tp time.Duration
	b.ResetTimer()
	for range b.N {
		tm += walk(mapped, 100)
		tp += walk(plain, 100)
	}
	b.ReportMetric(float64(tm.Microseconds())/float64(b.N*100), "mmap_µs/page")
	b.ReportMetric(float64(tp.Microseconds())/float64(b.N*100), "read_µs/page")
	b.ReportMetric(tp.Seconds()/tm.Seconds(), "speedup")
}
