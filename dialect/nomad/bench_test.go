package nomad

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"folio/dialect/native"
	"folio/internal/demodb"
)

// BenchmarkFirstPage compares NOMAD's first page of 100 entries with the
// native dialect's same page (same sort, all fields): a dialect is a thin
// map, so it should cost about the same.
func BenchmarkFirstPage(b *testing.B) {
	fx := newFixture(b)
	nat := native.New(fx.e, native.Options{Path: "/v1", Logger: demodb.Quiet()})
	run := func(b *testing.B, h http.Handler, newReq func() *http.Request) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, newReq())
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
	b.Run("native", func(b *testing.B) {
		run(b, nat, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v1/entries?limit=100&sort=entry_id", nil)
		})
	})
	b.Run("native_total_public", func(b *testing.B) {
		run(b, nat, func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v1/entries?limit=100&sort=entry_id&total=exact&public=true", nil)
		})
	})
	b.Run("nomad_post", func(b *testing.B) {
		run(b, fx.h, func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/api/v1/entries/query", bytes.NewBufferString(`{"pagination":{"page_size":100}}`))
		})
	})
	b.Run("nomad_get", func(b *testing.B) {
		run(b, fx.h, func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/v1/entries?page_size=100", nil) })
	})
}

// BenchmarkFirstPageRatio alternates native and NOMAD first pages of 100
// entries, so that load from other processes falls on both alike, and
// reports the ratio of their throughputs (≥ 0.8 wanted).
func BenchmarkFirstPageRatio(b *testing.B) {
	fx := newFixture(b)
	nat := native.New(fx.e, native.Options{Path: "/v1", Logger: demodb.Quiet()})
	var tn, tm time.Duration
	for b.Loop() {
		start := time.Now()
		rec := httptest.NewRecorder()
		nat.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/entries?limit=100&sort=entry_id", nil))
		mid := time.Now()
		rec2 := httptest.NewRecorder()
		fx.h.ServeHTTP(rec2, httptest.NewRequest(http.MethodPost, "/api/v1/entries/query", bytes.NewBufferString(`{"pagination":{"page_size":100}}`)))
		end := time.Now()
		if rec.Code != http.StatusOK || rec2.Code != http.StatusOK {
			b.Fatalf("status %d, %d", rec.Code, rec2.Code)
		}
		tn += mid.Sub(start)
		tm += end.Sub(mid)
	}
	b.ReportMetric(float64(tn)/float64(tm), "nomad/native")
}
