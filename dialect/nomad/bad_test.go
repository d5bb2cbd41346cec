package nomad

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// checkShape fails unless r is in one of NOMAD's error shapes for its
// status: 422 a list of {loc, msg, type}; anything else {"detail": "…"}.
func checkShape(t *testing.T, name string, r response) {
	t.Helper()
	if r.status >= 500 {
		t.Errorf("%s: status %d: %s", name, r.status, r.body)
		return
	}
	if r.status < 400 {
		return
	}
	if r.status == http.StatusUnprocessableEntity {
		var v struct {
			Detail []struct {
				Loc  []any  `json:"loc"`
				Msg  string `json:"msg"`
				Type string `json:"type"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil || len(v.Detail) != 1 || len(v.Detail[0].Loc) == 0 || v.Detail[0].Msg == "" || v.Detail[0].Type == "" {
			t.Errorf("%s: not a validation error: %v %s", name, err, r.body)
		}
		return
	}
	var v struct {
		Detail *string `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || v.Detail == nil || *v.Detail == "" {
		t.Errorf("%s: not {\"detail\": \"…\"}: %v %s", name, err, r.body)
	}
}

func TestBadInput(t *testing.T) {
	h := newFixture(t).h
	posts := []struct {
		name   string
		body   string
		status int
	}{
		{"malformed json", `{"query":`, 422},
		{"trailing garbage", `{} {}`, 422},
		{"not an object", `"query"`, 422},
		{"null body", `null`, 422},
		{"empty body", ``, 422},
		{"pagination not an object", `{"pagination":[1]}`, 422},
		{"required not an object", `{"required":"entry_id"}`, 422},
		{"include not a list", `{"required":{"include":"entry_id"}}`, 422},
		{"include not strings", `{"required":{"include":[1]}}`, 422},
		{"exclude unknown", `{"required":{"exclude":["nope"]}}`, 422},
		{"page_size over max", `{"pagination":{"page_size":20000}}`, 400},
		{"page_size huge", `{"pagination":{"page_size":1e300}}`, 400},
		{"page_size negative", `{"pagination":{"page_size":-5}}`, 422},
		{"page_size object", `{"pagination":{"page_size":{}}}`, 422},
		{"page_size bool true is 1", `{"pagination":{"page_size":true}}`, 200},
		{"page_size text is lax", `{"pagination":{"page_size":"3"}}`, 200},
		{"page_size fraction is cut", `{"pagination":{"page_size":2.7}}`, 200},
		{"order wrong", `{"pagination":{"order":"ASC"}}`, 422},
		{"order not text", `{"pagination":{"order":1}}`, 422},
		{"order_by unknown", `{"pagination":{"order_by":"nope"}}`, 422},
		{"order_by not text", `{"pagination":{"order_by":[]}}`, 422},
		{"order_by array field", `{"pagination":{"order_by":"results.material.elements"}}`, 422},
		{"page zero", `{"pagination":{"page":0}}`, 422},
		{"page huge", `{"pagination":{"page":99999999999999999999}}`, 422},
		{"page_offset negative", `{"pagination":{"page_offset":-1}}`, 422},
		{"page_offset deep", `{"pagination":{"page_offset":10000}}`, 422},
		{"page_offset 0 with cursor", `{"pagination":{"page_offset":0,"page_after_value":"x"}}`, 200},
		{"page and offset", `{"pagination":{"page":1,"page_offset":5}}`, 422},
		{"cursor and size 0", `{"pagination":{"page_size":0,"page_after_value":"x"}}`, 422},
		{"cursor not text", `{"pagination":{"page_after_value":{}}}`, 422},
		{"cursor without colon", `{"pagination":{"order_by":"results.material.n_elements","page_after_value":"5"}}`, 400},
		{"cursor bad number", `{"pagination":{"order_by":"results.material.n_elements","page_after_value":"five:x"}}`, 400},
		{"cursor bad date", `{"pagination":{"order_by":"upload_create_time","page_after_value":"1e5:x"}}`, 400},
		{"cursor null for non-null", `{"pagination":{"order_by":"upload_create_time","page_after_value":"None:x"}}`, 400},
		{"cursor past the end", `{"pagination":{"page_after_value":"~~~~"}}`, 200},
		{"cursor empty is first page", `{"pagination":{"page_after_value":""}}`, 200},
		{"owner user", `{"owner":"user"}`, 401},
		{"owner all", `{"owner":"all"}`, 401},
		{"owner unknown", `{"owner":"me"}`, 422},
		{"owner not text", `{"owner":5}`, 422},
		{"query not an object", `{"query":[1]}`, 422},
		{"query unknown quantity", `{"query":{"nope":1}}`, 422},
		{"query unknown operator", `{"query":{"results.material.n_elements":{"between":1}}}`, 422},
		{"query empty operator", `{"query":{"results.material.n_elements":{}}}`, 422},
		{"query mixed operators", `{"query":{"results.material.n_elements":{"all":[1],"gte":1}}}`, 422},
		{"query range on array", `{"query":{"results.material.elements":{"gte":"Ti"}}}`, 422},
		{"query wrong type", `{"query":{"results.material.n_elements":"two"}}`, 422},
		{"query fraction for int", `{"query":{"results.material.n_elements":2.5}}`, 422},
		{"query null", `{"query":{"results.material.n_elements":null}}`, 422},
		{"query nested list", `{"query":{"results.material.elements":[["Ti"]]}}`, 422},
		{"query and not list", `{"query":{"and":{"a":1}}}`, 422},
		{"query or not list", `{"query":{"or":1}}`, 422},
		{"query not not object", `{"query":{"not":[1]}}`, 422},
		{"query bad date", `{"query":{"upload_create_time:gte":"last week"}}`, 422},
		{"query quantity twice", `{"query":{"upload_create_time:gte":"2024-01-01","upload_create_time:lt":1735689600000}}`, 422},
		{"query deep", `{"query":` + strings.Repeat(`{"not":`, 40) + `{}` + strings.Repeat(`}`, 40) + `}`, 422},
		{"query not empty", `{"query":{"not":{}}}`, 200},
		{"query or empty", `{"query":{"or":[]}}`, 200},
		{"query any empty", `{"query":{"results.material.elements:any":[]}}`, 200},
		{"unknown keys ignored", `{"aggregations":{},"colour":"red","pagination":{"colour":1}}`, 200},
		{"aggregations null", `{"aggregations":null}`, 200},
		{"aggregations asked for", `{"aggregations":{"elements":{"terms":{"quantity":"results.material.elements"}}}}`, 422},
		{"aggregations not an object", `{"aggregations":["elements"]}`, 422},
		{"cursor of two parts for entry_id", `{"pagination":{"page_after_value":"1717097142713:zIaQ0vsZ0bx4tE8n6L7pDK7SyM-k"}}`, 400},
		{"cursor of two parts for entry_id, explicitly", `{"pagination":{"order_by":"entry_id","page_after_value":"a:b"}}`, 400},
	}
	for _, tc := range posts {
		r := post(h, tc.body)
		if r.status != tc.status {
			t.Errorf("POST %s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
		}
		checkShape(t, "POST "+tc.name, r)
	}

	gets := []struct {
		target string
		status int
	}{
		{"/api/v1/entries?page_size=-1", 422},
		{"/api/v1/entries?page_size=10001", 400},
		{"/api/v1/entries?page_size=1.5", 422},
		{"/api/v1/entries?page=0", 422},
		{"/api/v1/entries?order=sideways", 422},
		{"/api/v1/entries?order_by=nope", 422},
		{"/api/v1/entries?owner=visible", 401},
		{"/api/v1/entries?nope=1", 422},
		{"/api/v1/entries?results.material.n_elements__between=1", 422},
		{"/api/v1/entries?results.material.n_elements__gte=1&results.material.n_elements__gte=2", 422},
		{"/api/v1/entries?results.material.n_elements__gte=x", 422},
		{"/api/v1/entries?include=nope", 422},
		{"/api/v1/entries?json_query={", 422},
		{"/api/v1/entries?json_query=[1]", 422},
		{"/api/v1/entries?q=nope", 422},
		{"/api/v1/entries?q=results.material.n_elements__gte__3", 200},
		{"/api/v1/entries?json_query={\"results.material.n_elements\":2}&results.method.method_name=DFT", 200},
		{"/api/v1/entries?%zz=1", 422},
		{"/api/v1/entries?page_after_value=x&order_by=upload_create_time", 400},
		{"/api/v1/entries?page_after_value=1717097142713:x", 400},
		{"/api/v1/entries?page_after_value=1717097142713:x&order_by=upload_create_time", 200},
		{"/api/v1/entries/", 404},
		{"/api/v1/entries/query", 405},
	}
	for _, tc := range gets {
		r := get(h, tc.target)
		if r.status != tc.status {
			t.Errorf("GET %s: status %d, want %d: %s", tc.target, r.status, tc.status, r.body)
		}
		checkShape(t, "GET "+tc.target, r)
	}

	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, target := range []string{"/api/v1/entries", "/api/v1/entries/query"} {
			r := serve(h, httptest.NewRequest(method, target, bytes.NewBufferString("{}")))
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") == "" {
				t.Errorf("%s %s: status %d, Allow %q", method, target, r.status, r.header.Get("Allow"))
			}
			checkShape(t, method+" "+target, r)
		}
	}

	// A body over the limit.
	r := post(h, `{"query":{"results.material.elements":["`+strings.Repeat("x", maxBodyBytes)+`"]}}`)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: status %d", r.status)
	}
	checkShape(t, "huge body", r)
}
