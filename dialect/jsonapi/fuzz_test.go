package jsonapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzParams sends arbitrary query strings and Accept headers to the list
// and record routes: the answer is always JSON, never a 5xx, and every
// error is one JSON:API error object.
func FuzzParams(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []string{"", "page[size]=2", "page[cursor]=1&page[size]=3&provider-id=cern", "page[number]=401",
		"sort=-created&created=2019,2020", "query=Zürich&prefix=10.5281", "page[cursor]=AQ", "page%5Bsize%5D=0",
		"fields[dois]=doi,client&publisher=true", "fields[dois]=&affiliation=true&sort=relevance,-relevance", "fields[clients]=name"} {
		f.Add(s, "")
	}
	f.Add("page[size]=1", "application/vnd.api+json; ext=x")
	f.Fuzz(func(t *testing.T, raw, accept string) {
		for _, target := range []string{"/dois", "/dois/10.5281/zenodo.100000"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.URL.RawQuery = raw
			if accept != "" {
				req.Header["Accept"] = []string{accept}
			}
			rec := httptest.NewRecorder()
			fx.h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s?%s: status %d: %s", target, raw, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s?%s: body is not JSON: %s", target, raw, rec.Body)
			}
			if rec.Code >= 400 {
				var e errorDoc
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.Errors) != 1 {
					t.Fatalf("%s?%s: status %d with no single error object: %s", target, raw, rec.Code, rec.Body)
				}
			}
		}
	})
}
