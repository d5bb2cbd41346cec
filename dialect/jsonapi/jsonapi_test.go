package jsonapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/golden"
	"folio/source/conformance"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// fixture is the demo database the test binary shares, with the handler of
// config/demo.yaml's JSON:API mount (DataCite's /dois) over it.
type fixture struct {
	d      *demodb.Demo
	e      *engine.Engine
	h      http.Handler
	oracle *conformance.Oracle // the dois
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	d := demodb.Shared(t, demodb.Rows)
	h := demodb.Handler(t, New, d.Engine, demoMount(t))
	return fixture{d: d, e: d.Engine, h: h, oracle: d.Oracle(t, "dois")}
}

// demoMount is config/demo.yaml's JSON:API mount.
func demoMount(t testing.TB) config.Mount { return demodb.Mount(t, "/dois") }

// response is what a handler answered to method and target.
type response struct {
	method, target string
	status         int
	header         http.Header
	body           []byte
}

func do(h http.Handler, method, target string, header map[string]string) response {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{method, target, rec.Code, rec.Header(), rec.Body.Bytes()}
}

func (fx fixture) get(target string) response { return do(fx.h, http.MethodGet, target, nil) }

type resource struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Attributes    map[string]any `json:"attributes"`
	Relationships map[string]struct {
		Data *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"data"`
	} `json:"relationships"`
}

type document struct {
	Data []resource `json:"data"`
	Meta struct {
		Total      *int64 `json:"total"`
		TotalPages *int64 `json:"totalPages"`
		Page       *int   `json:"page"`
	} `json:"meta"`
	Links map[string]string `json:"links"`
}

type errorDoc struct {
	Errors []struct {
		Status string `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Source *struct {
			Parameter string `json:"parameter"`
		} `json:"source"`
	} `json:"errors"`
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body does not decode: %v\n%s", err, r.body)
	}
	return v
}

// page fetches a list page and checks that it succeeded.
func (fx fixture) page(t testing.TB, target string) document {
	t.Helper()
	r := fx.get(target)
	if r.status != 200 {
		t.Fatalf("%s: status %d: %s", target, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != mediaType {
		t.Fatalf("%s: Content-Type %q", target, ct)
	}
	return decode[document](t, r)
}

// requestURI strips scheme and host from a link, to request it again.
func requestURI(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Host != "example.com" {
		t.Fatalf("link %q is not absolute on the request's host", link)
	}
	return u.RequestURI()
}

func ids(d document) []string {
	out := make([]string, len(d.Data))
	for i, r := range d.Data {
		out[i] = r.ID
	}
	return out
}

// want returns the oracle's ids for filters and sort.
// want is the oracle's ids for filters in sort, missing values last in
// both directions, as DataCite (Elasticsearch) orders them.
func (fx fixture) want(filters []engine.Filter, sort string) []string {
	order := engine.ParseSort(sort)
	for i := range order {
		order[i].Nulls = engine.NullsLast
	}
	rows := fx.oracle.Select(filters, order)
	out := make([]string, len(rows))
	for i, k := range fx.oracle.Keys(rows) {
		out[i] = k.(string)
	}
	return out
}

func eq(field string, v engine.Value) engine.Filter {
	return engine.Filter{Field: field, Op: engine.OpEq, Values: []engine.Value{v}}
}

// harvest follows links.next from target to the end and returns the ids
// in order, with the number of pages.
func (fx fixture) harvest(t testing.TB, target string) ([]string, int) {
	t.Helper()
	var got []string
	pages := 0
	for link := target; link != ""; pages++ {
		if pages > 20000 {
			t.Fatal("harvest does not end")
		}
		r := fx.get(link)
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", link, r.status, r.body)
		}
		// Only the ids: decoding whole documents would dominate the test's time.
		var d struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			Links map[string]string `json:"links"`
		}
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		for _, res := range d.Data {
			got = append(got, res.ID)
		}
		link = ""
		if n, ok := d.Links["next"]; ok {
			if len(d.Data) == 0 {
				t.Fatalf("%s: an empty page has a next link", link)
			}
			link = requestURI(t, n)
		}
	}
	return got, pages
}

