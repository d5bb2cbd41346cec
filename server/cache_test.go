package server

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"folio/config"
	"folio/engine"
)

// queryCounter counts the page queries that reach the real source.
type queryCounter struct {
	engine.Source
	queries atomic.Int64
}

func (q *queryCounter) Query(ctx context.Context, p *engine.Plan, emit func(engine.Row) error) error {
	q.queries.Add(1)
	return q.Source.Query(ctx, p, emit)
}

func TestPageCache(t *testing.T) {
	db := newE2EDB(t)
	var counter *queryCounter
	base, _ := db.serve(t, func(s engine.Source) engine.Source {
		counter = &queryCounter{Source: s}
		return counter
	})
	get := func(url string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	url := base + "/v1/items?limit=5&offset=0&sort=a"
	_, first := get(url)
	n := counter.queries.Load()
	_, again := get(url)
	if again != first {
		t.Fatalf("cached response differs:\n%s\n%s", first, again)
	}
	if counter.queries.Load() != n {
		t.Errorf("an unchanged database ran the query again")
	}
	get(url, "Cache-Control", "no-cache")
	if counter.queries.Load() != n+1 {
		t.Errorf("Cache-Control: no-cache was answered from the cache")
	}
	// Errors are never cached.
	if st, _ := get(base + "/v1/items?limit=-1"); st != http.StatusBadRequest {
		t.Errorf("bad limit: status %d", st)
	}

	// Another connection changes the data: the next answer is new.
	w, err := sql.Open("sqlite3", "file:"+db.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec(`INSERT INTO items (id, a, t) SELECT 999999, -100, t FROM items LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	n = counter.queries.Load()
	_, after := get(url)
	if counter.queries.Load() == n {
		t.Fatal("a changed database was answered from the cache")
	}
	if after == first || !strings.Contains(after, "999999") {
		t.Errorf("the page does not show the new row:\n%s", after)
	}
}

// A handler that flushes is streaming: the cache must pass it through as it
// goes, not hold it.
func TestPageCacheStreamsPassThrough(t *testing.T) {
	e := newEngine(t)
	flushed := make(chan struct{})
	h := newAnswers(e.Source(), newPageCache(1<<20), config.CacheControl{}, nil).handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		<-flushed
		w.Write([]byte("second\n"))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first\n" {
		t.Fatalf("first chunk %q, %v: the response was held back", buf, err)
	}
	close(flushed)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}
	if resp.ContentLength != -1 {
		t.Errorf("streamed response has Content-Length %d", resp.ContentLength)
	}
}

// A response marked Cache-Control: no-store depends on more than the data
// (the time, for GOCDB's ongoing_only): it is never kept.
func TestPageCacheNoStore(t *testing.T) {
	e := newEngine(t)
	var calls atomic.Int64
	h := newAnswers(e.Source(), newPageCache(1<<20), config.CacheControl{}, nil).handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Query().Get("volatile") != "" {
			w.Header().Set("Cache-Control", "no-store")
		}
		w.Write([]byte{byte('0' + n)})
	}))
	for _, tt := range []struct {
		target string
		calls  int64 // handler calls after two requests
	}{{"/?volatile=1", 2}, {"/", 1}} {
		calls.Store(0)
		for range 2 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
		}
		if got := calls.Load(); got != tt.calls {
			t.Errorf("%s: the handler answered %d of 2 requests, want %d", tt.target, got, tt.calls)
		}
	}
}
