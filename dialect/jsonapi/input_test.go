package jsonapi

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"folio/config"
	"folio/dialect/native"
	"folio/internal/demodb"
)

func TestBadInput(t *testing.T) {
	fx := newFixture(t)
	good := fx.page(t, "/dois?page[cursor]=1&page[size]=2").Links["next"]
	tok := good[strings.Index(good, "page%5Bcursor%5D=")+len("page%5Bcursor%5D=") : strings.Index(good, "&")]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// A DataCite-issued cursor: base64url("1496434190000,10.7907/z9vx0dkv").
	const datacite = "MTQ5NjQzNDE5MDAwMCwxMC43OTA3L3o5dngwZGt2"
	tests := []struct {
		name, query string
		status      int
		param       string
		detail      string // a part of the detail
	}{
		{"size negative", "page[size]=-1", 400, paramSize, "0 to 1000"},
		{"size over max", "page[size]=1001", 400, paramSize, "0 to 1000"},
		{"size not a number", "page[size]=abc", 400, paramSize, "whole number"},
		{"size float", "page[size]=2.5", 400, paramSize, "whole number"},
		{"size huge", "page[size]=99999999999999999999", 400, paramSize, "whole number"},
		{"number zero", "page[number]=0", 400, paramNumber, "from 1"},
		{"number negative", "page[number]=-3", 400, paramNumber, "from 1"},
		{"number not a number", "page[number]=two", 400, paramNumber, "whole number"},
		{"number past window", "page[number]=401", 400, paramNumber, "page[cursor]"},
		{"number overflow", "page[size]=1000&page[number]=9223372036854775807", 400, paramNumber, "page[cursor]"},
		{"number with cursor", "page[cursor]=1&page[number]=2", 400, paramNumber, "page[cursor]"},
		{"unknown page key", "page[scroll]=1m", 400, "page[scroll]", "page[cursor]"},
		{"garbage cursor", "page[cursor]=not-a-cursor!", 400, paramCursor, "base64url"},
		{"datacite cursor", "page[cursor]=" + datacite, 400, paramCursor, ""},
		{"truncated cursor", "page[cursor]=" + tok[:len(tok)-4], 400, paramCursor, ""},
		{"tampered cursor", "page[cursor]=" + flip(tok, 8), 400, paramCursor, "signature"},
		{"cursor of another sort", "page[cursor]=" + tok + "&sort=-created", 400, paramCursor, "different query"},
		{"cursor of another filter", "page[cursor]=" + tok + "&provider-id=cern", 400, paramCursor, "different query"},
		{"unknown sort", "sort=-view-count", 400, paramSort, "view-count"},
		{"relevance with a placement", "sort=relevance.nullsfirst", 400, paramSort, "relevance"},
		{"fields of no type", "fields[]=doi", 400, "fields[]", "type"},
		{"unknown sparse field", "fields[dois]=doi,xml", 400, "fields[dois]", `"xml"`},
		{"publisher as a filter", "publisher=CERN", 400, "publisher", "display switch"},
		{"affiliation not a switch value", "affiliation=yes", 400, "affiliation", "display switch"},
		{"unknown filter", "funder-id=x", 400, "funder-id", "unknown parameter"},
		{"misspelt filter", "provder-id=cern", 400, "provder-id", "unknown parameter"},
		{"bad year", "created=2019-01", 400, "created", "year"},
		{"bad year list", "created=2019,soon", 400, "created", "year"},
		{"published not a number", "published=recent", 400, "published", "not an integer"},
		{"published list not numbers", "published=2019,x", 400, "published", "not an integer"},
		{"repeated", "provider-id=cern&provider-id=tib", 400, "provider-id", "once"},
		{"repeated size", "page[size]=1&page[size]=2", 400, paramSize, "once"},
		{"malformed", "provider-id=%zz", 400, "", "malformed"},
		{"semicolon", "a=1;b=2", 400, "", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fx.get("/dois?" + tt.query)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			checkError(t, r, tt.status, tt.param, tt.detail)
		})
	}
}

