package native

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/internal/golden"
	"folio/source/sqlite"
)

const testSecret = "native-test-secret-0123456789"

// item is one row of the test collection "items".
type item struct {
	id      int64
	name    string
	score   any // float64 or nil
	created time.Time
	tags    string
	active  bool
}

var day = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// items has duplicate scores, NULLs, negative and fractional numbers,
// unicode and empty strings, and times with and without fractions.
var items = []item{
	{1, "alpha", 1.5, day, `["Ti","O"]`, true},
	{2, "", nil, day.Add(time.Second), `["O"]`, false},
	{3, "Ünïcødé \"quoted\"\n", -0.25, day.Add(1500 * time.Millisecond), `["Ti"]`, true},
	{4, "beta", 1.5, day.Add(time.Hour), `[]`, true},
	{5, "gamma", nil, day.Add(2 * time.Hour), `["Ti","O","Fe"]`, false},
	{6, "delta", 0.1, day.Add(3 * time.Hour), `["Fe"]`, true},
	{7, "epsilon", 1e21, day.Add(4 * time.Hour), `["O","Fe"]`, true},
}

func tables() []*dataset.Table {
	itemsT := &dataset.Table{
		Name: "items",
		Columns: []dataset.Column{
			{Name: "id", Type: engine.TypeInt},
			{Name: "name", Type: engine.TypeText},
			{Name: "score", Type: engine.TypeFloat, Nullable: true},
			{Name: "created", Type: engine.TypeTime},
			{Name: "tags", Type: engine.TypeJSON},
			{Name: "active", Type: engine.TypeBool},
		},
		Key:     []string{"id"},
		Indexes: []dataset.Index{{Name: "items_score", Columns: []string{"score", "id"}}},
		Len:     len(items),
		Rows: func(yield func([]engine.Value) bool) {
			for _, it := range items {
				if !yield([]engine.Value{it.id, it.name, it.score, it.created, it.tags, it.active}) {
					return
				}
			}
		},
	}
	events := &dataset.Table{
		Name:    "events",
		Columns: []dataset.Column{{Name: "code", Type: engine.TypeText}, {Name: "n", Type: engine.TypeInt}},
		Len:     5,
		Rows: func(yield func([]engine.Value) bool) {
			for i := range 5 {
				if !yield([]engine.Value{fmt.Sprintf("e%d", i%3), int64(i)}) {
					return
				}
			}
		},
	}
	return []*dataset.Table{itemsT, events}
}