func TestGolden(t *testing.T) {
	fx := newFixture(t)
	// ill is a small provider (5 dois): its cursor and page walks end within a few pages.
	firstCursor := fx.get("/dois?provider-id=ill&page[cursor]=1&page[size]=2")
	next := requestURI(t, decode[document](t, firstCursor).Links["next"])
	middleCursor := fx.get(next)
	all, _ := fx.harvest(t, "/dois?provider-id=ill&page[cursor]=1&page[size]=2")
	lastNumber := (len(all) + 1) / 2
	tests := []struct {
		name string
		r    response
	}{
		{"first_page", fx.get("/dois?page[size]=3")},
		{"middle_page", fx.get("/dois?provider-id=ill&page[size]=2&page[number]=2&sort=-created")},
		{"last_page", fx.get(fmt.Sprintf("/dois?provider-id=ill&page[size]=2&page[number]=%d&sort=-created", lastNumber))},
		{"cursor_first", firstCursor},
		{"cursor_middle", middleCursor},
		{"empty", fx.get("/dois?provider-id=nobody")},
		{"count_only", fx.get("/dois?provider-id=ill&page[size]=0")},
		{"filters", fx.get("/dois?client-id=cern.zenodo&resource-type-id=software&created=2024&page[size]=2&sort=title")},
		{"record", fx.get("/dois/" + all[0])},
		{"error_size", fx.get("/dois?page[size]=1001")},
		{"error_number_window", fx.get("/dois?page[size]=1000&page[number]=11")},
		{"error_cursor", fx.get("/dois?page[cursor]=AAAA")},
		{"error_parameter", fx.get("/dois?provider=cern")},
		{"error_sort", fx.get("/dois?sort=-view-count")},
		{"error_fields", fx.get("/dois?fields[dois]=doi,colour")},
		{"sparse", fx.get("/dois?provider-id=ill&page[size]=2&fields[dois]=doi,titles,client&sort=name")},
		{"publisher_object", fx.get("/dois?provider-id=ill&page[size]=1&fields[dois]=publisher&publisher=true&affiliation=true&sort=name")},
		{"error_created", fx.get("/dois?created=last-year")},
		{"error_not_found", fx.get("/dois/10.9999/nothing")},
		{"error_method", do(fx.h, http.MethodPost, "/dois", nil)},
		{"error_not_acceptable", do(fx.h, http.MethodGet, "/dois", map[string]string{"Accept": mediaType + "; charset=utf-8"})},
		{"error_media_type", do(fx.h, http.MethodGet, "/dois", map[string]string{"Content-Type": mediaType + "; ext=\"https://example.com/ext\""})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden.Assert(t, tt.name, golden.Response{Method: tt.r.method, Target: tt.r.target, Status: tt.r.status, Header: tt.r.header, Body: golden.JSON(t, tt.r.body)}.Bytes())
		})
	}
}

