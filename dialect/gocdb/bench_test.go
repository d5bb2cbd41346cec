package gocdb

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"folio/dialect/native"
	"folio/internal/demodb"
)

// BenchmarkFirstPage compares the first page of 100 downtimes through this
// dialect with the same page through the native dialect on the same engine.
func BenchmarkFirstPage(b *testing.B) {
	fx := newFixture(b)
	nat := native.New(fx.e, native.Options{Path: "/v1", Logger: demodb.Quiet()})
	for _, bb := range []struct {
		name   string
		h      http.Handler
		target string
	}{
		{"gocdb", fx.h, "/gocdbpi/public/?method=get_downtime&next_cursor=0"},
		{"native", nat, "/v1/downtimes?limit=100&sort=id"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					bb.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, bb.target, nil))
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
