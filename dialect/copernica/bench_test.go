package copernica

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"folio/dialect/native"
	"folio/internal/demodb"
)

// BenchmarkFirstPage compares the first page of 100 profiles of database
// 42 through this dialect with the same page through the native API: a
// dialect is a thin map, so the two should cost about the same.
func BenchmarkFirstPage(b *testing.B) {
	env := newFixture(b)
	nat := native.New(env.e, native.Options{Path: "/v1", Logger: demodb.Quiet()})
	for _, bc := range []struct {
		name   string
		h      http.Handler
		target string
	}{
		{"native", nat, "/v1/profiles?database_id=42&sort=id&limit=100"},
		{"copernica", env.page, "/v2/database/42/profiles?limit=100"},
		{"copernica-stream", env.stream, "/stream/v2/database/42/profiles?limit=100"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.target, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					bc.h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
