package nomad

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRequest sends arbitrary POST bodies and GET query strings: the
// answer is always JSON in NOMAD's shape and never a 5xx.
func FuzzRequest(f *testing.F) {
	h := newFixture(f).h
	f.Add(`{}`, ``)
	f.Add(`{"query":{"results.material.elements":{"all":["Ti","O"]}},"pagination":{"page_size":5,"order_by":"upload_create_time","order":"desc","page_after_value":"1514764800000.123:abc"},"required":{"include":["entry_id"]}}`, `page_size=2&order_by=upload_create_time&page_after_value=1514764800000:abc`)
	f.Add(`{"query":{"or":[{"results.material.n_elements:gte":3},{"not":{"published":true}}]},"pagination":{"page":2,"page_size":"3"}}`, `results.material.elements=Ti&results.material.n_elements__lt=4&include=results.*`)
	f.Add(`{"pagination":{"order_by":"results.properties.electronic.band_gap.value","page_after_value":"None:x"},"required":{"exclude":["results"]}}`, `q=results.material.n_elements__gte__3&json_query={"and":[]}`)
	f.Add(`{"aggregations":{"e":{}},"pagination":{"page_offset":7,"order_by":"entry_create_time","order":"desc"}}`, `page=3&page_size=4&order_by=upload_create_time&order=desc`)
	f.Add(`{"pagination":{"page_after_value":"-1:x","order_by":"upload_create_time"}}`, `page_after_value=%5Ca:b`)
	f.Fuzz(func(t *testing.T, body, query string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/entries/query", bytes.NewBufferString(body)))
		check(t, "POST "+body, rec)
		rec = httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/entries", nil)
		req.URL.RawQuery = query
		h.ServeHTTP(rec, req)
		check(t, "GET "+query, rec)
	})
}

func check(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s: body is not JSON: %s", what, rec.Body)
	}
	if rec.Code >= 400 {
		var v struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &v) != nil || len(v.Detail) == 0 {
			t.Fatalf("%s: error without detail: %s", what, rec.Body)
		}
	}
}