func checkError(t *testing.T, r response, status int, param, detail string) {
	t.Helper()
	e := decode[errorDoc](t, r)
	if len(e.Errors) != 1 {
		t.Fatalf("%d error objects: %s", len(e.Errors), r.body)
	}
	got := e.Errors[0]
	if got.Status != fmt.Sprint(status) || got.Title == "" {
		t.Errorf("error %+v, want status %d and a title", got, status)
	}
	if (got.Source == nil) != (param == "") || got.Source != nil && got.Source.Parameter != param {
		t.Errorf("source %+v, want parameter %q", got.Source, param)
	}
	if !strings.Contains(got.Detail, detail) {
		t.Errorf("detail %q does not contain %q", got.Detail, detail)
	}
	if ct := r.header.Get("Content-Type"); ct != mediaType {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestAccepted(t *testing.T) {
	fx := newFixture(t)
	for _, q := range []string{
		"page[cursor]=", "page[cursor]=1", "page[cursor]=%201", "page%5Bsize%5D=5", "page[size]=0&page[number]=7",
		"provider_id=cern", "providerId=cern", "PROVIDER-ID=cern", "resource_type_id=text", "client-id=cern.zenodo,dryad.dryad",
		"created=2019,2020", "query=", "query=zenodo", "prefix=10.5281,10.5061/", "disable-facets=true", "detail=true",
		"fields[dois]=doi,titles", "fields[dois]=", "fields[dois]=id,type,publication_year,Types", "fields[clients]=name",
		"publisher=true", "publisher=false", "publisher=", "affiliation=true", "affiliation=false",
		"sort=relevance", "sort=-relevance", "query=zenodo&sort=-relevance&page[cursor]=1", "sort=", "sort=name", "sort=-published,title", "sort=-resource-type-id", "types.resourceTypeGeneral=Dataset",
	} {
		if r := fx.get("/dois?" + q); r.status != 200 {
			t.Errorf("%s: status %d: %s", q, r.status, r.body)
		}
	}
	// A blank filter filters nothing, as in DataCite.
	if a, b := fx.page(t, "/dois?provider-id=&page[size]=0"), fx.page(t, "/dois?page[size]=0"); *a.Meta.Total != *b.Meta.Total {
		t.Errorf("blank filter: total %d, want %d", *a.Meta.Total, *b.Meta.Total)
	}
	// Ignored presentation parameters are carried into links.next.
	if n := fx.page(t, "/dois?disable-facets=true&page[size]=1").Links["next"]; !strings.Contains(n, "disable-facets=true") {
		t.Errorf("next %q dropped disable-facets", n)
	}
}

func TestRecord(t *testing.T) {
	fx := newFixture(t)
	id := fx.oracle.Rows[7][0].(string)
	for _, target := range []string{
		"/dois/" + id,
		"/dois/" + strings.ToUpper(id),
		"/dois/" + strings.Replace(id, "/", "%2F", 1),
		"/dois/" + id + "?detail=true",
	} {
		r := fx.get(target)
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", target, r.status, r.body)
		}
		doc := decode[struct {
			Data resource `json:"data"`
		}](t, r)
		if doc.Data.ID != id || doc.Data.Type != "dois" || doc.Data.Attributes["doi"] != id {
			t.Errorf("%s: %+v", target, doc.Data)
		}
		if rel := doc.Data.Relationships["client"]; rel.Data == nil || rel.Data.ID != fx.oracle.Rows[7][2] || rel.Data.Type != "clients" {
			t.Errorf("%s: client relationship %+v", target, rel.Data)
		}
	}
	for _, tt := range []struct {
		method, target string
		status         int
		param          string
	}{
		{http.MethodGet, "/dois/10.1234/none", 404, ""},
		{http.MethodGet, "/dois/", 404, ""},
		{http.MethodGet, "/dois/" + id + "?page[size]=2", 400, paramSize},
		{http.MethodGet, "/dois/" + id + "?a=%zz", 400, ""},
		{http.MethodDelete, "/dois/" + id, 405, ""},
		{http.MethodPut, "/dois", 405, ""},
	} {
		r := do(fx.h, tt.method, tt.target, nil)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d: %s", tt.method, tt.target, r.status, tt.status, r.body)
			continue
		}
		checkError(t, r, tt.status, tt.param, "")
	}
}

