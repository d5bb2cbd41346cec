package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
	"folio/secret"
	"folio/source/conformance"
	"folio/source/sqlite"
)

// e2eDB is a SQLite file holding two random tables (an integer key and a
// text key; ties, NULLs, unicode and empty strings, negative and fractional
// numbers) and a view without a unique key.
type e2eDB struct {
	path    string
	oracles map[string]*conformance.Oracle
	// mistyped: cells hold values of another kind than their column's,
	// published as stored, which the OpenAPI document (declared types)
	// does not describe; responses are then not validated against it.
	mistyped bool
}

func newE2EDB(t *testing.T) *e2eDB {
	t.Helper()
	rng := rand.New(rand.NewPCG(17, 4))
	items := conformance.RandomTable(rng, "items", 400, conformance.IntKey)
	codes := conformance.RandomTable(rng, "codes", 150, conformance.TextKey)
	db := &e2eDB{
		path:    filepath.Join(t.TempDir(), "e2e.sqlite"),
		oracles: map[string]*conformance.Oracle{"items": conformance.NewOracle(items), "codes": conformance.NewOracle(codes)},
	}
	if err := sqlite.Load(context.Background(), db.path, []*dataset.Table{items, codes}, nil); err != nil {
		t.Fatal(err)
	}
	// A view has no declared key: folio must serve it by offset only. The
	// driver is registered by source/sqlite, the one package that imports
	// it; this test only names it.
	w, err := sql.Open("sqlite3", "file:"+db.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec(`CREATE VIEW positive AS SELECT a, s FROM items WHERE a > 0`); err != nil {
		t.Fatal(err)
	}
	return db
}

// serve starts the real server over the file on a random port, with the
// signing key kept beside the database as folio serve keeps it, wrapping
// the source with wrap when it is not nil. stop shuts it down gracefully.
func (db *e2eDB) serve(t *testing.T, wrap func(engine.Source) engine.Source) (base string, stop func()) {
	t.Helper()
	ctx := context.Background()
	key, err := secret.Load("", secret.FilePath(db.path))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	real, err := sqlite.Open(ctx, db.path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var src engine.Source = real
	if wrap != nil {
		src = wrap(real)
	}
	cols, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger()
	srv, err := New(Options{Engine: e, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if !db.mistyped {
		srv.http.Handler = describedOnly(t, srv.http.Handler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			real.Close()
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// page is the native envelope with the data rows left raw.
type page struct {
	Data []map[string]json.RawMessage `json:"data"`
	Page struct {
		Count         int     `json:"count"`
		Total         *int64  `json:"total"`
		TotalRelation string  `json:"total_relation"`
		NextCursor    *string `json:"next_cursor"`
	} `json:"page"`
	Links map[string]string `json:"links"`
}

func getPage(t *testing.T, link string) page {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", link, resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("GET %s: no X-Request-Id", link)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	// The Link header carries the same links as the body.
	lh := resp.Header.Get("Link")
	for rel, u := range p.Links {
		if !strings.Contains(lh, "<"+u+`>; rel="`+rel+`"`) {
			t.Errorf("GET %s: Link header lacks %s", link, rel)
		}
	}
	return p
}

// keys returns the page's key values, typed like the oracle's.
func (p page) keys(t *testing.T, key string, text bool) []engine.Value {
	t.Helper()
	out := make([]engine.Value, len(p.Data))
	for i, row := range p.Data {
		var err error
		if text {
			var s string
			err = json.Unmarshal(row[key], &s)
			out[i] = s
		} else {
			var n int64
			err = json.Unmarshal(row[key], &n)
			out[i] = n
		}
		if err != nil {
			t.Fatalf("key %s of %v: %v", key, row, err)
		}
	}
	return out
}

func sameKeys(t *testing.T, what string, got, want []engine.Value) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if engine.Compare(got[i], want[i]) != 0 {
			t.Fatalf("%s: row %d is %v, want %v (%d rows, want %d)", what, i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
}

// TestEndToEnd starts the real server on a random port, harvests
// collections through HTTP forward (next links) and backward (last, then
// prev links) for several sorts and filters, and compares every harvest with
// the brute-force oracle. One harvest spans a restart of the server, which
// must keep its signing key and so its cursors. A view without a key is
// offered, and served, with offset paging only.
func TestEndToEnd(t *testing.T) {
	db := newE2EDB(t)
	base, stop := db.serve(t, nil)
	f := func(field string, op engine.Op, vs ...engine.Value) engine.Filter {
		return engine.Filter{Field: field, Op: op, Values: vs}
	}
	tests := []struct {
		collection string
		params     url.Values // the request, in the native API's terms
		filters    []engine.Filter
		sort       engine.Sort // the same, for the oracle
	}{
		{"items", url.Values{"sort": {"a"}, "limit": {"9"}}, nil, engine.Sort{{Field: "a"}}},
		{"items", url.Values{"sort": {"-f,s"}, "limit": {"7"}}, nil, engine.Sort{{Field: "f", Desc: true}, {Field: "s"}}},
		{"items", url.Values{"sort": {"t,-a"}, "a[gte]": {"0"}, "s[null]": {"false"}, "limit": {"5"}},
			[]engine.Filter{f("a", engine.OpGte, int64(0)), f("s", engine.OpNull, false)}, engine.Sort{{Field: "t"}, {Field: "a", Desc: true}}},
		{"items", url.Values{"sort": {"-b,f"}, "tags[any]": {"Ti,O"}, "limit": {"11"}},
			[]engine.Filter{f("tags", engine.OpAny, "Ti", "O")}, engine.Sort{{Field: "b", Desc: true}, {Field: "f"}}},
		{"items", url.Values{"sort": {"-s"}, "s[in]": {"a,é,日本,"}, "limit": {"4"}},
			[]engine.Filter{f("s", engine.OpIn, "a", "é", "日本", "")}, engine.Sort{{Field: "s", Desc: true}}},
		{"items", url.Values{"f[lt]": {"0.1"}, "b": {"true"}, "limit": {"6"}},
			[]engine.Filter{f("f", engine.OpLt, 0.1), f("b", engine.OpEq, true)}, nil},
		{"codes", url.Values{"sort": {"s,-id"}, "limit": {"8"}}, nil, engine.Sort{{Field: "s"}, {Field: "id", Desc: true}}},
		{"codes", url.Values{"id[prefix]": {"ka"}, "limit": {"3"}}, []engine.Filter{f("id", engine.OpPrefix, "ka")}, nil},
	}
	for i, tt := range tests {
		o := db.oracles[tt.collection]
		text := tt.collection == "codes"
		want := o.Keys(o.Select(tt.filters, tt.sort))
		first := base + "/v1/" + tt.collection + "?" + tt.params.Encode()

		// Forward, following next links. The first harvest restarts the
		// server halfway and continues on the new one with the same link.
		var got []engine.Value
		link := first
		for pages := 0; link != ""; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("%s: the forward harvest does not end", first)
			}
			p := getPage(t, link)
			got = append(got, p.keys(t, o.Key[0], text)...)
			link = p.Links["next"]
			if (link == "") != (p.Page.NextCursor == nil) {
				t.Errorf("%s: next link %q with next_cursor %v", first, link, p.Page.NextCursor)
			}
			if i == 0 && pages == 3 {
				stop()
				var newBase string
				newBase, stop = db.serve(t, nil)
				link = strings.Replace(link, base, newBase, 1)
				base = newBase
			}
		}
		sameKeys(t, first+" forward", got, want)

		// Backward from the last page, following prev links.
		got = nil
		link = getPage(t, base+"/v1/"+tt.collection+"?"+tt.params.Encode()).Links["last"]
		for pages := 0; link != ""; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("%s: the backward harvest does not end", first)
			}
			p := getPage(t, link)
			got = append(p.keys(t, o.Key[0], text), got...)
			link = p.Links["prev"]
		}
		sameKeys(t, first+" backward", got, want)
		t.Logf("%s: %d rows forward and backward", tt.params.Encode(), len(want))
	}

	// The view: /v1 offers offset paging only, cursors are refused, and
	// offset pages with their exact total cover it.
	resp, err := http.Get(base + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct {
			Name   string   `json:"name"`
			Key    *string  `json:"key"`
			Paging []string `json:"paging"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	paging := map[string]string{}
	for _, c := range list.Data {
		paging[c.Name] = strings.Join(c.Paging, ",")
		if c.Name == "positive" && c.Key != nil {
			t.Errorf("/v1: the view has key %q, want null", *c.Key)
		}
	}
	if want := map[string]string{"items": "cursor,offset", "codes": "cursor,offset", "positive": "offset"}; fmt.Sprint(paging) != fmt.Sprint(want) {
		t.Errorf("/v1 paging %v, want %v", paging, want)
	}
	positive := len(db.oracles["items"].Select([]engine.Filter{f("a", engine.OpGt, int64(0))}, nil))
	rows, link := 0, base+"/v1/positive?limit=40"
	for link != "" {
		p := getPage(t, link)
		if p.Page.Total == nil || *p.Page.Total != int64(positive) || p.Page.TotalRelation != "eq" {
			t.Fatalf("view page total %v %q, want %d eq", p.Page.Total, p.Page.TotalRelation, positive)
		}
		rows += p.Page.Count
		link = p.Links["next"]
	}
	if rows != positive {
		t.Errorf("the view's offset pages hold %d rows, want %d", rows, positive)
	}
	resp, err = http.Get(base + "/v1/positive?cursor=AQ")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"parameter":"cursor"`) {
		t.Errorf("a cursor on the view: %d %s", resp.StatusCode, body)
	}

	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
}

// observedSource is the real source with its queries watched: started is
// closed when a query delivers its first row, and that row is held back
// until the query's context ends, as if the query were slow; ended receives
// what Query returned.
type observedSource struct {
	engine.Source
	once    sync.Once
	started chan struct{}
	ended   chan error
}

func (s *observedSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	first := true
	err := s.Source.Query(ctx, plan, func(r engine.Row) error {
		if first {
			first = false
			s.once.Do(func() { close(s.started) })
			select {
			case <-ctx.Done():
				// Give the driver a moment to notice, as it does
				// asynchronously; the source must then stop by itself.
				time.Sleep(100 * time.Millisecond)
			case <-time.After(10 * time.Second):
			}
		}
		return emit(r)
	})
	s.ended <- err
	return err
}

// TestClientDisconnectCancelsQuery: a client that goes away mid-request
// cancels the context the source's query runs under, and the real SQLite
// source stops promptly with a cancellation error.
func TestClientDisconnectCancelsQuery(t *testing.T) {
	db := newE2EDB(t)
	obs := &observedSource{started: make(chan struct{}), ended: make(chan error, 1)}
	base, _ := db.serve(t, func(s engine.Source) engine.Source { obs.Source = s; return obs })

	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /v1/items?limit=1000&sort=-s HTTP/1.1\r\nHost: folio\r\n\r\n")
	select {
	case <-obs.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the query did not start")
	}
	closed := time.Now()
	conn.Close()
	select {
	case err := <-obs.ended:
		if took := time.Since(closed); took > 3*time.Second {
			t.Errorf("the query ended %v after the client left", took)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the query ended with %v, want a cancellation", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("the query still runs after the client left")
	}
}