// TestSeedExamples runs the examples of DataCite's pagination page
// (seeds/002) as written, with only the host changed.
func TestSeedExamples(t *testing.T) {
	fx := newFixture(t)
	const host = "http://example.com"
	caltech := []engine.Filter{eq("provider_id", "caltech")}

	t.Run("page number", func(t *testing.T) {
		wantAll := fx.want(caltech, "-updated")
		first := fx.page(t, "/dois?provider-id=caltech&page[size]=1000")
		second := fx.page(t, "/dois?provider-id=caltech&page[size]=1000&page[number]=2")
		if got := append(ids(first), ids(second)...); !slices.Equal(got, wantAll[:min(2000, len(wantAll))]) {
			t.Errorf("pages 1 and 2 hold %d ids, not the first %d of the oracle's %d", len(got), min(2000, len(wantAll)), len(wantAll))
		}
		if *first.Meta.Total != int64(len(wantAll)) || *first.Meta.Page != 1 || *second.Meta.Page != 2 {
			t.Errorf("meta %+v / %+v, want total %d and pages 1, 2", first.Meta, second.Meta, len(wantAll))
		}
		if got, want := first.Links["self"], host+"/dois?provider-id=caltech&page%5Bsize%5D=1000"; got != want {
			t.Errorf("self %q, want %q", got, want)
		}
		// The demo's dois are a fifth of its 20,000 entries: the unfiltered
		// collection has the 2,000 records that page 2 of 1000 needs.
		all := fx.want(nil, "-updated")
		if len(all) < 2000 {
			t.Fatalf("the test database has only %d dois", len(all))
		}
		p1 := fx.page(t, "/dois?page[size]=1000")
		wantNext := host + "/dois?page%5Bnumber%5D=2&page%5Bsize%5D=1000"
		if p1.Links["next"] != wantNext {
			t.Errorf("next %q, want %q", p1.Links["next"], wantNext)
		}
		p2 := fx.page(t, "/dois?page[size]=1000&page[number]=2")
		if !slices.Equal(ids(p2), all[1000:2000]) {
			t.Error("page[number]=2 is not records 1001-2000 of the oracle")
		}
		if got := *p2.Meta.TotalPages; got != int64((len(all)+999)/1000) {
			t.Errorf("totalPages %d for %d records", got, len(all))
		}
	})

	t.Run("cursor", func(t *testing.T) {
		for _, tt := range []struct {
			target  string
			filters []engine.Filter
		}{
			{"/dois?provider-id=caltech&page[cursor]=1&page[size]=1000", caltech},
			{"/dois?page[cursor]=1&page[size]=1000", nil},
		} {
			wantAll := fx.want(tt.filters, "created")
			d := fx.page(t, tt.target)
			if d.Meta.Page != nil {
				t.Errorf("%s: meta.page %d in cursor mode", tt.target, *d.Meta.Page)
			}
			if *d.Meta.Total != int64(len(wantAll)) || *d.Meta.TotalPages != int64((len(wantAll)+999)/1000) {
				t.Errorf("%s: meta %d/%d for %d records", tt.target, *d.Meta.Total, *d.Meta.TotalPages, len(wantAll))
			}
			if n := d.Links["next"]; n != "" && !strings.HasPrefix(n, host+"/dois?page%5Bcursor%5D=") {
				t.Errorf("%s: next %q", tt.target, n)
			}
			got, pages := fx.harvest(t, tt.target)
			if !slices.Equal(got, wantAll) {
				t.Errorf("%s: harvest of %d differs from the oracle's %d", tt.target, len(got), len(wantAll))
			}
			if want := max(1, (len(wantAll)+999)/1000); pages != want {
				t.Errorf("%s: %d pages, want %d (no trailing empty page)", tt.target, pages, want)
			}
		}
	})

	t.Run("beyond 10000", func(t *testing.T) {
		r := fx.get("/dois?page[size]=1000&page[number]=11")
		if r.status != 400 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		e := decode[errorDoc](t, r)
		if len(e.Errors) != 1 || e.Errors[0].Status != "400" || e.Errors[0].Source == nil || e.Errors[0].Source.Parameter != paramNumber || !strings.Contains(e.Errors[0].Detail, "page[cursor]") {
			t.Errorf("error %s", r.body)
		}
		// Page 10 is the last one the window reaches: allowed (empty here).
		if d := fx.page(t, "/dois?page[size]=1000&page[number]=10"); len(d.Data) != 0 || d.Links["next"] != "" {
			t.Errorf("page 10: %d rows, next %q", len(d.Data), d.Links["next"])
		}
	})
}

// TestPageWindow checks the page-number window at sizes that do and do not
// divide 10,000: every one of meta.totalPages pages can be fetched, the
// last is cut at record 10,000, and the next one is an error.
func TestPageWindow(t *testing.T) {
	fx := newFixture(t)
	// The collection's window is 10,000 rows; the 4,000 demo dois hold
	// fewer, so shrink nothing and check the arithmetic against a page
	// that would cross it.
	all := fx.want(nil, "-updated")
	for _, size := range []int{25, 30, 1000, 3} {
		pages := (min(len(all), 10000) + size - 1) / size
		d := fx.page(t, fmt.Sprintf("/dois?page[size]=%d&page[number]=%d", size, pages))
		if *d.Meta.TotalPages != int64(pages) {
			t.Errorf("size %d: totalPages %d, want %d", size, *d.Meta.TotalPages, pages)
		}
		from := (pages - 1) * size
		if !slices.Equal(ids(d), all[from:min(from+size, len(all), 10000)]) {
			t.Errorf("size %d: last page differs from the oracle", size)
		}
		if d.Links["next"] != "" {
			t.Errorf("size %d: last page has next %q", size, d.Links["next"])
		}
	}
	// entries has 20,000 rows, twice the window: at a size that does not
	// divide 10,000 the last page is cut at record 10,000.
	h := demodb.Handler(t, New, fx.e, config.Mount{Dialect: config.JSONAPI, Path: "/entries", Collection: "entries"})
	for _, tt := range []struct{ size, number, rows int }{{30, 334, 10}, {1000, 10, 1000}, {25, 400, 25}} {
		r := do(h, http.MethodGet, fmt.Sprintf("/entries?page[size]=%d&page[number]=%d", tt.size, tt.number), nil)
		if r.status != 200 {
			t.Fatalf("entries size %d number %d: status %d: %s", tt.size, tt.number, r.status, r.body)
		}
		d := decode[document](t, r)
		if len(d.Data) != tt.rows || *d.Meta.TotalPages != int64(tt.number) || *d.Meta.Total != 20000 || d.Links["next"] != "" {
			t.Errorf("entries size %d number %d: %d rows, meta %d/%d, next %q; want %d rows, totalPages %d, no next",
				tt.size, tt.number, len(d.Data), *d.Meta.Total, *d.Meta.TotalPages, d.Links["next"], tt.rows, tt.number)
		}
		r = do(h, http.MethodGet, fmt.Sprintf("/entries?page[size]=%d&page[number]=%d", tt.size, tt.number-1), nil)
		if d := decode[document](t, r); d.Links["next"] == "" {
			t.Errorf("entries size %d number %d: no next link", tt.size, tt.number-1)
		}
		r = do(h, http.MethodGet, fmt.Sprintf("/entries?page[size]=%d&page[number]=%d", tt.size, tt.number+1), nil)
		if r.status != 400 {
			t.Errorf("entries size %d number %d: status %d, want 400", tt.size, tt.number+1, r.status)
		}
	}
	// Over the window: the first page past record 10,000.
	for _, tt := range []struct{ size, number, status int }{
		{25, 400, 200}, {25, 401, 400}, {30, 334, 200}, {30, 335, 400}, {1000, 10, 200}, {1000, 11, 400}, {1, 10000, 200}, {1, 10001, 400},
	} {
		r := fx.get(fmt.Sprintf("/dois?page[size]=%d&page[number]=%d", tt.size, tt.number))
		if r.status != tt.status {
			t.Errorf("size %d number %d: status %d, want %d: %s", tt.size, tt.number, r.status, tt.status, r.body)
		}
	}
}