func TestNegotiation(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		header map[string]string
		status int
		ct     string
	}{
		{nil, 200, mediaType},
		{map[string]string{"Accept": "*/*"}, 200, mediaType},
		{map[string]string{"Accept": mediaType}, 200, mediaType},
		{map[string]string{"Accept": plainJSON}, 200, plainJSON},
		{map[string]string{"Accept": "application/json; charset=utf-8, text/html;q=0.5"}, 200, plainJSON},
		{map[string]string{"Accept": mediaType + `; profile="https://example.com/p"`}, 200, mediaType},
		{map[string]string{"Accept": mediaType + ";q=0.9"}, 200, mediaType},
		{map[string]string{"Accept": mediaType + "; charset=utf-8, " + mediaType}, 200, mediaType},
		{map[string]string{"Accept": mediaType + "; charset=utf-8"}, 406, mediaType},
		{map[string]string{"Accept": mediaType + `; ext="https://jsonapi.org/ext/atomic", application/json`}, 406, mediaType},
		{map[string]string{"Content-Type": mediaType}, 200, mediaType},
		{map[string]string{"Content-Type": mediaType + "; charset=utf-8"}, 415, mediaType},
		{map[string]string{"Content-Type": "Application/VND.API+JSON;charset=utf-8"}, 415, mediaType},
		{map[string]string{"Content-Type": mediaType + "; charset"}, 415, mediaType},
		{map[string]string{"Content-Type": mediaType + `; profile="https://example.com/p"; profile="https://example.com/q"`}, 415, mediaType},
		{map[string]string{"Content-Type": mediaType + `; ext="https://jsonapi.org/ext/atomic"`}, 415, mediaType},
		{map[string]string{"Content-Type": mediaType + `; ext=""`}, 200, mediaType},
		{map[string]string{"Content-Type": mediaType + `; profile="https://example.com/p"`}, 200, mediaType},
		{map[string]string{"Content-Type": mediaType + ";"}, 200, mediaType},
		{map[string]string{"Accept": mediaType + "; version"}, 406, mediaType},
		{map[string]string{"Accept": mediaType + `; ext=""`}, 200, mediaType},
		{map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200, mediaType},
	}
	for _, tt := range tests {
		for _, target := range []string{"/dois?page[size]=1", "/dois/" + fx.oracle.Rows[0][0].(string)} {
			r := do(fx.h, http.MethodGet, target, tt.header)
			if r.status != tt.status || r.header.Get("Content-Type") != tt.ct {
				t.Errorf("%v %s: status %d %q, want %d %q", tt.header, target, r.status, r.header.Get("Content-Type"), tt.status, tt.ct)
			}
		}
	}
}