// newEngine loads the test tables into a real SQLite file.
func newEngine(tb testing.TB, secret string) *engine.Engine {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "test.sqlite")
	if err := sqlite.Load(ctx, path, tables(), nil); err != nil {
		tb.Fatal(err)
	}
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	cols, err := src.Collections(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cols {
		if c.Name == "events" {
			// SQLite gives every table a rowid key; drop it to test a
			// collection that only offset paging can serve.
			c.Key, c.MaxOffset = nil, 4
			for _, f := range c.Fields {
				f.Hidden = f.Hidden || f.Name == "rowid"
			}
		}
	}
	signer, err := engine.NewSigner([]byte(secret))
	if err != nil {
		tb.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func newHandler(tb testing.TB) *Handler {
	return New(newEngine(tb, testSecret), Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// response is what h answered to method and target.
type response struct {
	method, target string
	status         int
	header         http.Header
	body           []byte
}

func get(h http.Handler, target string) response { return do(h, http.MethodGet, target) }

func do(h http.Handler, method, target string) response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return response{method, target, rec.Code, rec.Header(), rec.Body.Bytes()}
}

// golden is r as its golden file records it, the JSON body indented.
func (r response) golden(t *testing.T) []byte {
	t.Helper()
	return golden.Response{Method: r.method, Target: r.target, Status: r.status, Header: r.header, Body: golden.JSON(t, r.body)}.Bytes()
}

type envelope struct {
	Data []map[string]any `json:"data"`
	Page struct {
		Limit         int     `json:"limit"`
		Count         int     `json:"count"`
		Total         *int64  `json:"total"`
		TotalRelation *string `json:"total_relation"`
		NextCursor    string  `json:"next_cursor"`
		PrevCursor    string  `json:"prev_cursor"`
	} `json:"page"`
	Links map[string]string `json:"links"`
}

type errorBody struct {
	Error struct {
		Status    int    `json:"status"`
		Code      string `json:"code"`
		Parameter string `json:"parameter"`
		Message   string `json:"message"`
	} `json:"error"`
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	return v
}

// path strips the scheme and host from a link, to request it again.
func path(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func TestGolden(t *testing.T) {
	h := newHandler(t)
	first := get(h, "/v1/items?limit=3&sort=-score")
	next := decode[envelope](t, first).Links["next"]
	middle := get(h, path(t, next))
	last := get(h, path(t, decode[envelope](t, middle).Links["next"]))
	tests := []struct {
		name string
		r    response
	}{
		{"first_page", first},
		{"middle_page", middle},
		{"last_page", last},
		{"from_end", get(h, path(t, decode[envelope](t, first).Links["last"]))},
		{"empty", get(h, "/v1/items?name=nope&total=exact")},
		{"offset_page", get(h, "/v1/items?offset=2&limit=2&fields=name")},
		{"unkeyed", get(h, "/v1/events?limit=2")},
		{"filters", get(h, "/v1/items?tags[all]=Ti,O&score[gt]=0&active=true")},
		{"collections", get(h, "/v1")},
		{"record", get(h, "/v1/items/3")},
		{"record_fields", get(h, "/v1/items/3?fields=score")},
		{"error_limit", get(h, "/v1/items?limit=-1")},
		{"error_sort", get(h, "/v1/items?sort=nope")},
		{"error_filter_field", get(h, "/v1/items?nmae=alpha")},
		{"error_filter_op", get(h, "/v1/items?score[about]=1")},
		{"error_filter_value", get(h, "/v1/items?score[gt]=high")},
		{"error_cursor", get(h, "/v1/items?cursor=AAAA")},
		{"error_offset_cap", get(h, "/v1/items?offset=9999&limit=10")},
		{"error_collection", get(h, "/v1/nope")},
		{"error_record", get(h, "/v1/items/99")},
		{"error_method", do(h, http.MethodPost, "/v1/items")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden.Assert(t, tt.name, tt.r.golden(t)) })
	}
}

func TestBadInput(t *testing.T) {
	h := newHandler(t)
	// A genuine cursor of another query, and one signed with another key.
	cross := decode[envelope](t, get(h, "/v1/items?limit=2&sort=name")).Page.NextCursor
	other := New(newEngine(t, "another-secret-0123456789abcdef"), Options{Path: "/v1"})
	foreign := decode[envelope](t, get(other, "/v1/items?limit=2")).Page.NextCursor
	good := decode[envelope](t, get(h, "/v1/items?limit=2")).Page.NextCursor
	if cross == "" || foreign == "" || good == "" {
		t.Fatal("setup: no next cursor")
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, query string
		status      int
		code, param string
		msg         string // a part of the message
	}{
		{"negative limit", "limit=-1", 400, "invalid_parameter", "limit", "between 1 and 1000"},
		{"zero limit", "limit=0", 400, "invalid_parameter", "limit", "between 1 and 1000"},
		{"limit not a number", "limit=abc", 400, "invalid_parameter", "limit", "whole number"},
		{"limit above max", "limit=100000", 400, "invalid_parameter", "limit", "between 1 and 1000"},
		{"limit twice", "limit=1&limit=2", 400, "invalid_parameter", "limit", "once"},
		{"unknown sort field", "sort=-nope", 400, "invalid_parameter", "sort", `"nope"`},
		{"json sort field", "sort=tags", 400, "invalid_parameter", "sort", "not sortable"},
		{"empty sort", "sort=", 400, "invalid_parameter", "sort", "empty"},
		{"unknown fields", "fields=name,nope", 400, "invalid_parameter", "fields", `"nope"`},
		{"unknown filter field", "nmae=alpha", 400, "invalid_parameter", "nmae", "unknown parameter"},
		{"unclosed op", "score[gt=1", 400, "invalid_parameter", "score[gt", "unknown parameter"},
		{"bad op", "score[about]=1", 400, "invalid_parameter", "score[about]", "unknown operator"},
		{"wrong value type", "id=abc", 400, "invalid_parameter", "id", "not an integer"},
		{"wrong value type with op", "score[gte]=x", 400, "invalid_parameter", "score[gte]", "not a finite number"},
		{"bad time", "created[gt]=yesterday", 400, "invalid_parameter", "created[gt]", "not a time"},
		{"bad bool", "active=maybe", 400, "invalid_parameter", "active", "not a boolean"},
		{"bad in list", "id[in]=1,x", 400, "invalid_parameter", "id[in]", "not an integer"},
		{"prefix on number", "score[prefix]=1", 400, "invalid_parameter", "score[prefix]", "only to text"},
		{"array op on text", "name[all]=a", 400, "invalid_parameter", "name[all]", "JSON array"},
		{"eq on json", "tags=Ti", 400, "invalid_parameter", "tags", "JSON array"},
		{"null op not bool", "score[null]=perhaps", 400, "invalid_parameter", "score[null]", "boolean"},
		{"garbage cursor", "cursor=not-a-cursor!", 400, "invalid_cursor", "cursor", "base64url"},
		{"empty cursor", "cursor=", 400, "invalid_cursor", "cursor", "empty"},
		{"truncated cursor", "cursor=" + good[:len(good)-4], 400, "invalid_cursor", "cursor", ""},
		{"short cursor", "cursor=" + good[:10], 400, "invalid_cursor", "cursor", "truncated"},
		{"tampered cursor", "cursor=" + flip(good, 8), 400, "invalid_cursor", "cursor", "signature"},
		{"cross-query cursor", "sort=-name&cursor=" + cross, 400, "invalid_cursor", "cursor", "different query"},
		{"cursor with other filter", "name=alpha&cursor=" + good, 400, "invalid_cursor", "cursor", "different query"},
		{"foreign cursor", "cursor=" + foreign, 400, "invalid_cursor", "cursor", "another secret"},
		{"cursor and offset", "cursor=" + good + "&offset=2", 400, "invalid_parameter", "offset", "cursor"},
		{"negative offset", "offset=-1", 400, "invalid_parameter", "offset", "0 or more"},
		{"offset not a number", "offset=ten", 400, "invalid_parameter", "offset", "whole number"},
		{"offset beyond cap", "offset=10000", 400, "invalid_parameter", "offset", "cursor"},
		{"offset overflow", "offset=9223372036854775807", 400, "invalid_parameter", "offset", "cursor"},
		{"offset far beyond cap", "offset=10001", 400, "invalid_parameter", "offset", "cursor"},
		{"bad total", "total=some", 400, "invalid_parameter", "total", "exact, estimate or none"},
		{"malformed value", "limit=2&name=%zz", 400, "invalid_parameter", "name", "malformed"},
		{"malformed name", "limit=2&na%zzme=x", 400, "invalid_parameter", "na%zzme", "malformed"},
		{"semicolon separator", "limit=2;sort=name", 400, "invalid_parameter", "limit", "semicolon"},
		{"fields twice", "fields=name&fields=id", 400, "invalid_parameter", "fields", "once"},
		{"too many filters", strings.Repeat("id[ne]=0&", engine.MaxConditions+1), 400, "invalid_parameter", "id[ne]", "more than"},
		{"too many in values", "name[in]=" + strings.Repeat("x,", engine.MaxFilterValues), 400, "invalid_parameter", "name[in]", "more than"},
		{"too many array values", "tags[all]=" + strings.Repeat("x,", engine.MaxConditions), 400, "invalid_parameter", "tags[all]", "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(h, "/v1/items?"+tt.query)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			e := decode[errorBody](t, r)
			if e.Error.Status != tt.status || e.Error.Code != tt.code || e.Error.Parameter != tt.param {
				t.Errorf("error %+v, want status %d code %s parameter %q", e.Error, tt.status, tt.code, tt.param)
			}
			if !strings.Contains(e.Error.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Error.Message, tt.msg)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestOtherErrors(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		target string
		status int
		code   string
	}{
		{"/v1/nope", 404, "not_found"},
		{"/v1/items/99", 404, "not_found"},
		{"/v1/items/abc", 404, "not_found"},
		{"/v1/events/1", 404, "not_found"},
		{"/v1/", 404, "not_found"},
		{"/v1/items/1?limit=2", 400, "invalid_parameter"},
		{"/v1/items/1?fields=", 400, "invalid_parameter"},
		{"/v1/items/1?fields=name&fields=id", 400, "invalid_parameter"},
		{"/v1/items/1?fields=nope", 400, "invalid_parameter"},
		{"/v1/items/1?fields=%zz", 400, "invalid_parameter"},
		{"/v1?x=1", 400, "invalid_parameter"},
		{"/v1/events?cursor=abc", 400, "invalid_parameter"},
		{"/v1/events?offset=4", 400, "invalid_parameter"},
	}
	for _, tt := range tests {
		r := get(h, tt.target)
		e := decode[errorBody](t, r)
		if r.status != tt.status || e.Error.Code != tt.code {
			t.Errorf("%s: status %d code %q, want %d %q: %s", tt.target, r.status, e.Error.Code, tt.status, tt.code, r.body)
		}
	}
}

// oracle returns the item ids ordered by score with NULL above every value
// (or first or last, as nulls says), then id in the same direction: what
// the engine promises for sort=score.
func oracle(desc bool, nulls ...engine.Nulls) []int64 {
	s := slices.Clone(items)
	slices.SortFunc(s, func(a, b item) int {
		if (a.score == nil) != (b.score == nil) && len(nulls) > 0 && nulls[0] != engine.NullsDefault {
			if (a.score == nil) == (nulls[0] == engine.NullsFirst) {
				return -1
			}
			return 1
		}
		c := engine.Compare(a.score, b.score)
		if c == 0 {
			c = engine.Compare(a.id, b.id)
		}
		if desc {
			c = -c
		}
		return c
	})
	ids := make([]int64, len(s))
	for i, it := range s {
		ids[i] = it.id
	}
	return ids
}

func ids(t *testing.T, e envelope) []int64 {
	var out []int64
	for _, row := range e.Data {
		out = append(out, int64(row["id"].(float64)))
	}
	return out
}

// TestHarvest follows next links from the first page and prev links from
// the last, and checks both against the oracle for every page size.
func TestHarvest(t *testing.T) {
	h := newHandler(t)
	for _, tc := range []struct {
		sort  string
		desc  bool
		nulls engine.Nulls
	}{
		{"score", false, engine.NullsDefault}, {"-score", true, engine.NullsDefault},
		{"score.nullsfirst", false, engine.NullsFirst}, {"-score.nullslast", true, engine.NullsLast},
		{"score.nullslast", false, engine.NullsLast}, {"-score.nullsfirst", true, engine.NullsFirst},
	} {
		sort, want := tc.sort, oracle(tc.desc, tc.nulls)
		for limit := 1; limit <= len(items)+1; limit++ {
			var got []int64
			link := fmt.Sprintf("/v1/items?sort=%s&limit=%d", sort, limit)
			var lastLink string
			for pages := 0; link != ""; pages++ {
				if pages > len(items)+2 {
					t.Fatal("harvest does not end")
				}
				r := get(h, link)
				if r.status != 200 {
					t.Fatalf("%s: %d %s", link, r.status, r.body)
				}
				env := decode[envelope](t, r)
				got = append(got, ids(t, env)...)
				lastLink = env.Links["last"]
				link = ""
				if n, ok := env.Links["next"]; ok {
					link = path(t, n)
					if env.Page.NextCursor == "" {
						t.Error("next link without next_cursor")
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("sort=%s limit=%d forward: %v, want %v", sort, limit, got, want)
			}

			var back []int64
			link = path(t, lastLink)
			for pages := 0; link != ""; pages++ {
				if pages > len(items)+2 {
					t.Fatal("backward harvest does not end")
				}
				env := decode[envelope](t, get(h, link))
				back = append(ids(t, env), back...)
				link = ""
				if p, ok := env.Links["prev"]; ok {
					link = path(t, p)
				}
			}
			if !slices.Equal(back, want) {
				t.Errorf("sort=%s limit=%d backward: %v, want %v", sort, limit, back, want)
			}
		}
	}
}

func TestOffsetLinks(t *testing.T) {
	h := newHandler(t)
	var got []int64
	link := "/v1/items?offset=0&limit=3&sort=score"
	for link != "" {
		env := decode[envelope](t, get(h, link))
		if env.Page.Total == nil || *env.Page.Total != int64(len(items)) || *env.Page.TotalRelation != "eq" {
			t.Fatalf("offset page total %v, want exact %d", env.Page.Total, len(items))
		}
		if env.Page.NextCursor != "" || env.Page.PrevCursor != "" {
			t.Error("offset page carries cursors")
		}
		got = append(got, ids(t, env)...)
		link = ""
		if n, ok := env.Links["next"]; ok {
			link = path(t, n)
		}
	}
	if want := oracle(false); !slices.Equal(got, want) {
		t.Errorf("offset harvest %v, want %v", got, want)
	}
	env := decode[envelope](t, get(h, "/v1/items?offset=4&limit=3"))
	if p := env.Links["prev"]; !strings.Contains(p, "offset=1") {
		t.Errorf("prev link %q, want offset=1", p)
	}
	if env := decode[envelope](t, get(h, "/v1/items?limit=3")); env.Page.Total != nil {
		t.Error("a cursor page counted without total=exact")
	}
	if env := decode[envelope](t, get(h, "/v1/items?limit=3&total=estimate")); env.Page.Total == nil || *env.Page.TotalRelation != "estimate" {
		t.Errorf("total=estimate: %v", env.Page.TotalRelation)
	}
}

func TestLinkHeader(t *testing.T) {
	h := newHandler(t)
	r := get(h, "/v1/items?limit=2&name[prefix]=a")
	env := decode[envelope](t, r)
	lh := r.header.Get("Link")
	for rel, u := range env.Links {
		if !strings.Contains(lh, "<"+u+`>; rel="`+rel+`"`) {
			t.Errorf("Link header lacks %s: %s", rel, lh)
		}
	}
	if n := env.Links["first"]; !strings.Contains(n, "name%5Bprefix%5D=a") {
		t.Errorf("first link %q dropped the filter", n)
	}
}

// TestValues checks that rendered values read back exactly.
func TestValues(t *testing.T) {
	h := newHandler(t)
	for _, it := range items {
		r := get(h, fmt.Sprintf("/v1/items/%d", it.id))
		var doc struct {
			Data struct {
				ID      int64           `json:"id"`
				Name    string          `json:"name"`
				Score   *float64        `json:"score"`
				Created time.Time       `json:"created"`
				Tags    json.RawMessage `json:"tags"`
				Active  bool            `json:"active"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("%s: %v", r.body, err)
		}
		d := doc.Data
		if d.ID != it.id || d.Name != it.name || !d.Created.Equal(it.created) || string(d.Tags) != it.tags || d.Active != it.active {
			t.Errorf("item %d read back as %+v", it.id, d)
		}
		if (d.Score == nil) != (it.score == nil) || d.Score != nil && *d.Score != it.score.(float64) {
			t.Errorf("item %d score %v, want %v", it.id, d.Score, it.score)
		}
	}
}

func BenchmarkPage(b *testing.B) {
	h := newHandler(b)
	req := httptest.NewRequest(http.MethodGet, "/v1/items?limit=100&sort=-score", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// TestTotals: which pages carry a total, and how it is labelled.
func TestTotals(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		query    string
		relation string // "" for no total
	}{
		{"/v1/items?limit=2", ""},
		{"/v1/items?limit=2&total=exact", "eq"},
		{"/v1/items?limit=2&total=estimate", "estimate"},
		{"/v1/items?limit=2&total=none", ""},
		{"/v1/items?limit=2&offset=2", "eq"},
		{"/v1/items?limit=2&offset=2&total=estimate", "estimate"},
		{"/v1/items?limit=2&offset=2&total=none", ""},
		{"/v1/events?limit=2", "eq"},
		{"/v1/events?limit=2&total=estimate", "estimate"},
	}
	for _, tt := range tests {
		r := get(h, tt.query)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tt.query, r.status, r.body)
		}
		p := decode[envelope](t, r).Page
		switch {
		case tt.relation == "" && (p.Total != nil || p.TotalRelation != nil):
			t.Errorf("%s: total %v %v, want none", tt.query, p.Total, p.TotalRelation)
		case tt.relation != "" && (p.Total == nil || p.TotalRelation == nil || *p.TotalRelation != tt.relation):
			t.Errorf("%s: total %v relation %v, want one labelled %q", tt.query, p.Total, p.TotalRelation, tt.relation)
		}
	}
}

// TestAdvertisedOperators holds the collection listing to the parser: every
// operator the listing gives a field is accepted on that field, and every
// other operator is refused with a 400.
func TestAdvertisedOperators(t *testing.T) {
	h := newHandler(t)
	var listing struct {
		Data []struct {
			Name   string `json:"name"`
			Fields []struct {
				Name       string   `json:"name"`
				Type       string   `json:"type"`
				Filterable bool     `json:"filterable"`
				Operators  []string `json:"operators"`
			} `json:"fields"`
		} `json:"data"`
	}
	if err := json.Unmarshal(get(h, "/v1").body, &listing); err != nil {
		t.Fatal(err)
	}
	// A value of each type as a request writes it.
	samples := map[string]string{"text": "a", "integer": "1", "number": "1.5", "boolean": "true", "time": "2024-03-01", "json": "Ti", "bytes": "AQI"}
	checked := map[string]bool{}
	for _, c := range listing.Data {
		for _, f := range c.Fields {
			if !f.Filterable {
				continue
			}
			sample, ok := samples[f.Type]
			if !ok {
				t.Fatalf("%s.%s: no sample value for type %q", c.Name, f.Name, f.Type)
			}
			checked[f.Type] = true
			for _, op := range engine.Ops {
				v := sample
				if op == engine.OpNull {
					v = "true"
				}
				r := get(h, "/v1/"+c.Name+"?"+url.Values{f.Name + "[" + string(op) + "]": {v}}.Encode())
				advertised := slices.Contains(f.Operators, string(op))
				if advertised && r.status != http.StatusOK || !advertised && r.status != http.StatusBadRequest {
					t.Errorf("%s.%s (%s) [%s]: status %d, advertised %v: %s", c.Name, f.Name, f.Type, op, r.status, advertised, r.body)
				}
			}
		}
	}
	for _, typ := range []string{"text", "integer", "number", "boolean", "time", "json"} {
		if !checked[typ] {
			t.Errorf("no filterable %s field in the test collections", typ)
		}
	}
}
