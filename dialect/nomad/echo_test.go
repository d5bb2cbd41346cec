package nomad

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestHugeInputEcho: an error repeats at most a bounded prefix of what the
// client sent, however large, in its message and in its location, and
// says that it cut it.
func TestHugeInputEcho(t *testing.T) {
	h := newFixture(t).h
	huge := strings.Repeat("x", 900<<10)
	q := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	var rs []response
	for _, b := range []string{
		`{"query":{` + q(huge) + `:1}}`,
		`{"query":{"results.material.n_elements:` + huge + `":1}}`,
		`{"query":{"results.material.n_elements":` + q(huge) + `}}`,
		`{"query":{"results.material.n_elements":{"` + huge + `":1}}}`,
		`{"pagination":{"order_by":` + q(huge) + `}}`,
		`{"pagination":{"order_by":"upload_create_time","page_after_value":` + q(huge+":x") + `}}`,
		`{"pagination":{"page_after_value":` + q(huge+":x") + `}}`,
		`{"required":{"include":[` + q(huge) + `]}}`,
		`{"aggregations":{` + q(huge) + `:{}}}`,
	} {
		rs = append(rs, post(h, b))
	}
	for _, target := range []string{
		"/api/v1/entries?" + huge + "=1",
		"/api/v1/entries?q=" + huge,
		"/api/v1/entries?include=" + huge,
		"/api/v1/entries?results.material.n_elements=" + huge,
		"/api/v1/entries?page_after_value=" + url.QueryEscape(huge+":x"),
	} {
		rs = append(rs, get(h, target))
	}
	for _, r := range rs {
		target := r.target
		if r.method == "POST" {
			target = "POST"
		}
		if r.status < 400 || r.status >= 500 || len(r.body) > 4096 || !strings.Contains(string(r.body), "bytes in all)") {
			t.Errorf("%.60s…: status %d, %d bytes: %.300s", target, r.status, len(r.body), r.body)
		}
	}
}