// TestHarvest follows links.next in both modes, over several sorts and
// filters, and compares with the oracle: no duplicates, no misses.
func TestHarvest(t *testing.T) {
	fx := newFixture(t)
	y2020 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		query   string
		filters []engine.Filter
		sort    string
	}{
		{"", nil, "created"},
		{"sort=-updated", nil, "-updated"},
		{"sort=published", nil, "published"},
		{"sort=-publicationYear", nil, "-published"},
		{"sort=title", nil, "title"},
		{"sort=-name", nil, "-id"},
		{"provider_id=cern,dryad", []engine.Filter{{Field: "provider_id", Op: engine.OpIn, Values: []engine.Value{"cern", "dryad"}}}, "created"},
		{"created=2020&resource-type-id=dataset", []engine.Filter{
			{Field: "created", Op: engine.OpGte, Values: []engine.Value{y2020}},
			{Field: "created", Op: engine.OpLt, Values: []engine.Value{y2020.AddDate(1, 0, 0)}},
			eq("resource_type_id", "dataset"),
		}, "created"},
		{"query=Zürich&state=findable", []engine.Filter{{Op: engine.OpOr, Sub: [][]engine.Filter{
			{{Field: "id", Op: engine.OpContains, Values: []engine.Value{"Zürich"}}},
			{{Field: "title", Op: engine.OpContains, Values: []engine.Value{"Zürich"}}},
			{{Field: "publisher", Op: engine.OpContains, Values: []engine.Value{"Zürich"}}},
		}}, eq("state", "findable")}, "created"},
		{"prefix=10.5281", []engine.Filter{{Field: "id", Op: engine.OpPrefix, Values: []engine.Value{"10.5281/"}}}, "created"},
		{"published=2019,2021", []engine.Filter{{Field: "published", Op: engine.OpIn, Values: []engine.Value{int64(2019), int64(2021)}}}, "created"},
	}
	for _, tt := range tests {
		wantIDs := fx.want(tt.filters, tt.sort)
		for _, size := range []int{1000, 333} {
			q := tt.query
			if q != "" {
				q += "&"
			}
			got, _ := fx.harvest(t, fmt.Sprintf("/dois?%spage[cursor]=1&page[size]=%d", q, size))
			if !slices.Equal(got, wantIDs) {
				t.Errorf("cursor %q size %d: %d ids, oracle %d", tt.query, size, len(got), len(wantIDs))
			}
		}
		// Page-number mode: the same order when a sort is given.
		if strings.HasPrefix(tt.query, "sort=") || tt.query == "" {
			sortq := tt.query
			if sortq == "" {
				sortq = "sort=created"
			}
			got, _ := fx.harvest(t, "/dois?"+sortq+"&page[size]=1000")
			if !slices.Equal(got, wantIDs) {
				t.Errorf("page-number %q: %d ids, oracle %d", sortq, len(got), len(wantIDs))
			}
		}
	}
	// page mode defaults to -updated, as DataCite does.
	if got, _ := fx.harvest(t, "/dois?page[size]=500&provider-id=figshare"); !slices.Equal(got, fx.want([]engine.Filter{eq("provider_id", "figshare")}, "-updated")) {
		t.Error("page-number default order is not -updated")
	}
}
