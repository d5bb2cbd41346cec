package copernica

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"folio/config"
	"folio/dataset"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/golden"
	"folio/source/conformance"
	"folio/source/sqlite"
)

// bulkRows is the size of the test-only "contacts" table: one database of
// that many profiles, for the streaming tests.
const bulkRows = 20_000

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// fixture is the demo database the test binary shares, with the handlers
// of its two Copernica mounts.
type fixture struct {
	d      *demodb.Demo
	e      *engine.Engine
	page   http.Handler // demoMount: api.copernica.com's paging
	stream http.Handler // streamMount: rest.copernica.com's streaming
	oracle *conformance.Oracle
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	d := demodb.Shared(t, demodb.Rows)
	return fixture{
		d:      d,
		e:      d.Engine,
		page:   demodb.Handler(t, New, d.Engine, demoMount(t)),
		stream: demodb.Handler(t, New, d.Engine, streamMount(t)),
		oracle: d.Oracle(t, "profiles"),
	}
}

// demoMount and streamMount are config/demo.yaml's Copernica mounts over
// the demo profiles, whose max_offset lets start reach any depth.
func demoMount(t testing.TB) config.Mount   { return demodb.Mount(t, "/v2") }
func streamMount(t testing.TB) config.Mount { return demodb.Mount(t, "/stream/v2") }

// contactsEngine serves a database of one table, contacts: one Copernica
// database (id 1) of bulkRows profiles, which start may page through to the
// end. cfg is its configuration.
func contactsEngine(t testing.TB) (e *engine.Engine, cfg *config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "contacts.sqlite")
	if err := sqlite.Load(context.Background(), path, []*dataset.Table{contactsTable()}, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("collections:\n  contacts:\n    max_offset: 1000000\n"), "contacts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return demodb.Open(t, path, cfg), cfg
}

// contactsTable is one Copernica database (id 1) of bulkRows profiles.
func contactsTable() *dataset.Table {
	cols := []dataset.Column{
		{Name: "id", Type: engine.TypeInt},
		{Name: "database_id", Type: engine.TypeInt},
		{Name: "email", Type: engine.TypeText},
		{Name: "name", Type: engine.TypeText},
		{Name: "city", Type: engine.TypeText},
		{Name: "country", Type: engine.TypeText},
		{Name: "created", Type: engine.TypeTime},
		{Name: "modified", Type: engine.TypeTime},
	}
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	return &dataset.Table{
		Name: "contacts", Columns: cols, Key: []string{"id"}, Len: bulkRows,
		Indexes: []dataset.Index{{Name: "contacts_database_id", Columns: []string{"database_id", "id"}}},
		Rows: func(yield func([]engine.Value) bool) {
			for i := range bulkRows {
				at := t0.Add(time.Duration(i) * time.Minute)
				row := []engine.Value{int64(i + 1), int64(1), fmt.Sprintf("contact%d@example.com", i+1),
					fmt.Sprintf("Contact %d", i+1), "Amsterdam", "Netherlands", at, at}
				if !yield(row) {
					return
				}
			}
		},
	}
}

