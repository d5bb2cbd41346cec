package scaleout

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"folio/config"
	"folio/engine"
	"folio/internal/nginxtest"
	"folio/internal/pgtest"
	"folio/server"
	"folio/source/postgres"
)

// cacheDirectives are the lines docs/SCALING.md ("A shared cache in
// front") gives for nginx's proxy_cache, quoted there verbatim
// (TestDocsQuoteCacheDirectives); the test runs them.
const cacheDirectives = `        proxy_cache folio_pages;
        # Once a page's max-age is over, ask the node with its ETag
        # (If-None-Match): a 304 renews the stored page without a query.
        proxy_cache_revalidate on;
        # One request per page at a time goes to a node; the others wait
        # for its answer.
        proxy_cache_lock on;
        proxy_buffering on;
        add_header X-Cache-Status $upstream_cache_status always;
`

// cachingNginx is nginx with the cache directives in front of the nodes,
// each page's URI sent to one node (an ETag validates only on the node
// that issued it).
func cachingNginx(t *testing.T, nodes ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return "http://" + nginxtest.Run(t, func(port int) string {
		var servers strings.Builder
		for _, n := range nodes {
			fmt.Fprintf(&servers, "    server %s max_fails=1 fail_timeout=5s;\n", n)
		}
		return fmt.Sprintf(`proxy_cache_path %s/cache keys_zone=folio_pages:10m inactive=10m use_temp_path=off;
upstream folio {
    hash $request_uri consistent;
%s    keepalive 32;
}
server {
    listen 127.0.0.1:%d;
    location / {
        proxy_pass http://folio;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_next_upstream error timeout non_idempotent;
        proxy_connect_timeout 2s;
%s    }
}
`, dir, servers.String(), port, cacheDirectives)
	})
}

// countedSource counts the page queries that reach the database.
type countedSource struct {
	engine.Source
	queries atomic.Int64
}

func (s *countedSource) Query(ctx context.Context, p *engine.Plan, emit func(engine.Row) error) error {
	s.queries.Add(1)
	return s.Source.Query(ctx, p, emit)
}

// seen is one request that reached a node: its If-None-Match and the
// status the node answered.
type seen struct {
	ifNoneMatch string
	status      int
}

// cacheNode is a folio node whose requests are recorded.
type cacheNode struct {
	addr string
	src  *countedSource
	mu   sync.Mutex
	seen []seen
}

func (n *cacheNode) requests() []seen {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seen(nil), n.seen...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func startCacheNode(t *testing.T, key []byte, url string, cc config.CacheControl) *cacheNode {
	t.Helper()
	ctx := context.Background()
	pg, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	n := &cacheNode{src: &countedSource{Source: pg}}
	signer, err := engine.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := n.src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(n.src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Engine: e, Logger: slog.New(slog.DiscardHandler), CacheControl: cc})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		n.mu.Lock()
		n.seen = append(n.seen, seen{r.Header.Get("If-None-Match"), sw.status})
		n.mu.Unlock()
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return n
}

// TestSharedCacheRevalidates puts nginx's proxy_cache in front of two
// nodes: repeated pages are answered by nginx alone (no request reaches a
// node); once a page's max-age is over, nginx asks its node with the
// page's ETag and the node answers 304 without a query while nothing
// changed; after a write, the same revalidation gets a 200 with the new
// row and a new ETag, which nginx then serves.
func TestSharedCacheRevalidates(t *testing.T) {
	pg := pgtest.StartServer(t)
	primary, _ := loadItems(t, pg, 11, 300)
	key := newKey(t)
	cc := config.CacheControl{Pages: "max-age=1"}
	a, b := startCacheNode(t, key, primary, cc), startCacheNode(t, key, primary, cc)
	base := cachingNginx(t, a.addr, b.addr)
	nodes := func() []seen { return append(a.requests(), b.requests()...) }
	client := &http.Client{}
	get := func(path string) (status int, cache, etag, body string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		bb, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("X-Cache-Status"), resp.Header.Get("ETag"), string(bb)
	}
	const page = "/v1/items?sort=id&limit=20"

	status, cache, tag, first := get(page)
	if status != 200 || cache != "MISS" || tag == "" {
		t.Fatalf("first request: %d %s ETag %q", status, cache, tag)
	}
	for i := range 20 {
		status, cache, _, body := get(page)
		if status != 200 || cache != "HIT" || body != first {
			t.Fatalf("repeat %d: %d %s", i, status, cache)
		}
	}
	if got := nodes(); len(got) != 1 {
		t.Fatalf("21 requests of one page: %d reached the nodes, want 1: %v", len(got), got)
	}

	// max-age over, nothing written: revalidated by a 304, no query.
	queries := a.src.queries.Load() + b.src.queries.Load()
	// nginx counts whole seconds: a page of max-age=1 is stale after 2.
	time.Sleep(2100 * time.Millisecond)
	status, cache, _, body := get(page)
	if status != 200 || cache != "REVALIDATED" || body != first {
		t.Errorf("after max-age: %d %s, body changed %v", status, cache, body != first)
	}
	got := nodes()
	if len(got) != 2 || got[1] != (seen{tag, http.StatusNotModified}) {
		t.Errorf("the revalidation reached the nodes as %v, want one If-None-Match %s answered 304", got[1:], tag)
	}
	if q := a.src.queries.Load() + b.src.queries.Load(); q != queries {
		t.Errorf("the revalidation ran %d queries", q-queries)
	}

	// A write: the next revalidation gets the new page.
	w, err := pgxpool.New(context.Background(), primary)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var id int64 // sorts first
	if err := w.QueryRow(context.Background(), `INSERT INTO items SELECT (jsonb_populate_record(NULL::items,
		to_jsonb(i) || jsonb_build_object('id', (SELECT min(id) - 1 FROM items)))).* FROM items i LIMIT 1 RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // max-age and the nodes' poll (100ms)
	status, cache, newTag, body := get(page)
	if status != 200 || cache != "EXPIRED" || body == first || !strings.Contains(body, fmt.Sprintf(`"id":%d`, id)) {
		t.Fatalf("after a write: %d %s: %.200s", status, cache, body)
	}
	got = nodes()
	if len(got) != 3 || got[2] != (seen{tag, http.StatusOK}) {
		t.Errorf("the revalidation after the write reached the nodes as %v, want If-None-Match %s answered 200", got[2:], tag)
	}
	if newTag == tag || newTag == "" {
		t.Errorf("after a write the ETag is %q, before %q", newTag, tag)
	}
	if status, cache, _, again := get(page); status != 200 || cache != "HIT" || again != body {
		t.Errorf("the new page again: %d %s", status, cache)
	}
	if len(nodes()) != 3 {
		t.Errorf("the new page was asked of a node again")
	}
	// An export is never kept (no-store): each one reaches a node.
	for range 2 {
		if status, _, etag, body := get("/v1/items.ndjson"); status != 200 || etag != "" || strings.Count(body, "\n") != 301 {
			t.Errorf("export through the cache: %d, ETag %q, %d lines", status, etag, strings.Count(body, "\n"))
		}
	}
	if len(nodes()) != 5 {
		t.Errorf("two exports: %d requests reached the nodes, want 2", len(nodes())-3)
	}
}

// TestDocsQuoteCacheDirectives holds docs/SCALING.md to the directives the
// test runs.
func TestDocsQuoteCacheDirectives(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "SCALING.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), cacheDirectives) {
		t.Fatalf("docs/SCALING.md does not quote scaleout/cache_test.go's cacheDirectives verbatim:\n%s", cacheDirectives)
	}
}
