package native

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzQuery sends arbitrary query strings: the answer is never a 5xx, and
// always JSON but for a successful export.
func FuzzQuery(f *testing.F) {
	h := newHandler(f)
	for _, s := range []string{"", "limit=2", "sort=-score,name&fields=id,tags", "tags[all]=Ti,O", "offset=3&total=estimate", "cursor=AQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, target := range []string{"/v1/items", "/v1/events", "/v1/items/1"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.URL.RawQuery = raw
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s?%s: status %d: %s", target, raw, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s?%s: body is not JSON: %s", target, raw, rec.Body)
			}
		}
		// An export is CSV or NDJSON when it succeeds, and a JSON error
		// when it does not.
		for _, target := range []string{"/v1/items.csv", "/v1/events.ndjson"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.URL.RawQuery = raw
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 || rec.Code != 200 && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s?%s: status %d: %s", target, raw, rec.Code, rec.Body)
			}
		}
	})
}
