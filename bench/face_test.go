package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"folio/engine"
)

// BenchmarkHTMLPage compares the face's HTML page of entries with the
// JSON page of the same URL, at the start of the 1M-row demo and at row
// 900,000 (a cursor page), through the whole server handler in process
// with the page cache off, alternating the four requests in one loop so
// that all see the same machine. Each ratio html/json must stay under 2.
func BenchmarkHTMLPage(b *testing.B) {
	st := newStackCache(b, demoDB(b), -1)
	h := st.srv.Handler()
	ctx := context.Background()
	c, err := st.eng.Collection("entries")
	if err != nil {
		b.Fatal(err)
	}
	// The cursor of the page that starts after row 900,000, in the default
	// order: that row's sort values, read once with an offset, then the
	// engine's own signed cursor of the page that ends with it.
	p, err := st.eng.Page(ctx, c, engine.Query{}, engine.Window{Limit: 1}, engine.TotalNone)
	if err != nil {
		b.Fatal(err)
	}
	var at []engine.Value
	err = st.eng.Stream(ctx, c, engine.Query{}, engine.Span{Limit: 1, From: engine.Offset(899_900)},
		func(columns []*engine.Field, _ []int) error {
			for _, o := range p.Order {
				at = append(at, slices.Index(columns, o.Field))
			}
			return nil
		},
		func(row engine.Row) error {
			for i, j := range at {
				at[i] = row[j.(int)]
			}
			return nil
		})
	if err != nil {
		b.Fatal(err)
	}
	before, err := st.eng.Page(ctx, c, engine.Query{}, engine.Window{Limit: 100, At: engine.After(at)}, engine.TotalNone)
	if err != nil || !before.HasNext {
		b.Fatalf("the page before row 900,000: %v", err)
	}
	first := "/v1/entries?limit=100"
	deep := first + "&cursor=" + url.QueryEscape(before.Next)

	get := func(target, accept string) time.Duration {
		req := httptest.NewRequest("GET", target, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		d := time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", target, w.Code, w.Body)
		}
		return d
	}
	const browser = "text/html,application/xhtml+xml,*/*;q=0.8"
	for range 30 { // warm the caches for all four
		get(first, "")
		get(first, browser)
		get(deep, "")
		get(deep, browser)
	}
	var jf, hf, jd, hd time.Duration
	b.ResetTimer()
	for range b.N {
		jf += get(first, "")
		hf += get(first, browser)
		jd += get(deep, "")
		hd += get(deep, browser)
	}
	n := float64(b.N)
	b.ReportMetric(float64(jf.Microseconds())/n, "json_first_µs")
	b.ReportMetric(float64(hf.Microseconds())/n, "html_first_µs")
	b.ReportMetric(float64(jd.Microseconds())/n, "json_deep_µs")
	b.ReportMetric(float64(hd.Microseconds())/n, "html_deep_µs")
	b.ReportMetric(float64(hf)/float64(jf), "ratio_first")
	b.ReportMetric(float64(hd)/float64(jd), "ratio_deep")
}