func TestNewChecksMount(t *testing.T) {
	fx := newFixture(t)
	mount := func(edit func(m *config.Mount)) config.Mount {
		m := demoMount(t)
		edit(&m)
		return m
	}
	tests := []struct {
		name string
		m    config.Mount
		msg  string
	}{
		{"unknown collection", mount(func(m *config.Mount) { m.Collection = "nope" }), "nope"},
		{"unknown target", mount(func(m *config.Mount) { m.Fields["doi"] = "nope" }), "nope"},
		{"unknown option", mount(func(m *config.Mount) { m.Options["page_size"] = "5" }), "page_size"},
		{"bad sort option", mount(func(m *config.Mount) { m.Options[OptionSort] = "-nope" }), "nope"},
		{"bad cursor sort option", mount(func(m *config.Mount) { m.Options[OptionCursorSort] = "nope" }), "nope"},
		{"bad query field", mount(func(m *config.Mount) { m.Options[OptionQueryFields] = "published" }), "published"},
		{"empty type", mount(func(m *config.Mount) { m.Options[OptionType] = " " }), "type"},
		{"reserved attribute", mount(func(m *config.Mount) { m.Fields["type"] = "state" }), "reserves"},
		{"clashing attributes", mount(func(m *config.Mount) { m.Fields["titles[].title.x"] = "state" }), "clashes"},
		{"array mismatch", mount(func(m *config.Mount) { m.Fields["titles.lang"] = "state" }), "array"},
		{"bad relationship", mount(func(m *config.Mount) { m.Fields["relationships.a.b"] = "state" }), "relationship"},
		{"empty segment", mount(func(m *config.Mount) { m.Fields["types..x"] = "state" }), "part"},
		{"ambiguous names", mount(func(m *config.Mount) { m.Fields["client-id"] = "state" }), "both read as"},
	}
	for _, tt := range tests {
		_, err := New(fx.e, tt.m, demodb.Quiet())
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.msg)
		}
	}
	// A resource has one id: a key of several fields cannot be mounted.
	cfg, err := config.Parse([]byte("collections:\n  dois:\n    key: [provider_id, id]\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pair := demodb.NewEngine(t, fx.e.Source(), cfg)
	if _, err := New(pair, demoMount(t), demodb.Quiet()); err == nil || !strings.Contains(err.Error(), "a key of 2 fields (provider_id, id)") {
		t.Errorf("a key of two fields: error %v", err)
	}
	// Any collection can be mounted without a field map.
	for _, c := range fx.e.Collections() {
		h, err := New(fx.e, config.Mount{Dialect: config.JSONAPI, Path: "/x", Collection: c.Name}, demodb.Quiet())
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		for _, target := range []string{"/x", "/x?page[cursor]=1&page[size]=3", "/x?page[number]=2&page[size]=5"} {
			if r := do(h, http.MethodGet, target, nil); r.status != 200 {
				t.Errorf("%s %s: status %d: %s", c.Name, target, r.status, r.body)
			}
		}
	}
}

// TestHarvestWhileInserting walks a cursor harvest while another
// connection inserts rows anywhere in the created order: every row that
// existed at the start appears exactly once, and no row appears twice.
func TestHarvestWhileInserting(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a second database")
	}
	ctx := context.Background()
	fx := newFixture(t)
	path := fx.d.Copy(t)
	h := demodb.Handler(t, New, demodb.Open(t, path, config.Demo()), demoMount(t))
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	before := fx.want(nil, "created")
	stop := make(chan struct{})
	var inserted atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// A copy of a random row under a new DOI: same created time, so
			// new rows land before, at and after the harvest's position.
			src := before[rng.IntN(len(before))]
			_, err := db.ExecContext(ctx, `INSERT INTO dois (id, provider_id, client_id, created, updated, published, title, publisher, resource_type_id, state)
				SELECT ?, provider_id, client_id, created, updated, published, title, publisher, resource_type_id, state FROM dois WHERE id = ?`,
				fmt.Sprintf("%s.new%d", src, i), src)
			if err != nil {
				t.Error(err)
				return
			}
			inserted.Add(1)
			time.Sleep(100 * time.Microsecond)
		}
	}()

	seen := map[string]int{}
	for link := "/dois?page[cursor]=1&page[size]=50"; link != ""; {
		r := do(h, http.MethodGet, link, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", link, r.status, r.body)
		}
		d := decode[document](t, r)
		for _, id := range ids(d) {
			seen[id]++
		}
		link = ""
		if n := d.Links["next"]; n != "" {
			link = requestURI(t, n)
		}
	}
	close(stop)
	wg.Wait()
	if inserted.Load() == 0 {
		t.Fatal("the writer inserted nothing during the harvest")
	}
	for _, id := range before {
		if seen[id] != 1 {
			t.Errorf("%s seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
	t.Logf("harvested %d rows while %d were inserted", len(seen), inserted.Load())
}

// BenchmarkFirstPage compares the first page of 100 dois with the native
// dialect's on the same engine (the 0.8× floor).
func BenchmarkFirstPage(b *testing.B) {
	fx := newFixture(b)
	nat := native.New(fx.e, native.Options{Path: "/v1", Logger: demodb.Quiet()})
	for _, bm := range []struct {
		name, target string
		h            http.Handler
	}{
		{"native", "/v1/dois?limit=100", nat},
		{"native_total", "/v1/dois?limit=100&total=exact", nat},
		{"jsonapi_page", "/dois?page[size]=100", fx.h},
		{"jsonapi_cursor", "/dois?page[cursor]=1&page[size]=100", fx.h},
	} {
		b.Run(bm.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bm.target, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					bm.h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatal(rec.Code, rec.Body)
					}
				}
			})
		})
	}
}

// TestUnavailable: a source that fails is a 503 with Retry-After, in the
// JSON:API error shape.
func TestUnavailable(t *testing.T) {
	e := demodb.Open(t, newFixture(t).d.Copy(t), config.Demo())
	h := demodb.Handler(t, New, e, demoMount(t))
	e.Source().(interface{ Close() error }).Close()
	for _, target := range []string{"/dois", "/dois?page[cursor]=1", "/dois/10.5281/zenodo.1"} {
		r := do(h, http.MethodGet, target, nil)
		if r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q: %s", target, r.status, r.header.Get("Retry-After"), r.body)
			continue
		}
		checkError(t, r, 503, "", "retry")
	}
}
