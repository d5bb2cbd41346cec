package copernica

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzQuery sends arbitrary database ids and query strings to both hosts:
// the answer is always JSON and never a 5xx (or net/http's redirect of
// an unclean path).
func FuzzQuery(f *testing.F) {
	env := newFixture(f)
	for _, s := range [][2]string{
		{"42", ""},
		{"42", "start=0&limit=1000"},
		{"42", "start=1000&limit=1000&total=false"},
		{"42", "fields[]=ID%3E%3D1200&orderby=id&order=desc"},
		{"42", "fields[0]=city%3D%3DAmsterdam&fields[1]=name%3D~%25an%25"},
		{"x", "limit=-1"},
		{"-7", "orderby=modified&dataonly=true&total=yes"},
		{"42", "fields[]=name!~J%25&fields[]=modified%3C2017-01-01"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, id, raw string) {
		for _, h := range []struct {
			h    http.Handler
			path string
		}{{env.page, "/v2"}, {env.stream, "/stream/v2"}} {
			req := httptest.NewRequest(http.MethodGet, h.path+"/database/x/profiles", nil)
			req.URL.Path = h.path + "/database/" + id + "/profiles"
			req.URL.RawPath = ""
			req.URL.RawQuery = raw
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s ? %s: status %d: %s", req.URL.Path, raw, rec.Code, rec.Body)
			}
			if rec.Code/100 == 3 {
				continue // net/http's redirect to the cleaned path (an id of "." or "..")
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s ? %s: body is not JSON: %.300s", req.URL.Path, raw, rec.Body)
			}
		}
	})
}