// get sends one request to h.
func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// envelope is a decoded response; Total and NextID are nil when absent.
type envelope struct {
	Start  int              `json:"start"`
	Limit  int              `json:"limit"`
	Count  int              `json:"count"`
	Total  *int             `json:"total"`
	Data   []map[string]any `json:"data"`
	NextID *int64           `json:"nextid"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) envelope {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	if rec.Code == http.StatusOK && env.Count != len(env.Data) {
		t.Fatalf("count %d but %d rows", env.Count, len(env.Data))
	}
	return env
}

// ids returns the profile IDs of a page, as numbers.
func ids(t *testing.T, e envelope) []int64 {
	t.Helper()
	out := make([]int64, len(e.Data))
	for i, p := range e.Data {
		s, ok := p["ID"].(string)
		if !ok {
			t.Fatalf("ID is %T, want a string", p["ID"])
		}
		if _, err := fmt.Sscan(s, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// keyOrder returns the top-level keys of a JSON object in order.
func keyOrder(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestGolden(t *testing.T) {
	env := newFixture(t)
	for _, tc := range []struct {
		name, method, target string
		status               int
	}{
		{"first_page", "GET", "/v2/database/42/profiles?limit=2", 200},
		{"middle_page", "GET", "/v2/database/42/profiles?start=850&limit=2", 200},
		{"last_page", "GET", "/v2/database/42/profiles?start=1698&limit=5", 200},
		{"empty", "GET", "/v2/database/999/profiles", 200},
		{"no_total", "GET", "/v2/database/42/profiles?limit=2&total=false", 200},
		{"limit_zero", "GET", "/v2/database/42/profiles?limit=0", 200},
		{"dataonly", "GET", "/v2/database/42/profiles?limit=1&dataonly=true", 200},
		{"orderby_desc", "GET", "/v2/database/42/profiles?orderby=modified&order=desc&limit=2", 200},
		{"filters", "GET", "/v2/database/42/profiles?fields[]=city%3D%3DAmsterdam&fields[]=ID%3E500&limit=2", 200},
		{"unknown_field", "GET", "/v2/database/42/profiles?fields[]=shoe_size%3D%3D42&fields[]=city%3D%3DAmsterdam&limit=2", 200},
		{"like", "GET", "/v2/database/42/profiles?fields[0]=name%3D~Jan%25&fields[1]=email%3D~%25example.org%25&limit=2", 200},
		{"stream_first_page", "GET", "/stream/v2/database/42/profiles?limit=2", 200},
		{"stream_last_page", "GET", "/stream/v2/database/42/profiles?start=1698&limit=5&total=false", 200},
		{"stream_empty", "GET", "/stream/v2/database/999/profiles", 200},
		{"error_start", "GET", "/v2/database/42/profiles?start=abc", 400},
		{"error_limit", "GET", "/v2/database/42/profiles?limit=-1", 400},
		{"error_order", "GET", "/v2/database/42/profiles?order=up", 400},
		{"error_orderby", "GET", "/v2/database/42/profiles?orderby=shoe_size", 400},
		{"error_orderby_random", "GET", "/v2/database/42/profiles?orderby=random", 400},
		{"error_condition", "GET", "/v2/database/42/profiles?fields[]=city", 400},
		{"error_value", "GET", "/v2/database/42/profiles?fields[]=ID%3Eabc", 400},
		{"error_like", "GET", "/v2/database/42/profiles?fields[]=name%3D~J_n%25", 400},
		{"error_database", "GET", "/v2/database/abc/profiles", 400},
		{"error_offset", "GET", "/v2/database/42/profiles?start=2000000", 400},
		{"error_method", "POST", "/v2/database/42/profiles", 405},
		{"error_unknown_path", "GET", "/v2/databases", 400},
		{"error_stream_value", "GET", "/stream/v2/database/42/profiles?fields[]=ID%3Eabc", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := env.page
			if strings.HasPrefix(tc.target, "/stream/") {
				h = env.stream
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			golden.Assert(t, tc.name, golden.Response{Method: tc.method, Target: tc.target, Status: rec.Code, Header: rec.Header(), Body: golden.JSON(t, rec.Body.Bytes())}.Bytes())
		})
	}
}

// TestEnvelopeKeyOrder pins Copernica's key order: start, limit, count,
// total, data, nextid, on both hosts.
func TestEnvelopeKeyOrder(t *testing.T) {
	env := newFixture(t)
	for _, tc := range []struct {
		h      http.Handler
		target string
		want   string
	}{
		{env.page, "/v2/database/42/profiles?limit=3", "start limit count total data nextid"},
		{env.page, "/v2/database/42/profiles?limit=3&total=false", "start limit count data nextid"},
		{env.page, "/v2/database/42/profiles?start=1699", "start limit count total data"},
		{env.page, "/v2/database/42/profiles?limit=3&orderby=city", "start limit count total data"},
		{env.stream, "/stream/v2/database/42/profiles?limit=3", "start limit count total data nextid"},
		{env.stream, "/stream/v2/database/42/profiles?limit=3&total=no", "start limit count data nextid"},
		{env.stream, "/stream/v2/database/42/profiles?start=1699", "start limit count total data"},
		{env.stream, "/stream/v2/database/42/profiles?start=1699&total=no", "start limit count data"},
	} {
		rec := get(tc.h, tc.target)
		if rec.Code != 200 {
			t.Fatalf("%s: status %d: %s", tc.target, rec.Code, rec.Body)
		}
		if got := strings.Join(keyOrder(t, rec.Body.Bytes()), " "); got != tc.want {
			t.Errorf("%s: keys %q, want %q", tc.target, got, tc.want)
		}
	}
}

// TestProfileShape checks one profile against the demo row it renders.
func TestProfileShape(t *testing.T) {
	env := newFixture(t)
	rec := get(env.page, "/v2/database/42/profiles?limit=1")
	e := decode(t, rec)
	want := env.oracle.Select([]engine.Filter{{Field: "database_id", Op: engine.OpEq, Values: []engine.Value{int64(42)}}}, engine.Sort{{Field: "id"}})[0]
	got := e.Data[0]
	if keys := strings.Join(keyOrder(t, mustJSON(t, rec.Body.Bytes(), "data", 0)), " "); keys != "ID fields interests database created modified removed" {
		t.Errorf("profile keys %q", keys)
	}
	checks := map[string]any{
		"ID":       fmt.Sprint(want[0]),
		"database": "42",
		"created":  want[6].(time.Time).UTC().Format(timeLayout),
		"modified": want[7].(time.Time).UTC().Format(timeLayout),
		"removed":  false,
	}
	for k, v := range checks {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	fields := got["fields"].(map[string]any)
	for i, name := range []string{"email", "name", "city", "country"} {
		if fields[name] != want[2+i] {
			t.Errorf("fields.%s = %#v, want %#v", name, fields[name], want[2+i])
		}
	}
	if len(fields) != 4 {
		t.Errorf("fields has %d entries: %v", len(fields), fields)
	}
	if in, ok := got["interests"].([]any); !ok || len(in) != 0 {
		t.Errorf("interests = %#v, want []", got["interests"])
	}
}

// mustJSON returns the raw JSON of body.key[i].
func mustJSON(t *testing.T, body []byte, key string, i int) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	var arr []json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m[key], &arr); err != nil {
		t.Fatal(err)
	}
	return arr[i]
}

// TestSeedExamples runs the examples of the Copernica paging page
// (seeds/001) as written, with only the host changed: database X is 42,
// the demo database of exactly 1700 profiles.
func TestSeedExamples(t *testing.T) {
	env := newFixture(t)
	all := env.oracle.Keys(env.oracle.Select([]engine.Filter{{Field: "database_id", Op: engine.OpEq, Values: []engine.Value{int64(42)}}}, engine.Sort{{Field: "id"}}))
	if len(all) != 1700 {
		t.Fatalf("database 42 has %d profiles", len(all))
	}

	// https://api.copernica.com/v2/database/X/profiles?start=0&limit=1000
	first := decode(t, get(env.page, "/v2/database/42/profiles?start=0&limit=1000"))
	// https://api.copernica.com/v2/database/X/profiles?start=1000&limit=1000
	second := decode(t, get(env.page, "/v2/database/42/profiles?start=1000&limit=1000"))
	for _, c := range []struct {
		e                          envelope
		start, limit, count, total int
	}{{first, 0, 1000, 1000, 1700}, {second, 1000, 1000, 700, 1700}} {
		if c.e.Start != c.start || c.e.Limit != c.limit || c.e.Count != c.count || c.e.Total == nil || *c.e.Total != c.total {
			t.Errorf("got start=%d limit=%d count=%d total=%v, want %d %d %d %d", c.e.Start, c.e.Limit, c.e.Count, c.e.Total, c.start, c.limit, c.count, c.total)
		}
	}
	// "Er is meer data beschikbaar als start+count kleiner is dan total."
	if !(first.Start+first.Count < *first.Total) || second.Start+second.Count < *second.Total {
		t.Error("start+count < total does not tell whether more data exists")
	}
	got := append(ids(t, first), ids(t, second)...)
	if err := sameIDs(got, all); err != nil {
		t.Errorf("two pages: %v", err)
	}

	// https://api.copernica.com/v2/database/X/profiles?start=0&limit=1000&total=false
	rec := get(env.page, "/v2/database/42/profiles?start=0&limit=1000&total=false")
	if e := decode(t, rec); e.Total != nil || e.Count != 1000 {
		t.Errorf("total=false: total %v, count %d", e.Total, e.Count)
	}
	if bytes.Contains(rec.Body.Bytes(), []byte(`"total"`)) {
		t.Error("total=false still sends the total key")
	}

	// nextid: "bij de volgende call kun je dit gebruiken om alleen profielen op
	// te vragen met een ID vanaf die specifieke waarde".
	if first.NextID == nil || *first.NextID != all[1000].(int64) {
		t.Fatalf("nextid %v, want %d (the first ID of the next page)", first.NextID, all[1000])
	}
	cont := decode(t, get(env.page, fmt.Sprintf("/v2/database/42/profiles?limit=1000&fields[]=ID%%3E%%3D%d", *first.NextID)))
	if cont.NextID != nil || cont.Count != 700 || *cont.Total != 700 {
		t.Errorf("continuation: count %d total %v nextid %v", cont.Count, cont.Total, cont.NextID)
	}
	if err := sameIDs(append(ids(t, first), ids(t, cont)...), all); err != nil {
		t.Errorf("nextid continuation: %v", err)
	}

	// The same from the streaming host (rest.copernica.com): more than 1000
	// in one call.
	s := decode(t, get(env.stream, "/stream/v2/database/42/profiles?start=0&limit=1700"))
	if s.Limit != 1700 || s.Count != 1700 || *s.Total != 1700 || s.NextID != nil {
		t.Errorf("stream: limit %d count %d total %v nextid %v", s.Limit, s.Count, s.Total, s.NextID)
	}
	if err := sameIDs(ids(t, s), all); err != nil {
		t.Errorf("stream: %v", err)
	}
	// api.copernica.com caps the same request silently, and says so.
	if c := decode(t, get(env.page, "/v2/database/42/profiles?start=0&limit=1700")); c.Limit != 1000 || c.Count != 1000 {
		t.Errorf("cap: limit %d count %d", c.Limit, c.Count)
	}
}

func sameIDs(got []int64, want []engine.Value) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d IDs, want %d", len(got), len(want))
	}
	seen := map[int64]bool{}
	for i, id := range got {
		if seen[id] {
			return fmt.Errorf("ID %d twice", id)
		}
		seen[id] = true
		if id != want[i].(int64) {
			return fmt.Errorf("row %d: ID %d, want %d", i, id, want[i])
		}
	}
	return nil
}

// TestBadInput: every bad request is a 4xx in Copernica's error shape,
// naming the parameter; never a 500.
func TestBadInput(t *testing.T) {
	env := newFixture(t)
	for _, tc := range []struct {
		method, target string
		status         int
		want           string // in the message
	}{
		{"GET", "/v2/database/42/profiles?start=abc", 400, "start:"},
		{"GET", "/v2/database/42/profiles?start=-5", 400, "start:"},
		{"GET", "/v2/database/42/profiles?start=1.5", 400, "start:"},
		{"GET", "/v2/database/42/profiles?start=99999999999999999999999", 400, "start:"},
		{"GET", "/v2/database/42/profiles?limit=ten", 400, "limit:"},
		{"GET", "/v2/database/42/profiles?limit=-1", 400, "limit:"},
		{"GET", "/stream/v2/database/42/profiles?limit=-1", 400, "limit:"},
		{"GET", "/v2/database/42/profiles?start=999990", 400, "start:"},
		{"GET", "/v2/database/42/profiles?order=sideways", 400, "order:"},
		{"GET", "/v2/database/42/profiles?orderby=nope", 400, "orderby:"},
		{"GET", "/v2/database/42/profiles?orderby=random", 400, "orderby:"},
		{"GET", "/v2/database/42/profiles?fields[]=", 400, "fields[]:"},
		{"GET", "/v2/database/42/profiles?fields[]=%3D%3D5", 400, "fields[]:"},
		{"GET", "/v2/database/42/profiles?fields[]=city%3DAmsterdam", 400, "fields[]:"},
		{"GET", "/v2/database/42/profiles?fields[]=ID%3E%3Dx", 400, "not an integer"},
		{"GET", "/v2/database/42/profiles?fields[]=modified%3C2017-13-45", 400, "fields[]:"},
		{"GET", "/v2/database/42/profiles?fields[]=name%3D~_an", 400, "supported"},
		{"GET", "/v2/database/42/profiles?fields[]=name%3D~%25an", 400, "supported"},
		{"GET", "/v2/database/42/profiles?fields[]=name%3D~J%25n%25", 400, "supported"},
		{"GET", "/v2/database/42/profiles?fields[]=ID%3D~5%25", 400, "text fields"},
		{"GET", "/stream/v2/database/42/profiles?fields[]=ID%3E%3Dx", 400, "not an integer"},
		{"GET", "/stream/v2/database/42/profiles?fields[]=ID%3E%3Dx&total=false", 400, "not an integer"},
		{"GET", "/v2/database/x/profiles", 400, "No database with supplied ID"},
		{"GET", "/v2/database/4.2/profiles", 400, "No database with supplied ID"},
		{"GET", "/v2/database/42/profiles?%zz", 400, "malformed"},
		{"GET", "/v2/database/42", 400, "Invalid method"},
		{"GET", "/v2", 400, "Invalid method"},
		{"GET", "/v2/database/42/profiles/", 400, "Invalid method"},
		{"POST", "/v2/database/42/profiles", 405, "Invalid method"},
		{"DELETE", "/stream/v2/database/42/profiles", 405, "Invalid method"},
	} {
		h := env.page
		if strings.HasPrefix(tc.target, "/stream/") {
			h = env.stream
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.target, rec.Code, tc.status, rec.Body)
			continue
		}
		var body struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error.Message, tc.want) {
			t.Errorf("%s %s: body %s, want a message with %q", tc.method, tc.target, rec.Body, tc.want)
		}
	}
}

// TestLenientInput: what Copernica accepts without complaint, folio does
// too: unknown parameters (access_token among them) and conditions on
// unknown fields are ignored, a
// parameter's last value counts, an oversized limit is capped, and a
// database without profiles is an empty page.
func TestLenientInput(t *testing.T) {
	env := newFixture(t)
	for _, tc := range []struct {
		target string
		check  func(envelope) bool
	}{
		{"/v2/database/42/profiles?access_token=xyz&LIMIT=5&foo=bar", func(e envelope) bool { return e.Limit == 100 && e.Count == 100 }},
		{"/v2/database/42/profiles?limit=5&limit=7", func(e envelope) bool { return e.Limit == 7 && e.Count == 7 }},
		{"/v2/database/42/profiles?limit=50000", func(e envelope) bool { return e.Limit == 1000 && e.Count == 1000 }},
		{"/v2/database/42/profiles?limit=&start=", func(e envelope) bool { return e.Limit == 100 && e.Start == 0 }},
		{"/v2/database/42/profiles?total=thisisfalse", func(e envelope) bool { return e.Total == nil }},
		{"/v2/database/42/profiles?total=YES&limit=1", func(e envelope) bool { return e.Total != nil && *e.Total == 1700 }},
		{"/v2/database/42/profiles?total=0", func(e envelope) bool { return e.Total == nil }},
		{"/v2/database/42/profiles?total=no", func(e envelope) bool { return e.Total == nil }},
		{"/v2/database/42/profiles?start=5000", func(e envelope) bool { return e.Count == 0 && *e.Total == 1700 && e.NextID == nil }},
		{"/v2/database/-1/profiles", func(e envelope) bool { return e.Count == 0 && *e.Total == 0 }},
		// Conditions on fields the profiles lack are ignored, as Copernica
		// documents, whatever their value.
		{"/v2/database/42/profiles?fields[]=shoe_size%3D%3D42&fields[]=nope%3Eabc&limit=1", func(e envelope) bool { return e.Count == 1 && *e.Total == 1700 }},
		{"/v2/database/42/profiles?fields=city%3D%3DAmsterdam&fields[]=id%3C%3E1&limit=1000", func(e envelope) bool {
			for _, p := range e.Data {
				if p["fields"].(map[string]any)["city"] != "Amsterdam" {
					return false
				}
			}
			return e.Count > 0 && e.Count == *e.Total
		}},
		{"/v2/database/42/profiles?fields[]=modified%3E%3D2020-01-01&fields[]=name!~%25a%25&limit=1000", func(e envelope) bool {
			for _, p := range e.Data {
				if strings.Contains(p["fields"].(map[string]any)["name"].(string), "a") || p["modified"].(string) < "2020-01-01" {
					return false
				}
			}
			return e.Count > 0
		}},
	} {
		rec := get(env.page, tc.target)
		if rec.Code != 200 {
			t.Errorf("%s: status %d: %s", tc.target, rec.Code, rec.Body)
			continue
		}
		if e := decode(t, rec); !tc.check(e) {
			t.Errorf("%s: unexpected %s", tc.target, truncate(rec.Body.String()))
		}
	}
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

func TestNewRejectsBadMounts(t *testing.T) {
	env := newFixture(t)
	for _, m := range []config.Mount{
		{Dialect: "copernica", Path: "/x", Collection: "nope"},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Options: map[string]string{"colour": "red"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Options: map[string]string{"stream": "maybe"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Options: map[string]string{"max_limit": "0"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Options: map[string]string{"max_limit": "5000"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Options: map[string]string{"database_field": "nope"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Options: map[string]string{"database_field": "id"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Fields: map[string]string{"Email": "nope"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Fields: map[string]string{"ID": "email"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Fields: map[string]string{"database": "email"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Fields: map[string]string{"Email": "email", "Mail": "email"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Fields: map[string]string{"interests": "city"}},
		{Dialect: "copernica", Path: "/x", Collection: "profiles", Fields: map[string]string{"created": "id"}},
	} {
		if _, err := New(env.e, m, nil); err == nil {
			t.Errorf("New accepted %+v", m)
		}
	}
}

// TestFieldsMap: a mount's fields map renames profile fields, in the
// output and in conditions and orderby; max_limit lowers the cap.
func TestFieldsMap(t *testing.T) {
	env := newFixture(t)
	m := config.Mount{Dialect: "copernica", Path: "/x", Collection: "profiles",
		Fields:  map[string]string{"Woonplaats": "city", "code": "email"},
		Options: map[string]string{"max_limit": "10", "database_field": "database_id"}}
	h, err := New(env.e, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := get(h, "/x/database/42/profiles?limit=50&orderby=Woonplaats&fields[]=Woonplaats%3D~A%25")
	e := decode(t, rec)
	if rec.Code != 200 || e.Limit != 10 || e.Count != 10 {
		t.Fatalf("status %d: %s", rec.Code, truncate(rec.Body.String()))
	}
	prev := ""
	for _, p := range e.Data {
		f := p["fields"].(map[string]any)
		city, _ := f["Woonplaats"].(string)
		if !strings.HasPrefix(city, "A") || city < prev || f["city"] != nil {
			t.Fatalf("profile %v", p)
		}
		prev = city
	}
	// "code" is mapped as a profile field here, so the secret is absent.
	if _, ok := e.Data[0]["secret"]; ok {
		t.Error("secret rendered without a secret field")
	}
}
