package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

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
